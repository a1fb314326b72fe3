"""Information shared outside the Team Around the Family (and decisions not to share), and subject
access requests: what the system holds about a person, redacted and released (docs/disclosure.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from assessments.models import SharingBasis


class SharingDecision(models.TextChoices):
    SHARED = "shared", "Information was shared"
    NOT_SHARED = "not_shared", "It was decided not to share"


class SharingMethod(models.TextChoices):
    SECURE_EMAIL = "secure_email", "Secure email"
    POST = "post", "Post"
    PRINTED_MEETING = "printed_meeting", "Printed for a meeting"
    VERBAL = "verbal", "Phone or in person (verbally)"
    OTHER = "other", "Another way"


class SharingConsent(models.TextChoices):
    GIVEN = "given", "Consent given"
    REFUSED = "refused", "Consent refused"
    NOT_SOUGHT = "not_sought", "Consent not sought"
    WITHDRAWN = "withdrawn", "Consent withdrawn"


class SharingRecord(models.Model):
    """One decision to share (or not to share) information about a family outside its team.

    Append-only: a record is never edited. A record made by mistake is marked as recorded in error
    (with who, when and why) and stays in the list; the correct account is a new record."""

    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="sharing_records")
    episode = models.ForeignKey(
        "pathway.Episode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=12, choices=SharingDecision.choices)
    shared_on = models.DateField("Date")
    what = models.TextField("What information", max_length=4000)
    recipient_agency = models.ForeignKey(
        "ehcase.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient = models.CharField("Name and role of the recipient", max_length=200)
    method = models.CharField("How", max_length=20, choices=SharingMethod.choices, blank=True)
    purpose = models.TextField("Why", max_length=4000)
    lawful_basis = models.CharField(max_length=20, choices=SharingBasis.choices, blank=True)
    consent = models.CharField(max_length=12, choices=SharingConsent.choices)
    consent_note = models.TextField("Why consent was not sought", max_length=2000, blank=True)
    reason_not_shared = models.TextField("Why it was not shared", max_length=4000, blank=True)
    people = models.ManyToManyField("ehcase.Person", related_name="sharing_records")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    in_error_at = models.DateTimeField(null=True, blank=True)
    in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    in_error_reason = models.TextField(max_length=2000, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-shared_on", "-id"]
        indexes = [models.Index(fields=["family", "-shared_on", "-id"], name="sharing_family_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision="not_shared")
                | (~models.Q(method="") & ~models.Q(lawful_basis="")),
                name="sharing_shared_has_method_and_basis",
            ),
            models.CheckConstraint(
                condition=models.Q(decision="shared") | ~models.Q(reason_not_shared=""),
                name="sharing_not_shared_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Sharing record {self.pk} ({self.decision})"

    @property
    def is_shared(self) -> bool:
        return self.decision == SharingDecision.SHARED

    @property
    def in_error(self) -> bool:
        return self.in_error_at is not None


class Requester(models.TextChoices):
    SELF = "self", "The person themself"
    PARENT = "parent", "A parent or carer, for a child"
    REPRESENTATIVE = "representative", "A representative acting with the person's authority"


class SubjectAccessStatus(models.TextChoices):
    DRAFT = "draft", "Being prepared"
    RELEASED = "released", "Released"


class SubjectAccessRequest(models.Model):
    """A request for a copy of everything the system holds about one person (UK GDPR Article 15).

    `choices` holds the early help manager's redaction decisions that differ from the defaults,
    {item key: {"action": "redact" | "release", "reason": text}}. Release freezes them and the
    redacted export (`released_content`), from which the PDF and JSON are produced."""

    person = models.ForeignKey("ehcase.Person", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    received_on = models.DateField("Date the request was received")
    due_on = models.DateField()
    requester = models.CharField("Who made the request", max_length=16, choices=Requester.choices)
    requester_name = models.CharField("Name of the person who made the request", max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=SubjectAccessStatus.choices, default=SubjectAccessStatus.DRAFT
    )
    choices = models.JSONField(default=dict, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_content = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft")
                | models.Q(released_at__isnull=False, released_content__isnull=False),
                name="sar_released_is_frozen",
            ),
        ]

    def __str__(self) -> str:
        return f"Subject access request {self.pk}"

    @property
    def is_released(self) -> bool:
        return self.status == SubjectAccessStatus.RELEASED
