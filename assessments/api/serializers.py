"""Serializers for consent, the Early Help Assessment and the family plan. They only shape and validate
data: reads come through assessments.permissions and the views' queries, writes go through
assessments.services, whose own rules (who may give consent for whom, consent before an assessment, dates
against the episode and the assessment) come back as 400s at the field they concern.

Never `fields = "__all__"`: the assessor, the recorder, owners' names, status and versions are read-only;
an action's owner is chosen only from the people the web page offers, and its status is changed only
through PATCH /api/actions/{id}/. Consent evidence (the uploaded file) is never returned: only its name,
type and whether there is one.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from assessments.models import (
    ActionStatus,
    Assessment,
    AssessmentStatus,
    AssessmentVersion,
    ConsentMethod,
    ConsentRecord,
    PlanAction,
    PlanOutcome,
    SharingBasis,
)
from assessments.services import ANSWER_MAX_LENGTH
from ehcase.api.serializers import (
    MAX_VERSION,
    VERSION_HELP,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
)
from ehcase.models import Agency, Person, User
from pathway.api.serializers import (
    EnumField,
    OutcomeAreaField,
    PersonSummarySerializer,
    UserSummarySerializer,
    current_workers,
    past,
)
from pathway.models import Episode, TafMember

SCORE_MESSAGE = "Score must be a whole number from 0 to 10"
# The content of an assessment, as assessments.models.Assessment documents it.
CONTENT_KEYS = ("domains", "members", "child_voice", "family_view", "needs", "scores")
PERSON_KEY = re.compile(r"^[1-9][0-9]{0,9}$")


def _version_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_VERSION, help_text=VERSION_HELP, **kwargs)


def family_people(episode: Episode) -> QuerySet[Person]:
    """The people currently in the episode's family: who consent can be for or from, who said an outcome,
    who can own an action."""
    return Person.objects.filter(
        memberships__family_id=episode.family_id, memberships__end_date__isnull=True
    ).distinct()


def _person_field(help_text: str, **kwargs) -> StrictPrimaryKeyRelatedField:
    # The same message for someone in another family and an id that does not exist: neither says
    # anything about families the caller may not see.
    return StrictPrimaryKeyRelatedField(
        queryset=Person.objects.none(),
        help_text=help_text,
        error_messages={"does_not_exist": "Select someone in this family"},
        **kwargs,
    )


def _reject_unknown(serializer: serializers.Serializer, data: Any) -> None:
    """A key the request does not know is a 400 rather than silently ignored, so that an answer sent
    under the wrong name is never quietly lost."""
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(serializer.fields))
        if unknown:
            raise serializers.ValidationError(
                {key[:100]: ["Unknown field: see the API documentation for this request"] for key in unknown}
            )


# --- Read: consent ---------------------------------------------------------------------------------


class ConsentSerializer(serializers.ModelSerializer):
    """Agreement to receive early help for one family member: who gave it, when and how, and the lawful
    basis for sharing, recorded apart from it. The uploaded evidence itself is never returned."""

    person = PersonSummarySerializer(read_only=True, help_text="Who the consent is for")
    given_by = PersonSummarySerializer(read_only=True, help_text="Who gave it")
    method = EnumField(ConsentMethod.choices, enum_name="ConsentRecordMethodEnum", read_only=True)
    sharing_basis = EnumField(SharingBasis.choices, enum_name="SharingBasisEnum", read_only=True)
    has_evidence = serializers.SerializerMethodField(help_text="Whether a signed form was uploaded")
    evidence_name = serializers.CharField(read_only=True, help_text="The uploaded file's name, or empty")
    evidence_type = serializers.CharField(read_only=True, help_text="Its media type, or empty")
    recorded_by = UserSummarySerializer(read_only=True)
    is_current = serializers.BooleanField(read_only=True, help_text="False once withdrawn")
    withdrawal_recorded_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "episode",
            "person",
            "given_by",
            "own_consent_competent",
            "given_on",
            "method",
            "agrees_to_sharing",
            "sharing_basis",
            "notes",
            "has_evidence",
            "evidence_name",
            "evidence_type",
            "recorded_by",
            "recorded_at",
            "is_current",
            "withdrawn_on",
            "withdrawal_reason",
            "withdrawal_recorded_by",
        ]
        read_only_fields = fields

    def get_has_evidence(self, consent: ConsentRecord) -> bool:
        # The service stores the type with the file, so the bytes need not be read to know.
        return bool(consent.evidence_type)


# --- Read: the assessment --------------------------------------------------------------------------


class AreaSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    hint = serializers.CharField(read_only=True, default="")


class DomainSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    hint = serializers.CharField(read_only=True, default="")
    areas = AreaSerializer(many=True, read_only=True)


class TemplateSerializer(serializers.Serializer):
    """The version of the assessment form used: answers in `content.domains` are keyed
    "<domain code>.<area code>"."""

    name = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    domains = DomainSerializer(many=True, read_only=True)


class MemberAnswerSerializer(serializers.Serializer):
    strengths = serializers.CharField(read_only=True)
    needs = serializers.CharField(read_only=True)


class NeedAnswerSerializer(serializers.Serializer):
    area = serializers.CharField(
        read_only=True, help_text="The outcome area's code (see /api/outcome-areas/)"
    )
    description = serializers.CharField(read_only=True)


class ContentSerializer(serializers.Serializer):
    """The answers. `members` and `child_voice` are keyed by person id; `scores` (baseline, 0 to 10) and
    `needs` by outcome area code (see /api/outcome-areas/)."""

    domains = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text='Keyed "<domain code>.<area code>"'
    )
    members = serializers.DictField(
        child=MemberAnswerSerializer(), read_only=True, help_text="Strengths and needs, by person id"
    )
    child_voice = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="The child's own words, by person id"
    )
    family_view = serializers.CharField(read_only=True)
    needs = NeedAnswerSerializer(many=True, read_only=True, help_text="Identified needs")
    scores = serializers.DictField(
        child=serializers.IntegerField(allow_null=True, min_value=0, max_value=10),
        read_only=True,
        help_text="Baseline score per outcome area code; null where not scored",
    )


def content_data(content: dict | None) -> dict:
    """The stored content with every part present, as ContentSerializer documents it."""
    content = content or {}
    members = content.get("members") or {}
    return {
        "domains": dict(content.get("domains") or {}),
        "members": {
            pid: {"strengths": entry.get("strengths", ""), "needs": entry.get("needs", "")}
            for pid, entry in members.items()
        },
        "child_voice": dict(content.get("child_voice") or {}),
        "family_view": content.get("family_view", ""),
        "needs": [
            {"area": n.get("area", ""), "description": n.get("description", "")}
            for n in content.get("needs") or []
        ],
        "scores": dict(content.get("scores") or {}),
    }


def _assessment_status(**kwargs) -> EnumField:
    return EnumField(AssessmentStatus.choices, enum_name="AssessmentStatusEnum", read_only=True, **kwargs)


class VersionSummarySerializer(serializers.ModelSerializer):
    """A version kept when the assessment was completed, and what the manager decided about it."""

    completed_by = UserSummarySerializer(read_only=True)
    outcome = _assessment_status(allow_null=True, help_text="signed_off or returned; null until decided")
    decided_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = AssessmentVersion
        fields = [
            "number",
            "assessment_date",
            "completed_by",
            "completed_at",
            "outcome",
            "decided_by",
            "decided_at",
            "comments",
        ]
        read_only_fields = fields


class AssessmentSerializer(serializers.ModelSerializer):
    """An assessment as listed."""

    status = _assessment_status()
    assessor = UserSummarySerializer(read_only=True)
    template_version = serializers.IntegerField(
        source="template.version", read_only=True, help_text="The version of the form it uses"
    )
    signed_off_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "episode",
            "status",
            "assessor",
            "template_version",
            "started_on",
            "assessment_date",
            "completed_at",
            "signed_off_at",
            "signed_off_by",
            "updated_at",
            "version",
        ]
        read_only_fields = fields


class AssessmentDetailSerializer(AssessmentSerializer):
    """An assessment with its answers, the people it covers, the form it uses and its kept versions."""

    members = PersonSummarySerializer(
        source="member_list", many=True, read_only=True, help_text="The family members it covers"
    )
    template = TemplateSerializer(read_only=True)
    content = serializers.SerializerMethodField()
    updated_by = UserSummarySerializer(read_only=True)
    versions = VersionSummarySerializer(
        source="version_list", many=True, read_only=True, help_text="Kept on each completion, oldest first"
    )
    can_edit = serializers.BooleanField(
        read_only=True, help_text="Whether you may change it now (you are the assessor and it is a draft)"
    )
    can_decide = serializers.BooleanField(
        read_only=True, help_text="Whether you may sign it off or return it now"
    )

    class Meta(AssessmentSerializer.Meta):
        fields = [
            *AssessmentSerializer.Meta.fields,
            "members",
            "template",
            "content",
            "updated_by",
            "versions",
            "can_edit",
            "can_decide",
        ]
        read_only_fields = fields

    @extend_schema_field(ContentSerializer)
    def get_content(self, assessment: Assessment) -> dict:
        return content_data(assessment.content)


class VersionDetailSerializer(VersionSummarySerializer):
    """A kept version: what the assessment said when it was completed, with the form it used."""

    assessment = serializers.PrimaryKeyRelatedField(read_only=True)
    members = PersonSummarySerializer(source="member_list", many=True, read_only=True)
    template = TemplateSerializer(read_only=True)
    content = serializers.SerializerMethodField()

    class Meta(VersionSummarySerializer.Meta):
        fields = ["assessment", *VersionSummarySerializer.Meta.fields, "members", "template", "content"]
        read_only_fields = fields

    @extend_schema_field(ContentSerializer)
    def get_content(self, version: AssessmentVersion) -> dict:
        return content_data(version.content)


# --- Read: the plan --------------------------------------------------------------------------------


class OwnerSerializer(serializers.Serializer):
    """Who owns an action: a practitioner (`user`), an agency or a member of the family (`person`)."""

    kind = EnumField(
        [("user", "A practitioner"), ("agency", "An agency"), ("person", "A member of the family")],
        enum_name="ActionOwnerKindEnum",
        read_only=True,
    )
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


def owner_data(action: PlanAction) -> dict:
    if action.owner_user_id:
        return {"kind": "user", "id": action.owner_user_id, "name": action.owner_user.display_name}
    if action.owner_agency_id:
        return {"kind": "agency", "id": action.owner_agency_id, "name": action.owner_agency.name}
    return {"kind": "person", "id": action.owner_person_id, "name": action.owner_person.full_name}


class ActionSerializer(serializers.ModelSerializer):
    """An action in the family plan."""

    owner = serializers.SerializerMethodField()
    status = EnumField(ActionStatus.choices, enum_name="ActionStatusEnum", read_only=True)
    outcome = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The plan outcome it is for, if any"
    )
    is_open = serializers.BooleanField(read_only=True)
    can_update = serializers.BooleanField(
        read_only=True, help_text="Whether you may update its status (you own it, or you manage the plan)"
    )

    class Meta:
        model = PlanAction
        fields = [
            "id",
            "episode",
            "outcome",
            "description",
            "owner",
            "due_on",
            "status",
            "is_open",
            "created_at",
            "updated_at",
            "version",
            "can_update",
        ]
        read_only_fields = fields

    @extend_schema_field(OwnerSerializer)
    def get_owner(self, action: PlanAction) -> dict:
        return owner_data(action)


class OutcomeSerializer(serializers.ModelSerializer):
    """Something the family wants to be different, in their own words."""

    said_by = PersonSummarySerializer(read_only=True, allow_null=True)
    area = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="The outcome area's code, if tagged"
    )
    area_name = serializers.CharField(source="area.name", read_only=True, allow_null=True)

    class Meta:
        model = PlanOutcome
        fields = ["id", "episode", "wording", "said_by", "area", "area_name", "order", "achieved", "version"]
        read_only_fields = fields


class PlanOutcomeSerializer(OutcomeSerializer):
    actions = ActionSerializer(source="plan_actions", many=True, read_only=True)

    class Meta(OutcomeSerializer.Meta):
        fields = [*OutcomeSerializer.Meta.fields, "actions"]
        read_only_fields = fields


@extend_schema_serializer(many=False)  # one plan, though served by the viewset's `list`
class PlanSerializer(serializers.Serializer):
    """The family plan: outcomes in the family's words, each with its actions, then actions not tied to
    an outcome."""

    outcomes = PlanOutcomeSerializer(many=True, read_only=True)
    unlinked_actions = ActionSerializer(many=True, read_only=True)
    can_manage = serializers.BooleanField(
        read_only=True, help_text="Whether you may add and change outcomes and actions"
    )


# --- Write: consent --------------------------------------------------------------------------------


class ConsentWriteSerializer(serializers.Serializer):
    """Record a family member's consent to early help. Someone aged 16 or over consents for themself; for a
    younger child a parent or carer gives it, or the child themself with `own_consent_competent`.
    Uploading the signed form is done on the consent page; the API records consent without it."""

    person = _person_field("Who the consent is for: someone currently in the family")
    given_by = _person_field("Who gave it: the person themself, or a parent or carer for a child under 16")
    own_consent_competent = StrictBooleanField(
        default=False,
        help_text="A child under 16 consenting for themself has enough understanding to do so",
    )
    given_on = serializers.DateField(validators=[past("Date consent was given")])
    method = EnumField(
        ConsentMethod.choices,
        enum_name="ConsentRecordMethodEnum",
        error_messages={"invalid_choice": "Select how consent was given"},
    )
    agrees_to_sharing = StrictBooleanField(help_text="Agrees to information being shared with the team")
    sharing_basis = EnumField(
        SharingBasis.choices,
        enum_name="SharingBasisEnum",
        help_text="The lawful basis for sharing information, recorded apart from the consent itself",
        error_messages={"invalid_choice": "Select the lawful basis for sharing information"},
    )
    notes = StrictCharField(max_length=2000, default="", allow_blank=True)

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:  # drf-spectacular documents the class without an episode
            return
        for name in ("person", "given_by"):
            self.fields[name].queryset = family_people(episode)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class ConsentWithdrawSerializer(serializers.Serializer):
    withdrawn_on = serializers.DateField(validators=[past("Date consent was withdrawn")])
    reason = StrictCharField(
        max_length=2000, allow_blank=True, help_text="What they said when they withdrew consent"
    )


# --- Write: the assessment -------------------------------------------------------------------------


class AnswerField(StrictCharField):
    """A free-text answer, up to ANSWER_MAX_LENGTH characters, with the web form's message."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(max_length=ANSWER_MAX_LENGTH, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data) > ANSWER_MAX_LENGTH:
            raise serializers.ValidationError(
                f"Answer must be {ANSWER_MAX_LENGTH:,} characters or fewer (you entered {len(data):,})"
            )
        return super().to_internal_value(data)


