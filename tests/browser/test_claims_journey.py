"""A Supporting Families claim in Chromium: Sam (lead professional) drafts one from the episode page,
first sending the form empty (the errors, nothing lost), then Morgan (early help manager) verifies it.
axe-core on every page."""

import pytest
from playwright.sync_api import expect

from pathway.models import ClaimStatus, OutcomeArea, SupportingFamiliesClaim
from tests.test_permission_matrix import sams_claimable_episode

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLAIMS_TABLE = "Supporting Families claims for this episode"
EVIDENCE = "Attendance 96% for two terms; no exclusions since March."


def test_claims_journey(page, personas):
    episode = sams_claimable_episode(personas)
    education = OutcomeArea.objects.get(code="education")

    sign_in(page, "sam.practitioner")
    page.goto(f"/episodes/{episode.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Start a Supporting Families claim").click()
    assert_accessible(page)

    page.get_by_label("Evidence of sustained progress").fill(EVIDENCE)
    with page.expect_navigation():
        page.get_by_role("button", name="Save as a draft").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.get_by_label("Evidence of sustained progress")).to_have_value(EVIDENCE)
    assert_accessible(page)

    page.get_by_label(education.name).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save as a draft").click()
    expect(page.get_by_role("table", name=CLAIMS_TABLE)).to_contain_text(education.name)
    assert_accessible(page)
    claim = SupportingFamiliesClaim.objects.get(episode=episode)
    assert claim.status == ClaimStatus.DRAFT and claim.evidence == EVIDENCE

    page.context.clear_cookies()
    sign_in(page, "morgan.manager")
    page.goto(f"/episodes/{episode.pk}/")
    with page.expect_navigation():
        page.get_by_role("table", name=CLAIMS_TABLE).get_by_role("link", name="Change status").click()
    assert_accessible(page)
    page.get_by_label("Verify the evidence").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("table", name=CLAIMS_TABLE)).to_contain_text("Verified")
    assert_accessible(page)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.VERIFIED
