"""Reminders (what is due, for whom, for which date: each claimed once), the in-app notifications
they become, and each user's choice of email frequency. docs/reminders.md explains the design."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now


class ReminderKind(models.TextChoices):
    REVIEW_DUE = "review_due", "Review due soon"
    REVIEW_OVERDUE = "review_overdue", "Review overdue"
    MEETING_TOMORROW = "meeting_tomorrow", "TAF meeting tomorrow"
    EHA_DRAFT_STALE = "eha_draft_stale", "Assessment still a draft"
    NO_LEAD = "no_lead", "No lead professional after the assessment"
    TRIAGE_OVERDUE = "triage_overdue", "Request past the hub's triage target"
    ACTION_OVERDUE = "action_overdue", "Plan action overdue"
    SUSTAINMENT_CHECK = "sustainment_check", "Supporting Families sustainment check"
    REREFERRAL_WINDOW_END = "rereferral_window_end", "Re-referral window ends"
    WEEKLY_DIGEST = "weekly_digest", "Weekly summary for managers"
    DAILY_EMAIL = "daily_email", "Daily email of notifications"


# Emailed at once whatever the user's email frequency: missing them puts a family at risk.
URGENT_KINDS = frozenset({ReminderKind.REVIEW_OVERDUE, ReminderKind.TRIAGE_OVERDUE})


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    WITHHELD = "withheld", "Not sent: the recipient may no longer see the family"
    STALE = "stale", "Not sent: no longer due"


class Reminder(models.Model):
    """One reminder, claimed by the scan that found it due. The unique key (kind, recipient, object, due
    date) is the claim: a second scan, a second beat or a retried task inserts nothing new.

    `object_id` is the episode, meeting, assessment, request or plan action the kind is about (0 for
    digests); `family_id` is a plain id for the access check at delivery. Columns written by the scans'
    INSERT ... SELECT have database defaults."""

    kind = models.CharField(max_length=32, choices=ReminderKind.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField(db_default=0, default=0)
    family_id = models.BigIntegerField(null=True, blank=True)
    due_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=ReminderStatus.choices, db_default="pending", default=ReminderStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(db_default=0, default=0)
    last_error = models.CharField(max_length=500, blank=True, db_default="", default="")
    next_attempt_at = models.DateTimeField(db_default=Now())
    email = models.CharField(
        "Email", max_length=10, blank=True, db_default="", default="", help_text="sent, daily, off or none"
    )
    created_at = models.DateTimeField(db_default=Now())
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "recipient", "object_id", "due_on"], name="reminder_once"
            ),
        ]
        indexes = [
            # Delivery walks the pending reminders in id order (the few waiting, not the history).
            models.Index(fields=["id"], condition=models.Q(status="pending"), name="reminder_pending"),
            models.Index(fields=["status", "-id"], name="reminder_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient_id} due {self.due_on}"

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.recipient_id}:{self.object_id}:{self.due_on.isoformat()}"


class EmailState(models.TextChoices):
    NONE = "", "Not emailed"
    SENT = "sent", "Emailed"
    DIGEST = "digest", "Waiting for the daily email"
    IN_DIGEST = "in_digest", "Sent in a daily email"


class Notification(models.Model):
    """What the user sees in their notification centre. Text names a family only by its reference."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    reminder = models.OneToOneField(
        Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="notification"
    )
    kind = models.CharField(max_length=32, choices=ReminderKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=4000)
    url = models.CharField(max_length=200, blank=True)
    family_id = models.BigIntegerField(null=True, blank=True)
    urgent = models.BooleanField(default=False)
    email_state = models.CharField(max_length=10, choices=EmailState.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recent"),
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread"
            ),
            models.Index(
                fields=["recipient"], condition=models.Q(email_state="digest"), name="notification_digest"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class EmailFrequency(models.TextChoices):
    IMMEDIATELY = "immediately", "Straight away"
    DAILY = "daily", "In one email each morning"
    OFF = "off", "Do not email me"


class NotificationPreference(models.Model):
    """How often a user is emailed about non-urgent reminders. No row means straight away."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_frequency = models.CharField(
        max_length=12, choices=EmailFrequency.choices, default=EmailFrequency.IMMEDIATELY
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.email_frequency}"


class ScanRun(models.Model):
    """One run of the reminder scan: when, and how many reminders each kind claimed (for /healthz and
    the admin)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    claimed = models.JSONField(default=dict)
    # Per kind: "full", or the number of changed objects re-checked (0: nothing had changed).
    scanned = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Scan at {self.finished_at:%Y-%m-%d %H:%M}"

    @property
    def total(self) -> int:
        return sum(self.claimed.values())


class ScanMark(models.Model):
    """How far each kind's scan has looked (docs/reminders.md, "Scanning what is new"): the last run that
    scanned the kind, the local day and the time limits it scanned for, and when it started. A run on
    the same day with the same limits only re-checks the rows changed since then; any other run scans
    the kind in full. Written after the run's claims have committed, so a run that fails part-way leaves
    the previous mark and the next run looks again."""

    kind = models.CharField(max_length=32, choices=ReminderKind.choices, unique=True)
    scanned_for = models.DateField()
    limits = models.CharField(max_length=200)
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} scanned for {self.scanned_for}"
