"""Delivering claimed reminders, exactly once; the user's own notification writes.

Delivery (`reminders_deliver`) is called by the `deliver_reminders` Celery task and by the
`send_due_reminders` command. It is safe to run in any number of processes at once:

- a batch is read with ``FOR UPDATE SKIP LOCKED`` (rows another worker is sending are passed over);
- before sending, the batch is checked in bulk: may each recipient still see the family
  (ehcase.permissions.family_pairs_visible, one query) and is each reminder still due (the kind's scan
  narrowed to the batch, one query per kind);
- each reminder is then sent in its own transaction holding its row lock: the in-app notification,
  the email and the "sent" mark commit together. A worker killed mid-send rolls back that one
  reminder, which the next worker sends; those before it are committed as sent and are not repeated.

Email is the one step outside the database: if the process dies after the mail server accepted a
message and before the commit, that one message can go again. Its Message-ID is derived from the
reminder, so mail systems can recognise the repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from assessments.models import OPEN_ACTION_STATUSES, PlanAction
from ehcase.models import Family, User
from ehcase.permissions import families_visible_to, family_pairs_visible
from pathway.models import Episode, EpisodeStatus, TafMeeting

from . import scans
from .messages import Message, compose
from .models import (
    URGENT_KINDS,
    EmailFrequency,
    EmailState,
    Notification,
    NotificationPreference,
    Reminder,
    ReminderKind,
    ReminderStatus,
)

log = logging.getLogger(__name__)
K = ReminderKind


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@dataclass
class DeliveryResult:
    sent: int = 0
    withheld: int = 0
    stale: int = 0
    failed: int = 0
    retrying: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class BatchContext:
    """What a batch needs, read in bulk before any reminder of it is sent."""

    clock: scans.Clock
    visible: set[tuple[int, int]] = field(default_factory=set)
    due_keys: set[str] = field(default_factory=set)
    references: dict[int, str] = field(default_factory=dict)
    meetings: dict[int, dt.datetime] = field(default_factory=dict)
    frequencies: dict[int, str] = field(default_factory=dict)


def _batch_context(batch: list[Reminder], clock: scans.Clock) -> BatchContext:
    context = BatchContext(clock=clock)
    family_pairs = [(r.recipient_id, r.family_id) for r in batch if r.family_id is not None]
    context.visible = family_pairs_visible(pairs=family_pairs)
    by_kind: dict[str, list[Reminder]] = defaultdict(list)
    for reminder in batch:
        by_kind[reminder.kind].append(reminder)
    for kind, reminders in by_kind.items():
        context.due_keys |= scans.still_due(kind=kind, reminders=reminders, clock=clock)
    family_ids = {r.family_id for r in batch if r.family_id is not None}
    if family_ids:
        context.references = dict(Family.objects.filter(id__in=family_ids).values_list("id", "reference"))
    meeting_ids = [r.object_id for r in by_kind.get(K.MEETING_TOMORROW, [])]
    if meeting_ids:
        context.meetings = dict(TafMeeting.objects.filter(id__in=meeting_ids).values_list("id", "starts_at"))
    context.frequencies = dict(
        NotificationPreference.objects.filter(user_id__in={r.recipient_id for r in batch}).values_list(
            "user_id", "email_frequency"
        )
    )
    return context


def reminders_deliver(
    *, batch_size: int | None = None, limit: int | None = None, now: dt.datetime | None = None
) -> DeliveryResult:
    """Send every pending reminder whose time has come (or up to `limit` of them). For the
    deliver_reminders task and the send_due_reminders command: no user calls this. `now` (the real
    clock when not given) is the moment delivery runs at, as for scans.scan_all."""
    batch_size = batch_size or _setting("REMINDER_BATCH_SIZE", 50)
    result = DeliveryResult()
    last_id = 0
    done = 0
    while limit is None or done < limit:
        clock = scans.Clock.at(now)
        with transaction.atomic():
            batch = list(
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient")
                .filter(status=ReminderStatus.PENDING, next_attempt_at__lte=clock.now, id__gt=last_id)
                .order_by("id")[:batch_size]
            )
        if not batch:
            break
        last_id = batch[-1].pk
        context = _batch_context(batch, clock)
        for row in batch:
            with transaction.atomic():
                reminder = (
                    Reminder.objects.select_for_update(skip_locked=True)
                    .filter(pk=row.pk, status=ReminderStatus.PENDING)
                    .first()
                )
                if reminder is None:  # another worker has it, or sent it meanwhile
                    continue
                reminder.recipient = row.recipient
                result.add(_deliver_one(reminder, context))
            done += 1
    return result


def _frequency(reminder: Reminder, context: BatchContext) -> str:
    """How this reminder is emailed: "now", "daily", "off" or "none" (no address)."""
    user = reminder.recipient
    if not user.email:
        return "none"
    if reminder.kind in URGENT_KINDS:
        return "now"
    chosen = context.frequencies.get(user.pk, EmailFrequency.IMMEDIATELY)
    return {"immediately": "now", "daily": "daily"}.get(chosen, "off")


def _finish(reminder: Reminder, status: str, *, email: str = "", error: str = "") -> str:
    reminder.status = status
    reminder.email = email
    reminder.last_error = error[:500]
    reminder.sent_at = timezone.now() if status == ReminderStatus.SENT else None
    reminder.save(update_fields=["status", "email", "last_error", "sent_at"])
    return {
        ReminderStatus.SENT: "sent",
        ReminderStatus.WITHHELD: "withheld",
        ReminderStatus.STALE: "stale",
        ReminderStatus.FAILED: "failed",
    }[status]


def _failed_attempt(reminder: Reminder, error: Exception) -> str:
    """An email that could not be sent: try again later, with a growing wait, up to the limit."""
    reminder.attempts += 1
    reminder.last_error = f"{type(error).__name__}: {error}"[:500]
    if reminder.attempts >= _setting("REMINDER_MAX_ATTEMPTS", 5):
        reminder.status = ReminderStatus.FAILED
    else:
        reminder.next_attempt_at = timezone.now() + dt.timedelta(minutes=2**reminder.attempts)
    reminder.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
    log.warning("Reminder %s: email failed (%s)", reminder.pk, reminder.last_error)
    return "failed" if reminder.status == ReminderStatus.FAILED else "retrying"


def _deliver_one(reminder: Reminder, context: BatchContext) -> str:
    if reminder.family_id is not None and (reminder.recipient_id, reminder.family_id) not in context.visible:
        return _finish(reminder, ReminderStatus.WITHHELD)
    if reminder.family_id is None and not reminder.recipient.is_active:
        return _finish(reminder, ReminderStatus.WITHHELD)
    if reminder.key not in context.due_keys:
        return _finish(reminder, ReminderStatus.STALE)
    if reminder.kind == K.DAILY_EMAIL:
        return _deliver_daily_email(reminder, context)
    message = compose(
        kind=reminder.kind,
        due_on=reminder.due_on,
        object_id=reminder.object_id,
        family_id=reminder.family_id,
        family_reference=context.references.get(reminder.family_id or 0, ""),
        meeting_starts_at=(
            timezone.localtime(context.meetings[reminder.object_id])
            if reminder.object_id in context.meetings
            else None
        ),
        summary=weekly_summary(user=reminder.recipient) if reminder.kind == K.WEEKLY_DIGEST else None,
    )
    # A retry after a failed email finds the notification already there; a first attempt creates it once
    # the email has gone (or failed), so the common case is one insert.
    notification = Notification.objects.filter(reminder=reminder).first() if reminder.attempts else None
    frequency = _frequency(reminder, context)
    email_state = notification.email_state if notification else EmailState.NONE
    error: Exception | None = None
    if frequency == "now" and email_state != EmailState.SENT:
        try:
            _send_email(reminder=reminder, message=message)
            email_state = EmailState.SENT
        except Exception as failure:  # noqa: BLE001 - any failure of the mail backend is a failed attempt
            error = failure
    elif frequency == "daily" and email_state == EmailState.NONE:
        email_state = EmailState.DIGEST
    if notification is None:
        Notification.objects.create(
            recipient=reminder.recipient,
            reminder=reminder,
            kind=reminder.kind,
            title=message.title,
            body=message.body,
            url=message.url,
            family_id=reminder.family_id,
            urgent=reminder.kind in URGENT_KINDS,
            email_state=email_state,
        )
    elif notification.email_state != email_state:
        Notification.objects.filter(pk=notification.pk).update(email_state=email_state)
    if error is not None:
        return _failed_attempt(reminder, error)
    return _finish(reminder, ReminderStatus.SENT, email=frequency)


def _absolute(url: str) -> str:
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    return site + url if site and url else url


def _message_id(reminder: Reminder) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<reminder-{reminder.pk}@{domain}>"


def _send_email(*, reminder: Reminder, message: Message) -> None:
    body = render_to_string(
        "notifications/email.txt",
        {
            "user": reminder.recipient,
            "message": message,
            "url": _absolute(message.url),
            "centre": _absolute("/notifications/"),
            "service_name": settings.SERVICE_NAME,
        },
    )
    EmailMessage(
        subject=message.title,
        body=body,
        to=[reminder.recipient.email],
        headers={"Message-ID": _message_id(reminder), "X-Reminder-Key": reminder.key},
    ).send()


def _deliver_daily_email(reminder: Reminder, context: BatchContext) -> str:
    """One email with every notification waiting for the user's daily email. Notifications that arrive
    after it has gone wait for tomorrow's."""
    items = list(
        Notification.objects.select_for_update()
        .filter(recipient_id=reminder.recipient_id, email_state=EmailState.DIGEST)
        .order_by("created_at", "id")
    )
    if not items:
        return _finish(reminder, ReminderStatus.STALE)
    if context.frequencies.get(reminder.recipient_id) == EmailFrequency.OFF or not reminder.recipient.email:
        Notification.objects.filter(pk__in=[n.pk for n in items]).update(email_state=EmailState.NONE)
        return _finish(reminder, ReminderStatus.STALE, email="off")
    body = render_to_string(
        "notifications/daily_email.txt",
        {
            "user": reminder.recipient,
            "items": [(n, _absolute(n.url)) for n in items],
            "centre": _absolute("/notifications/"),
            "service_name": settings.SERVICE_NAME,
        },
    )
    count = len(items)
    try:
        EmailMessage(
            subject=f"{count} new notification{'s' if count != 1 else ''} from {settings.SERVICE_NAME}",
            body=body,
            to=[reminder.recipient.email],
            headers={"Message-ID": _message_id(reminder), "X-Reminder-Key": reminder.key},
        ).send()
    except Exception as error:  # noqa: BLE001
        return _failed_attempt(reminder, error)
    Notification.objects.filter(pk__in=[n.pk for n in items]).update(email_state=EmailState.IN_DIGEST)
    return _finish(reminder, ReminderStatus.SENT, email="now")