class StrictDictField(serializers.DictField):
    """A JSON object whose keys match `key_pattern` (person ids, area codes)."""

    def __init__(self, *, key_pattern: re.Pattern | None = None, key_message: str = "", **kwargs):
        self.key_pattern = key_pattern
        self.key_message = key_message
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            for key in data:
                if "\x00" in key or len(key) > 100 or (self.key_pattern and not self.key_pattern.match(key)):
                    raise serializers.ValidationError(self.key_message or "Unknown part of the assessment")
        return super().to_internal_value(data)


class MemberAnswerWriteSerializer(serializers.Serializer):
    strengths = AnswerField(required=False)
    needs = AnswerField(required=False)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class NeedAnswerWriteSerializer(serializers.Serializer):
    area = StrictCharField(max_length=40, help_text="The outcome area's code (see /api/outcome-areas/)")
    description = StrictCharField(
        max_length=500,
        error_messages={
            "blank": "Describe the need",
            "max_length": "Describe the need in 500 characters or fewer",
        },
    )

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


def _score_field() -> StrictIntegerField:
    return StrictIntegerField(
        min_value=0,
        max_value=10,
        allow_null=True,
        error_messages={"invalid": SCORE_MESSAGE, "min_value": SCORE_MESSAGE, "max_value": SCORE_MESSAGE},
    )


