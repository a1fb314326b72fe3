"""Delivery: access re-checked at send time, preferences, the daily email, stale and failed reminders,
and what the text may say."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ehcase.notifications import scans
from ehcase.notifications.models import EmailState, Notification, Reminder, ReminderStatus
from ehcase.notifications.services import preference_set, reminders_deliver
from ehcase.permissions import revoke_family_access
from pathway.models import Episode

pytestmark = pytest.mark.django_db


def emails_to(mailoutbox, user) -> list:
    return [m for m in mailoutbox if m.to == [user.email]]


def at(hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(hour, 0)))


def test_a_reminder_for_a_family_the_recipient_can_no_longer_see_is_not_sent(personas, world, mailoutbox):
    scans.scan_all()
    # Hana's access to the Ashworth family is taken away after the scan and before delivery.
    revoke_family_access(user=personas.hana, family=personas.ashworth)
    result = reminders_deliver()
    assert result.withheld == 2  # her meeting tomorrow and her overdue action
    hana = Reminder.objects.filter(recipient=personas.hana)
    assert set(hana.values_list("status", flat=True)) == {ReminderStatus.WITHHELD}
    assert not Notification.objects.filter(recipient=personas.hana).exists()
    assert emails_to(mailoutbox, personas.hana) == []
    # Everyone else's went.
    assert Notification.objects.count() == len(world.expected(personas)) - 2


def test_text_names_the_family_by_reference_only(personas, world, mailoutbox):
    scans.scan_all()
    reminders_deliver()
    sam = Notification.objects.get(recipient=personas.sam, kind="review_due")
    assert personas.ashworth.reference in sam.body and "Ashworth" not in sam.body + sam.title
    assert sam.url == f"/episodes/{world.ashworth_episode.pk}/"
    for message in mailoutbox:
        for name in ("Ashworth", "Bennett", "Dixon", "Kerry", "Book the dentist"):
            assert name not in message.subject + message.body
    digest = Notification.objects.get(recipient=personas.alex, kind="weekly_digest")
    assert "Reviews overdue: 1" in digest.body and "Plan actions overdue: 1" in digest.body


def test_preferences_are_respected(personas, world, mailoutbox):
    preference_set(user=personas.sam, email_frequency="off")
    preference_set(user=personas.hana, email_frequency="daily")
    preference_set(user=personas.chris, email_frequency="off")
    scans.scan_all()
    reminders_deliver()
    # Sam: off, but an overdue review is urgent and emailed anyway; his other reminders are in-app only.
    assert [m.subject for m in emails_to(mailoutbox, personas.sam)] == ["Review overdue"]
    assert Notification.objects.filter(recipient=personas.sam).count() == 3
    # Chris: off, but a request past the triage target is urgent.
    assert [m.subject for m in emails_to(mailoutbox, personas.chris)] == ["Request past the triage target"]
    # Hana: daily, so nothing yet; her two notifications wait for the morning email.
    assert emails_to(mailoutbox, personas.hana) == []
    assert set(
        Notification.objects.filter(recipient=personas.hana).values_list("email_state", flat=True)
    ) == {EmailState.DIGEST}
    # Alex: straight away (no choice made).
    assert len(emails_to(mailoutbox, personas.alex)) == 1
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}


def test_the_daily_email_groups_a_users_notifications_once_a_day(personas, world, mailoutbox):
    preference_set(user=personas.hana, email_frequency="daily")
    preference_set(user=personas.sam, email_frequency="daily")
    scans.scan_all()
    reminders_deliver()
    before = len(mailoutbox)
    # Before the hour of the daily email nothing is claimed for it.
    assert scans.scan_all(now=at(6), kinds=["daily_email"]) == {"daily_email": 0}
    assert scans.scan_all(now=at(8), kinds=["daily_email"]) == {"daily_email": 2}
    # Delivered at 08:00 too: delivery checks again that each reminder is still due, by its own clock.
    reminders_deliver(now=at(8))
    daily = mailoutbox[before:]
    assert sorted(m.to[0] for m in daily) == sorted([personas.hana.email, personas.sam.email])
    hana = emails_to(daily, personas.hana)[0]
    assert hana.subject.startswith("2 new notifications")
    assert "TAF meeting tomorrow" in hana.body and "Plan action overdue" in hana.body
    assert "Review due" not in hana.body  # Sam's, not hers
    sam = emails_to(daily, personas.sam)[0]
    # Sam's urgent overdue review went straight away, so it is not repeated in his daily email.
    assert "Review overdue" not in sam.body and "Review due on" in sam.body
    assert set(
        Notification.objects.filter(recipient=personas.hana).values_list("email_state", flat=True)
    ) == {EmailState.IN_DIGEST}
    # Once a day: another scan and delivery the same day sends nothing more.
    assert scans.scan_all(now=at(9), kinds=["daily_email"]) == {"daily_email": 0}
    reminders_deliver(now=at(9))
    assert len(mailoutbox) == before + 2


def test_a_user_who_turns_email_off_before_the_morning_gets_no_daily_email(personas, world, mailoutbox):
    preference_set(user=personas.hana, email_frequency="daily")
    scans.scan_all()
    reminders_deliver()
    preference_set(user=personas.hana, email_frequency="off")
    scans.scan_all(now=at(8), kinds=["daily_email"])
    reminders_deliver(now=at(8))
    assert emails_to(mailoutbox, personas.hana) == []


def test_a_reminder_no_longer_due_at_delivery_is_not_sent(personas, world, mailoutbox):
    scans.scan_all()
    # The review is recorded between the scan and delivery: the next review is weeks away.
    Episode.objects.filter(pk=world.bennett_episode.pk).update(
        next_review_due=timezone.localdate() + dt.timedelta(weeks=6)
    )
    reminders_deliver()
    assert Reminder.objects.get(kind="review_overdue").status == ReminderStatus.STALE
    assert not Notification.objects.filter(kind="review_overdue").exists()


def test_a_failed_email_is_retried_later_and_the_notification_still_arrives(
    personas, world, settings, mailoutbox
):
    settings.EMAIL_BACKEND = "tests.notifications.email_backend.FailingEmailBackend"
    settings.REMINDER_MAX_ATTEMPTS = 2
    scans.scan_all(kinds=["review_overdue"])
    result = reminders_deliver()
    assert result.retrying == 1
    reminder = Reminder.objects.get()
    assert reminder.status == ReminderStatus.PENDING and reminder.attempts == 1
    assert "ConnectionRefusedError" in reminder.last_error and reminder.next_attempt_at > timezone.now()
    assert Notification.objects.filter(reminder=reminder).count() == 1
    # Not due again until its next attempt; then it fails for good (shown in the admin).
    assert reminders_deliver().retrying == 0
    Reminder.objects.filter(pk=reminder.pk).update(next_attempt_at=timezone.now())
    assert reminders_deliver().failed == 1
    assert Reminder.objects.get().status == ReminderStatus.FAILED
    assert Notification.objects.filter(reminder=reminder).count() == 1


def test_delivery_checks_a_batch_in_a_fixed_number_of_queries(personas, world, django_assert_num_queries):
    """Bulk checks per batch, then a fixed cost per reminder; nothing per family or per user beyond that."""
    kinds = ["review_due", "review_overdue", "meeting_tomorrow", "action_overdue", "triage_overdue"]
    scans.scan_all(kinds=kinds)
    reminders = Reminder.objects.count()
    assert reminders == 6
    # The batch, locked and read (savepoint, select, release); whether each recipient may see the family
    # (one query); whether each is still due (one per kind); family references; meeting times;
    # preferences. Then each reminder: savepoint, lock, notification insert, mark sent, release.
    # Finally the next (empty) batch: savepoint, select, release.
    with django_assert_num_queries(3 + 1 + len(kinds) + 3 + reminders * 5 + 3):
        reminders_deliver()
