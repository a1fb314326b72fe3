"""The two PDFs: the Early Help Assessment with the plan (professionals) and the family's own plan.

PDFs are read back with pdftotext (poppler-utils), so each test checks what a reader of the file sees.
Sam leads the Ashworth family's episode and completed its assessment; Hana (in the team) and the
council own actions; Kerry (the mother) owns one herself.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone

from assessments import services
from assessments.models import Assessment, AssessmentPdfJob, PlanOutcome
from assessments.pdf import (
    PDF_BASE_URL,
    ResourceRefused,
    StaticOnlyFetcher,
    html_to_pdf,
    static_file_for,
)
from assessments.tasks import render_assessment_pdf
from ehcase.models import AuditAction, AuditEvent, Person
from pathway import services as pathway_services
from pathway.models import Episode, LevelOfNeed, OutcomeArea
from tests.factories import consent_everyone

NHS_NUMBER = "9434765919"


def pdf_text(content: bytes) -> str:
    """The PDF's text as pdftotext reads it, with runs of whitespace (line and page breaks) made one space."""
    assert content.startswith(b"%PDF-")
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


def word_heights(content: bytes) -> list[float]:
    """The height of every word's box in points (pdftotext -bbox): about 1.12 × its font size."""
    result = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=content, capture_output=True, check=True)
    heights = []
    for line in result.stdout.decode().splitlines():
        if line.strip().startswith("<word "):
            attrs = dict(
                part.split("=", 1)
                for part in line.strip()[len("<word ") :].split(">")[0].split()
                if "=" in part
            )
            heights.append(float(attrs["yMax"].strip('"')) - float(attrs["yMin"].strip('"')))
    return heights


@dataclass
class Plan:
    episode: Episode
    assessment: Assessment
    kerry: Person
    jayden: Person
    outcome: PlanOutcome


ANSWERS = {
    "child.health": "Jayden's asthma is managed by the practice nurse with a new inhaler plan",
    "child.education": "Attendance fell to 82 percent in the autumn term after the move",
    "parenting.boundaries": "Bedtimes drift later at weekends and mornings become a rush",
    "family.housing": "The flat has damp in the children's bedroom reported to the landlord",
}
STRENGTHS = "Kerry walks the children to the park every Saturday morning"
VOICE = "I like football and I want my mum to be less tired"
FAMILY_VIEW = "We want mornings to be calmer and Jayden to be at school on time"
NEED = "Attendance below 90 percent since moving house"
OUTCOME = "Jayden gets to school on time every day"


@pytest.fixture
def plan(personas) -> Plan:
    """The Ashworth episode: consent from everyone, the assessment completed by Sam (NHS number on
    Jayden's record), Sam the lead professional, one outcome with three actions and one more action."""
    today = timezone.localdate()
    episode = pathway_services.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry Ashworth",
        consent_on=today - dt.timedelta(days=30),
    )
    consent_everyone(actor=personas.sam, episode=episode)
    members = {m.person.first_name: m.person for m in personas.ashworth.members.select_related("person")}
    kerry, jayden, mia = members["Kerry"], members["Jayden"], members["Mia"]
    Person.objects.filter(pk=jayden.pk).update(nhs_number=NHS_NUMBER)
    assessment = services.assessment_start(
        actor=personas.sam,
        episode=episode,
        members=[kerry, jayden, mia],
        assessment_date=today - dt.timedelta(days=20),
    )
    assessment = services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes={
            "domains": ANSWERS,
            "members": {str(kerry.pk): {"strengths": STRENGTHS, "needs": "Time for herself"}},
            "child_voice": {str(jayden.pk): VOICE},
            "family_view": FAMILY_VIEW,
            "needs": [{"area": "education", "description": NEED}],
            "scores": {"education": 3, "housing": 7},
        },
    )
    assessment = services.assessment_complete(
        actor=personas.sam, assessment=assessment, expected_version=assessment.version
    )
    pathway_services.lead_professional_set(
        actor=personas.sam,
        episode=episode,
        user=personas.sam,
        family_view="Kerry asked for Sam",
        started_on=today - dt.timedelta(days=20),
    )
    Episode.objects.filter(pk=episode.pk).update(next_review_due=dt.date(2031, 3, 14))
    outcome = services.plan_outcome_add(
        actor=personas.sam,
        episode=episode,
        wording=OUTCOME,
        said_by=kerry,
        area=OutcomeArea.objects.get(code="education"),
    )
    due = today + dt.timedelta(days=14)
    for kwargs in (
        {"description": "Check Jayden's inhaler plan at the next visit", "owner_user": personas.hana},
        {"description": "Set an alarm for 7 o'clock every school day", "owner_person": kerry},
        {"description": "Offer a place at the breakfast club", "owner_agency": personas.council},
    ):
        services.action_add(actor=personas.sam, episode=episode, due_on=due, outcome=outcome, **kwargs)
    services.action_add(
        actor=personas.sam,
        episode=episode,
        due_on=due,
        description="Call the landlord about the damp",
        owner_user=personas.sam,
    )
    episode.refresh_from_db()
    return Plan(episode=episode, assessment=assessment, kerry=kerry, jayden=jayden, outcome=outcome)


