"""The Content-Security-Policy (ehcase/security.py) holds in a real browser: it is enforced (an inline
script is refused and reported), and the main pages of several personas run without a single
violation, the API documentation included. The `page` fixture records violations and fails any
browser test that causes one; this file walks the pages on purpose."""

from __future__ import annotations

import pytest

from tests.test_permission_matrix import ashworth_assessment, ashworth_episode

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _visit(page, path: str) -> None:
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.csp_violations == [], page.csp_violations


def test_the_policy_is_enforced_and_violations_are_recorded(page, personas):
    sign_in(page, "sam.practitioner")
    _visit(page, "/families/")
    # An inline script added to the page is refused by the browser and reported to the test.
    ran = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation', () => resolve(window.__inlineRan === true))
            const script = document.createElement('script')
            script.textContent = 'window.__inlineRan = true'
            document.body.appendChild(script)
        })"""
    )
    assert ran is False
    assert any(v.get("directive", "").startswith("script-src") for v in page.csp_violations)
    # So is an inline style attribute.
    page.csp_violations.clear()
    page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation', resolve, {once: true})
            const div = document.createElement('div')
            div.innerHTML = '<p style="color: red">x</p>'
            document.body.appendChild(div)
        })"""
    )
    assert any(v.get("directive", "").startswith("style-src") for v in page.csp_violations)
    page.csp_violations.clear()  # provoked on purpose: the fixture's final check must still pass


def test_practitioner_pages_have_no_violations(page, personas):
    ids = ashworth_assessment(personas)
    episode_id = ashworth_episode(personas)["episode_id"]
    sign_in(page, "sam.practitioner")
    _visit(page, "/families/")
    # The search, through the form: POST, then the results at ?search=<token>.
    page.get_by_label("Name, reference or postcode").fill("Ashworth")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("networkidle")
    assert "Ashworth" not in page.url and "search=" in page.url
    _visit(page, f"/families/{personas.ashworth.pk}/")
    _visit(page, f"/episodes/{episode_id}/")
    _visit(page, f"/assessments/{ids['assessment_id']}/")
    _visit(page, f"/assessments/{ids['assessment_id']}/edit/domain-child/")
    assert_accessible(page)
    assert page.csp_violations == []


def test_coordinator_and_manager_pages_have_no_violations(page, personas):
    sign_in(page, "chris.coordinator")
    _visit(page, f"/hubs/{personas.north.pk}/queue/")
    _visit(page, f"/hubs/{personas.north.pk}/meetings/")
    page.context.clear_cookies()
    sign_in(page, "morgan.manager")
    _visit(page, "/reporting/")
    # The charts are SVG with presentation attributes (fill=), which the policy allows.
    assert page.locator("svg[role=img]").count() > 0
    _visit(page, "/families/")


def test_api_documentation_works_under_the_policy(page, personas):
    sign_in(page, "morgan.manager")
    _visit(page, "/api/docs/")
    # Swagger UI's start-up script comes from /api/docs/?script= (not inline) and renders the schema.
    page.get_by_role("heading", name="Early Help case management API").first.wait_for()
    assert page.locator(".opblock").count() > 10
    assert page.csp_violations == []
