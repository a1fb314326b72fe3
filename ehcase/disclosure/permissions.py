"""Who may do what with sharing records and subject access requests.

Sharing records are part of the family's record, so seeing them follows the family
(ehcase.permissions): anyone who may see the family reads them. Recording one is for everyone working
with the family: those who may change it (lead professional, assessor, the hub's coordinators) and the
members of its team (the same rule as case notes, pathway.permissions.can_add_case_note).
Partnership-wide readers and agency managers read only. Marking a record as recorded in error is for
the person who recorded it and those who may change the family.

Subject access requests are for early help managers only. Everyone else gets 404 for every page of
them, quality auditors included: an export of everything about a person is a disclosure, not an
audit, and the request itself is personal data about the requester.

Not visible → 404 (the same page whether the thing exists or not); visible but not allowed → 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ehcase.models import Family, Person, Role, User
from ehcase.permissions import can_change_family, family_for_user, person_for_user, roles_for
from pathway.permissions import can_add_case_note

from .models import SharingRecord, SubjectAccessRequest


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


# --- Sharing records --------------------------------------------------------------------------------


def can_record_sharing(*, user: User, family: Family) -> bool:
    """Everyone working with the family. `family` has passed family_for_user."""
    return can_add_case_note(user=user, family=family)


def require_record_sharing(*, user: User, family: Family) -> None:
    if not can_record_sharing(user=user, family=family):
        raise PermissionDenied("Only people working with the family can record information sharing")


def sharing_record_for_user(*, user: User, record_id: int | str) -> SharingRecord:
    """The record, with its family through the access layer; 404 if the user may not see the family."""
    family_id = SharingRecord.objects.filter(pk=_int(record_id)).values_list("family_id", flat=True).first()
    if family_id is None:
        raise Http404
    family = family_for_user(user=user, family_id=family_id)
    record = SharingRecord.objects.select_related("recorded_by", "recipient_agency").get(pk=_int(record_id))
    record.family = family
    return record


def can_mark_in_error(*, user: User, record: SharingRecord) -> bool:
    return record.recorded_by_id == user.pk or can_change_family(user=user, family=record.family)


def require_mark_in_error(*, user: User, record: SharingRecord) -> None:
    if not can_mark_in_error(user=user, record=record):
        raise PermissionDenied(
            "Only the person who recorded it, the lead professional or the hub coordinator can mark a "
            "sharing record as recorded in error"
        )


# --- Subject access ---------------------------------------------------------------------------------


def can_handle_subject_access(*, user: User) -> bool:
    """Early help managers only (read once per request from the user's memberships)."""
    return Role.EARLY_HELP_MANAGER in roles_for(user).roles


def require_subject_access(*, user: User) -> None:
    """404 for anyone but an early help manager: the pages do not exist for them."""
    if not can_handle_subject_access(user=user):
        raise Http404


def person_for_subject_access(*, user: User, person_id: int | str) -> Person:
    require_subject_access(user=user)
    return person_for_user(user=user, person_id=person_id)


def subject_access_request_for_user(*, user: User, request_id: int | str) -> SubjectAccessRequest:
    require_subject_access(user=user)
    sar = (
        SubjectAccessRequest.objects.select_related("person", "created_by", "released_by")
        .filter(pk=_int(request_id))
        .first()
    )
    if sar is None:
        raise Http404
    return sar