MEMBER_KEY_MESSAGE = "Answer for the family members the assessment covers, by their person id"


class ContentWriteSerializer(serializers.Serializer):
    """The answers to change: send only the parts (and, within `domains`, `members`, `child_voice` and
    `scores`, only the entries) you are changing; the rest are kept. `needs` replaces the whole list.
    Each free-text answer is up to 4,000 characters."""

    domains = StrictDictField(
        child=AnswerField(),
        required=False,
        help_text='Answers keyed "<domain code>.<area code>" (see the assessment\'s `template`)',
    )
    members = StrictDictField(
        child=MemberAnswerWriteSerializer(),
        key_pattern=PERSON_KEY,
        key_message=MEMBER_KEY_MESSAGE,
        required=False,
        help_text="Strengths and needs, keyed by the person id of a member the assessment covers",
    )
    child_voice = StrictDictField(
        child=AnswerField(),
        key_pattern=PERSON_KEY,
        key_message=MEMBER_KEY_MESSAGE,
        required=False,
        help_text="The child's own words, keyed by person id",
    )
    family_view = AnswerField(required=False)
    needs = NeedAnswerWriteSerializer(many=True, required=False, max_length=100)
    scores = StrictDictField(
        child=_score_field(),
        required=False,
        help_text="Baseline score (0 to 10, or null to clear) keyed by outcome area code",
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(CONTENT_KEYS))
            if unknown:
                raise serializers.ValidationError(
                    {key[:100]: [f"Unknown part of the assessment: {key[:100]}"] for key in unknown}
                )
        return super().to_internal_value(data)


