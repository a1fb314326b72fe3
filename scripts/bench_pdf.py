"""How long the PDFs take to render: builds a long Early Help Assessment (every domain answered at length,
several family members, a full plan) in a throwaway database, renders the professionals' PDF and the
family's plan a few times and prints pages and seconds.

    DATABASE_URL=postgres://... .venv/bin/python scripts/bench_pdf.py [--chars 2500] [--runs 3]

The throwaway database is created next to the configured one (its test name with `_bench_pdf`) and
dropped at the end; nothing is written to the configured database. docs/pdfs.md records the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehcase.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

SENTENCES = [
    "Kerry describes mornings as the hardest part of the day, with three children to get ready.",
    "Jayden's attendance dropped after the family moved and he now arrives late most Mondays.",
    "The health visitor has seen Mia twice this term and her development is on track.",
    "There is damp in the children's bedroom which the landlord has been told about in writing.",
    "Kerry's sister lives nearby and helps on Thursdays when Kerry works an early shift.",
    "The school has offered a place at breakfast club and Jayden says he would like to go.",
    "Money is tight since the change in benefits and the family has used the food bank twice.",
    "Kerry says she wants a calmer home and more time to play with the children after school.",
]


def long_text(chars: int, seed: int) -> str:
    """Paragraphs of plausible case writing, `chars` long."""
    words: list[str] = []
    i = seed
    while sum(len(w) + 1 for w in words) < chars:
        words.append(SENTENCES[i % len(SENTENCES)])
        i += 1
        if i % 4 == 0:
            words.append("\n\n")
    return " ".join(words)[:chars].strip()


def build(chars: int):
    """A completed assessment of the Ashworth family with every answer `chars` long, and a plan of
    6 outcomes with 5 actions each."""
    from assessments import services
    from ehcase.demo import build_personas
    from pathway import services as pathway_services
    from pathway.models import LevelOfNeed, OutcomeArea
    from tests.factories import consent_everyone

    p = build_personas()
    today = timezone.localdate()
    episode = pathway_services.episode_start_directly(
        actor=p.sam,
        family=p.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry Ashworth",
        consent_on=today - dt.timedelta(days=30),
    )
    consent_everyone(actor=p.sam, episode=episode)
    members = [m.person for m in p.ashworth.members.select_related("person")]
    assessment = services.assessment_start(
        actor=p.sam, episode=episode, members=members, assessment_date=today - dt.timedelta(days=20)
    )
    areas = list(OutcomeArea.objects.filter(active=True))
    content = {
        "domains": {code: long_text(chars, n) for n, code in enumerate(assessment.template.area_codes())},
        "members": {
            str(m.pk): {"strengths": long_text(chars // 2, n), "needs": long_text(chars // 2, n + 3)}
            for n, m in enumerate(members)
        },
        "child_voice": {str(m.pk): long_text(chars // 3, n + 5) for n, m in enumerate(members)},
        "family_view": long_text(chars, 7),
        "needs": [{"area": a.code, "description": long_text(300, n)} for n, a in enumerate(areas[:6])],
        "scores": {a.code: n % 11 for n, a in enumerate(areas)},
    }
    assessment = services.assessment_save(
        actor=p.sam, assessment=assessment, expected_version=assessment.version, changes=content
    )
    assessment = services.assessment_complete(
        actor=p.sam, assessment=assessment, expected_version=assessment.version
    )
    owners = [
        {"owner_user": p.hana},
        {"owner_user": p.sam},
        {"owner_agency": p.council},
        {"owner_person": members[0]},
    ]
    for n in range(6):
        outcome = services.plan_outcome_add(
            actor=p.sam, episode=episode, wording=long_text(180, n), said_by=members[0], area=areas[n]
        )
        for k in range(5):
            services.action_add(
                actor=p.sam,
                episode=episode,
                outcome=outcome,
                description=long_text(200, n + k),
                due_on=today + dt.timedelta(days=7 * (k + 1)),
                **owners[(n + k) % len(owners)],
            )
    return assessment, episode


def time_render(label: str, render, runs: int) -> None:
    seconds = []
    pages = 0
    for _ in range(runs):
        started = time.perf_counter()
        rendered = render()
        seconds.append(time.perf_counter() - started)
        pages = rendered.pages
    median = statistics.median(seconds)
    print(
        f"{label}: {pages} pages, {len(rendered.content) / 1024:.0f} KiB; "
        f"median {median:.2f} s over {runs} runs "
        f"(fastest {min(seconds):.2f} s, slowest {max(seconds):.2f} s), "
        f"{median / pages:.3f} s a page"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=2500, help="length of each domain answer (max 4000)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    from assessments.pdf import assessment_pdf_context, family_plan_pdf_context, pdf_render
    from assessments.permissions import assessment_for_user
    from pathway.permissions import episode_for_user

    test_settings = settings.DATABASES["default"].setdefault("TEST", {})
    test_settings["NAME"] = f"{test_settings.get('NAME') or 'test_ehcase'}_bench_pdf"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        built, _episode = build(args.chars)
        from ehcase.demo import build_personas

        # Fetched as the view fetches them, so the timings include the same queries.
        sam = build_personas().sam
        assessment = assessment_for_user(user=sam, assessment_id=built.pk)
        episode = episode_for_user(user=sam, episode_id=_episode.pk)
        print(
            f"Each domain answer {args.chars} characters; WeasyPrint {__import__('weasyprint').__version__}"
        )
        time_render(
            "Early Help Assessment with plan",
            lambda: pdf_render(
                template_name="assessments/pdf/assessment.html",
                context=assessment_pdf_context(assessment=assessment),
            ),
            args.runs,
        )
        time_render(
            "Family plan",
            lambda: pdf_render(
                template_name="assessments/pdf/family_plan.html",
                context=family_plan_pdf_context(episode=episode),
            ),
            args.runs,
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
