"""The audit viewer: early help managers and auditors search the trail; the search is itself audited;
a page costs the same whatever its rows; nothing in the application can change an audit row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import AuditEvent

pytestmark = pytest.mark.django_db

SEARCH = reverse("oversight:audit-search")
EXPORT = reverse("oversight:audit-export")


def _rows(body: str) -> int:
    return body.count('<tr class="govuk-table__row">') - 1  # minus the header row


@pytest.mark.parametrize("who", ["sam", "hana", "chris", "alex", "ola", "admin"])
def test_only_early_help_managers_and_auditors(client, personas, who):
    client.force_login(getattr(personas, who))
    assert client.get(SEARCH).status_code == 404
    assert client.get(EXPORT).status_code == 404


def test_search_by_user_family_action_and_dates(client, personas):
    p = personas
    audit_record(actor=p.sam, action="view", family_id=p.ashworth.pk, summary="Family record")
    audit_record(actor=p.hana, action="view", family_id=p.ashworth.pk, summary="Family record")
    audit_record(actor=p.sam, action="update", family_id=p.bennett.pk, summary="Family details changed")
    audit_record(actor=p.sam, action="view", family_id=p.bennett.pk, summary="Family record")
    client.force_login(p.quinn)
    body = client.get(SEARCH, {"user": "sam.practitioner", "family": "f-demoash"}).content.decode()
    assert _rows(body) == 1 and p.ashworth.reference in body
    assert reverse("ehcase:family-detail", args=[p.ashworth.pk]) in body
    body = client.get(SEARCH, {"user": "sam.practitioner", "action": "update"}).content.decode()
    assert _rows(body) == 1 and "Family details changed" in body
    today = timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)
    body = client.get(
        SEARCH,
        {
            "user": "sam.practitioner",
            "date_from_day": tomorrow.day,
            "date_from_month": tomorrow.month,
            "date_from_year": tomorrow.year,
        },
    )
    # a "from" date in the future is an error next to the field
    assert "From must be today or in the past" in body.content.decode()
    body = client.get(
        SEARCH,
        {
            "user": "sam.practitioner",
            "date_from_day": today.day,
            "date_from_month": today.month,
            "date_from_year": today.year,
            "date_to_day": today.day,
            "date_to_month": today.month,
            "date_to_year": today.year,
        },
    ).content.decode()
    assert _rows(body) == 3
    yesterday = today - dt.timedelta(days=1)
    body = client.get(
        SEARCH,
        {"date_to_day": yesterday.day, "date_to_month": yesterday.month, "date_to_year": yesterday.year},
    ).content.decode()
    assert "No events match your search" in body


def test_date_errors_are_next_to_the_fields_and_keep_what_was_typed(client, personas):
    client.force_login(personas.morgan)
    response = client.get(
        SEARCH,
        {
            "user": "sam.practitioner",
            "date_from_day": "31",
            "date_from_month": "2",
            "date_from_year": "2026",
            "date_to_day": "1",
            "date_to_month": "1",
            "date_to_year": "",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "From must be a real date" in body and 'href="#id_date_from_day"' in body
    assert "To must include a year" in body
    assert 'value="31"' in body and 'value="sam.practitioner"' in body
    assert "<title>Error:" in body
    assert not AuditEvent.objects.filter(summary="Searched the audit trail").exists()
    response = client.get(
        SEARCH,
        {
            "date_from_day": "5",
            "date_from_month": "3",
            "date_from_year": "2026",
            "date_to_day": "1",
            "date_to_month": "3",
            "date_to_year": "2026",
        },
    )
    assert "must be the same as or after" in response.content.decode()


def test_the_search_is_audited_without_a_family(client, personas):
    client.force_login(personas.morgan)
    client.get(SEARCH, {"user": "sam.practitioner", "family": "F-DEMOASH", "page": "2"})
    event = AuditEvent.objects.get(summary="Searched the audit trail")
    assert event.action == "view" and event.family_id is None and event.actor == personas.morgan
    assert event.changes["search"][1] == {"username": "sam.practitioner", "reference": "F-DEMOASH", "page": 2}


def test_newest_first_fifty_a_page(client, personas):
    for i in range(55):
        audit_record(
            actor=personas.sam, action="view", family_id=personas.ashworth.pk, summary=f"Read {i:02}"
        )
    client.force_login(personas.morgan)
    first = client.get(SEARCH, {"user": "sam.practitioner", "action": "view"}).content.decode()
    assert _rows(first) == 50
    assert first.index("Read 54") < first.index("Read 53")
    assert "page=2" in first and "user=sam.practitioner" in first
    second = client.get(SEARCH, {"user": "sam.practitioner", "action": "view", "page": 2}).content.decode()
    assert "Read 00" in second and "Read 54" not in second


def _search_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(SEARCH, {"user": "sam.practitioner"})
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_a_page_costs_a_fixed_number_of_queries(client, personas):
    client.force_login(personas.quinn)
    audit_record(actor=personas.sam, action="view", family_id=personas.ashworth.pk, summary="x")
    client.get(SEARCH)
    one = _search_queries(client)
    for _ in range(60):
        audit_record(actor=personas.sam, action="view", family_id=personas.ashworth.pk, summary="x")
    full = _search_queries(client)
    # session, user, memberships, hubs (roles), INSERT the search's audit event, the page of events
    # with each family's reference (one statement, no COUNT), unread notifications (header), the
    # session's save: the same for 1 row and for a full page of 50.
    assert len(one) == len(full), "\n".join(full)
    assert len([q for q in full if "ehcase_auditevent" in q]) == 2, "\n".join(full)
    assert len(full) <= 12, "\n".join(full)


def test_csv_export_is_audited_and_safe_for_spreadsheets(client, personas):
    audit_record(actor=personas.sam, action="update", family_id=personas.ashworth.pk, summary="=HYPERLINK(1)")
    client.force_login(personas.morgan)
    response = client.get(EXPORT, {"user": "sam.practitioner", "action": "update"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode()
    lines = content.strip().splitlines()
    assert lines[0].startswith("When,Who,Action")
    assert len(lines) == 2 and "'=HYPERLINK(1)" in lines[1] and "F-DEMOASH" in lines[1]
    event = AuditEvent.objects.get(action="export", actor=personas.morgan)
    assert event.summary == "Exported an audit trail search" and event.family_id is None


def test_the_viewer_has_no_write_routes(client, personas):
    client.force_login(personas.morgan)
    assert client.post(SEARCH, {"user": "x"}).status_code == 405
    assert client.post(EXPORT, {}).status_code == 405
    oversight_routes = [
        p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "oversight"
    ][0].url_patterns
    viewer = {p.name for p in oversight_routes if str(p.pattern).startswith("audit/")}
    assert viewer == {"audit-search", "audit-export"}  # both GET only
    count = AuditEvent.objects.count()
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(SEARCH).status_code == 405
    assert AuditEvent.objects.count() == count


def test_the_admin_offers_no_add_change_or_delete_of_audit_events(client, personas):
    event = audit_record(actor=personas.sam, action="view", family_id=personas.ashworth.pk, summary="x")
    client.force_login(personas.admin)
    for url in (
        "/admin/ehcase/auditevent/add/",
        f"/admin/ehcase/auditevent/{event.pk}/change/",
        f"/admin/ehcase/auditevent/{event.pk}/delete/",
    ):
        assert client.get(url).status_code in (403, 404), url
        client.post(url, {"summary": "tampered", "post": "yes"})
    event.refresh_from_db()
    assert event.summary == "x"
    from django.contrib.admin.sites import site

    model_admin = site._registry[AuditEvent]
    request = type("R", (), {"user": personas.admin})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