class AssessmentStartSerializer(serializers.Serializer):
    """Start an assessment: you become its assessor. Everyone it covers needs consent recorded first."""

    members = StrictPrimaryKeyRelatedField(
        many=True,
        queryset=Person.objects.none(),
        help_text="Ids of the family members it covers",
        error_messages={"does_not_exist": "Select someone in this family"},
    )
    assessment_date = serializers.DateField(validators=[past("Date of the assessment")])

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:
            return
        self.fields["members"].child_relation.queryset = family_people(episode)

    def validate_members(self, value: list[Person]) -> list[Person]:
        if not value:
            raise serializers.ValidationError("Select the family members the assessment covers")
        return list({p.pk: p for p in value}.values())


class AssessmentUpdateSerializer(serializers.Serializer):
    """Save part of a draft, with the `version` you read: a stale version is a 409 and nothing is saved.
    Only the assessor may save, while the assessment is a draft or returned for changes."""

    version = _version_field()
    members = StrictPrimaryKeyRelatedField(
        many=True,
        queryset=Person.objects.none(),
        required=False,
        help_text="Change who the assessment covers (each needs consent)",
        error_messages={"does_not_exist": "Select someone in this family"},
    )
    assessment_date = serializers.DateField(required=False)
    content = ContentWriteSerializer(required=False)

    class Meta:
        required_when_partial = ["version"]

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:
            return
        self.fields["members"].child_relation.queryset = family_people(episode)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class VersionSerializer(serializers.Serializer):
    version = _version_field()