def assessment_url(plan: Plan, query: str = "") -> str:
    return reverse("assessments:assessment-pdf", kwargs={"assessment_id": plan.assessment.pk}) + query


def ask_for_assessment_pdf(client, plan: Plan, query: str = ""):
    """As a practitioner does it: ask for the PDF (a POST that lands on "Preparing your PDF"), let the
    render task run (called directly here: the test's transaction never commits, so nothing is queued;
    tests/assessments/test_pdf_jobs.py runs it through a real worker), then download the file. Returns
    the asking response when it is not the redirect to the job's page, else the download's."""
    asked = client.post(assessment_url(plan, query))
    if asked.status_code != 302:
        return asked
    job_id = resolve(asked["Location"]).kwargs["job_id"]
    render_assessment_pdf(job_id)
    return client.get(reverse("assessments:pdf-job-download", kwargs={"job_id": job_id}))


def plan_url(plan: Plan) -> str:
    return reverse("assessments:plan-pdf", kwargs={"episode_id": plan.episode.pk})


# --- The professionals' PDF ---------------------------------------------------------------------------


def test_assessment_pdf_holds_the_whole_assessment_and_the_plan(login, personas, plan):
    response = ask_for_assessment_pdf(login(personas.sam), plan)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reference = personas.ashworth.reference
    assert response["Content-Disposition"] == f'attachment; filename="early-help-assessment-{reference}.pdf"'
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    assert text.startswith("OFFICIAL-SENSITIVE") and "Page 1 of" in text  # the shared page frame
    for expected in [
        "Ashworth",
        reference,
        "Kerry Ashworth",
        "Jayden Ashworth",
        "3 February 2016",  # Jayden's date of birth
        "Child or young person",
        "Parent or carer",
        # consent: who for whom, how, the lawful basis
        "Written (signed form)",
        "Consent",
        *ANSWERS.values(),
        STRENGTHS,
        VOICE,
        FAMILY_VIEW,
        NEED,
        "Getting a good education",  # the need's Supporting Families outcome
        "Secure housing",
        "Completed, awaiting sign-off",
        "Sam Patel",
        OUTCOME,
        "Check Jayden's inhaler plan at the next visit",
        "Hana Kowalski, North Health Visiting Team",
        "Set an alarm for 7 o'clock every school day",
        "Kerry Ashworth",
        "Offer a place at the breakfast club",
        "County Council Early Help Service",
        "Call the landlord about the damp",
    ]:
        assert expected in text, expected
    assert "Consent withdrawn" not in text


