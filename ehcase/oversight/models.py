"""Emergency (break-glass) access to a family record and the alerts raised on unusual access.
docs/oversight.md explains the rules."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class BreakGlassAccess(models.Model):
    """One use of emergency access: a worker reads a family outside their rights, for a stated reason,
    until `expires_at` or until they end it (`ended_at`). Read only. The access layer
    (ehcase.permissions) grants it while started_at <= now < expires_at and ended_at is null."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "emergency access"
        verbose_name_plural = "emergency accesses"
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("started_at")), name="bg_expires_after"
            ),
            models.CheckConstraint(
                condition=Q(reviewed_at__isnull=True) | Q(reviewed_by__isnull=False), name="bg_reviewed_by"
            ),
        ]
        indexes = [
            # The access layer's branch: this user's grants not ended (few rows, whatever the history).
            models.Index(
                fields=["user", "expires_at"], condition=Q(ended_at__isnull=True), name="bg_user_live"
            ),
            models.Index(fields=["family", "user"], name="bg_family_user"),
            # The review page: newest first; alert (b) counts a user's uses over seven days.
            models.Index(fields=["-started_at"], name="bg_recent"),
            models.Index(fields=["user", "started_at"], name="bg_user_started"),
        ]

    def __str__(self) -> str:
        return f"Emergency access {self.pk} by {self.user_id} to family {self.family_id}"


class AlertKind(models.TextChoices):
    MANY_FAMILIES = "many_families", "Opened many families they do not work with"
    MANY_BREAK_GLASS = "many_break_glass", "Used emergency access often"


class AccessAlert(models.Model):
    """Unusual access found by the daily check: one per user, day and kind (the unique constraint is
    what makes the check safe to run again)."""

    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(help_text="The day the access happened (the last day of the week for kind b)")
    count = models.PositiveIntegerField()
    family_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day", "kind"], name="access_alert_once"),
        ]
        indexes = [models.Index(fields=["-day", "-id"], name="access_alert_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user_id} on {self.day}"

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None
