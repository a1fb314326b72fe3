"""The Early Help Assessment, the consent it rests on, and the family plan (outcomes and actions)."""

from django.conf import settings
from django.db import models


class ActionStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DROPPED = "dropped", "No longer needed"


OPEN_ACTION_STATUSES = [ActionStatus.NOT_STARTED, ActionStatus.IN_PROGRESS]


class PlanAction(models.Model):
    """Something someone will do for the family: a practitioner, an agency or a family member owns it."""

    episode = models.ForeignKey("pathway.Episode", on_delete=models.CASCADE, related_name="actions")
    description = models.CharField("What will be done", max_length=500)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="plan_actions"
    )
    owner_agency = models.ForeignKey(
        "ehcase.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner_person = models.ForeignKey(
        "ehcase.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.ForeignKey(
        "PlanOutcome", null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    due_on = models.DateField("Due date")
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default=ActionStatus.NOT_STARTED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(owner_user__isnull=False, owner_agency__isnull=True, owner_person__isnull=True)
                    | models.Q(owner_user__isnull=True, owner_agency__isnull=False, owner_person__isnull=True)
                    | models.Q(owner_user__isnull=True, owner_agency__isnull=True, owner_person__isnull=False)
                ),
                name="plan_action_one_owner",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner_user", "due_on"],
                condition=models.Q(status__in=["not_started", "in_progress"]),
                name="plan_action_open_by_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def owner_name(self) -> str:
        if self.owner_user_id:
            return self.owner_user.display_name
        if self.owner_agency_id:
            return self.owner_agency.name
        return self.owner_person.full_name

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES


# --- Consent ---------------------------------------------------------------------------------------


class ConsentMethod(models.TextChoices):
    WRITTEN = "written", "Written (signed form)"
    VERBAL = "verbal", "Verbal"


class SharingBasis(models.TextChoices):
    """The lawful basis for sharing information with partners, recorded apart from the agreement to
    receive early help (UK GDPR Article 6)."""

    CONSENT = "consent", "Consent"
    PUBLIC_TASK = "public_task", "Public task"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
    VITAL_INTERESTS = "vital_interests", "Vital interests"


class ConsentRecord(models.Model):
    """Agreement to receive early help, for one family member, given by that person or (for a child
    without sufficient understanding) by a parent or carer. Withdrawal is recorded on the same row."""

    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="consents")
    episode = models.ForeignKey("pathway.Episode", on_delete=models.CASCADE, related_name="consents")
    person = models.ForeignKey("ehcase.Person", on_delete=models.PROTECT, related_name="+")
    given_by = models.ForeignKey("ehcase.Person", on_delete=models.PROTECT, related_name="+")
    own_consent_competent = models.BooleanField(
        "The young person has enough understanding to consent for themself", default=False
    )
    given_on = models.DateField("Date consent was given")
    method = models.CharField("How consent was given", max_length=10, choices=ConsentMethod.choices)
    agrees_to_sharing = models.BooleanField("Agrees to information being shared with the team")
    sharing_basis = models.CharField(
        "Lawful basis for sharing information", max_length=20, choices=SharingBasis.choices
    )
    notes = models.TextField(max_length=2000, blank=True)
    evidence_name = models.CharField(max_length=200, blank=True)
    evidence_type = models.CharField(max_length=100, blank=True)
    evidence = models.BinaryField(null=True, blank=True, editable=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawal_reason = models.TextField(max_length=2000, blank=True)
    withdrawal_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["given_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "person"],
                condition=models.Q(withdrawn_on__isnull=True),
                name="consent_one_current_per_person",
            ),
        ]
        indexes = [models.Index(fields=["episode", "person"])]

    def __str__(self) -> str:
        return f"Consent for person {self.person_id} in episode {self.episode_id}"

    @property
    def is_current(self) -> bool:
        return self.withdrawn_on is None


# --- The assessment form, kept as data ---------------------------------------------------------------


class AssessmentTemplate(models.Model):
    """One version of the assessment form: its domains and their sub-areas, as data a partnership can
    change in the admin. A version that an assessment has used is never edited: publish a new one.

    `domains` is a list of {"code", "title", "hint", "areas": [{"code", "title", "hint"}]}.
    """

    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField()
    domains = models.JSONField()
    published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["version"], name="assessment_template_version")]

    def __str__(self) -> str:
        return f"{self.name} (version {self.version})"

    def area_codes(self) -> list[str]:
        return [f"{d['code']}.{a['code']}" for d in self.domains for a in d["areas"]]


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed, awaiting sign-off"
    RETURNED = "returned", "Returned for changes"
    SIGNED_OFF = "signed_off", "Signed off"