def test_assessment_pdf_shows_a_withdrawal_prominently(login, personas, plan):
    consent = plan.episode.consents.get(person=plan.kerry)
    services.consent_withdraw(
        actor=personas.sam,
        consent=consent,
        withdrawn_on=timezone.localdate(),
        reason="Kerry asked us to stop",
    )

    text = pdf_text(ask_for_assessment_pdf(login(personas.hana), plan).content)

    assert "Consent withdrawn: do not share further" in text
    assert "Consent to early help for Kerry Ashworth was withdrawn on" in text


def test_assessment_pdf_prints_a_kept_version(login, personas, plan):
    services.assessment_decide(
        actor=personas.alex, assessment=plan.assessment, sign_off=False, comments="Say more about housing"
    )
    assessment = Assessment.objects.get(pk=plan.assessment.pk)
    services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes={"family_view": "Version two of the family's view"},
    )
    client = login(personas.morgan)

    response = ask_for_assessment_pdf(client, plan, "?version=1")

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('-version-1.pdf"')
    kept = pdf_text(response.content)
    assert FAMILY_VIEW in kept
    assert "Version 1, as completed by Sam Patel" in kept
    assert "Returned for changes by Alex" in kept
    assert "Version two of the family's view" in pdf_text(ask_for_assessment_pdf(client, plan).content)
    assert client.post(assessment_url(plan, "?version=2")).status_code == 404
    assert client.post(assessment_url(plan), {"version": "x"}).status_code == 404


# --- The family's plan --------------------------------------------------------------------------------


def test_family_plan_pdf_holds_the_plan_in_plain_words(login, personas, plan):
    response = login(personas.hana).get(plan_url(plan))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reference = personas.ashworth.reference
    assert response["Content-Disposition"] == f'attachment; filename="family-plan-{reference}.pdf"'
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    for expected in [
        "The Ashworth family's plan",
        "What we want to be different",
        OUTCOME,
        "Who will do what, by when",
        "Check Jayden's inhaler plan at the next visit",
        "Who: Hana Kowalski, North Health Visiting Team",
        "Set an alarm for 7 o'clock every school day",
        "Who: Kerry",  # a family member by their first name
        "Offer a place at the breakfast club",
        "Who: County Council Early Help Service",
        "Call the landlord about the damp",
        "Not started yet",
        "Your main contact",
        "Sam Patel, Riverside Primary School",
        "Friday 14 March 2031",  # the next review
    ]:
        assert expected in text, expected


def test_a_practitioner_is_shown_with_the_agency_they_work_for_in_this_team(login, personas, plan):
    """Hana left the team (health visiting) and came back for the council: both PDFs name the council."""
    today = timezone.localdate()
    first = pathway_services.taf_add_worker(
        actor=personas.sam,
        episode=plan.episode,
        user=personas.hana,
        role="Health visitor",
        joined_on=today,
        agency=personas.health_visiting,
    )
    pathway_services.taf_remove(actor=personas.sam, member=first, left_on=today)
    pathway_services.taf_add_worker(
        actor=personas.sam,
        episode=plan.episode,
        user=personas.hana,
        role="Family support",
        joined_on=today,
        agency=personas.council,
    )
    client = login(personas.sam)

    for response in (ask_for_assessment_pdf(client, plan), client.get(plan_url(plan))):
        text = pdf_text(response.content)
        assert "Hana Kowalski, County Council Early Help Service" in text
        assert "Hana Kowalski, North Health Visiting Team" not in text


def test_family_plan_pdf_leaves_out_what_only_professionals_see(login, personas, plan):
    text = pdf_text(login(personas.sam).get(plan_url(plan)).content)

    for absent in [
        *ANSWERS.values(),
        STRENGTHS,
        VOICE,
        FAMILY_VIEW,
        NEED,
        NHS_NUMBER,
        "943 476 5919",
        personas.ashworth.reference,
        "Getting a good education",  # outcome areas and scores are professionals' codes
        "Score",
        "Supporting Families",
        "Consent",
        "Kerry Ashworth",  # family members by first name only
        "Jayden Ashworth",
        "Lawful basis",
    ]:
        assert absent not in text, absent


