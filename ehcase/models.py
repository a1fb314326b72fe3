"""The shared core: agencies, users and roles, families and people, audit."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from . import codes
from .validators import validate_nhs_number, validate_upn


class AgencyType(models.TextChoices):
    SCHOOL = "school", "School"
    EARLY_YEARS = "early_years", "Early years setting"
    HEALTH_VISITING = "health_visiting", "Health visiting"
    SCHOOL_HEALTH = "school_health", "School health"
    GP = "gp", "GP practice"
    CAMHS = "camhs", "Child and adolescent mental health"
    POLICE = "police", "Police"
    HOUSING = "housing", "Housing"
    YOUTH_JUSTICE = "youth_justice", "Youth justice"
    FAMILY_SUPPORT = "family_support", "Council family support"
    VOLUNTARY = "voluntary", "Voluntary sector"
    ADULT_SERVICES = "adult_services", "Adult services"
    OTHER = "other", "Other"


class Agency(models.Model):
    name = models.CharField(max_length=160, unique=True)
    type = models.CharField(max_length=32, choices=AgencyType.choices)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. What they may do comes from their memberships."""

    job_title = models.CharField(max_length=120, blank=True)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    AGENCY_MANAGER = "agency_manager", "Agency manager"
    HUB_COORDINATOR = "hub_coordinator", "Hub coordinator"
    EARLY_HELP_MANAGER = "early_help_manager", "Early help manager"
    QUALITY_AUDITOR = "quality_auditor", "Quality auditor"
    SYSTEM_ADMINISTRATOR = "system_administrator", "System administrator"


class Membership(models.Model):
    """A role a user holds at an agency; hub coordinators name the hubs they coordinate."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    hubs = models.ManyToManyField("hubs.Hub", blank=True, related_name="coordinator_memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agency", "role"], name="membership_unique_role")
        ]
        indexes = [models.Index(fields=["agency", "role"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.agency}"


class Family(models.Model):
    """The root record of case data. Every read goes through ehcase.permissions."""

    reference = models.CharField(max_length=20, unique=True, editable=False)
    name = models.CharField(
        max_length=120, help_text="How the household is known, usually the family surname(s)"
    )
    address_line_1 = models.CharField("Address line 1", max_length=120, blank=True)
    address_line_2 = models.CharField("Address line 2", max_length=120, blank=True)
    town = models.CharField("Town or city", max_length=80, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    area = models.ForeignKey("hubs.HubArea", on_delete=models.PROTECT, related_name="families")
    # Denormalised from area so that a coordinator's list is one indexed lookup.
    hub = models.ForeignKey("hubs.Hub", on_delete=models.PROTECT, related_name="families")
    address_withheld = models.BooleanField(
        "Address withheld for safety",
        default=False,
        help_text="The address is hidden in lists and search results",
    )
    young_carer = models.BooleanField("Young carer in the household", default=False)
    send = models.BooleanField("Special educational needs or disability (SEND)", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "families"
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["hub", "name"]),
            models.Index(fields=["name", "id"], name="family_name_order"),
            models.Index(Upper("postcode"), name="family_postcode_upper"),
            # Django's icontains compares UPPER(column): the trigram indexes are on that expression.
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="family_name_upper_trgm"),
        ]
        default_permissions = ("add", "change", "delete", "view")

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})"


class FamilyUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key object permissions: the indexed access path for practitioners."""

    # guardian's unique (user, permission, content_object) is the index the access layer uses.
    content_object = models.ForeignKey(Family, on_delete=models.CASCADE)


class FamilyGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Family, on_delete=models.CASCADE)


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Not known or not stated"


