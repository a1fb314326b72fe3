"""Emergency access, its review, the audit viewer and the access alerts in Chromium. axe-core on every
page visited.

Ola (South hub) opens a North family through emergency access (first sending the form empty: the
errors, nothing lost), reads it under the banner, and ends it; Alex reviews his practitioner Sam's
use; Morgan searches the audit trail (a date error first), reviews Ola's use and an access alert."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from ehcase.oversight import services
from ehcase.oversight.models import AccessAlert, BreakGlassAccess

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Police called at 19:10 about a child of this family found alone; I need the safety plan."


def _nav(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("navigation", name="Menu").get_by_role("link", name=name).click()


def test_emergency_access_journey(page, personas, settings):
    p = personas
    # Sam's use, for his agency manager to review.
    p.sam.__dict__.pop("_ehcase_roles", None)
    sams = services.break_glass_start(actor=p.sam, reference=p.evans.reference, reason=REASON)

    sign_in(page, "ola.outsider")
    _nav(page, "Emergency access")
    expect(page.get_by_role("heading", name="Emergency access to a family record", level=1)).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Family reference").fill(p.ashworth.reference)
    page.get_by_label("Why do you need to see this record now?").fill("Urgent")
    with page.expect_navigation():
        page.get_by_role("button", name="Open the record").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("at least 40 characters")
    expect(page.get_by_label("Family reference")).to_have_value(p.ashworth.reference)
    assert_accessible(page)

    page.get_by_label("Why do you need to see this record now?").fill(REASON)
    with page.expect_navigation():
        page.get_by_role("button", name="Open the record").click()
    expect(page.get_by_role("heading", name="Ashworth family", level=1)).to_be_visible()
    banner = page.get_by_role("region", name="Emergency access")
    expect(banner).to_contain_text("You have emergency access to this record until")
    expect(banner).to_contain_text(REASON)
    assert_accessible(page)
    access = BreakGlassAccess.objects.get(user=p.ola)

    with page.expect_navigation():
        banner.get_by_role("button", name="I no longer need access").click()
    expect(
        page.get_by_text(f"Your emergency access to family {p.ashworth.reference} has ended")
    ).to_be_visible()
    assert_accessible(page)
    access.refresh_from_db()
    assert access.ended_at is not None
    response = page.goto(f"/families/{p.ashworth.pk}/")
    assert response.status == 404

    # Alex reviews Sam's use; Ola's is not his to see.
    page.context.clear_cookies()
    sign_in(page, "alex.schoolmanager")
    _nav(page, "Emergency access")
    table = page.get_by_role("table", name="Uses of emergency access")
    expect(table).to_contain_text(p.evans.reference)
    expect(table).not_to_contain_text(p.ashworth.reference)
    assert_accessible(page)
    with page.expect_navigation():
        table.get_by_role("link", name=f"Review emergency access by Sam Patel to {p.evans.reference}").click()
    expect(page.get_by_text(REASON)).to_be_visible()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Mark as reviewed").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a review note")
    assert_accessible(page)
    page.get_by_label("Review note").fill("Spoke to Sam: the police call was real.")
    with page.expect_navigation():
        page.get_by_role("button", name="Mark as reviewed").click()
    expect(page.get_by_text("marked as reviewed")).to_be_visible()
    sams.refresh_from_db()
    assert sams.reviewed_by == p.alex

    # Morgan: the audit trail, Ola's use, and an access alert.
    settings.ACCESS_ALERT_FAMILIES_PER_DAY = 0
    services.access_alerts_raise(day=dt.date.today())
    alert = AccessAlert.objects.get(user=p.ola)
    page.context.clear_cookies()
    sign_in(page, "morgan.manager")
    _nav(page, "Audit")
    expect(page.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Username").fill("ola.outsider")
    page.get_by_role("group", name="From").get_by_label("Day").fill("31")
    page.get_by_role("group", name="From").get_by_label("Month").fill("2")
    page.get_by_role("group", name="From").get_by_label("Year").fill("2026")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("From must be a real date")
    expect(page.get_by_label("Username")).to_have_value("ola.outsider")
    assert_accessible(page)
    page.get_by_role("group", name="From").get_by_label("Day").fill("1")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    events = page.get_by_role("table", name="Events")
    expect(events).to_contain_text("Emergency access started")
    expect(events.get_by_role("link", name=p.ashworth.reference).first).to_be_visible()
    assert_accessible(page)

    with page.expect_navigation():
        page.get_by_role("navigation", name="Oversight").get_by_role("link", name="Emergency access").click()
    with page.expect_navigation():
        page.get_by_role(
            "link", name=f"Review emergency access by Ola Nowak to {p.ashworth.reference}"
        ).click()
    assert_accessible(page)
    page.get_by_label("Review note").fill("Checked with the police: sound.")
    with page.expect_navigation():
        page.get_by_role("button", name="Mark as reviewed").click()
    access.refresh_from_db()
    assert access.reviewed_by == p.morgan

    with page.expect_navigation():
        page.get_by_role("navigation", name="Oversight").get_by_role("link", name="Access alerts").click()
    alerts = page.get_by_role("table", name="Access alerts")
    expect(alerts).to_contain_text("ola.outsider opened")
    assert_accessible(page)
    with page.expect_navigation():
        alerts.get_by_role("link", name="Review the alert about ola.outsider").click()
    assert_accessible(page)
    page.get_by_label("Review note").fill("Emergency access, already reviewed.")
    with page.expect_navigation():
        page.get_by_role("button", name="Mark as reviewed").click()
    expect(page.get_by_text("Alert marked as reviewed")).to_be_visible()
    alert.refresh_from_db()
    assert alert.reviewed_by == p.morgan