def weekly_summary(*, user: User) -> dict[str, int]:
    """Counts for a manager's weekly summary, over the families they may see (two aggregate queries)."""
    today = timezone.localdate()
    visible = families_visible_to(user=user).values("id")
    episodes = Episode.objects.filter(family_id__in=visible).exclude(status=EpisodeStatus.CLOSED)
    counts = episodes.aggregate(
        reviews_overdue=Count("id", filter=Q(next_review_due__lt=today)),
        reviews_due=Count(
            "id", filter=Q(next_review_due__gte=today, next_review_due__lte=today + dt.timedelta(days=7))
        ),
        no_lead=Count("id", filter=Q(lead_professional__isnull=True)),
    )
    counts["actions_overdue"] = (
        PlanAction.objects.filter(
            episode__family_id__in=visible, status__in=OPEN_ACTION_STATUSES, due_on__lt=today
        )
        .exclude(episode__status=EpisodeStatus.CLOSED)
        .count()
    )
    return counts


# --- The user's own notifications -----------------------------------------------------------------


def notification_mark_read(*, user: User, notification: Notification) -> None:
    """Mark one of the user's notifications as read (the caller fetched it through notification_for_user)."""
    if notification.recipient_id != user.pk:
        raise PermissionError("Not this user's notification")
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user as read. Any signed-in user, for themself."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def preference_set(*, user: User, email_frequency: str) -> NotificationPreference:
    """Set how often the user is emailed about non-urgent reminders. Any signed-in user, for themself."""
    if email_frequency not in EmailFrequency.values:
        raise ValueError(email_frequency)
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, defaults={"email_frequency": email_frequency}
    )
    return preference
