"""Retention in Chromium: Morgan (early help manager) finds two records due, defers one (first without
a reason: the error, nothing lost), places a legal hold on it, approves destruction of the other,
lifts the hold, and reads the destruction log. axe-core on every page."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ehcase.retention import services
from ehcase.retention.defaults import ensure_default_rules
from ehcase.retention.models import DestructionReview, LegalHold, ReviewStatus
from tests.retention.conftest import old_family, years_ago

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLE = "Records due for destruction, soonest due first"


def test_retention_journey(page, personas):
    ensure_default_rules()  # a transactional test before this one may have flushed the migration's rows
    today = timezone.localdate()
    keep = old_family(personas, name="Keepsake", closed_on=years_ago(today, 9))
    destroy = old_family(personas, name="Goneaway", closed_on=years_ago(today, 8))
    services.retention_scan(today=today)

    sign_in(page, "morgan.manager")
    with page.expect_navigation():
        page.get_by_role("link", name="Retention").click()
    table = page.get_by_role("table", name=TABLE)
    expect(table).to_contain_text("Keepsake")
    expect(table).to_contain_text("Goneaway")
    assert_accessible(page)

    # Defer, first without a reason.
    with page.expect_navigation():
        page.get_by_role("link", name=f"Defer destruction of Family record {keep.reference}").click()
    assert_accessible(page)
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill(str(today.year + 1))
    with page.expect_navigation():
        page.get_by_role("button", name="Defer").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why the destruction is deferred")
    expect(page.get_by_label("Year")).to_have_value(str(today.year + 1))
    assert_accessible(page)
    page.get_by_label("Why is the destruction deferred?").fill("A complaint is still open")
    with page.expect_navigation():
        page.get_by_role("button", name="Defer").click()
    expect(page.get_by_role("table", name=TABLE)).to_contain_text("Deferred")

    # A legal hold on the deferred family.
    with page.expect_navigation():
        page.get_by_role("link", name=f"Place a legal hold on Family record {keep.reference}").click()
    assert_accessible(page)
    page.get_by_label("Why must the record be kept?").fill("Solicitor's letter about a claim")
    with page.expect_navigation():
        page.get_by_role("button", name="Place legal hold").click()
    expect(page.get_by_role("table")).to_contain_text("Solicitor's letter about a claim")
    assert_accessible(page)
    assert LegalHold.objects.filter(family=keep, lifted_at__isnull=True).exists()

    # Approve the other.
    with page.expect_navigation():
        page.get_by_role("link", name="Records due for destruction").click()
    expect(page.get_by_role("table", name=TABLE)).not_to_contain_text("Keepsake")
    with page.expect_navigation():
        page.get_by_role("link", name=f"Approve destruction of Family record {destroy.reference}").click()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Approve destruction").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Confirm that the record should be destroyed"
    )
    assert_accessible(page)
    page.get_by_label("I confirm the record should be destroyed").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Approve destruction").click()
    expect(page.get_by_role("table", name=TABLE)).to_contain_text("Approved")
    review = DestructionReview.objects.get(object_id=destroy.pk)
    assert review.status == ReviewStatus.APPROVED and review.decided_by == personas.morgan
    # The worker's part, run here: the destruction.
    assert services.destroy_review(review_id=review.pk) == ReviewStatus.DESTROYED

    # Lift the hold, then read the log.
    with page.expect_navigation():
        page.get_by_role("link", name="Legal holds").click()
    with page.expect_navigation():
        page.get_by_role("link", name=f"Lift the hold on {keep.reference}").click()
    assert_accessible(page)
    page.get_by_label("Why is the hold lifted?").fill("Claim settled")
    with page.expect_navigation():
        page.get_by_role("button", name="Lift legal hold").click()
    expect(page.locator("main")).to_contain_text("No legal holds are in place")
    with page.expect_navigation():
        page.get_by_role("link", name="Destruction log").click()
    expect(page.get_by_role("table")).to_contain_text(destroy.reference)
    expect(page.locator("main")).not_to_contain_text("Goneaway")
    assert_accessible(page)
