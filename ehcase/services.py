"""Writes of core case data. Each one is atomic and audited; callers have already checked access."""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .audit import audit_record, field_changes, snapshot
from .models import PERSON_FIELDS, AuditAction, Family, FamilyMember, Person, Relationship, User
from .permissions import grant_family_access, roles_for

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
FAMILY_FIELDS = [
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


class ConcurrentEditError(Exception):
    """The record changed after the user opened it; their change was not saved."""


class DuplicateIdentifierError(Exception):
    """Another person already holds this NHS number or UPN (two saves raced past form validation)."""

    MESSAGES = {
        "nhs_number": "This NHS number is already recorded for another person",
        "upn": "This unique pupil number is already recorded for another person",
    }

    def __init__(self, field: str):
        super().__init__(self.MESSAGES[field])
        self.field = field
        self.message = self.MESSAGES[field]


@contextmanager
def _unique_identifiers():
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        for field in DuplicateIdentifierError.MESSAGES:
            if f"person_{field}_key" in str(exc):
                raise DuplicateIdentifierError(field) from exc
        raise


def new_family_reference() -> str:
    return "F-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(7))


@transaction.atomic
def family_create(*, actor: User, data: dict[str, Any]) -> Family:
    """Create a family. A practitioner who creates it can see and change it from then on."""
    area = data["area"]
    family = Family(**{k: data[k] for k in FAMILY_FIELDS if k in data}, hub_id=area.hub_id)
    for _attempt in range(5):
        family.reference = new_family_reference()
        try:
            with transaction.atomic():
                family.save()
            break
        except IntegrityError:
            family.pk = None
    else:  # pragma: no cover - 32^7 references make this vanishingly unlikely
        raise RuntimeError("could not allocate a family reference")
    if roles_for(actor).is_practitioner:
        grant_family_access(user=actor, family=family, change=True, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=family,
        family_id=family.pk,
        summary="Family created",
        changes=field_changes({}, snapshot(family, FAMILY_FIELDS)),
    )
    return family


def _versioned_update(model, instance, *, expected_version: int | None, values: dict[str, Any]) -> int:
    """UPDATE ... WHERE version = expected; raises ConcurrentEditError when someone else saved first."""
    version = instance.version if expected_version is None else expected_version
    updated = model.objects.filter(pk=instance.pk, version=version).update(**values, version=F("version") + 1)
    if updated == 0:
        raise ConcurrentEditError
    return version + 1


@transaction.atomic
def family_update(
    *, actor: User, family: Family, data: dict[str, Any], expected_version: int | None
) -> Family:
    # The stored values, not the instance: a bound model form has already written the typed values onto it.
    before = snapshot(Family.objects.get(pk=family.pk), FAMILY_FIELDS)
    values = {k: data[k] for k in FAMILY_FIELDS if k in data}
    if "area" in values:
        values["hub_id"] = values["area"].hub_id

    values["updated_at"] = timezone.now()
    family.version = _versioned_update(Family, family, expected_version=expected_version, values=values)
    for key, value in values.items():
        setattr(family, key, value)
    changes = field_changes(before, snapshot(family, FAMILY_FIELDS))
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=family,
        family_id=family.pk,
        summary="Family details changed",
        changes=changes,
    )
    return family


@transaction.atomic
def person_add_to_family(
    *, actor: User, family: Family, person_data: dict[str, Any], role: str, start_date: dt.date
) -> FamilyMember:
    with _unique_identifiers():
        person = Person.objects.create(**{k: person_data[k] for k in PERSON_FIELDS if k in person_data})
    member = FamilyMember.objects.create(family=family, person=person, role=role, start_date=start_date)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=person,
        family_id=family.pk,
        summary="Person added to the family",
        changes={
            **field_changes({}, snapshot(person, PERSON_FIELDS)),
            "role": [None, role],
            "start_date": [None, start_date.isoformat()],
        },
    )
    return member


@transaction.atomic
def person_update(
    *, actor: User, person: Person, data: dict[str, Any], expected_version: int | None, family_id: int | None
) -> Person:

    before = snapshot(Person.objects.get(pk=person.pk), PERSON_FIELDS)
    values = {k: data[k] for k in PERSON_FIELDS if k in data}
    values["updated_at"] = timezone.now()
    with _unique_identifiers():
        person.version = _versioned_update(Person, person, expected_version=expected_version, values=values)
    for key, value in values.items():
        setattr(person, key, value)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=person,
        family_id=family_id,
        summary="Person's details changed",
        changes=field_changes(before, snapshot(person, PERSON_FIELDS)),
    )
    return person


@transaction.atomic
def member_end(*, actor: User, member: FamilyMember, end_date: dt.date) -> FamilyMember:
    member.end_date = end_date
    member.save(update_fields=["end_date"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=member,
        family_id=member.family_id,
        summary="Left the household",
        changes={"end_date": [None, end_date.isoformat()]},
    )
    return member


@transaction.atomic
def relationship_add(
    *, actor: User, family: Family, from_person: Person, to_person: Person, type: str
) -> Relationship:
    relationship, created = Relationship.objects.get_or_create(
        family=family, from_person=from_person, to_person=to_person, type=type
    )
    if created:
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=relationship,
            family_id=family.pk,
            summary="Relationship recorded",
            changes={
                "from_person": [None, from_person.pk],
                "to_person": [None, to_person.pk],
                "type": [None, type],
            },
        )
    return relationship
