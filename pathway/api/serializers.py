"""Serializers for the pathway API. They only shape and validate data: reads come through
pathway.permissions and the views' prefetches, writes go through pathway.services.

Validation mirrors pathway/forms.py, so that the API accepts what the web pages accept; the
pathway's own rules (dates against the episode, one baseline, the state machine) stay in the
services and come back as 400s at the field they concern. Text that a service insists on
(a reason, the family's view) may be sent blank so that the service's own message explains it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_description_list
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ehcase.api.serializers import (
    MAX_VERSION,
    VERSION_HELP,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
)
from ehcase.models import Family, Person, Role, User
from pathway.models import (
    Attendance,
    ClosureReason,
    Episode,
    EpisodeSource,
    EpisodeStatus,
    EpisodeTransition,
    IdentifiedNeed,
    LeadProfessional,
    LevelChange,
    LevelOfNeed,
    MeetingAttendance,
    MeetingStatus,
    NeedOutcome,
    OutcomeArea,
    OutcomeScore,
    Review,
    ReviewDecision,
    TafMeeting,
    TafMember,
)

MAX_ID = MAX_VERSION  # the largest id PostgreSQL's integer columns hold


def practitioners() -> QuerySet[User]:
    """Who may join a TAF as a worker: active users with a practitioner role (as TafWorkerForm)."""
    return User.objects.filter(is_active=True, memberships__role=Role.PRACTITIONER).distinct()


def current_workers(episode: Episode) -> QuerySet[User]:
    """Who may be named lead professional: practitioners currently in the episode's team (as LeadForm)."""
    return User.objects.filter(
        taf_memberships__episode=episode, taf_memberships__left_on__isnull=True
    ).distinct()


def _today():
    return timezone.localdate()


def past(label: str):
    """A validator: the date is today or earlier (GovukDateField(past=True) says the same)."""

    def check(value):
        if value > _today():
            raise serializers.ValidationError(f"{label} must be today or in the past")

    return check


def future(label: str):
    def check(value):
        if value is not None and value < _today():
            raise serializers.ValidationError(f"{label} must be today or in the future")

    return check


# --- Fields -------------------------------------------------------------------------------------


