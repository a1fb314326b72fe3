"""Serializers for the API. Reads and writes go through ehcase.selectors, ehcase.permissions and
ehcase.services; these classes only shape and validate data.

Never `fields = "__all__"`: every field is listed, and reference, hub, version, ids and
timestamps are read-only. Validation mirrors ehcase.forms (FamilyForm, PersonForm, MemberForm)
so that the API accepts exactly what the web pages accept.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from ehcase import codes
from ehcase import validators as identifiers
from ehcase.forms import POSTCODE_RE
from ehcase.models import PERSON_FIELDS, Agency, Family, FamilyMember, HouseholdRole, Person
from ehcase.validators import disabilities_error, person_date_errors
from hubs.models import Hub, HubArea

# The largest value a PositiveIntegerField holds in PostgreSQL.
MAX_VERSION = 2_147_483_647
# An expected date of birth further ahead than this (about 10 months) is a typing mistake.

VERSION_HELP = (
    "The version of the record you last read. If someone has changed the record since, "
    "nothing is saved and the response is 409 Conflict: read the record again and resend."
)


def _today():
    return timezone.localdate()


class StrictCharField(serializers.CharField):
    """Text that must be a JSON string: DRF's default turns 0 into "0"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false: DRF's default also takes "yes", "0", 1 and more."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: DRF's default also takes "5" and 5.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key that must be a JSON integer: DRF's default also takes 1.5, "1" and true as 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """Accepts only the JSON types the schema documents, so that a client's mistake (a number
    where text belongs, "false" for false) is a 400 rather than a guess."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
    }


class NhsNumberField(StrictCharField):
    """Accepts "485 777 3456" or "485-777-3456" and stores the ten digits."""

    def to_internal_value(self, data):
        return identifiers.normalise_nhs_number(super().to_internal_value(data))


class UpnField(StrictCharField):
    def to_internal_value(self, data):
        return super().to_internal_value(data).strip().upper()


# --- Reference data (not case data: readable by any signed-in user) ---------------------------


class AgencySerializer(serializers.ModelSerializer):
    # Not an "email" in the schema: agencies without an address have "".
    email = serializers.CharField(read_only=True, help_text="The agency's contact address, or empty")

    class Meta:
        model = Agency
        fields = ["id", "name", "type", "email"]
        read_only_fields = fields


class HubAreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = HubArea
        fields = ["id", "name", "postcode_district"]
        read_only_fields = fields


class HubSerializer(serializers.ModelSerializer):
    areas = HubAreaSerializer(many=True, read_only=True)

    class Meta:
        model = Hub
        fields = ["id", "name", "meeting_pattern", "triage_target_working_days", "areas"]
        read_only_fields = fields


# --- People ------------------------------------------------------------------------------------

PERSON_WRITE_FIELDS = PERSON_FIELDS
PERSON_READ_ONLY_FIELDS = ["id", "version", "created_at", "updated_at"]


class PersonSerializer(serializers.ModelSerializer):
    """A person as returned by the API."""

    class Meta:
        model = Person
        fields = ["id", *PERSON_WRITE_FIELDS, "version", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="NewPerson")