EDITABLE_ASSESSMENT_STATUSES = [AssessmentStatus.DRAFT, AssessmentStatus.RETURNED]


class Assessment(models.Model):
    """An Early Help Assessment: whole family, consent based. Answers live in `content` (saved as the
    practitioner goes); every completion keeps an AssessmentVersion that stays readable.

    `content` keys: "domains" {"<domain>.<area>": text}, "members" {"<person id>": {"strengths", "needs"}},
    "child_voice" {"<person id>": text}, "family_view" text, "needs" [{"area": code, "description"}],
    "scores" {"<area code>": 0..10}.
    """

    episode = models.ForeignKey("pathway.Episode", on_delete=models.CASCADE, related_name="assessments")
    template = models.ForeignKey(AssessmentTemplate, on_delete=models.PROTECT, related_name="+")
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    started_on = models.DateField()
    assessment_date = models.DateField("Date of the assessment")
    members = models.ManyToManyField("ehcase.Person", related_name="+")
    content = models.JSONField(default=dict)
    completed_at = models.DateTimeField(null=True, blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    # The open page (one token per page load) that saved last: its own autosaves never count as someone
    # else's change when the page is then submitted.
    last_edit_token = models.CharField(max_length=32, blank=True, db_default="", default="")

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode"],
                condition=~models.Q(status="signed_off"),
                name="assessment_one_unsigned_per_episode",
            ),
        ]
        indexes = [
            models.Index(
                fields=["started_on"], condition=models.Q(status="draft"), name="assessment_draft_age"
            ),
            models.Index(
                fields=["completed_at"],
                condition=models.Q(status__in=["completed", "signed_off"]),
                name="assessment_completed_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Early help assessment {self.pk}"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_ASSESSMENT_STATUSES

    @property
    def is_complete(self) -> bool:
        return self.status in (AssessmentStatus.COMPLETED, AssessmentStatus.SIGNED_OFF)


class AssessmentVersion(models.Model):
    """What the assessment said when it was completed: kept, never changed, readable later."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    template = models.ForeignKey(AssessmentTemplate, on_delete=models.PROTECT, related_name="+")
    assessment_date = models.DateField()
    member_ids = models.JSONField()
    content = models.JSONField()
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, blank=True)  # "signed_off" or "returned" once decided
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comments = models.TextField(max_length=4000, blank=True)

    class Meta:
        ordering = ["assessment", "number"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "number"], name="assessment_version_number"),
        ]

    def __str__(self) -> str:
        return f"Version {self.number} of assessment {self.assessment_id}"


# --- The family plan's outcomes ----------------------------------------------------------------------


class PlanOutcome(models.Model):
    """Something the family wants to be different, in their own words."""

    episode = models.ForeignKey("pathway.Episode", on_delete=models.CASCADE, related_name="plan_outcomes")
    wording = models.CharField("What the family wants to be different", max_length=500)
    said_by = models.ForeignKey(
        "ehcase.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area = models.ForeignKey(
        "pathway.OutcomeArea", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.PositiveSmallIntegerField(default=0)
    achieved = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.wording


# --- The assessment PDF, rendered off the request path -----------------------------------------------


class PdfJobStatus(models.TextChoices):
    QUEUED = "queued", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Could not be prepared"


class AssessmentPdfJob(models.Model):
    """One request for the assessment PDF: who asked, for which assessment (and kept version, or none
    for the assessment as it stands), and, once a Celery worker has rendered it, the file itself.

    The file is personal data at rest: it is kept until `expires_at` (settings.PDF_JOB_EXPIRY_MINUTES
    after rendering) and then deleted by a periodic task; it goes with the assessment (and so with the
    family) when that is deleted. docs/pdfs.md describes the flow and when a job is reused."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="pdf_jobs")
    version = models.ForeignKey(
        AssessmentVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=8, choices=PdfJobStatus.choices, default=PdfJobStatus.QUEUED)
    requested_at = models.DateTimeField()
    rendered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    pages = models.PositiveIntegerField(null=True, blank=True)
    # SHA-256 of the document's HTML without its printed-at time: a ready job is reused only while the
    # assessment and plan would still print the same.
    content_hash = models.CharField(max_length=64, blank=True)
    content = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["requested_by", "assessment", "-requested_at"], name="pdf_job_reuse"),
            models.Index(fields=["expires_at"], name="pdf_job_expiry"),
        ]

    def __str__(self) -> str:
        return f"PDF job {self.pk} for assessment {self.assessment_id}"
