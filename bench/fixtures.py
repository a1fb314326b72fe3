"""Bench-owned data the per-operation benchmarks need, built through the project's own services.

Everything here is idempotent: a fixture that exists is looked up, one that does not is built in one
transaction (so an interrupted build leaves nothing half made). The rows are owned by the benchmarks and
recognisable by their references and names, so that they are never mistaken for a tier's generated data:

- F-BENCH001, the "Benchford" family: visible to sam.practitioner (he created it and leads its episode),
  8 members, 50 case notes on top of the episode's own chronology entries, a completed Early Help
  Assessment long enough to print about 20 PDF pages, a TAF with hana.healthvisitor, a first TAF meeting
  held (Sam agreed as lead professional) and the baseline from the assessment, so the plan is active.
  Read by the family page, chronology, search and duplicate check; its assessment is the PDF.
- F-BENCH002, the "Benchley" family: the same episode with a short assessment and no notes. The review
  operation records its reviews here, so that the rows it adds never change what the read operations
  measure on F-BENCH001.
- bench.practitioner: a practitioner at sam.practitioner's agency who creates the "Benchmark" families of
  the create operation, so that they do not pile up in Sam's own family list (which two operations and
  the load run measure).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from assessments import services as assessment_services
from assessments.models import Assessment
from ehcase import services as case_services
from ehcase.models import Family, FamilyMember, HouseholdRole, Membership, Person, Role, User
from hubs.models import HubArea
from pathway import services as pathway_services
from pathway.models import EpisodeStatus, LevelOfNeed, TafMember

PAGE_FAMILY = "F-BENCH001"
REVIEW_FAMILY = "F-BENCH002"
CREATED_FAMILY_NAME = "Benchmark"
BENCH_CREATOR = "bench.practitioner"
LEAD = "sam.practitioner"
TEAM_MEMBER = "hana.healthvisitor"
AREA = "Morpeth"  # North hub: Sam's and chris.coordinator's
NOTES = 50

# (first name, date of birth, sex, household role): two parents and six children, the oldest 16 or over
# (consents for himself), the rest through their mother.
HOUSEHOLD = [
    ("Joanne", dt.date(1984, 6, 2), "F", HouseholdRole.PARENT_CARER),
    ("Mark", dt.date(1982, 9, 19), "M", HouseholdRole.PARENT_CARER),
    ("Liam", dt.date(2008, 1, 23), "M", HouseholdRole.CHILD),
    ("Chloe", dt.date(2011, 4, 7), "F", HouseholdRole.CHILD),
    ("Ethan", dt.date(2013, 3, 14), "M", HouseholdRole.CHILD),
    ("Amelia", dt.date(2015, 11, 30), "F", HouseholdRole.CHILD),
    ("Noah", dt.date(2018, 8, 12), "M", HouseholdRole.CHILD),
    ("Isla", dt.date(2021, 2, 26), "F", HouseholdRole.CHILD),
]
# What the search and duplicate-check operations look for: a child of F-BENCH001.
SEARCH_FIRST_NAME, SEARCH_DATE_OF_BIRTH = "Ethan", dt.date(2013, 3, 14)

_SENTENCES = [
    "{child} has been late to school on most days this half term and is often tired in the morning.",
    "{parent} says the mornings are the hardest part of the day, with the baby awake for much of the night.",
    "School report that {child} is doing well in reading but finds it hard to settle after break times.",
    "The family moved to the current address last spring and are still waiting for repairs to the damp.",
    "{parent} would like help with a routine at bedtime and with managing arguments between the children.",
    "The health visitor has seen the youngest at home and has no concerns about development or weight.",
    "Money is tight since {other} reduced his hours; the family are behind with the gas and electricity.",
    "{child} says that home is noisy and that he would like somewhere quiet to do his homework.",
    "Grandparents live nearby and help with school pick-ups twice a week, which the family value.",
    "{parent} has had low mood since the winter and has an appointment with the GP next month.",
    "The children are well presented, and the home was warm and tidy when the assessor visited.",
    "{other} says he wants to be more involved in the children's routines and in school meetings.",
]


@dataclass(frozen=True)
class BenchFamily:
    family: Family
    episode_id: int
    assessment_id: int


def _paragraphs(length: int, *, seed: int) -> str:
    """Realistic answer text of about `length` characters, a paragraph every four sentences."""
    names = {"child": "Ethan", "parent": "Joanne", "other": "Mark"}
    sentences: list[str] = []
    total, i = 0, seed
    while total < length:
        sentence = _SENTENCES[i % len(_SENTENCES)].format(**names)
        if total + len(sentence) > length and sentences:
            break
        sentences.append(sentence)
        total += len(sentence) + 1
        i += 1
    return "\n\n".join(" ".join(sentences[k : k + 4]) for k in range(0, len(sentences), 4))


def bench_creator() -> User:
    """bench.practitioner: a practitioner at Sam's agency, with a confirmed authenticator app (the demo
    secret) so that a two-factor session can be made for it like for any persona."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ehcase.demo import demo_totp_key

    sam = User.objects.get(username=LEAD)
    user, _ = User.objects.get_or_create(
        username=BENCH_CREATOR,
        defaults={"first_name": "Bench", "last_name": "Practitioner", "email": "bench@example.invalid"},
    )
    agency_id = (
        Membership.objects.filter(user=sam, role=Role.PRACTITIONER)
        .values_list("agency_id", flat=True)
        .first()
    )
    Membership.objects.get_or_create(user=user, agency_id=agency_id, role=Role.PRACTITIONER)
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="Authenticator app", key=demo_totp_key(), confirmed=True)
    return user


def page_family() -> BenchFamily:
    """F-BENCH001 (see the module docstring), built the first time."""
    return _episode_family(PAGE_FAMILY, "Benchford", notes=NOTES, answer_length=1950, member_length=900)