def test_family_plan_pdf_uses_large_type(login, personas, plan):
    """Every word, footers included, is set at 14pt or more (a word's box in Liberation Sans is about
    1.12 × its size)."""
    heights = word_heights(login(personas.sam).get(plan_url(plan)).content)

    assert heights
    assert min(heights) >= 14 * 1.1


def test_family_plan_pdf_says_so_when_the_plan_is_empty(login, personas):
    episode = pathway_services.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry Ashworth",
        consent_on=timezone.localdate(),
    )

    response = login(personas.sam).get(reverse("assessments:plan-pdf", kwargs={"episode_id": episode.pk}))

    text = pdf_text(response.content)
    assert "You have not written down yet what you want to be different" in text
    assert "We will agree a date with you" in text


# --- Access and audit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sam", "hana", "chris", "alex", "morgan", "quinn"])
def test_everyone_who_may_see_the_family_downloads_both_and_each_download_is_audited(
    login, personas, plan, who
):
    user = getattr(personas, who)
    client = login(user)
    before = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()

    for response in (ask_for_assessment_pdf(client, plan), client.get(plan_url(plan))):
        assert response.status_code == 200
        assert "Ashworth" in pdf_text(response.content)

    events = list(AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("id"))[before:]
    assert [(e.actor_id, e.family_id, e.summary, e.object_type, e.object_id) for e in events] == [
        (
            user.pk,
            personas.ashworth.pk,
            "Early help assessment PDF downloaded",
            "assessments.assessment",
            str(plan.assessment.pk),
        ),
        (
            user.pk,
            personas.ashworth.pk,
            "Family plan PDF downloaded",
            "pathway.episode",
            str(plan.episode.pk),
        ),
    ]


@pytest.mark.parametrize("who", ["ola", "admin"])
def test_outsiders_get_404_and_nothing_is_exported(login, personas, plan, who):
    client = login(getattr(personas, who))

    assert client.post(assessment_url(plan)).status_code == 404
    assert client.post(assessment_url(plan), {"version": "1"}).status_code == 404
    assert client.get(plan_url(plan)).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    assert not AssessmentPdfJob.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client, plan):
    for response in (client.post(assessment_url(plan)), client.get(plan_url(plan))):
        assert response.status_code == 302
        assert response["Location"].startswith(settings.LOGIN_URL)
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


# --- Speed: queries do not grow with the plan ------------------------------------------------------------


def test_queries_do_not_grow_with_the_number_of_actions(login, personas, plan):
    """A plan with 4 actions and one with 34 (owned by practitioners, agencies and family members, under
    outcomes and not) cost the same queries for either PDF (for the assessment: asking, rendering in
    the task and downloading)."""
    client = login(personas.sam)
    # Each ask below makes a new job (no earlier one to compare against, which would cost more).
    with CaptureQueriesContext(connection) as few_assessment:
        assert ask_for_assessment_pdf(client, plan).status_code == 200
    with CaptureQueriesContext(connection) as few_plan:
        assert client.get(plan_url(plan)).status_code == 200
    due = timezone.localdate() + dt.timedelta(days=30)
    owners = [
        {"owner_user": personas.hana},
        {"owner_user": personas.sam},
        {"owner_agency": personas.council},
        {"owner_person": plan.kerry},
        {"owner_person": plan.jayden},
    ]
    second = services.plan_outcome_add(actor=personas.sam, episode=plan.episode, wording="A calmer home")
    for i in range(30):
        services.action_add(
            actor=personas.sam,
            episode=plan.episode,
            description=f"Action number {i}",
            due_on=due,
            outcome=[plan.outcome, second, None][i % 3],
            **owners[i % len(owners)],
        )

    AssessmentPdfJob.objects.all().delete()
    with CaptureQueriesContext(connection) as many_assessment:
        response = ask_for_assessment_pdf(client, plan)
    assert "Action number 29" in pdf_text(response.content)
    with CaptureQueriesContext(connection) as many_plan:
        response = client.get(plan_url(plan))
    assert "Action number 29" in pdf_text(response.content)

    assert len(many_assessment) == len(few_assessment), "\n".join(q["sql"] for q in many_assessment)
    assert len(many_plan) == len(few_plan), "\n".join(q["sql"] for q in many_plan)