class DecisionSerializer(serializers.Serializer):
    decision = EnumField(
        [("sign_off", "Sign off the assessment"), ("return", "Return it to the assessor for changes")],
        enum_name="AssessmentDecisionEnum",
        error_messages={"invalid_choice": "Select whether to sign off or return the assessment"},
    )
    comments = StrictCharField(
        max_length=4000,
        default="",
        allow_blank=True,
        help_text="Needed when you return it: say what should change",
        error_messages={"max_length": "Comments must be 4,000 characters or fewer"},
    )
    version = _version_field(required=False)


# --- Write: the plan -------------------------------------------------------------------------------


def _wording_field(**kwargs) -> StrictCharField:
    return StrictCharField(
        max_length=500,
        allow_blank=True,
        help_text="What the family wants to be different, in their words",
        error_messages={"max_length": "Outcome must be 500 characters or fewer"},
        **kwargs,
    )


def _said_by_field() -> StrictPrimaryKeyRelatedField:
    return _person_field(
        "Who in the family said it; null for the family together", allow_null=True, required=False
    )


def _area_field() -> OutcomeAreaField:
    return OutcomeAreaField(
        allow_null=True, required=False, help_text="The outcome area it is about (see /api/outcome-areas/)"
    )


class OutcomeWriteSerializer(serializers.Serializer):
    """A new outcome of the plan, in the family's words."""

    wording = _wording_field()
    said_by = _said_by_field()
    area = _area_field()

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:  # drf-spectacular documents the class without an episode
            return
        self.fields["said_by"].queryset = family_people(episode)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class OutcomeUpdateSerializer(OutcomeWriteSerializer):
    """Send the `version` you read and the fields to change; the others are kept."""

    wording = _wording_field(required=False)
    achieved = StrictBooleanField(required=False, help_text="The family says this has been achieved")
    version = _version_field()

    class Meta:
        required_when_partial = ["version"]