class EnumField(serializers.ChoiceField):
    """A choice whose values have their own named enum in the schema (`enum_name`), so that one
    set of choices (an episode's status, say) has one name wherever it appears. Blank reads as
    null: a baseline has no decision, an open episode no closure reason."""

    def __init__(self, choices, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(choices, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)

    def to_representation(self, value):
        if value in ("", None):
            return None
        return super().to_representation(value)


class EnumFieldSchema(OpenApiSerializerFieldExtension):
    """Documents an EnumField as a reference to its named enum component. drf-spectacular would
    otherwise name enums after the field ("StatusEnum") and warn when two sets share a name."""

    target_class = EnumField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": list(field.choices),
                "description": build_choice_description_list(field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class OutcomeAreaField(serializers.SlugRelatedField):
    """An active outcome area, by its code (see /api/outcome-areas/)."""

    default_error_messages = {
        **serializers.SlugRelatedField.default_error_messages,
        "does_not_exist": "Select an outcome area from /api/outcome-areas/ (“{value}” is not one)",
        "invalid": "Select an outcome area by its code",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", OutcomeArea.objects.filter(active=True))
        super().__init__(slug_field="code", **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data or len(data) > 40:
            self.fail("invalid")
        return super().to_internal_value(data)


def _id_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def _version_field() -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_VERSION, help_text=VERSION_HELP)


# --- Reference data (not case data) -------------------------------------------------------------


class LevelOfNeedSerializer(serializers.ModelSerializer):
    class Meta:
        model = LevelOfNeed
        fields = ["id", "code", "name", "band"]
        read_only_fields = fields


class OutcomeAreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeArea
        fields = ["code", "name"]
        read_only_fields = fields


# --- Read ---------------------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    """A worker, as named on an episode."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class PersonSummarySerializer(serializers.Serializer):
    """A member of the family, as named in its team."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)


class AgencySummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class FamilySummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Family
        fields = ["id", "reference", "name"]
        read_only_fields = fields


def _status(**kwargs) -> EnumField:
    return EnumField(EpisodeStatus.choices, enum_name="EpisodeStatusEnum", read_only=True, **kwargs)


class EpisodeSerializer(serializers.ModelSerializer):
    """An episode as listed: one period of early help for a family."""

    family = FamilySummarySerializer(read_only=True)
    status = _status()
    level = LevelOfNeedSerializer(read_only=True, help_text="The current level of need")
    source = EnumField(EpisodeSource.choices, enum_name="EpisodeSourceEnum", read_only=True)
    closure_reason = EnumField(
        ClosureReason.choices,
        enum_name="ClosureReasonEnum",
        read_only=True,
        allow_null=True,
        help_text="Why it closed; null while open",
    )
    assessor = UserSummarySerializer(read_only=True, allow_null=True)
    lead_professional = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Episode
        fields = [
            "id",
            "family",
            "status",
            "level",
            "source",
            "opened_on",
            "closed_on",
            "closure_reason",
            "is_re_referral",
            "social_care_reference",
            "next_review_due",
            "assessor",
            "lead_professional",
            "version",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.ModelSerializer):
    """One change of the episode's status: who, when and why."""

    from_status = _status(allow_null=True, help_text="Null for the opening")
    to_status = _status()
    by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = EpisodeTransition
        fields = ["from_status", "to_status", "occurred_at", "by", "reason"]
        read_only_fields = fields


class LevelChangeSerializer(serializers.ModelSerializer):
    level = LevelOfNeedSerializer(read_only=True)
    by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = LevelChange
        fields = ["level", "changed_on", "by", "reason"]
        read_only_fields = fields


class LeadProfessionalSerializer(serializers.ModelSerializer):
    """One period as the family's lead professional; the current one has no end date."""

    user = UserSummarySerializer(read_only=True)
    recorded_by = UserSummarySerializer(read_only=True)
    agreed_at = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The TAF meeting that agreed it, if any"
    )

    class Meta:
        model = LeadProfessional
        fields = [
            "id",
            "user",
            "started_on",
            "ended_on",
            "family_view",
            "handover_note",
            "agreed_at",
            "recorded_by",
        ]
        read_only_fields = fields


class TafMemberSerializer(serializers.ModelSerializer):
    """A member of the Team Around the Family: a worker (`user`, with their agency) or a member of
    the family (`person`). Members who have left keep their row, with `left_on`."""

    kind = serializers.SerializerMethodField()
    user = UserSummarySerializer(read_only=True, allow_null=True)
    agency = AgencySummarySerializer(read_only=True, allow_null=True)
    person = PersonSummarySerializer(read_only=True, allow_null=True)
    is_current = serializers.BooleanField(read_only=True)

    class Meta:
        model = TafMember
        fields = [
            "id",
            "kind",
            "name",
            "user",
            "agency",
            "person",
            "role",
            "joined_on",
            "left_on",
            "is_current",
        ]
        read_only_fields = fields

    @extend_schema_field(
        EnumField(
            [("worker", "A worker"), ("family_member", "A member of the family")],
            enum_name="TafMemberKindEnum",
        )
    )
    def get_kind(self, member: TafMember) -> str:
        return "family_member" if member.is_family_member else "worker"


class NeedSerializer(serializers.ModelSerializer):
    area = serializers.SlugRelatedField(slug_field="code", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)
    outcome = EnumField(
        NeedOutcome.choices,
        enum_name="NeedOutcomeEnum",
        read_only=True,
        allow_null=True,
        help_text="Stated at closure; null while the episode is open",
    )

    class Meta:
        model = IdentifiedNeed
        fields = ["id", "area", "area_name", "description", "outcome", "created_at"]
        read_only_fields = fields


class EpisodeDetailSerializer(EpisodeSerializer):
    """An episode with its history: status changes, levels, lead professionals, team and needs."""

    transitions = TransitionSerializer(many=True, read_only=True)
    level_history = LevelChangeSerializer(source="level_changes", many=True, read_only=True)
    lead_professionals = LeadProfessionalSerializer(
        source="lead_history", many=True, read_only=True, help_text="Oldest first"
    )
    taf_members = TafMemberSerializer(many=True, read_only=True, help_text="Including those who have left")
    needs = NeedSerializer(many=True, read_only=True)
    can_manage = serializers.BooleanField(
        read_only=True, help_text="Whether you may change this episode (it is open and you manage it)"
    )

    class Meta(EpisodeSerializer.Meta):
        fields = [
            *EpisodeSerializer.Meta.fields,
            "closure_note",
            "step_up_reason",
            "handover_notes",
            "created_at",
            "transitions",
            "level_history",
            "lead_professionals",
            "taf_members",
            "needs",
            "can_manage",
        ]
        read_only_fields = fields


class AttendanceSerializer(serializers.ModelSerializer):
    member = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The TAF member")
    name = serializers.CharField(source="member.name", read_only=True)
    attendance = EnumField(Attendance.choices, enum_name="AttendanceEnum", read_only=True)

    class Meta:
        model = MeetingAttendance
        fields = ["member", "name", "attendance"]
        read_only_fields = fields


class InviteeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TafMember
        fields = ["id", "name"]
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer):
    """A TAF meeting: scheduled (an agenda) or held (minutes, with attendance)."""

    status = EnumField(MeetingStatus.choices, enum_name="MeetingStatusEnum", read_only=True)
    invited = InviteeSerializer(many=True, read_only=True)
    attendance = AttendanceSerializer(many=True, read_only=True)
    created_by = UserSummarySerializer(read_only=True)

    class Meta:
        model = TafMeeting
        fields = [
            "id",
            "episode",
            "starts_at",
            "location",
            "online",
            "status",
            "invited",
            "attendance",
            "decisions",
            "plan_changes",
            "next_meeting_on",
            "created_by",
            "created_at",
            "version",
        ]
        read_only_fields = fields


class ScoreSerializer(serializers.ModelSerializer):
    """A score from 0 to 10 for one outcome area."""

    area = OutcomeAreaField(help_text="The outcome area's code (see /api/outcome-areas/)")
    area_name = serializers.CharField(source="area.name", read_only=True)
    score = StrictIntegerField(
        min_value=0,
        max_value=10,
        error_messages={
            "min_value": "Score must be a whole number from 0 to 10",
            "max_value": "Score must be a whole number from 0 to 10",
            "invalid": "Score must be a whole number from 0 to 10",
        },
    )

    class Meta:
        model = OutcomeScore
        fields = ["area", "area_name", "score"]


class ReviewSerializer(serializers.ModelSerializer):
    """A review with its scores. The baseline (`is_baseline`) is the first set of scores."""

    decision = EnumField(
        ReviewDecision.choices,
        enum_name="ReviewDecisionEnum",
        read_only=True,
        allow_null=True,
        help_text="Null for the baseline",
    )
    recorded_by = UserSummarySerializer(read_only=True)
    scores = ScoreSerializer(many=True, read_only=True)
    meeting = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "held_on",
            "is_baseline",
            "decision",
            "summary",
            "meeting",
            "scores",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class AreaProgressSerializer(serializers.Serializer):
    area = serializers.CharField(source="area.code", read_only=True, help_text="The outcome area's code")
    area_name = serializers.CharField(source="area.name", read_only=True)
    baseline = serializers.IntegerField(read_only=True, allow_null=True)
    latest = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The most recent score, the baseline's if none since"
    )
    change = serializers.IntegerField(read_only=True, allow_null=True, help_text="latest − baseline")
    scores = serializers.ListField(
        child=serializers.IntegerField(allow_null=True),
        read_only=True,
        help_text="One per date in `dates` (null where the area was not scored)",
    )


