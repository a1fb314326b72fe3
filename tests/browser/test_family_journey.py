"""A practitioner signs in, searches, opens a family and edits it: axe-core clean on every page."""

import pytest

from ehcase.models import AuditEvent

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_practitioner_signs_in_searches_and_opens_a_family(page, personas):
    page.goto("/accounts/login/")
    assert_accessible(page)
    sign_in(page, "sam.practitioner")
    assert page.get_by_role("heading", name="Families", level=1).is_visible()
    assert_accessible(page)

    page.get_by_label("Name, reference or postcode").fill("Ashworth")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert page.locator("#result-count").inner_text() == "1 family found"
    assert_accessible(page)

    page.get_by_role("link", name="Ashworth").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Ashworth family").is_visible()
    assert page.get_by_role("link", name="Jayden Ashworth").is_visible()
    assert_accessible(page)
    assert AuditEvent.objects.filter(
        actor=personas.sam, action="view", family_id=personas.ashworth.pk
    ).exists()

    # The outsider's family is not there for Sam: a 404, and no trace of it in search.
    page.goto(f"/families/{personas.evans.pk}/")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert_accessible(page)


def test_errors_are_shown_at_the_field_and_input_is_kept(page, personas):
    sign_in(page, "sam.practitioner")
    page.goto(f"/families/{personas.ashworth.pk}/members/add/")
    assert_accessible(page)
    page.get_by_label("First name").fill("Ruby")
    page.locator("#id_person-date_of_birth_day").fill("31")
    page.locator("#id_person-date_of_birth_month").fill("2")
    page.locator("#id_person-date_of_birth_year").fill("2020")
    page.get_by_label("NHS number").fill("123 456 7890")
    page.get_by_role("button", name="Add person").click()
    page.wait_for_load_state()
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "Enter the last name" in summary
    assert "Date of birth must be a real date" in summary
    assert "Enter a valid NHS number" in summary
    assert page.get_by_label("First name").input_value() == "Ruby"
    assert page.get_by_label("NHS number").input_value() == "123 456 7890"
    assert page.title().startswith("Error: ")
    assert_accessible(page)