class Person(models.Model):
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    known_as = models.CharField("Known as", max_length=80, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    expected_date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    ethnicity = models.CharField(max_length=4, choices=codes.ETHNICITY_CHOICES, default="NOBT")
    disabilities = ArrayField(
        models.CharField(max_length=4, choices=codes.DISABILITY_CHOICES), default=list, blank=True
    )
    language = models.CharField("First language", max_length=60, blank=True)
    nhs_number = models.CharField(
        "NHS number",
        max_length=10,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_nhs_number],
        error_messages={"unique": "This NHS number is already recorded for another person"},
    )
    upn = models.CharField(
        "Unique pupil number (UPN)",
        max_length=13,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_upn],
        error_messages={"unique": "This unique pupil number is already recorded for another person"},
    )
    school_or_setting = models.CharField("School or setting", max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "people"
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["date_of_birth"]),
            GinIndex(OpClass(Upper("last_name"), name="gin_trgm_ops"), name="person_last_name_upper_trgm"),
            GinIndex(OpClass(Upper("first_name"), name="gin_trgm_ops"), name="person_first_name_upper_trgm"),
            GinIndex(OpClass(Upper("known_as"), name="gin_trgm_ops"), name="person_known_as_upper_trgm"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# What a user may write on a person (forms, API and services share it).
PERSON_FIELDS = [
    "first_name",
    "last_name",
    "known_as",
    "date_of_birth",
    "expected_date_of_birth",
    "sex",
    "ethnicity",
    "disabilities",
    "language",
    "nhs_number",
    "upn",
    "school_or_setting",
]


class HouseholdRole(models.TextChoices):
    CHILD = "child", "Child or young person"
    PARENT_CARER = "parent_carer", "Parent or carer"
    OTHER_ADULT = "other_adult", "Other adult"


class FamilyMember(models.Model):
    """A person's dated membership of a family's household."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField("Role in household", max_length=20, choices=HouseholdRole.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="family_member_dates_ordered",
            ),
            models.UniqueConstraint(
                fields=["family", "person"],
                condition=models.Q(end_date__isnull=True),
                name="family_member_one_current",
            ),
        ]
        indexes = [models.Index(fields=["person", "family"])]

    def __str__(self) -> str:
        return f"{self.person_id} in family {self.family_id} as {self.role}"

    @property
    def is_current(self) -> bool:
        return self.end_date is None


class RelationshipType(models.TextChoices):
    PARENT_OF = "parent_of", "is the parent of"
    STEP_PARENT_OF = "step_parent_of", "is the step-parent of"
    CARER_OF = "carer_of", "is the carer of"
    GRANDPARENT_OF = "grandparent_of", "is the grandparent of"
    SIBLING_OF = "sibling_of", "is a sibling of"
    HALF_SIBLING_OF = "half_sibling_of", "is a half-sibling of"
    PARTNER_OF = "partner_of", "is the partner of"
    OTHER = "other", "is related to"


class Relationship(models.Model):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="relationships")
    from_person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relationships_from")
    to_person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relationships_to")
    type = models.CharField(max_length=20, choices=RelationshipType.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["family", "from_person", "to_person", "type"], name="relationship_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_person=models.F("to_person")), name="relationship_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_person_id} {self.type} {self.to_person_id}"


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    GRANT = "grant", "Access granted"
    REVOKE = "revoke", "Access revoked"
    EXPORT = "export", "Exported"
    LOGIN = "login", "Signed in"
    LOGOUT = "logout", "Signed out"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    TWO_FACTOR = "two_factor", "Two-factor authentication changed"
    TWO_FACTOR_FAILED = "two_factor_failed", "Failed two-factor check"
    BREAK_GLASS = "break_glass", "Emergency access"
    SHARE = "share", "Shared outside the team"
    DESTROY = "destroy", "Destroyed"


class AuditEvent(models.Model):
    """Who read or changed what, when, from where. Append-only: a database trigger refuses
    UPDATE and DELETE, and the model refuses to save an existing row. The table is partitioned by
    month of `occurred_at` (migration 0009, docs/audit.md); its primary key in PostgreSQL is
    (id, occurred_at), and ids are unique because they all come from one sequence."""

    occurred_at = models.DateTimeField(auto_now_add=True)
    # Plain ids rather than enforced foreign keys: audit outlives what it describes. No index of its
    # own: audit_actor_recent starts with it.
    actor = models.ForeignKey(
        User, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    family_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    path = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["family_id", "-occurred_at"], name="audit_family_recent"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_recent"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            # The audit viewer's search by date alone, newest first (docs/audit.md).
            models.Index(fields=["-occurred_at", "-id"], name="audit_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only")
