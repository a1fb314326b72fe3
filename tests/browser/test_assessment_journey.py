"""The Early Help Assessment in Chromium: record consent, fill the assessment across its pages (it saves
itself as the practitioner types), complete it, a manager signs it off, and both PDFs download.
The assessment PDF is prepared by a real Celery worker. axe-core on every page."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from assessments.models import Assessment, AssessmentStatus
from pathway import services
from pathway.models import LevelOfNeed
from tests.notifications.conftest import redis_clean, workers  # noqa: F401 - a real Celery worker

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_date(page, prefix: str, value: dt.date) -> None:
    page.locator(f"#id_{prefix}_day").fill(str(value.day))
    page.locator(f"#id_{prefix}_month").fill(str(value.month))
    page.locator(f"#id_{prefix}_year").fill(str(value.year))


def submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def record_consent(page, person: str, given_by: str, today: dt.date) -> None:
    page.get_by_label("Who is the consent for?").select_option(label=person)
    page.get_by_label("Who gave consent?").select_option(label=given_by)
    fill_date(page, "given_on", today)
    page.get_by_label("Written (signed form)").check()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_label("Consent", exact=True).check()
    submit(page, "Record consent")


def test_assessment_journey(page, personas, workers):  # noqa: F811
    today = timezone.localdate()
    episode = services.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry Ashworth",
        consent_on=today - dt.timedelta(days=14),
    )
    sign_in(page, "sam.practitioner")
    page.goto(f"/episodes/{episode.pk}/")
    assert_accessible(page)

    # Consent: Kerry for herself and for her two young children.
    page.get_by_role("link", name="Consent records").click()
    assert_accessible(page)
    page.get_by_role("link", name="Record consent", exact=True).click()
    assert_accessible(page)
    # A mistake first: Jayden (9) cannot consent for himself without a judgement of his understanding.
    page.get_by_label("Who is the consent for?").select_option(
        label="Jayden Ashworth (child or young person)"
    )
    page.get_by_label("Who gave consent?").select_option(label="Jayden Ashworth (child or young person)")
    fill_date(page, "given_on", today)
    page.get_by_label("Verbal").check()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_label("Consent", exact=True).check()
    submit(page, "Record consent")
    assert page.locator(".govuk-error-summary").is_visible()
    assert page.get_by_text("Jayden Ashworth is under 16").first.is_visible()
    assert_accessible(page)
    page.get_by_label("Who gave consent?").select_option(label="Kerry Ashworth (parent or carer)")
    submit(page, "Record consent")
    for person in ("Kerry Ashworth (parent or carer)", "Mia Ashworth (child or young person)"):
        page.get_by_role("link", name="Record consent", exact=True).click()
        record_consent(page, person, "Kerry Ashworth (parent or carer)", today)
    assert page.get_by_text("Given").count() >= 3

    # Start the assessment, covering all three.
    page.goto(f"/episodes/{episode.pk}/")
    page.get_by_role("link", name="Start the assessment").click()
    assert_accessible(page)
    fill_date(page, "assessment_date", today)
    submit(page, "Start the assessment")

    # Step 2: the child's developmental needs. The page saves itself as Sam types.
    expect(page.get_by_role("heading", name="Child's developmental needs")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Health", exact=True).fill("Jayden has asthma, well managed by the GP")
    page.get_by_text("Saved at").wait_for()
    assessment = Assessment.objects.get(episode=episode)
    assert assessment.content["domains"]["child.health"] == "Jayden has asthma, well managed by the GP"
    page.get_by_label("Education and learning").fill("Jayden is often late; Mia starts nursery soon")
    submit(page, "Save and continue")

    expect(page.get_by_role("heading", name="Parenting capacity")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Guidance and boundaries").fill("Mornings are a struggle; Kerry works nights")
    submit(page, "Save and continue")
    expect(page.get_by_role("heading", name="Family and environmental factors")).to_be_visible()
    page.get_by_label("Housing").fill("Damp two-bedroom flat")
    submit(page, "Save and continue")

    expect(page.get_by_role("heading", name="Strengths and needs of each person")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Kerry Ashworth: strengths").fill("Loving, asks for help")
    page.get_by_label("Kerry Ashworth: needs").fill("Rest and a routine")
    submit(page, "Save and continue")

    expect(page.get_by_role("heading", name="The child's voice and the family's view")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("What Jayden says").fill("I like football but I am tired at school")
    page.get_by_label("The family's view").fill("We want calmer mornings and Jayden in school on time")
    submit(page, "Save and continue")

    expect(page.get_by_role("heading", name="Identified needs")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Need 1", exact=True).fill("Getting to school on time")
    page.get_by_label("Outcome need 1 is about").select_option(label="Getting a good education")
    submit(page, "Save and continue")

    expect(page.get_by_role("heading", name="Baseline scores")).to_be_visible()
    page.get_by_label("Getting a good education").fill("12")
    submit(page, "Save and continue")
    assert page.get_by_text("must be a whole number from 0 to 10").first.is_visible()
    assert_accessible(page)
    page.get_by_label("Getting a good education").fill("3")
    submit(page, "Save and continue")

    assert page.get_by_role(
        "heading", name="Check your answers before completing the assessment"
    ).is_visible()
    assert_accessible(page)
    submit(page, "Complete the assessment")
    assert page.get_by_text("Completed, awaiting sign-off").first.is_visible()
    assert_accessible(page)

    # Alex, who manages Sam's agency, signs it off.
    page.context.clear_cookies()
    sign_in(page, "alex.schoolmanager")
    page.get_by_role("link", name="Sign-off").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Assessments awaiting sign-off")
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Ashworth")).click()
    page.get_by_role("link", name="Sign off or return").click()
    assert_accessible(page)
    page.get_by_label("Sign off the assessment").check()
    submit(page, "Save decision")
    assert page.get_by_text("Signed off").first.is_visible()
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SIGNED_OFF and assessment.signed_off_by == personas.alex

    # The assessment PDF is prepared by a Celery worker (a real one, started once Alex has asked, so
    # that the page is seen while it waits): the page updates itself when it is ready.
    submit(page, "Prepare the assessment and plan as a PDF")
    expect(page.get_by_role("heading", level=1)).to_have_text("Preparing your PDF")
    assert page.get_by_role("link", name="check again").is_visible()
    assert_accessible(page)
    workers.start()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your PDF is ready", timeout=60_000)
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the assessment and plan (PDF)").click()
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
    page.goto(f"/episodes/{episode.pk}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the family's plan (PDF)").click()
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
