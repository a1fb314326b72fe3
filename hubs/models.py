from django.conf import settings
from django.db import models


class Hub(models.Model):
    """A locality hub: triages requests for support for the families in its areas."""

    name = models.CharField(max_length=120, unique=True)
    meeting_pattern = models.CharField(max_length=200, blank=True)
    triage_target_working_days = models.PositiveSmallIntegerField(default=5)
    member_agencies = models.ManyToManyField("ehcase.Agency", blank=True, related_name="hubs")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HubArea(models.Model):
    """A locality (town, ward or postcode district) that a hub covers."""

    hub = models.ForeignKey(Hub, on_delete=models.PROTECT, related_name="areas")
    name = models.CharField(max_length=120, unique=True)
    postcode_district = models.CharField(max_length=8, blank=True, help_text="For example NE61")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- Requests for support and triage (DESIGN.md §2–3) ---------------------------------------------


class ReferralSource(models.TextChoices):
    """Children in Need census referral source codes."""

    FAMILY = "1A", "Individual: family member, relative or carer"
    ACQUAINTANCE = "1B", "Individual: acquaintance"
    SELF = "1C", "Individual: self"
    INDIVIDUAL_OTHER = "1D", "Individual: other"
    SCHOOLS = "2A", "Schools"
    EDUCATION = "2B", "Education services"
    GP = "3A", "Health services: GP"
    HEALTH_VISITOR = "3B", "Health services: health visitor"
    SCHOOL_NURSE = "3C", "Health services: school nurse"
    PRIMARY_HEALTH = "3D", "Health services: other primary health services"
    A_AND_E = "3E", "Health services: A&E"
    HEALTH_OTHER = "3F", "Health services: other"
    HOUSING = "4", "Housing"
    LA_SOCIAL_CARE = "5A", "Local authority services: social care"
    LA_INTERNAL = "5B", "Local authority services: other internal"
    LA_EXTERNAL = "5C", "Local authority services: external"
    POLICE = "6", "Police"
    LEGAL = "7", "Other legal agency"
    OTHER = "8", "Other"
    ANONYMOUS = "9", "Anonymous"
    UNKNOWN = "10", "Unknown"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"


class RequestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    NEW = "new", "New"
    AWAITING_DECISION = "awaiting", "Awaiting decision"
    DECIDED = "decided", "Decided"


class ConsentMethod(models.TextChoices):
    WRITTEN = "written", "In writing"
    VERBAL = "verbal", "Verbally"


class RequestForSupport(models.Model):
    """A partner asks the locality hub for help for a family. Drafts keep what was typed so far."""

    family = models.ForeignKey(
        "ehcase.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    hub = models.ForeignKey(Hub, null=True, blank=True, on_delete=models.PROTECT, related_name="requests")
    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests")
    referrer_agency = models.ForeignKey(
        "ehcase.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.DRAFT)
    source = models.CharField(max_length=3, choices=ReferralSource.choices, blank=True)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, blank=True)
    reasons = models.TextField("Why the family needs support", max_length=8000, blank=True)
    needs = models.ManyToManyField("pathway.OutcomeArea", blank=True, related_name="+")
    tried_already = models.TextField("What has been tried already", max_length=8000, blank=True)
    consent_given = models.BooleanField(null=True, blank=True)
    consent_by = models.CharField("Who agreed", max_length=200, blank=True)
    consent_on = models.DateField(null=True, blank=True)
    consent_method = models.CharField(max_length=10, choices=ConsentMethod.choices, blank=True)
    no_consent_reason = models.TextField("Why consent was not sought", max_length=4000, blank=True)
    received_on = models.DateField(null=True, blank=True)
    is_re_referral = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_on", "-id"]
        indexes = [
            models.Index(fields=["hub", "status", "received_on"], name="request_hub_queue"),
            # The queue's agency filter: which agencies have sent this hub a request (one probe each).
            models.Index(fields=["referrer_agency", "hub"], name="request_agency_hub"),
            models.Index(fields=["referrer", "-created_at"], name="request_by_referrer"),
            models.Index(fields=["family", "-received_on"], name="request_by_family"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft")
                | models.Q(
                    family__isnull=False,
                    hub__isnull=False,
                    received_on__isnull=False,
                    consent_given__isnull=False,
                ),
                name="request_submitted_is_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Request {self.pk} ({self.get_status_display()})"


class TriageOutcome(models.TextChoices):
    NO_FURTHER_ACTION = "nfa", "No further action"
    SIGNPOSTING = "signposting", "Information and signposting"
    SINGLE_AGENCY = "single_agency", "Single-agency support"
    EARLY_HELP = "early_help", "Open an early help episode"
    STEP_UP = "step_up", "Step up to children's social care"


class HubMeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"


class HubMeeting(models.Model):
    """The hub's (usually weekly) multi-agency meeting that decides requests."""

    hub = models.ForeignKey(Hub, on_delete=models.PROTECT, related_name="meetings")
    starts_at = models.DateTimeField()
    location = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=HubMeetingStatus.choices, default=HubMeetingStatus.SCHEDULED
    )
    attendees = models.TextField("Who attended", max_length=4000, blank=True)
    agenda = models.ManyToManyField(RequestForSupport, through="HubAgendaItem", related_name="hub_meetings")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["hub", "-starts_at"], name="hub_meeting_recent")]

    def __str__(self) -> str:
        return f"{self.hub} meeting {self.starts_at:%d %b %Y}"


class HubAgendaItem(models.Model):
    meeting = models.ForeignKey(HubMeeting, on_delete=models.CASCADE, related_name="items")
    request = models.ForeignKey(RequestForSupport, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "request"], name="agenda_item_once")]

    def __str__(self) -> str:
        return f"{self.meeting_id}: {self.request_id}"


class TriageDecision(models.Model):
    """A decision on a request. A change of mind is a new decision that supersedes the previous one."""

    request = models.ForeignKey(RequestForSupport, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(max_length=16, choices=TriageOutcome.choices)
    rationale = models.TextField(max_length=8000)
    decided_on = models.DateField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(
        HubMeeting, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    signposting = models.TextField("Information for the referrer", max_length=8000, blank=True)
    agency = models.ForeignKey(
        "ehcase.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    allocated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    social_care_reference = models.CharField(max_length=40, blank=True)
    episode = models.ForeignKey(
        "pathway.Episode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} on {self.decided_on}"
