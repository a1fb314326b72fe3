"""Exactly once, with a real Redis and real Celery worker processes on the test database."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from ehcase.notifications.models import Notification, Reminder, ReminderStatus, ScanRun
from ehcase.notifications.tasks import deliver_reminders, scan_due_reminders

from . import email_backend
from .conftest import build_world, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _settled() -> bool:
    return not Reminder.objects.filter(status=ReminderStatus.PENDING).exists()


def _sessions_in_transaction() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _keys() -> list[tuple[str, int, int]]:
    return list(Reminder.objects.values_list("kind", "recipient_id", "object_id"))


def test_the_scan_sends_each_due_reminder_once_and_a_second_scan_sends_nothing(personas, workers):
    world = build_world(personas)
    workers.start()
    scan_due_reminders.delay()
    wait_for(lambda: ScanRun.objects.exists() and _settled(), what="the first scan and its delivery")

    assert set(_keys()) == world.expected(personas)
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}
    # One in-app notification and one email per reminder (everyone emailed straight away by default).
    assert Notification.objects.count() == Reminder.objects.count()
    emails = email_backend.sent()
    assert Counter(e["key"] for e in emails) == Counter(r.key for r in Reminder.objects.all())
    assert all(count == 1 for count in Counter(e["key"] for e in emails).values())

    scan_due_reminders.delay()
    deliver_reminders.delay()
    wait_for(lambda: ScanRun.objects.count() == 2, what="the second scan")
    # A delivery run queued after the second scan has nothing to do; wait for the queue to drain.
    wait_for(lambda: email_backend.client().llen("celery") == 0, what="the queue to drain")
    assert len(email_backend.sent()) == len(emails)
    assert Notification.objects.count() == Reminder.objects.count() == len(world.expected(personas))


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(personas, workers, settings):
    """SIGKILL the worker while it is sending the fourth email of the batch: the three before it are
    committed as sent; a new worker sends the rest, each exactly once."""
    world = build_world(personas)
    expected = world.expected(personas)
    r = email_backend.client()
    r.set(email_backend.HOLD, 3)
    first = workers.start()
    scan_due_reminders.delay()
    pid = wait_for(
        lambda: r.lpop(email_backend.HELD), timeout=120, what="the worker to reach the fourth email"
    )
    assert int(pid) == first.pid
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    # PostgreSQL ends the dead worker's session (and its row lock) when its socket closes.
    wait_for(lambda: not _sessions_in_transaction(), what="the dead worker's session to end")

    assert len(email_backend.sent()) == 3
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 3
    assert Reminder.objects.filter(status=ReminderStatus.PENDING).count() == len(expected) - 3
    assert Notification.objects.count() == 3  # the one being sent was rolled back with its transaction

    r.delete(email_backend.HOLD)
    workers.start()
    deliver_reminders.delay()  # what beat queues every minute
    wait_for(_settled, what="the new worker to send the rest")

    keys = Counter(e["key"] for e in email_backend.sent())
    assert set(keys) == {rem.key for rem in Reminder.objects.all()}
    assert all(count == 1 for count in keys.values()), keys
    assert Notification.objects.count() == len(expected)
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}


def test_a_pool_process_killed_mid_batch_is_redelivered_by_celery(personas, workers):
    """acks_late with reject_on_worker_lost: when the process running the task dies, the worker puts the
    task back on the queue and a fresh pool process runs it. Nothing is queued by the test after the kill."""
    world = build_world(personas)
    r = email_backend.client()
    r.set(email_backend.HOLD, 2)
    parent = workers.start(pool="prefork")
    scan_due_reminders.delay()
    pid = wait_for(
        lambda: r.lpop(email_backend.HELD), timeout=120, what="a pool process to reach the third email"
    )
    assert int(pid) != parent.pid  # a pool process, not the worker itself
    r.delete(email_backend.HOLD)
    os.kill(int(pid), signal.SIGKILL)
    wait_for(_settled, what="the redelivered task to finish the batch")

    keys = Counter(e["key"] for e in email_backend.sent())
    assert len(keys) == len(world.expected(personas))
    assert all(count == 1 for count in keys.values()), keys
    assert parent.poll() is None  # the worker itself carried on