class PersonWriteSerializer(StrictModelSerializer):
    """A person's details as a client sends them. Mirrors ehcase.forms.PersonForm."""

    nhs_number = NhsNumberField(
        label="NHS number",
        max_length=10,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Ten digits; spaces and hyphens are ignored",
        validators=[
            identifiers.validate_nhs_number,
            UniqueValidator(
                queryset=Person.objects.all(),
                message="This NHS number is already recorded for another person",
            ),
        ],
    )
    upn = UpnField(
        label="Unique pupil number (UPN)",
        max_length=13,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[
            identifiers.validate_upn,
            UniqueValidator(
                queryset=Person.objects.all(),
                message="This unique pupil number is already recorded for another person",
            ),
        ],
    )
    disabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=codes.DISABILITY_CHOICES),
        required=False,
        max_length=len(codes.DISABILITY_CHOICES),
    )

    class Meta:
        model = Person
        fields = PERSON_WRITE_FIELDS

    def validate_nhs_number(self, value: str | None) -> str | None:
        return value or None

    def validate_upn(self, value: str | None) -> str | None:
        return value or None

    def validate_date_of_birth(self, value):
        if value and value > _today():
            raise serializers.ValidationError("Date of birth must be today or in the past")
        return value

    def validate_disabilities(self, value: list[str]) -> list[str]:
        value = list(dict.fromkeys(value))
        problem = disabilities_error(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A partial update is checked against the record as it will be after the change.
        def current(name: str):
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, None)

        problems = person_date_errors(
            current("date_of_birth"), current("expected_date_of_birth"), today=_today()
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


@extend_schema_serializer(component_name="PersonUpdate")
class PersonUpdateSerializer(PersonWriteSerializer):
    version = StrictIntegerField(min_value=1, max_value=MAX_VERSION, help_text=VERSION_HELP)

    class Meta(PersonWriteSerializer.Meta):
        fields = [*PERSON_WRITE_FIELDS, "version"]
        # Read by ehcase.api.errors.EhcaseAutoSchema: a PATCH must carry the version too.
        required_when_partial = ["version"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "version" not in attrs:
            raise serializers.ValidationError({"version": ["This field is required."]})
        return super().validate(attrs)


# --- Families ----------------------------------------------------------------------------------

FAMILY_WRITE_FIELDS = [
    "name",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "area",
    "address_withheld",
    "young_carer",
    "send",
]


class FamilyMemberSerializer(serializers.ModelSerializer):
    """A person's membership of a family's household, with the person."""

    person = PersonSerializer(read_only=True)

    class Meta:
        model = FamilyMember
        fields = ["id", "person", "role", "start_date", "end_date"]
        read_only_fields = fields


class FamilySerializer(serializers.ModelSerializer):
    """A family as listed. `hub` follows from `area`; `member_count` counts current members."""

    area_name = serializers.CharField(source="area.name", read_only=True)
    hub_name = serializers.CharField(source="hub.name", read_only=True)
    member_count = serializers.IntegerField(
        source="current_members", read_only=True, help_text="People currently in the household"
    )

    class Meta:
        model = Family
        fields = [
            "id",
            "reference",
            "name",
            "address_line_1",
            "address_line_2",
            "town",
            "postcode",
            "area",
            "area_name",
            "hub",
            "hub_name",
            "address_withheld",
            "young_carer",
            "send",
            "member_count",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FamilyDetailSerializer(FamilySerializer):
    """A family with the people currently in the household and whether the caller may change it."""

    members = FamilyMemberSerializer(
        source="current_member_list", many=True, read_only=True, help_text="Current members"
    )
    can_change = serializers.BooleanField(
        read_only=True, help_text="Whether you may change this family's record"
    )

    class Meta(FamilySerializer.Meta):
        fields = [*FamilySerializer.Meta.fields, "members", "can_change"]
        read_only_fields = fields


@extend_schema_serializer(component_name="NewFamily")
class FamilyWriteSerializer(StrictModelSerializer):
    """A family's details as a client sends them. Mirrors ehcase.forms.FamilyForm."""

    area = StrictPrimaryKeyRelatedField(
        queryset=HubArea.objects.select_related("hub"),
        help_text="The locality (see /api/hubs/); it decides the family's hub",
    )

    class Meta:
        model = Family
        fields = FAMILY_WRITE_FIELDS

    def validate_postcode(self, value: str) -> str:
        value = " ".join(value.upper().split())
        if value and not POSTCODE_RE.match(value):
            raise serializers.ValidationError("Enter a real postcode, like NE61 1AA")
        return value


@extend_schema_serializer(component_name="FamilyUpdate")
class FamilyUpdateSerializer(FamilyWriteSerializer):
    version = StrictIntegerField(min_value=1, max_value=MAX_VERSION, help_text=VERSION_HELP)

    class Meta(FamilyWriteSerializer.Meta):
        fields = [*FAMILY_WRITE_FIELDS, "version"]
        required_when_partial = ["version"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "version" not in attrs:
            raise serializers.ValidationError({"version": ["This field is required."]})
        return attrs


@extend_schema_serializer(component_name="NewMember")
class MemberCreateSerializer(serializers.Serializer):
    """A new person joining a family's household. Mirrors ehcase.forms.MemberForm + PersonForm."""

    person = PersonWriteSerializer()
    role = serializers.ChoiceField(choices=HouseholdRole.choices, help_text="Role in household")
    start_date = serializers.DateField(help_text="Date they joined the household")

    def validate_start_date(self, value):
        if value > _today():
            raise serializers.ValidationError("Date they joined the household must be today or in the past")
        return value


@extend_schema_serializer(component_name="FamilySearch")
class FamilySearchSerializer(serializers.Serializer):
    """The body of POST /api/families/search/ (the same search as the web page). A JSON body, never
    query parameters: names and dates of birth do not belong in URLs (docs/hardening.md)."""

    # Not trimmed: the search splits it into words anyway, and the schema's maxLength is then the
    # length as sent (trimmed first, 100 characters after a leading space were let through).
    q = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=100,
        help_text="Words that must all match a family or member name, a reference or a postcode",
    )
    date_of_birth = serializers.DateField(
        required=False, help_text="Only families with a member born on this date (YYYY-MM-DD)"
    )

    def validate_date_of_birth(self, value):
        if value and value > _today():
            raise serializers.ValidationError("Date of birth must be today or in the past")
        return value
