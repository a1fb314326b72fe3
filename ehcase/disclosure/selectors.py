"""Reads for sharing records and subject access requests. Callers pass objects that already went
through the access layer (ehcase.disclosure.permissions)."""

from __future__ import annotations

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import QuerySet

from ehcase.models import Family, FamilyMember, Person

from .models import SharingRecord, SubjectAccessRequest


def family_sharing_records(*, family: Family) -> list[SharingRecord]:
    """The family's sharing records, newest first, with who recorded them, the recipient agency and the
    names of the people each concerns: one query however many there are."""
    return list(
        SharingRecord.objects.filter(family=family)
        .select_related("recorded_by", "recipient_agency", "in_error_by")
        .annotate(
            people_names=ArrayAgg(
                "people__first_name", order_by=("people__date_of_birth", "people__id"), default=[]
            )
        )
        .order_by("-shared_on", "-id")
    )


def family_people(*, family: Family) -> QuerySet[Person]:
    """Everyone who is or was in the family's household, adults first then by age."""
    return Person.objects.filter(
        pk__in=FamilyMember.objects.filter(family=family).values("person_id")
    ).order_by("date_of_birth", "id")


def subject_access_requests() -> list[SubjectAccessRequest]:
    """Every subject access request, those being prepared first, soonest due first. One query. Caller:
    an early help manager (permissions.require_subject_access)."""
    return list(
        SubjectAccessRequest.objects.select_related("person", "created_by", "released_by").order_by(
            "status", "due_on", "id"
        )
    )


def person_family_ids(*, person: Person) -> list[int]:
    return sorted(set(FamilyMember.objects.filter(person=person).values_list("family_id", flat=True)))
