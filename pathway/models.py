"""Episodes: one period of early help for a family. The pathway work extends these."""

from django.conf import settings
from django.db import models


class LevelOfNeed(models.Model):
    """A partnership's threshold level, mapped to one of the four national bands."""

    class Band(models.IntegerChoices):
        UNIVERSAL = 1, "Universal"
        ADDITIONAL = 2, "Additional (single agency)"
        MULTIPLE = 3, "Multiple or complex (multi-agency)"
        ACUTE = 4, "Acute or statutory (children's social care)"

    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=80)
    band = models.PositiveSmallIntegerField(choices=Band.choices)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class EpisodeStatus(models.TextChoices):
    OPEN = "open", "Open"
    ASSESSMENT = "assessment", "Assessment in progress"
    PLAN_ACTIVE = "plan_active", "Plan active"
    REVIEWING = "reviewing", "Reviewing"
    CLOSED = "closed", "Closed"


class Episode(models.Model):
    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="episodes")
    status = models.CharField(max_length=20, choices=EpisodeStatus.choices, default=EpisodeStatus.OPEN)
    level = models.ForeignKey(LevelOfNeed, on_delete=models.PROTECT, related_name="episodes")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    closure_reason = models.CharField(max_length=40, blank=True)
    closure_note = models.TextField(max_length=4000, blank=True, db_default="")
    social_care_reference = models.CharField(max_length=40, blank=True)
    # db_default: the large-tier generator writes episodes with COPY and a fixed column list.
    source = models.CharField(max_length=20, db_default="triage", default="triage")
    handover_notes = models.TextField(max_length=8000, blank=True, db_default="")
    is_re_referral = models.BooleanField(db_default=False, default=False)
    step_up_reason = models.TextField(max_length=4000, blank=True, db_default="")
    next_review_due = models.DateField(null=True, blank=True)
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lead_professional = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_episodes",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["family"], condition=~models.Q(status="closed"), name="episode_one_open_per_family"
            ),
            models.CheckConstraint(
                condition=models.Q(closed_on__isnull=True) | models.Q(closed_on__gte=models.F("opened_on")),
                name="episode_dates_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["-opened_on", "-id"], name="episode_recent"),
            models.Index(fields=["lead_professional", "status"]),
            models.Index(
                fields=["next_review_due"], condition=~models.Q(status="closed"), name="episode_review_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Episode {self.pk} for {self.family_id}"

    @property
    def source_label(self) -> str:
        return EpisodeSource(self.source).label if self.source in EpisodeSource.values else self.source

    @property
    def closure_label(self) -> str:
        return ClosureReason(self.closure_reason).label if self.closure_reason in ClosureReason.values else ""

    @property
    def stepped_up(self) -> bool:
        return self.closure_reason == "step_up"

    @property
    def is_open(self) -> bool:
        return self.status != EpisodeStatus.CLOSED


# --- The pathway (DESIGN.md §2) -------------------------------------------------------------------


class EpisodeSource(models.TextChoices):
    TRIAGE = "triage", "Hub triage decision"
    STEP_DOWN = "step_down", "Step down from children's social care"
    DIRECT = "direct", "Practitioner started an assessment with the family's consent"


class ClosureReason(models.TextChoices):
    OUTCOMES_ACHIEVED = "outcomes_achieved", "Outcomes achieved"
    STEP_DOWN = "step_down", "Step down to universal or single-agency support"
    STEP_UP = "step_up", "Step up to children's social care"
    CONSENT_WITHDRAWN = "consent_withdrawn", "Family withdrew consent"
    MOVED_AWAY = "moved_away", "Moved away"
    OTHER = "other", "Other"


class OutcomeArea(models.Model):
    """An area scored 0–10 for distance travelled: by default the Supporting Families headline outcomes."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class EpisodeTransition(models.Model):
    """Every change of an episode's status: who, when and why. Written only by pathway.services."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=EpisodeStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=EpisodeStatus.choices)
    occurred_at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class LevelChange(models.Model):
    """The level of need over the episode's life: the first row is the level it opened at."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="level_changes")
    level = models.ForeignKey(LevelOfNeed, on_delete=models.PROTECT, related_name="+")
    changed_on = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_on", "id"]

    def __str__(self) -> str:
        return f"{self.level} from {self.changed_on}"


class TafMember(models.Model):
    """A member of the Team Around the Family: a practitioner (with their agency) or a family member."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="taf_members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="taf_memberships",
    )
    agency = models.ForeignKey(
        "ehcase.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        "ehcase.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="taf_memberships"
    )
    role = models.CharField("Role in the team", max_length=120, blank=True)
    joined_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)
    # What the worker could already do with the family's record before joining, so that leaving the
    # team takes away only what joining gave ("none", "view" or "change").
    prior_access = models.CharField(max_length=6, db_default="none", default="none")

    class Meta:
        ordering = ["joined_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, person__isnull=True)
                    | models.Q(user__isnull=True, person__isnull=False)
                ),
                name="taf_member_is_worker_or_family_member",
            ),
            models.UniqueConstraint(
                fields=["episode", "user"],
                condition=models.Q(left_on__isnull=True, user__isnull=False),
                name="taf_member_worker_once",
            ),
            models.UniqueConstraint(
                fields=["episode", "person"],
                condition=models.Q(left_on__isnull=True, person__isnull=False),
                name="taf_member_family_member_once",
            ),
        ]
        indexes = [models.Index(fields=["user", "left_on"])]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if self.user_id:
            return self.user.display_name
        return self.person.full_name

    @property
    def is_family_member(self) -> bool:
        return self.person_id is not None

    @property
    def is_current(self) -> bool:
        return self.left_on is None