# --- Rendering fetches nothing but our own static files ---------------------------------------------------


def test_fetcher_refuses_the_network_and_other_files():
    fetcher = StaticOnlyFetcher()
    for url in [
        "http://example.invalid/x.png",
        "https://example.invalid/x.css",
        "ftp://example.invalid/x.css",
        "file:///etc/passwd",
        f"file://{settings.BASE_DIR}/static/css/pdf-family.css",  # our files, but only as static URLs
        f"{PDF_BASE_URL}etc/passwd",  # our base origin outside the static path
        f"{PDF_BASE_URL}static/../etc/passwd",
        f"{PDF_BASE_URL}static/css/%2e%2e/%2e%2e/ehcase/settings.py",
        f"{PDF_BASE_URL}static/does-not-exist.css",
        "http://pdf.ehcase.invalid/static/css/pdf-family.css",  # same host, other scheme
    ]:
        with pytest.raises(ResourceRefused):
            fetcher.fetch(url)


def test_fetcher_reads_data_urls_and_our_static_files():
    fetcher = StaticOnlyFetcher()

    data = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert (data.read(), data.content_type) == (b"hello", "text/plain")

    url = f"{PDF_BASE_URL}static/css/pdf-family.css"
    css = fetcher.fetch(url)
    assert css.content_type == "text/css"
    assert css.read() == (Path(settings.BASE_DIR) / "static" / "css" / "pdf-family.css").read_bytes()
    assert static_file_for(url) == Path(settings.BASE_DIR) / "static" / "css" / "pdf-family.css"
    # Files from the other static directories too (GOV.UK Frontend's, under its prefix).
    assert static_file_for(f"{PDF_BASE_URL}static/govuk/govuk-frontend.min.css") is not None


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


def test_a_document_naming_outside_resources_renders_without_fetching_them(caplog):
    """A template that names images and stylesheets elsewhere still renders, and nothing is requested:
    a local server stands in for the outside world and counts what reaches it."""
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    outside = f"http://127.0.0.1:{server.server_port}"
    try:
        rendered = html_to_pdf(
            html=f"""<!DOCTYPE html><html lang="en"><head>
            <link rel="stylesheet" href="{outside}/linked.css">
            <style>@import url("{outside}/imported.css");
              body {{ background: url("{outside}/background.png") }}</style>
            <link rel="stylesheet" href="/static/css/pdf-family.css">
            </head><body><h1>Still rendered</h1>
            <img src="{outside}/x.png" alt="outside"><img src="http://example.invalid/x.png" alt="invalid">
            <img src="file:///etc/passwd" alt="local file"></body></html>"""
        )
    finally:
        server.shutdown()
        server.server_close()

    assert _Recorder.requests == []
    assert "Still rendered" in pdf_text(rendered.content)
    assert rendered.pages == 1
    refused = [r.getMessage() for r in caplog.records if "our own static files" in r.getMessage()]
    for name in ("linked.css", "imported.css", "background.png", "x.png", "example.invalid", "/etc/passwd"):
        assert any(name in message for message in refused), name
    # The static stylesheet was fetched and applied: the heading is set at 28pt.
    assert not any("pdf-family.css" in message for message in refused)
    assert max(word_heights(rendered.content)) >= 28
