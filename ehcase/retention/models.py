"""Retention rules (data), legal holds, the reviews of records due for destruction and the log of what
was destroyed. docs/retention.md explains the rules and the decisions behind them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RecordClass(models.TextChoices):
    FAMILY = "family", "Family record"
    CHILD = "child", "A child's record"
    AUDIT = "audit", "Audit trail"


class RunsFrom(models.TextChoices):
    LAST_ACTIVITY = "last_activity", "The family's last activity (normally the last episode's closure)"
    DATE_OF_BIRTH = "date_of_birth", "The child's date of birth"
    EVENT = "event", "The date the event was recorded"


class RetentionRule(models.Model):
    """How long one class of record is kept. One rule per record class; system administrators change
    them in the admin. The child rule does not make reviews of its own: it can only keep a family's
    record for longer (a child's record lives inside the family's)."""

    record_class = models.CharField(max_length=20, choices=RecordClass.choices, unique=True)
    runs_from = models.CharField(max_length=20, choices=RunsFrom.choices)
    years = models.PositiveSmallIntegerField()
    description = models.TextField(max_length=2000)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["record_class"]
        constraints = [
            models.CheckConstraint(condition=models.Q(years__gte=1), name="retention_rule_at_least_a_year"),
        ]

    def __str__(self) -> str:
        return f"{self.get_record_class_display()}: {self.years} years from {self.get_runs_from_display()}"


class LegalHold(models.Model):
    """While a hold is in place (not lifted), nothing of the family's record is destroyed, whatever the
    rules say. The hold is part of the family's record and goes with it once lifted and destroyed."""

    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="legal_holds")
    reason = models.TextField(max_length=2000)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(auto_now_add=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.TextField(max_length=2000, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["family"], condition=models.Q(lifted_at__isnull=True), name="legal_hold_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"Legal hold {self.pk} on family {self.family_id}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class ReviewStatus(models.TextChoices):
    AWAITING = "awaiting", "Awaiting review"
    APPROVED = "approved", "Approved for destruction"
    DEFERRED = "deferred", "Deferred"
    DESTROYED = "destroyed", "Destroyed"
    NOT_DUE = "not_due", "No longer due"


OPEN_REVIEW_STATUSES = [ReviewStatus.AWAITING, ReviewStatus.APPROVED, ReviewStatus.DEFERRED]


class DestructionReview(models.Model):
    """One record due for destruction on one date, waiting for (or past) an early help manager's
    decision. The unique key (record class, record, due date) makes the scan safe to rerun.

    `object_id` is the family id for family records and the month (yyyymm) for the audit trail; the
    family is a plain id because the review outlives the family it describes."""

    record_class = models.CharField(max_length=20, choices=RecordClass.choices)
    object_id = models.BigIntegerField()
    family_reference = models.CharField(max_length=20, blank=True)
    rule = models.ForeignKey(RetentionRule, on_delete=models.PROTECT, related_name="reviews")
    basis = models.CharField("Why it is due", max_length=200)
    due_on = models.DateField()
    status = models.CharField(
        max_length=10,
        choices=ReviewStatus.choices,
        db_default=ReviewStatus.AWAITING,
        default=ReviewStatus.AWAITING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    defer_reason = models.TextField(max_length=2000, blank=True, db_default="", default="")
    deferred_until = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, db_default="", default="")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(db_default=1, default=1)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record_class", "object_id", "due_on"], name="destruction_review_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_on", "id"],
                condition=models.Q(status__in=["awaiting", "approved", "deferred"]),
                name="destruction_review_open",
            ),
            models.Index(fields=["record_class", "object_id"], name="destruction_review_record"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_record_class_display()} {self.family_reference or self.object_id} due {self.due_on}"
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REVIEW_STATUSES

    @property
    def what(self) -> str:
        if self.record_class == RecordClass.AUDIT:
            year, month = divmod(self.object_id, 100)
            return f"Audit events of {month:02d}/{year}"
        return f"Family record {self.family_reference}"


class DestructionLog(models.Model):
    """What was destroyed, when, by whose approval, and how many rows each table lost. No personal data:
    the family is named by its reference only."""

    review = models.OneToOneField(DestructionReview, on_delete=models.PROTECT, related_name="log")
    record_class = models.CharField(max_length=20, choices=RecordClass.choices)
    family_reference = models.CharField(max_length=20, blank=True)
    rule_description = models.CharField(max_length=200)
    due_on = models.DateField()
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField()
    destroyed_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-destroyed_at", "-id"]

    def __str__(self) -> str:
        return f"Destroyed {self.family_reference or self.review_id} at {self.destroyed_at:%Y-%m-%d}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())
