"""Information sharing and a subject access request in Chromium. Sam records a share from the family
page (first sending the form with only the decision chosen: the errors, nothing lost), then Morgan (early
help manager) opens a subject access request from Kerry's page, checks the redactions, releases it and
sees the downloads. axe-core on every page."""

import pytest
from playwright.sync_api import expect

from ehcase.disclosure.models import SharingRecord, SubjectAccessRequest

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHAT = "The early help assessment and plan"


def test_disclosure_journey(page, personas):
    family = personas.ashworth
    kerry = family.members.get(person__first_name="Kerry").person

    sign_in(page, "sam.practitioner")
    page.goto(f"/families/{family.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Information sharing").click()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Record information sharing").click()
    assert_accessible(page)

    page.get_by_label("Information was shared").check()
    page.get_by_label("What information").fill(WHAT)
    with page.expect_navigation():
        page.get_by_role("button", name="Save record").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select how the information was shared")
    expect(page.get_by_label("What information")).to_have_value(WHAT)
    assert_accessible(page)

    page.get_by_label("Printed for a meeting").check()
    page.get_by_label("Public task").check()
    page.get_by_label("Day").fill("2")
    page.get_by_label("Month").fill("11")
    page.get_by_label("Year").fill("2026")
    page.get_by_label("Kerry Ashworth").check()
    page.get_by_label("Who with: their name and role").fill("School nurse")
    page.get_by_label("Why", exact=True).fill("To plan health support")
    page.get_by_label("Consent given").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save record").click()
    expect(page.get_by_text("Information sharing recorded")).to_be_visible()
    assert_accessible(page)
    record = SharingRecord.objects.get()
    assert record.method == "printed_meeting" and list(record.people.all()) == [kerry]

    page.context.clear_cookies()
    sign_in(page, "morgan.manager")
    page.goto(f"/families/{family.pk}/people/{kerry.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Open a subject access request for Kerry Ashworth").click()
    assert_accessible(page)
    page.get_by_label("The person themself").check()
    page.get_by_label("Day").fill("2")
    page.get_by_label("Month").fill("11")
    page.get_by_label("Year").fill("2026")
    with page.expect_navigation():
        page.get_by_role("button", name="Open the request").click()
    expect(page.get_by_role("heading", name="Check what will be released")).to_be_visible()
    assert_accessible(page)

    # Release an item about another member of the household without saying why: the error, then a reason.
    page.get_by_label("Release this item").first.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save redactions").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("enter why it can be released")
    assert_accessible(page)
    page.get_by_label("Why it can be released").first.fill("Kerry is the parent with responsibility")
    with page.expect_navigation():
        page.get_by_role("button", name="Save redactions").click()
    expect(page.get_by_text("Redactions saved")).to_be_visible()

    with page.expect_navigation():
        page.get_by_role("link", name="Release the export").click()
    expect(page.get_by_text("Kerry is the parent with responsibility")).to_be_visible()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Release").click()
    expect(page.get_by_role("link", name="Download the PDF")).to_be_visible()
    assert_accessible(page)
    assert SubjectAccessRequest.objects.get().is_released
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the JSON").click()
    assert download.value.suggested_filename.endswith(".json")
