"""The front door in Chromium: a practitioner sends a request, the coordinator decides it at a hub
meeting, the practitioner sees the outcome. axe-core on every page visited."""

import datetime as dt

import pytest
from django.utils import timezone

from hubs.models import RequestForSupport, TriageDecision

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def go_on(page, name: str = "Continue") -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()
    assert_accessible(page)


def test_request_decided_at_a_hub_meeting(page, personas, browser, live_server):
    today = timezone.localdate()
    sign_in(page, "sam.practitioner")
    page.goto("/requests/new/")
    assert_accessible(page)
    page.get_by_label("First name").fill("Tyler")
    page.get_by_label("Last name").fill("Benet")  # misspelt: the match is fuzzy
    page.locator("#id_date_of_birth_day").fill("9")
    page.locator("#id_date_of_birth_month").fill("6")
    page.locator("#id_date_of_birth_year").fill("2014")
    go_on(page, "Search")
    page.get_by_role("button", name="Request support for this family").first.click()
    page.wait_for_load_state()
    assert_accessible(page)
    if page.get_by_role("button", name="Continue to the request").count():
        go_on(page, "Continue to the request")
    page.get_by_label("Getting a good education").check()
    page.get_by_label("Why does the family need support?").fill(
        "Tyler's attendance has fallen to 72% this term."
    )
    go_on(page)
    page.get_by_label("Schools").check()
    page.get_by_label("Routine").check()
    go_on(page)
    page.get_by_label("What has been tried already?").fill("Two meetings with Lee; attendance plan.")
    go_on(page)
    page.get_by_label("Yes").check()
    page.get_by_label("Who agreed").fill("Lee Bennett (father)")
    page.locator("#id_consent_on_day").fill(str(today.day))
    page.locator("#id_consent_on_month").fill(str(today.month))
    page.locator("#id_consent_on_year").fill(str(today.year))
    page.get_by_label("Verbally").check()
    go_on(page)
    assert page.get_by_text("Tyler's attendance has fallen to 72% this term.").is_visible()
    go_on(page, "Send request")
    request = RequestForSupport.objects.get(family=personas.bennett)
    assert request.status == "new" and request.hub == personas.north

    # The coordinator schedules a hub meeting, puts the request on its agenda and decides it there.
    coordinator = browser.new_context(base_url=live_server.url).new_page()
    sign_in(coordinator, "chris.coordinator")
    coordinator.goto(f"/hubs/{personas.north.pk}/queue/")
    assert_accessible(coordinator)
    assert coordinator.get_by_role("link", name="Bennett").first.is_visible()
    coordinator.goto(f"/hubs/{personas.north.pk}/meetings/new/")
    assert_accessible(coordinator)
    when = today + dt.timedelta(days=1)
    coordinator.locator("#id_date_day").fill(str(when.day))
    coordinator.locator("#id_date_month").fill(str(when.month))
    coordinator.locator("#id_date_year").fill(str(when.year))
    coordinator.get_by_label("Time").fill("09:30")
    coordinator.get_by_label("Place or online link").fill("Morpeth Family Hub")
    go_on(coordinator, "Schedule the meeting")
    coordinator.get_by_role("checkbox").first.check()
    go_on(coordinator, "Add to the agenda")
    coordinator.get_by_role("link", name="Decide").first.click()
    coordinator.wait_for_load_state()
    assert_accessible(coordinator)
    coordinator.get_by_label("Information and signposting", exact=True).check()
    coordinator.get_by_label("Information and signposting for the referrer").fill(
        "The school's attendance officer and the family hub's parenting group can help."
    )
    coordinator.get_by_label("Reasons for the decision").fill("Single issue; universal services fit.")
    go_on(coordinator, "Record the decision")
    decision = TriageDecision.objects.get(request=request)
    assert decision.outcome == "signposting" and decision.meeting is not None

    # The practitioner sees the outcome in My requests.
    page.goto("/my-requests/")
    assert_accessible(page)
    page.get_by_role("link", name=str(request.pk), exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_text("Information and signposting").first.is_visible()
    assert page.get_by_text("parenting group").is_visible()
    assert_accessible(page)
