"""The nightly retention scan: exactly the records due, legal holds honoured, safe to run again."""

from __future__ import annotations

import datetime as dt

import pytest

from ehcase.models import AuditEvent
from ehcase.notifications.models import Notification
from ehcase.retention import services
from ehcase.retention.models import DestructionReview, RecordClass, RetentionRule, ReviewStatus

from .conftest import old_family, years_ago

pytestmark = pytest.mark.django_db


def listed(record_class=RecordClass.FAMILY) -> dict[int, DestructionReview]:
    return {
        r.object_id: r
        for r in DestructionReview.objects.filter(record_class=record_class, status=ReviewStatus.AWAITING)
    }


def test_the_scan_lists_exactly_the_families_due(personas, today):
    day = dt.timedelta(days=1)
    due_today = old_family(personas, name="Dueday", closed_on=years_ago(today, 6))
    due_tomorrow = old_family(personas, name="Duesoon", closed_on=years_ago(today, 6) + day)
    long_closed = old_family(personas, name="Longago", closed_on=years_ago(today, 9))
    # Closed long ago, but the child is 25 only tomorrow: the later of the two rules decides.
    child_young = old_family(
        personas, name="Youngchild", closed_on=years_ago(today, 9), child_born=years_ago(today, 25) + day
    )
    child_25_today = old_family(
        personas, name="Grownchild", closed_on=years_ago(today, 9), child_born=years_ago(today, 25)
    )
    # Never had an episode: the last activity counts.
    no_episode_due = old_family(personas, name="Noepisode", last_activity=years_ago(today, 6))
    no_episode_recent = old_family(personas, name="Recentish", last_activity=years_ago(today, 6) + day)
    # An open episode is never listed, however old.
    still_open = old_family(personas, name="Stillopen", last_activity=years_ago(today, 20), open_episode=True)

    result = services.retention_scan(today=today)

    reviews = listed()
    assert set(reviews) == {due_today.pk, long_closed.pk, child_25_today.pk, no_episode_due.pk}
    assert result["families"] == 4
    assert reviews[due_today.pk].due_on == today
    assert reviews[long_closed.pk].due_on == years_ago(today, 3)
    assert reviews[child_25_today.pk].due_on == today
    assert "child rule" in reviews[child_25_today.pk].basis
    assert reviews[due_today.pk].basis.startswith("Last episode closed on")
    assert reviews[no_episode_due.pk].basis.startswith("Last activity on")
    assert reviews[due_today.pk].family_reference == due_today.reference
    for family in (due_tomorrow, child_young, no_episode_recent, still_open, personas.ashworth):
        assert family.pk not in reviews


def test_a_family_under_legal_hold_is_not_listed(personas, today):
    held = old_family(personas, name="Heldfast", closed_on=years_ago(today, 8))
    free = old_family(personas, name="Freeman", closed_on=years_ago(today, 8))
    services.legal_hold_place(actor=personas.morgan, family=held, reason="Court case")

    services.retention_scan(today=today)

    assert set(listed()) == {free.pk}


def test_a_hold_placed_on_a_listed_family_takes_it_off_and_lifting_brings_it_back(personas, today):
    family = old_family(personas, name="Backagain", closed_on=years_ago(today, 8))
    services.retention_scan(today=today)
    review = listed()[family.pk]

    hold = services.legal_hold_place(actor=personas.morgan, family=family, reason="Complaint open")
    review.refresh_from_db()
    assert review.status == ReviewStatus.NOT_DUE
    services.retention_scan(today=today)
    assert family.pk not in listed()

    services.legal_hold_lift(actor=personas.morgan, hold=hold, version=hold.version, reason="Closed")
    services.retention_scan(today=today)
    review.refresh_from_db()
    assert review.status == ReviewStatus.AWAITING
    assert DestructionReview.objects.filter(object_id=family.pk).count() == 1


def test_rerunning_the_scan_creates_nothing_new_and_notifies_once(personas, today):
    old_family(personas, name="Onceonly", closed_on=years_ago(today, 8))
    first = services.retention_scan(today=today)
    notifications = Notification.objects.filter(kind=services.NOTIFICATION_KIND)
    assert first["families"] == 1
    assert set(notifications.values_list("recipient__username", flat=True)) == {"morgan.manager"}

    second = services.retention_scan(today=today)
    third = services.retention_scan(today=today)

    assert second["families"] == third["families"] == 0
    assert DestructionReview.objects.count() == 1
    assert notifications.count() == 1


def test_a_family_that_reopens_is_no_longer_due(personas, today):
    from pathway.models import Episode, LevelOfNeed

    family = old_family(personas, name="Reopened", closed_on=years_ago(today, 8))
    services.retention_scan(today=today)
    Episode.objects.create(family=family, level=LevelOfNeed.objects.get(code="3"), opened_on=today)

    result = services.retention_scan(today=today)

    assert result["not_due"] == 1
    assert DestructionReview.objects.get(object_id=family.pk).status == ReviewStatus.NOT_DUE


def test_an_inactive_rule_lists_nothing(personas, today):
    old_family(personas, name="Switchedoff", closed_on=years_ago(today, 8))
    RetentionRule.objects.filter(record_class=RecordClass.FAMILY).update(active=False)
    services.retention_scan(today=today)
    assert not listed()


def test_deferred_reviews_return_on_their_date(personas, today):
    family = old_family(personas, name="Later", closed_on=years_ago(today, 8))
    services.retention_scan(today=today)
    review = listed()[family.pk]
    services.review_defer(
        actor=personas.morgan,
        review=review,
        version=review.version,
        reason="Complaint",
        until=today + dt.timedelta(days=3),
    )
    services.retention_scan(today=today + dt.timedelta(days=2))
    review.refresh_from_db()
    assert review.status == ReviewStatus.DEFERRED
    services.retention_scan(today=today + dt.timedelta(days=3))
    review.refresh_from_db()
    assert review.status == ReviewStatus.AWAITING


def test_the_audit_rule_lists_each_old_month_once(personas, today):
    from django.db import connection

    event = AuditEvent.objects.create(action="view", summary="old read")
    old = years_ago(today, 8).replace(day=15)
    # occurred_at is auto_now_add: an old event is dated with a plain insert of its own.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ehcase_auditevent (occurred_at, actor_username, action, object_type, object_id, "
            "summary, changes, user_agent, path) VALUES (%s, '', 'view', '', '', 'old', '{}', '', '')",
            [old],
        )
    services.retention_scan(today=today)
    services.retention_scan(today=today)

    reviews = list(DestructionReview.objects.filter(record_class=RecordClass.AUDIT))
    assert [r.object_id for r in reviews] == [old.year * 100 + old.month]
    assert event.occurred_at.date() > years_ago(today, 7)