class DistanceTravelledSerializer(serializers.Serializer):
    """Change in outcome scores from the baseline, per outcome area (as the episode page's chart)."""

    dates = serializers.ListField(
        child=serializers.DateField(), read_only=True, help_text="The baseline's date, then each review's"
    )
    areas = AreaProgressSerializer(many=True, read_only=True)


# --- Write --------------------------------------------------------------------------------------


class EpisodeListQuerySerializer(serializers.Serializer):
    status = EnumField(EpisodeStatus.choices, enum_name="EpisodeStatusEnum", required=False)
    # Absent: every episode. An empty or other value is refused with 400, not read as "absent".
    open = serializers.BooleanField(required=False, help_text="true: open episodes only; false: closed only")


def _level_field() -> StrictPrimaryKeyRelatedField:
    return StrictPrimaryKeyRelatedField(
        queryset=LevelOfNeed.objects.all(),
        help_text="The level of need (see /api/levels-of-need/)",
        error_messages={"does_not_exist": "Select a level of need from /api/levels-of-need/"},
    )


class EpisodeStartSerializer(serializers.Serializer):
    """Start early help directly: the family agreed to an Early Help Assessment. Mirrors StartForm."""

    level = _level_field()
    consent_given_by = StrictCharField(
        max_length=200,
        allow_blank=True,
        help_text="Who in the family agreed, for example “Kerry Ashworth (mother), for herself and her "
        "children”",
    )
    consent_on = serializers.DateField(validators=[past("Date they agreed")], help_text="Date they agreed")