class OwnerWriteSerializer(serializers.Serializer):
    """Exactly one of: `user` (a practitioner in the family's team), `agency` (the agency of one) or
    `person` (someone in the family)."""

    user = StrictPrimaryKeyRelatedField(
        queryset=User.objects.none(),
        required=False,
        help_text="A practitioner currently in the family's team",
        error_messages={"does_not_exist": "Select a practitioner from the family's team"},
    )
    agency = StrictPrimaryKeyRelatedField(
        queryset=Agency.objects.none(),
        required=False,
        help_text="The agency of a practitioner in the family's team",
        error_messages={"does_not_exist": "Select the agency of a practitioner in the family's team"},
    )
    person = _person_field("Someone in the family", required=False)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError(
                "Select who owns the action: send one of `user`, `agency` or `person`"
            )
        return attrs


class ActionWriteSerializer(serializers.Serializer):
    description = StrictCharField(
        max_length=500,
        help_text="What will be done, in words the family would use",
        error_messages={"blank": "Enter what will be done"},
    )
    owner = OwnerWriteSerializer()
    due_on = serializers.DateField(help_text="On or after the episode opened and the date of the assessment")
    outcome = StrictPrimaryKeyRelatedField(
        queryset=PlanOutcome.objects.none(),
        required=False,
        allow_null=True,
        help_text="The plan outcome it is for, if any",
        error_messages={"does_not_exist": "Select one of this plan's outcomes"},
    )

    def __init__(self, *args, episode: Episode | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is None:
            return
        owner = self.fields["owner"]
        owner.fields["user"].queryset = current_workers(episode)
        owner.fields["agency"].queryset = Agency.objects.filter(
            pk__in=TafMember.objects.filter(
                episode=episode, left_on__isnull=True, user__isnull=False, agency__isnull=False
            ).values("agency_id")
        )
        owner.fields["person"].queryset = family_people(episode)
        self.fields["outcome"].queryset = PlanOutcome.objects.filter(episode=episode)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class ActionUpdateSerializer(serializers.Serializer):
    status = EnumField(
        ActionStatus.choices,
        enum_name="ActionStatusEnum",
        error_messages={"invalid_choice": "Select the action's status"},
    )
    version = _version_field()

    class Meta:
        required_when_partial = ["version"]
