"""The pathway in Chromium: form the TAF, hold the first meeting and agree the lead professional,
record the baseline and a review, see distance travelled, step down and close. axe-core on every page."""

import datetime as dt

import pytest
from django.utils import timezone

from pathway.models import Episode, EpisodeStatus
from tests.factories import complete_assessment

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_date(page, prefix: str, value: dt.date) -> None:
    page.locator(f"#id_{prefix}_day").fill(str(value.day))
    page.locator(f"#id_{prefix}_month").fill(str(value.month))
    page.locator(f"#id_{prefix}_year").fill(str(value.year))


def submit(page, name: str) -> None:
    page.get_by_role("button", name=name).click()
    page.wait_for_load_state()


def test_lead_professional_journey(page, personas):
    today = timezone.localdate()
    sign_in(page, "sam.practitioner")
    page.goto(f"/families/{personas.ashworth.pk}/")
    page.get_by_role("link", name="Start early help").click()
    assert_accessible(page)
    page.get_by_label("Who in the family agreed to early help").fill("Kerry Ashworth, for all of them")
    fill_date(page, "consent_on", today - dt.timedelta(days=21))
    submit(page, "Start early help")
    assert page.get_by_text("Assessment in progress").first.is_visible()
    assert_accessible(page)

    # Form the team: Hana joins.
    page.get_by_role("link", name="Add a practitioner").click()
    assert_accessible(page)
    page.get_by_label("Practitioner").select_option(label="Hana Kowalski")
    page.get_by_label("Their role in the team").fill("Health visitor")
    submit(page, "Add to the team")
    assert page.get_by_role("cell", name="Hana Kowalski", exact=True).is_visible()

    # Sam has completed the assessment (its pages have their own journey), so the first TAF meeting,
    # held last week, agrees Sam as lead professional and the plan becomes active.
    complete_assessment(actor=personas.sam, episode=Episode.objects.get(family=personas.ashworth))
    page.get_by_role("link", name="Schedule a TAF meeting").click()
    assert_accessible(page)
    fill_date(page, "date", today - dt.timedelta(days=7))
    page.get_by_label("Time").fill("10:30")
    page.get_by_label("Place or online link").fill("Riverside Primary School, meeting room 2")
    page.get_by_label("Yes, it has already happened").check()
    submit(page, "Continue")
    assert page.get_by_role("heading", name="Record the TAF meeting").is_visible()
    assert_accessible(page)
    page.get_by_label("Decisions").fill("Sam to lead. Hana to visit weekly. Review in six weeks.")
    page.get_by_label("Lead professional agreed at this meeting").select_option(label="Sam Patel")
    page.get_by_label("What the family said about who should be their lead professional").fill(
        "Kerry asked for Sam, who she already knows from school"
    )
    submit(page, "Save the minutes")
    assert page.get_by_role("heading", name="Decisions").is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Back to the episode").click()
    assert page.get_by_text("Plan active").first.is_visible()

    # Baseline, then a review: distance travelled appears as a chart with its table.
    page.get_by_role("link", name="Record baseline scores").click()
    assert_accessible(page)
    fill_date(page, "held_on", today - dt.timedelta(days=14))
    page.get_by_label("Getting a good education").fill("3")
    page.get_by_label("Improved family relationships").fill("4")
    submit(page, "Save scores")
    page.get_by_role("link", name="Record a review").click()
    assert_accessible(page)
    page.get_by_label("Getting a good education").fill("8")
    page.get_by_label("Improved family relationships").fill("7")
    page.get_by_label("Step down to universal or single-agency support").check()
    page.get_by_label("Summary of progress").fill("Attendance is now 96%. Kerry feels able to manage.")
    submit(page, "Save review")

    # The review decided to step down: the closure page follows.
    assert page.get_by_role("heading", name="Close the episode").is_visible()
    assert_accessible(page)
    page.get_by_label("Step down to universal or single-agency support").check()
    page.get_by_label("Closure summary").fill("School will continue pastoral support.")
    submit(page, "Close the episode")
    assert page.get_by_text("Closed").first.is_visible()
    chart = page.locator("svg[role=img]")
    assert chart.count() == 1
    table = page.get_by_role("table").filter(has_text="Scores out of 10")
    assert "+5" in table.inner_text() and "+3" in table.inner_text()
    assert_accessible(page)

    episode = Episode.objects.get(family=personas.ashworth)
    assert episode.status == EpisodeStatus.CLOSED and episode.closure_reason == "step_down"
    assert episode.lead_professional == personas.sam

    page.goto(f"/families/{personas.ashworth.pk}/chronology/")
    assert page.get_by_role("heading", name="Chronology").is_visible()
    assert_accessible(page)
    page.goto("/my-work/")
    assert_accessible(page)