class StepDownSerializer(serializers.Serializer):
    """Accept a family stepped down from children's social care. Mirrors StepDownForm."""

    social_care_reference = StrictCharField(max_length=40, allow_blank=True)
    handover_notes = StrictCharField(max_length=8000, allow_blank=True)
    accepted_on = serializers.DateField(validators=[past("Date accepted")])


class LevelChangeWriteSerializer(serializers.Serializer):
    level = _level_field()
    changed_on = serializers.DateField(validators=[past("Date of the change")])
    reason = StrictCharField(max_length=500, allow_blank=True, help_text="Why the level changed")


class StepUpSerializer(serializers.Serializer):
    reason = StrictCharField(
        max_length=4000, allow_blank=True, help_text="The safeguarding concern or unmet need"
    )
    stepped_up_on = serializers.DateField(validators=[past("Date of the step up")])
    social_care_reference = StrictCharField(max_length=40, default="", allow_blank=True)
    version = _version_field()


class NeedOutcomeWriteSerializer(serializers.Serializer):
    need = _id_field(help_text="The identified need's id")
    outcome = EnumField(NeedOutcome.choices, enum_name="NeedOutcomeEnum")


CLOSING_REASONS = [c for c in ClosureReason.choices if c[0] != ClosureReason.STEP_UP]


class CloseSerializer(serializers.Serializer):
    reason = EnumField(
        CLOSING_REASONS,
        enum_name="ClosingReasonEnum",
        help_text="Why the episode is closing. To step up to children's social care, use step-up.",
        error_messages={
            "invalid_choice": "Select why the episode is closing (to step up to children's social care, "
            "use step-up)"
        },
    )
    closed_on = serializers.DateField(validators=[past("Date of closure")])
    need_outcomes = NeedOutcomeWriteSerializer(
        many=True, default=list, help_text="The outcome of every identified need of the episode"
    )
    note = StrictCharField(
        max_length=4000, default="", allow_blank=True, help_text="Closure summary; required for ‘other’"
    )
    version = _version_field()

    def validate_need_outcomes(self, value: list[dict]) -> list[dict]:
        ids = [row["need"] for row in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("State each need's outcome once")
        return value


class TafMemberWriteSerializer(serializers.Serializer):
    """A worker (`user`, a practitioner) or a member of the family (`person`) joins the team."""

    user = StrictPrimaryKeyRelatedField(
        queryset=practitioners(),
        required=False,
        allow_null=True,
        help_text="A practitioner to add",
        error_messages={"does_not_exist": "Select a practitioner"},
    )
    person = StrictPrimaryKeyRelatedField(
        queryset=Person.objects.none(),
        required=False,
        allow_null=True,
        help_text="A member of the family to add",
        error_messages={"does_not_exist": "Select someone from this family"},
    )
    role = StrictCharField(
        max_length=120, default="", allow_blank=True, help_text="Their role in the team, e.g. school nurse"
    )
    joined_on = serializers.DateField(validators=[past("Date they joined")])

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:  # drf-spectacular documents the class without an episode
            return
        self.fields["person"].queryset = Person.objects.filter(
            memberships__family_id=episode.family_id
        ).distinct()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("user") is None) == (attrs.get("person") is None):
            raise serializers.ValidationError(
                "Send either `user` (a practitioner) or `person` (a member of the family), not both"
            )
        return attrs


class TafRemovalSerializer(serializers.Serializer):
    left_on = serializers.DateField(validators=[past("Date they left the team")])


class NeedWriteSerializer(serializers.Serializer):
    area = OutcomeAreaField(help_text="The outcome area's code (see /api/outcome-areas/)")
    description = StrictCharField(
        max_length=500,
        help_text="The need, in plain words",
        error_messages={"blank": "Enter the need, in plain words"},
    )