class LeadProfessional(models.Model):
    """One period as the family's lead professional. The current one has no end date."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="lead_history")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    family_view = models.TextField("What the family said about the choice", max_length=2000)
    handover_note = models.TextField(max_length=4000, blank=True)
    agreed_at = models.ForeignKey(
        "TafMeeting", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["started_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode"],
                condition=models.Q(ended_on__isnull=True),
                name="lead_professional_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} from {self.started_on}"


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class TafMeeting(models.Model):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="meetings")
    starts_at = models.DateTimeField()
    location = models.CharField("Place or online link", max_length=200)
    online = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    invited = models.ManyToManyField(TafMember, blank=True, related_name="invitations")
    decisions = models.TextField(max_length=8000, blank=True)
    plan_changes = models.TextField(max_length=8000, blank=True)
    next_meeting_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["status", "starts_at"])]

    def __str__(self) -> str:
        return f"TAF meeting {self.starts_at:%d %b %Y}"


class Attendance(models.TextChoices):
    ATTENDED = "attended", "Attended"
    APOLOGIES = "apologies", "Sent apologies"
    ABSENT = "absent", "Did not attend"


class MeetingAttendance(models.Model):
    meeting = models.ForeignKey(TafMeeting, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(TafMember, on_delete=models.CASCADE, related_name="+")
    attendance = models.CharField(max_length=12, choices=Attendance.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.attendance}"


class ReviewDecision(models.TextChoices):
    CONTINUE = "continue", "Continue with the plan"
    STEP_UP = "step_up", "Step up to children's social care"
    STEP_DOWN = "step_down", "Step down to universal or single-agency support"
    CLOSE = "close", "Close the episode"


class Review(models.Model):
    """A review of progress, with a score per outcome area. The baseline is the first set of scores."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="reviews")
    held_on = models.DateField()
    is_baseline = models.BooleanField(default=False)
    meeting = models.ForeignKey(
        TafMeeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=12, choices=ReviewDecision.choices, blank=True)
    summary = models.TextField(max_length=8000, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["held_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode"], condition=models.Q(is_baseline=True), name="review_one_baseline"
            ),
        ]

    def __str__(self) -> str:
        return f"{'Baseline' if self.is_baseline else 'Review'} {self.held_on}"


class OutcomeScore(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")
    area = models.ForeignKey(OutcomeArea, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "area"], name="score_once_per_area"),
            models.CheckConstraint(condition=models.Q(score__lte=10), name="score_0_to_10"),
        ]

    def __str__(self) -> str:
        return f"{self.area_id}: {self.score}"


class NeedOutcome(models.TextChoices):
    MET = "met", "Met"
    PARTLY_MET = "partly_met", "Partly met"
    NOT_MET = "not_met", "Not met"
    TRANSFERRED = "transferred", "Passed to another service"


class IdentifiedNeed(models.Model):
    """A need the episode works on, tagged to an outcome area; its outcome is stated at closure."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="needs")
    area = models.ForeignKey(OutcomeArea, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=500)
    outcome = models.CharField(max_length=12, choices=NeedOutcome.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description


class ChronologyKind(models.TextChoices):
    REQUEST = "request", "Request for support"
    TRIAGE = "triage", "Triage decision"
    ASSESSMENT = "assessment", "Assessment"
    MEETING = "meeting", "TAF meeting"
    REVIEW = "review", "Review"
    NOTE = "note", "Case note"
    TRANSITION = "transition", "Episode change"


class ChronologyEntry(models.Model):
    """One line of the family's chronology, written by the service that records the event, so that
    the timeline is one indexed read however many sources feed it."""

    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="chronology")
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=ChronologyKind.choices)
    occurred_on = models.DateField()
    title = models.CharField(max_length=200)
    detail = models.TextField(max_length=8000, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    significant = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name_plural = "chronology entries"
        indexes = [models.Index(fields=["family", "-occurred_on", "-id"], name="chronology_family_recent")]

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.title}"


# --- Supporting Families -----------------------------------------------------------------------


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    VERIFIED = "verified", "Verified"
    SUBMITTED = "submitted", "Submitted"
    REJECTED = "rejected", "Rejected"


class SupportingFamiliesClaim(models.Model):
    """A payment-by-results claim under the Supporting Families programme for one episode: the
    headline outcomes (outcome areas) it evidences and where the claim has got to."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="claims")
    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="+")
    areas = models.ManyToManyField(OutcomeArea, related_name="+")
    evidence = models.TextField("Evidence of sustained progress", max_length=8000)
    status = models.CharField(max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    status_changed_on = models.DateField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status_changed_on"], name="claim_status_changed")]

    def __str__(self) -> str:
        return f"Claim {self.pk} ({self.status})"