def review_family() -> BenchFamily:
    """F-BENCH002 (see the module docstring), built the first time."""
    return _episode_family(REVIEW_FAMILY, "Benchley", notes=0, answer_length=300, member_length=150)


def _episode_family(
    reference: str, name: str, *, notes: int, answer_length: int, member_length: int
) -> BenchFamily:
    family = Family.objects.filter(reference=reference).first()
    if family is None:
        _build(reference, name, notes=notes, answer_length=answer_length, member_length=member_length)
        family = Family.objects.get(reference=reference)
    assessment = (
        Assessment.objects.filter(episode__family=family).select_related("episode").order_by("-id").first()
    )
    if assessment is None or assessment.episode.status not in (
        EpisodeStatus.PLAN_ACTIVE,
        EpisodeStatus.REVIEWING,
    ):
        raise RuntimeError(f"{reference} exists but its episode is not active: rebuild the bench database")
    return BenchFamily(family=family, episode_id=assessment.episode_id, assessment_id=assessment.pk)


@transaction.atomic
def _build(reference: str, name: str, *, notes: int, answer_length: int, member_length: int) -> None:
    sam = User.objects.get(username=LEAD)
    hana = User.objects.get(username=TEAM_MEMBER)
    area = HubArea.objects.get(name=AREA)
    today = timezone.localdate()
    opened_on = today - dt.timedelta(days=120)

    family = case_services.family_create(
        actor=sam,
        data={
            "name": name,
            "address_line_1": "14 Bench Terrace",
            "town": "Morpeth",
            "postcode": "NE61 1BN",
            "area": area,
        },
    )
    # A recognisable reference instead of the random one: the benchmarks find their rows by it.
    Family.objects.filter(pk=family.pk).update(reference=reference)
    family.reference = reference
    for first, born, sex, role in HOUSEHOLD:
        case_services.person_add_to_family(
            actor=sam,
            family=family,
            person_data={
                "first_name": first,
                "last_name": name,
                "date_of_birth": born,
                "sex": sex,
                "ethnicity": "WBRI",
                "language": "English",
                "disabilities": [],
            },
            role=role,
            start_date=max(born, dt.date(2008, 1, 1)),
        )

    level = LevelOfNeed.objects.get(code="3")
    episode = pathway_services.episode_start_directly(
        actor=sam, family=family, level=level, consent_given_by="Joanne " + name, consent_on=opened_on
    )
    members = list(
        FamilyMember.objects.filter(family=family, end_date__isnull=True)
        .select_related("person")
        .order_by("id")
    )
    mother = members[0].person
    for member in members:
        age = (opened_on - member.person.date_of_birth).days // 365
        young = member.role == HouseholdRole.CHILD and age < assessment_services.consent_self_age()
        assessment_services.consent_record(
            actor=sam,
            episode=episode,
            person=member.person,
            given_by=mother if young else member.person,
            given_on=opened_on,
            method="written",
            agrees_to_sharing=True,
            sharing_basis="consent",
        )
    people: list[Person] = [m.person for m in members]
    assessment = assessment_services.assessment_start(
        actor=sam, episode=episode, members=people, assessment_date=opened_on + dt.timedelta(days=7)
    )
    areas = assessment.template.area_codes()
    children = [m.person for m in members if m.role == HouseholdRole.CHILD]
    content = {
        "domains": {code: _paragraphs(answer_length, seed=i) for i, code in enumerate(areas)},
        "members": {
            str(p.pk): {
                "strengths": _paragraphs(member_length, seed=i + 3),
                "needs": _paragraphs(member_length, seed=i + 7),
            }
            for i, p in enumerate(people)
        },
        "child_voice": {
            str(p.pk): _paragraphs(member_length // 2, seed=i + 5) for i, p in enumerate(children)
        },
        "family_view": _paragraphs(answer_length, seed=11),
        "needs": [
            {"area": "education", "description": "Ethan's attendance and punctuality at school"},
            {"area": "family_relationships", "description": "Routines at bedtime and in the mornings"},
            {"area": "financial_stability", "description": "Arrears on the gas and electricity"},
        ],
        "scores": {"education": 3, "family_relationships": 4, "financial_stability": 2, "health": 6},
    }
    assessment = assessment_services.assessment_save(
        actor=sam, assessment=assessment, expected_version=assessment.version, changes=content
    )
    assessment_services.assessment_complete(
        actor=sam, assessment=assessment, expected_version=assessment.version
    )

    team_on = opened_on + dt.timedelta(days=10)
    pathway_services.taf_add_worker(
        actor=sam, episode=episode, user=hana, role="Health visitor", joined_on=team_on
    )
    meeting_on = opened_on + dt.timedelta(days=21)
    meeting = pathway_services.meeting_schedule(
        actor=sam,
        episode=episode,
        starts_at=timezone.make_aware(dt.datetime.combine(meeting_on, dt.time(10, 0))),
        location="Morpeth First School",
        online=False,
        invited=list(TafMember.objects.filter(episode=episode, left_on__isnull=True)),
        already_held=True,
    )
    pathway_services.meeting_record(
        actor=sam,
        meeting=meeting,
        attendance={m.pk: "attended" for m in TafMember.objects.filter(episode=episode)},
        decisions="Plan agreed: school attendance support, bedtime routine work, referral for debt advice.",
        lead=sam,
        family_view="Joanne and Mark asked for Sam, who already knows the children from school.",
    )
    for k in range(notes):
        pathway_services.case_note_add(
            actor=sam,
            family=family,
            occurred_on=meeting_on + dt.timedelta(days=1 + (2 * k) % 95),
            title=f"Contact with the family ({k + 1})",
            detail=_paragraphs(400, seed=k),
        )