class LeadProfessionalWriteSerializer(serializers.Serializer):
    user = StrictPrimaryKeyRelatedField(
        queryset=User.objects.none(),
        help_text="A practitioner currently in the team",
        error_messages={"does_not_exist": "Select a practitioner from the team"},
    )
    family_view = StrictCharField(
        max_length=2000, allow_blank=True, help_text="What the family said about the choice"
    )
    handover_note = StrictCharField(
        max_length=4000,
        default="",
        allow_blank=True,
        help_text="What the new lead professional needs to know; required when one takes over",
    )
    started_on = serializers.DateField(validators=[past("Date they take over")])

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:  # drf-spectacular documents the class without an episode
            return
        self.fields["user"].queryset = current_workers(episode)


class MeetingScheduleSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(
        help_text="In the future, or in the past with `already_held` (then record it)"
    )
    location = StrictCharField(
        max_length=200,
        help_text="Place or online link",
        error_messages={"blank": "Enter the place or online link"},
    )
    online = StrictBooleanField(default=False)
    invited = StrictPrimaryKeyRelatedField(
        many=True,
        queryset=TafMember.objects.none(),
        required=False,
        help_text="Ids of current members of the team",
    )
    already_held = StrictBooleanField(
        default=False, help_text="true to enter a meeting that has already taken place"
    )

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:  # drf-spectacular documents the class without an episode
            return
        invited = self.fields["invited"].child_relation
        invited.queryset = TafMember.objects.filter(episode=episode, left_on__isnull=True)
        invited.error_messages["does_not_exist"] = "Invite current members of this family's team only"


class AttendanceWriteSerializer(serializers.Serializer):
    member = _id_field(help_text="The TAF member's id")
    attendance = EnumField(Attendance.choices, enum_name="AttendanceEnum")


class MeetingRecordSerializer(serializers.Serializer):
    """The minutes of a meeting. Attendance is stated for every current member of the team; the
    first meeting agrees the lead professional (`lead`, with the family's view)."""

    attendance = AttendanceWriteSerializer(many=True, default=list)
    decisions = StrictCharField(max_length=8000, allow_blank=True)
    plan_changes = StrictCharField(max_length=8000, default="", allow_blank=True)
    next_meeting_on = serializers.DateField(
        required=False, allow_null=True, validators=[future("Date of the next meeting")]
    )
    lead = StrictPrimaryKeyRelatedField(
        queryset=User.objects.none(),
        required=False,
        allow_null=True,
        help_text="The lead professional agreed at the first meeting: a practitioner in the team",
        error_messages={"does_not_exist": "Select a practitioner from the team"},
    )
    family_view = StrictCharField(
        max_length=2000,
        default="",
        allow_blank=True,
        help_text="What the family said about who should be their lead professional (first meeting)",
    )
    version = _version_field()

    def __init__(self, *args, episode: Episode | None = None, members: list[TafMember] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.members = list(members)
        if episode is None:
            return
        self.fields["lead"].queryset = current_workers(episode)

    def validate_attendance(self, value: list[dict]) -> list[dict]:
        ids = [row["member"] for row in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Record each member's attendance once")
        current = {m.pk: m for m in self.members}
        if set(ids) - set(current):
            raise serializers.ValidationError("Record attendance for current members of this team only")
        missing = [m for pk, m in current.items() if pk not in ids]
        if missing:
            raise serializers.ValidationError(f"Select whether {missing[0].name} attended")
        return value


def _scores_field() -> ScoreSerializer:
    return ScoreSerializer(many=True, max_length=100, help_text="At least one outcome area, each once")


def _check_scores(value: list[dict]) -> list[dict]:
    areas = [row["area"].pk for row in value]
    if len(areas) != len(set(areas)):
        raise serializers.ValidationError("Score each outcome area once")
    return value


class BaselineSerializer(serializers.Serializer):
    held_on = serializers.DateField(validators=[past("Date")], help_text="Date of the assessment's scores")
    scores = _scores_field()

    def validate_scores(self, value):
        return _check_scores(value)


class ReviewWriteSerializer(serializers.Serializer):
    held_on = serializers.DateField(validators=[past("Date")])
    scores = _scores_field()
    decision = EnumField(
        ReviewDecision.choices,
        enum_name="ReviewDecisionEnum",
        error_messages={"invalid_choice": "Select what the review decided"},
        help_text="A step up or closure is then recorded with step-up or close",
    )
    summary = StrictCharField(
        max_length=8000,
        help_text="Summary of progress",
        error_messages={"blank": "Enter a summary of progress"},
    )

    def validate_scores(self, value):
        return _check_scores(value)
