"""The notification centre, the header's unread count, the email choice, the admin's view of sends,
and /healthz's reminder state."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from ehcase.notifications import scans
from ehcase.notifications.models import Notification, NotificationPreference, Reminder
from ehcase.notifications.services import reminders_deliver
from ehcase.permissions import revoke_family_access

pytestmark = pytest.mark.django_db

LIST = "/notifications/"


def make(user, n: int, *, family=None, read: bool = False) -> list[Notification]:
    return Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                kind="review_due",
                title=f"Review due {i}",
                body=f"The review for family {family.reference if family else 'F-XXXX'} is due.",
                url="/my-work/",
                family_id=family.pk if family else None,
                read_at=timezone.now() if read else None,
            )
            for i in range(n)
        ]
    )


def test_the_centre_lists_the_users_own_notifications_with_the_family_name_while_visible(client, personas):
    make(personas.hana, 1, family=personas.ashworth)
    make(personas.sam, 1, family=personas.bennett)
    client.force_login(personas.hana)
    page = client.get(LIST).content.decode()
    assert "Review due 0" in page and "Family: Ashworth" in page
    assert personas.bennett.reference not in page  # Sam's, not hers
    assert "You have 1 unread notification." in page
    revoke_family_access(user=personas.hana, family=personas.ashworth)
    page = client.get(LIST).content.decode()
    assert "Review due 0" in page and "Ashworth" not in page


def test_mark_one_as_read(client, personas):
    (mine,) = make(personas.sam, 1)
    client.force_login(personas.sam)
    response = client.post(reverse("notifications:read", args=[mine.pk]))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_mark_as_read_with_htmx_returns_the_item(client, personas):
    (mine,) = make(personas.sam, 1)
    client.force_login(personas.sam)
    response = client.post(reverse("notifications:read", args=[mine.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="notification-{mine.pk}"' in body and "Marked as read" in body and "<html" not in body


def test_someone_elses_notification_is_a_404(client, personas):
    (theirs,) = make(personas.sam, 1)
    client.force_login(personas.hana)
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_touches_only_the_users_own(client, personas):
    make(personas.sam, 3)
    make(personas.hana, 2)
    client.force_login(personas.sam)
    client.post(reverse("notifications:read-all"))
    assert not Notification.objects.filter(recipient=personas.sam, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=personas.hana, read_at__isnull=True).count() == 2


def test_the_header_shows_the_unread_count(client, personas):
    make(personas.sam, 3)
    make(personas.sam, 2, read=True)
    client.force_login(personas.sam)
    page = client.get("/my-work/").content.decode()
    assert (
        'Notifications <strong class="govuk-tag govuk-tag--red app-count">3'
        '<span class="govuk-visually-hidden"> unread' in page
    )


def test_the_header_count_costs_one_query_whatever_it_says(client, personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(personas.ola)
    page = reverse("notifications:preferences")
    counts = []
    for unread in (0, 5):
        make(personas.ola, unread)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        unread_queries = [q for q in queries if 'FROM "notifications_notification"' in q["sql"]]
        assert len(unread_queries) == 1 and '"read_at" IS NULL' in unread_queries[0]["sql"]
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("rows", [1, 50])
def test_the_centre_costs_the_same_for_1_and_50_rows(client, personas, django_assert_num_queries, rows):
    make(personas.sam, rows, family=personas.ashworth)
    client.force_login(personas.sam)
    client.get(LIST)
    # 1 session, 2 user, 2a the two-factor device (OTPMiddleware), 3 memberships (roles), 4 their hubs,
    # 5 the paginator's count, 6 the unread count
    # (shared by the header and the page), 7 the page of notifications with each visible family's name
    # (one correlated subquery through the access layer). The session, refreshed under a minute ago, is
    # not saved.
    with django_assert_num_queries(8):
        response = client.get(LIST)
    assert response.content.decode().count('<li class="app-notification') == rows


def test_choose_email_frequency(client, personas):
    client.force_login(personas.hana)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "How often should we email you about reminders?" in page
    assert 'value="immediately" checked' in page or 'value="immediately"\n' in page or "checked" in page
    response = client.post(reverse("notifications:preferences"), {"email_frequency": "daily"})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=personas.hana).email_frequency == "daily"
    response = client.post(reverse("notifications:preferences"), {})
    assert response.status_code == 200 and "Select how often we should email you" in response.content.decode()


def test_the_admin_shows_recent_sends_and_failures_without_case_data(client, personas, world):
    scans.scan_all()
    reminders_deliver()
    Reminder.objects.filter(kind="review_due").update(status="failed", last_error="SMTPException: refused")
    client.force_login(personas.admin)
    page = client.get("/admin/notifications/reminder/").content.decode()
    assert "sam.practitioner" in page and "SMTPException: refused" in page and "Review overdue" in page
    for secret in (personas.ashworth.reference, "Ashworth", "Bennett", personas.bennett.reference):
        assert secret not in page
    failed = client.get("/admin/notifications/reminder/?status__exact=failed").content.decode()
    assert "SMTPException: refused" in failed and '<td class="field-kind">Review overdue' not in failed
    assert '<td class="field-kind">Review overdue' in page
    reminder = Reminder.objects.get(kind="review_due")
    detail = client.get(f"/admin/notifications/reminder/{reminder.pk}/change/")
    assert detail.status_code == 200 and personas.ashworth.reference not in detail.content.decode()
    assert client.get("/admin/notifications/notification/").status_code == 404  # text stays out
    assert client.get("/admin/notifications/scanrun/").status_code == 200


def test_healthz_shows_the_reminder_state(client, personas, world):
    assert client.get("/healthz").json()["reminders"] == {
        "last_scan_at": None,
        "pending": 0,
        "pending_due": 0,
        "failed": 0,
    }
    scans.scan_all()
    state = client.get("/healthz").json()["reminders"]
    assert state["last_scan_at"] is not None and state["pending"] == len(world.expected(personas))
