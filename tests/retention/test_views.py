"""The retention pages: who gets what, GOV.UK errors keeping what was typed, version checks, queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from ehcase.models import AuditEvent
from ehcase.retention import services
from ehcase.retention.models import DestructionReview, LegalHold, ReviewStatus

from .conftest import old_family, years_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(personas, today):
    families = [old_family(personas, name=f"Listed{i}", closed_on=years_ago(today, 8)) for i in range(3)]
    services.retention_scan(today=today)
    return families


def test_only_managers_and_auditors_see_the_list(client, personas, listed):
    url = reverse("retention:review-list")
    for user, status in (
        (personas.morgan, 200),
        (personas.quinn, 200),
        (personas.sam, 404),
        (personas.admin, 404),
    ):
        client.force_login(user)
        assert client.get(url).status_code == status
    client.force_login(personas.morgan)
    body = client.get(url).content.decode()
    assert "Listed0" in body and "Approve" in body
    client.force_login(personas.quinn)
    assert "Approve<span" not in client.get(url).content.decode()


def test_the_list_costs_the_same_for_3_and_40_records(client, personas, listed, today):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(personas.morgan)
    url = reverse("retention:review-list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(37):
        old_family(personas, name=f"More{i}", closed_on=years_ago(today, 8))
    services.retention_scan(today=today)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.decode().count("/approve/") == 40
    sql = "\n".join(q["sql"] for q in many.captured_queries)
    # The session, the user, the user's roles, the header's counts, and one query for the page of reviews
    # (with the family names and who approved): the same whatever the number of records.
    assert len(many.captured_queries) == len(few.captured_queries), sql
    assert sum("retention_destructionreview" in q["sql"] for q in many.captured_queries) == 1, sql


def test_approve_needs_confirmation_and_records_the_approver(client, personas, listed):
    review = DestructionReview.objects.first()
    client.force_login(personas.morgan)
    url = reverse("retention:review-approve", args=[review.pk])
    page = client.get(url)
    assert AuditEvent.objects.filter(
        action="view", family_id=review.object_id, actor=personas.morgan
    ).exists()
    assert "Listed" in page.content.decode()

    response = client.post(url, {"version": review.version})
    assert response.status_code == 200
    assert "Confirm that the record should be destroyed" in response.content.decode()
    assert "govuk-error-summary" in response.content.decode()

    response = client.post(url, {"version": review.version, "confirm": "on"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED
    assert review.decided_by == personas.morgan
    assert AuditEvent.objects.filter(action="update", object_type="retention.destructionreview").exists()


def test_a_decision_on_a_stale_page_is_refused_with_a_message(client, personas, listed, today):
    review = DestructionReview.objects.first()
    services.review_defer(
        actor=personas.morgan,
        review=review,
        version=review.version,
        reason="Wait",
        until=today + dt.timedelta(days=9),
    )
    client.force_login(personas.morgan)
    response = client.post(
        reverse("retention:review-approve", args=[review.pk]), {"version": review.version, "confirm": "on"}
    )
    assert response.status_code == 200
    assert "Someone else decided on this record" in response.content.decode()
    review.refresh_from_db()
    assert review.status == ReviewStatus.DEFERRED


def test_defer_errors_keep_what_was_typed(client, personas, listed):
    review = DestructionReview.objects.first()
    client.force_login(personas.morgan)
    url = reverse("retention:review-defer", args=[review.pk])
    response = client.post(
        url,
        {
            "version": review.version,
            "reason": "Awaiting the ombudsman",
            "until_day": "31",
            "until_month": "2",
            "until_year": "2027",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "must be a real date" in body
    assert "Awaiting the ombudsman" in body
    response = client.post(
        url,
        {
            "version": review.version,
            "reason": "Awaiting the ombudsman",
            "until_day": "1",
            "until_month": "3",
            "until_year": "2099",
        },
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.deferred_until) == (ReviewStatus.DEFERRED, dt.date(2099, 3, 1))


def test_holds_are_placed_by_reference_and_lifted(client, personas):
    client.force_login(personas.morgan)
    response = client.get(reverse("retention:hold-list"), {"reference": "F-NOSUCH"})
    assert "No family record has that reference" in response.content.decode()
    response = client.get(reverse("retention:hold-list"), {"reference": personas.ashworth.reference.lower()})
    assert response.status_code == 302
    place = reverse("retention:hold-place", args=[personas.ashworth.pk])
    assert response["Location"] == place
    assert "Enter why the record must be kept" in client.post(place, {"reason": ""}).content.decode()
    assert client.post(place, {"reason": "Court case"}).status_code == 302
    hold = LegalHold.objects.get(family=personas.ashworth, lifted_at__isnull=True)
    assert AuditEvent.objects.filter(action="create", object_type="retention.legalhold").exists()
    response = client.post(
        reverse("retention:hold-lift", args=[hold.pk]), {"version": hold.version + 5, "reason": "Ended"}
    )
    assert "Someone else changed this legal hold" in response.content.decode()
    response = client.post(
        reverse("retention:hold-lift", args=[hold.pk]), {"version": hold.version, "reason": "Ended"}
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.lifted_by == personas.morgan


def test_auditors_cannot_decide(client, personas, listed):
    review = DestructionReview.objects.first()
    client.force_login(personas.quinn)
    response = client.post(
        reverse("retention:review-approve", args=[review.pk]), {"version": review.version, "confirm": "on"}
    )
    assert response.status_code == 403
    review.refresh_from_db()
    assert review.status == ReviewStatus.AWAITING


def test_the_family_page_offers_a_legal_hold_to_early_help_managers_only(client, personas):
    url = reverse("ehcase:family-detail", kwargs={"family_id": personas.ashworth.pk})
    hold = reverse("retention:hold-place", kwargs={"family_id": personas.ashworth.pk})
    client.force_login(personas.morgan)
    assert hold in client.get(url).content.decode()
    for user in (personas.sam, personas.quinn, personas.chris):
        client.force_login(user)
        assert hold not in client.get(url).content.decode()
