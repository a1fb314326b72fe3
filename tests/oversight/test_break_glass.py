"""Asking for emergency access, ending it, and its review by managers (pages and services)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ehcase.models import AuditEvent, Family
from ehcase.notifications.models import Notification
from ehcase.oversight import services
from ehcase.oversight.models import BreakGlassAccess
from tests.factories import FamilyFactory

from .conftest import REASON, expire, start

pytestmark = pytest.mark.django_db

NEW = reverse("oversight:break-glass-new")
LIST = reverse("oversight:break-glass-list")


def test_a_practitioner_opens_a_family_with_a_reason(client, personas):
    p = personas
    client.force_login(p.ola)
    response = client.post(NEW, {"reference": " f-demoash ", "reason": REASON})
    access = BreakGlassAccess.objects.get(user=p.ola)
    assert response.status_code == 302
    assert response["Location"] == reverse("ehcase:family-detail", args=[p.ashworth.pk])
    assert access.family == p.ashworth and access.reason == REASON
    assert (access.expires_at - access.started_at).total_seconds() == 4 * 3600
    event = AuditEvent.objects.get(action="break_glass", object_id=str(access.pk))
    assert event.family_id == p.ashworth.pk and event.summary == "Emergency access started"
    assert REASON not in event.summary and "Jayden" not in str(event.changes)
    # Told to every early help manager (Southfield has no agency manager in the cast).
    notified = set(Notification.objects.filter(kind="break_glass").values_list("recipient_id", flat=True))
    assert notified == {p.morgan.pk}
    note = Notification.objects.get(recipient=p.morgan, kind="break_glass")
    assert p.ashworth.reference in note.title and "Ashworth" not in note.title + note.body
    assert note.url == reverse("oversight:break-glass-review", args=[access.pk])


def test_the_practitioners_agency_manager_is_told(personas, settings):
    settings.BREAK_GLASS_HOURS = 2
    access = start(personas.sam, personas.evans)
    assert (access.expires_at - access.started_at).total_seconds() == 2 * 3600
    notified = set(Notification.objects.filter(kind="break_glass").values_list("recipient_id", flat=True))
    assert notified == {personas.alex.pk, personas.morgan.pk}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reference": "", "reason": REASON}, "reference", "Enter the family&#x27;s reference"),
        ({"reference": "F-DEMOASH", "reason": ""}, "reason", "Enter why you need to see this record"),
        ({"reference": "F-DEMOASH", "reason": "Need it"}, "reason", "at least 40 characters"),
        ({"reference": "F-DEMOASH", "reason": "x" * 2001}, "reason", "2000 characters or fewer"),
    ],
)
def test_missing_or_short_answers_are_gov_uk_errors_and_keep_what_was_typed(
    client, personas, data, field, message
):
    client.force_login(personas.ola)
    response = client.post(NEW, data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in body and message in body
    assert f'href="#id_{field}"' in body
    if data["reason"]:
        assert data["reason"][:50] in body
    assert not BreakGlassAccess.objects.exists()


def test_an_unknown_reference_is_a_field_error_and_audited(client, personas):
    client.force_login(personas.ola)
    response = client.post(NEW, {"reference": "F-NOSUCH1", "reason": REASON})
    body = response.content.decode()
    assert response.status_code == 200
    assert "No family has this reference" in body and 'value="F-NOSUCH1"' in body
    event = AuditEvent.objects.get(action="break_glass", actor=personas.ola)
    assert event.family_id is None and event.changes == {"reference": [None, "F-NOSUCH1"]}
    assert not BreakGlassAccess.objects.exists()


def test_a_family_already_visible_needs_no_emergency_access(client, personas):
    client.force_login(personas.sam)
    body = client.post(NEW, {"reference": personas.ashworth.reference, "reason": REASON}).content.decode()
    assert "You can already see this family" in body
    assert reverse("ehcase:family-detail", args=[personas.ashworth.pk]) in body
    assert not BreakGlassAccess.objects.exists()
    assert not AuditEvent.objects.filter(action="break_glass").exists()


@pytest.mark.parametrize("who", ["morgan", "quinn", "admin"])
def test_partnership_wide_roles_and_administrators_cannot_ask(client, personas, who):
    client.force_login(getattr(personas, who))
    assert client.get(NEW).status_code == 404
    assert client.post(NEW, {"reference": personas.evans.reference, "reason": REASON}).status_code == 404
    assert not BreakGlassAccess.objects.exists()


def test_ending_early_is_audited_and_only_by_its_holder(client, personas):
    p = personas
    access = start(p.ola, p.ashworth)
    end = reverse("oversight:break-glass-end", args=[access.pk])
    client.force_login(p.sam)
    assert client.post(end).status_code == 404
    client.force_login(p.ola)
    assert client.get(end).status_code == 405
    response = client.post(end)
    assert response.status_code == 302 and response["Location"] == NEW
    access.refresh_from_db()
    assert access.ended_at is not None
    assert (
        AuditEvent.objects.filter(action="break_glass", summary="Emergency access ended by the user").count()
        == 1
    )
    assert client.get(reverse("ehcase:family-detail", args=[p.ashworth.pk])).status_code == 404
    client.post(end)  # again: nothing more happens
    assert (
        AuditEvent.objects.filter(action="break_glass", summary="Emergency access ended by the user").count()
        == 1
    )


def test_the_request_page_lists_ones_own_live_access(client, personas):
    access = start(personas.ola, personas.ashworth)
    client.force_login(personas.ola)
    body = client.get(NEW).content.decode()
    assert "Your emergency access now" in body and personas.ashworth.reference in body
    expire(access)
    assert "Your emergency access now" not in client.get(NEW).content.decode()


# --- review -----------------------------------------------------------------------------------------


def test_review_list_scope_and_order(client, personas):
    p = personas
    reviewed = start(p.sam, p.evans)
    expire(reviewed)
    services.break_glass_review(
        actor=p.morgan, access=reviewed, note="Sound reason", version=reviewed.version
    )
    waiting = start(p.sam, FamilyFactory(area=p.evans.area))
    expire(waiting)
    active = start(p.ola, p.ashworth)
    client.force_login(p.morgan)
    body = client.get(LIST).content.decode()
    positions = [
        body.index(reverse("oversight:break-glass-review", args=[a.pk]) + '"')
        for a in (active, waiting, reviewed)
    ]
    assert positions == sorted(positions)
    assert "Active until" in body and "Not reviewed" in body and "Reviewed" in body
    # Alex sees his practitioner's uses (Sam's), not Ola's.
    client.force_login(p.alex)
    body = client.get(LIST).content.decode()
    assert reverse("oversight:break-glass-review", args=[waiting.pk]) in body
    assert reverse("oversight:break-glass-review", args=[active.pk]) not in body
    assert client.get(reverse("oversight:break-glass-review", args=[active.pk])).status_code == 404
    for who in (p.sam, p.hana, p.chris, p.ola, p.admin):
        client.force_login(who)
        assert client.get(LIST).status_code == 404


def test_a_manager_reviews_with_a_note_and_an_auditor_only_reads(client, personas):
    p = personas
    access = start(p.sam, p.evans)
    url = reverse("oversight:break-glass-review", args=[access.pk])
    client.force_login(p.quinn)
    assert client.get(url).status_code == 200
    assert "Mark as reviewed" not in client.get(url).content.decode()
    assert client.post(url, {"note": "Fine", "version": access.version}).status_code == 403
    client.force_login(p.alex)
    empty = client.post(url, {"note": "", "version": access.version})
    assert empty.status_code == 200 and "Enter a review note" in empty.content.decode()
    response = client.post(
        url, {"note": "Checked with Sam: a call from the police", "version": access.version}
    )
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.reviewed_by == p.alex and access.review_note.startswith("Checked with Sam")
    assert AuditEvent.objects.filter(action="break_glass", summary="Emergency access reviewed").exists()


def test_a_concurrent_review_is_refused_and_keeps_the_note(client, personas):
    p = personas
    access = start(p.sam, p.evans)
    url = reverse("oversight:break-glass-review", args=[access.pk])
    opened = access.version
    services.break_glass_review(actor=p.alex, access=access, note="First", version=opened)
    client.force_login(p.morgan)
    body = client.post(url, {"note": "Second opinion", "version": opened}).content.decode()
    assert "Someone else reviewed or changed this emergency access" in body
    access.refresh_from_db()
    assert access.review_note == "First" and access.reviewed_by == p.alex


def test_one_cannot_review_ones_own_use(personas, client):
    """An agency manager who used emergency access does not see it on his own review page."""
    access = start(personas.alex, personas.evans)
    client.force_login(personas.alex)
    assert client.get(reverse("oversight:break-glass-review", args=[access.pk])).status_code == 404


@pytest.mark.parametrize("rows", [1, 30])
def test_review_list_costs_the_same_whatever_its_length(client, personas, rows):
    area = personas.evans.area
    for _ in range(rows):
        family = FamilyFactory(area=area)
        expire(start(personas.sam, family))
    client.force_login(personas.morgan)
    client.get(LIST)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST)
    assert response.status_code == 200
    # session, user, memberships, hubs (roles), the page of uses with user, family and reviewer,
    # unread notifications (header), and the session's save
    queries = [q["sql"] for q in ctx.captured_queries]
    assert len([q for q in queries if "oversight_breakglassaccess" in q]) == 1, "\n".join(queries)
    assert len(queries) <= 10, "\n".join(queries)
    assert Family.objects.count() >= rows
