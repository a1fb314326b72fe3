"""Writes for sharing records and subject access requests: atomic and audited (ehcase.audit).

Callers have already checked access (ehcase.disclosure.permissions). These functions enforce the
records' own rules and raise DisclosureError, whose `field` names the form field a message belongs to.
Audit summaries never hold free text: what was typed goes in the event's `changes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import Agency, AuditAction, Family, FamilyMember, Person, User
from pathway.models import Episode

from .models import (
    Requester,
    SharingConsent,
    SharingDecision,
    SharingRecord,
    SubjectAccessRequest,
    SubjectAccessStatus,
)

REASON_MAX = 2000


class DisclosureError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ChangedMeanwhileError(DisclosureError):
    """Someone else changed the record after the user opened the page (a stale version)."""


CHANGED_MESSAGE = (
    "Someone else changed this after you opened the page. Nothing was saved: check the page and try again."
)


# --- Sharing records --------------------------------------------------------------------------------


@transaction.atomic
def sharing_record_create(
    *,
    actor: User,
    family: Family,
    decision: str,
    shared_on: dt.date,
    what: str,
    recipient: str,
    purpose: str,
    consent: str,
    people: Iterable[Person],
    recipient_agency: Agency | None = None,
    method: str = "",
    lawful_basis: str = "",
    consent_note: str = "",
    reason_not_shared: str = "",
    episode: Episode | None = None,
) -> SharingRecord:
    """Record a decision to share (or not to share) information about the family outside its team.
    Caller: someone working with the family (permissions.require_record_sharing). The people must be
    members (now or before) of the family; a share needs how and the lawful basis, a decision not to
    share its reason, and consent not sought says why. Audited as SHARE (shared) or CREATE."""
    people = list(dict.fromkeys(people))
    if decision not in SharingDecision.values:
        raise DisclosureError("Select whether the information was shared", field="decision")
    if not people:
        raise DisclosureError("Select who in the family the information is about", field="people")
    member_ids = set(FamilyMember.objects.filter(family=family).values_list("person_id", flat=True))
    if any(p.pk not in member_ids for p in people):
        raise DisclosureError("Select people from this family only", field="people")
    if shared_on > timezone.localdate():
        raise DisclosureError("The date must be today or in the past", field="shared_on")
    shared = decision == SharingDecision.SHARED
    if shared and not method:
        raise DisclosureError("Select how the information was shared", field="method")
    if shared and not lawful_basis:
        raise DisclosureError("Select the lawful basis for sharing", field="lawful_basis")
    if not shared and not reason_not_shared.strip():
        raise DisclosureError("Enter why the information was not shared", field="reason_not_shared")
    if consent == SharingConsent.NOT_SOUGHT and not consent_note.strip():
        raise DisclosureError("Enter why consent was not sought", field="consent_note")
    if episode is not None and episode.family_id != family.pk:
        episode = None
    if episode is None:
        episode = Episode.objects.filter(family=family).order_by("-opened_on", "-id").first()
    record = SharingRecord.objects.create(
        family=family,
        episode=episode,
        decision=decision,
        shared_on=shared_on,
        what=what.strip(),
        recipient_agency=recipient_agency,
        recipient=recipient.strip(),
        method=method if shared else "",
        purpose=purpose.strip(),
        lawful_basis=lawful_basis if shared else "",
        consent=consent,
        consent_note=consent_note.strip() if consent == SharingConsent.NOT_SOUGHT else "",
        reason_not_shared="" if shared else reason_not_shared.strip(),
        recorded_by=actor,
    )
    record.people.set(people)
    audit_record(
        actor=actor,
        action=AuditAction.SHARE if shared else AuditAction.CREATE,
        obj=record,
        family_id=family.pk,
        summary="Information shared outside the team recorded"
        if shared
        else "Decision not to share information recorded",
        changes={
            "decision": [None, decision],
            "shared_on": [None, shared_on.isoformat()],
            "what": [None, record.what],
            "recipient_agency": [None, recipient_agency.pk if recipient_agency else None],
            "recipient": [None, record.recipient],
            "method": [None, record.method],
            "purpose": [None, record.purpose],
            "lawful_basis": [None, record.lawful_basis],
            "consent": [None, consent],
            "consent_note": [None, record.consent_note],
            "reason_not_shared": [None, record.reason_not_shared],
            "people": [None, sorted(p.pk for p in people)],
        },
    )
    return record


@transaction.atomic
def sharing_record_mark_in_error(
    *, actor: User, record: SharingRecord, reason: str, version: int | None
) -> SharingRecord:
    """Mark a record as recorded in error: it stays, shown as such, and is left out of subject access
    exports' defaults. Caller: its recorder or someone who may change the family. A stale `version`
    is refused; a record already marked cannot be marked again."""
    reason = (reason or "").strip()
    if not reason:
        raise DisclosureError("Enter why the record is wrong", field="reason")
    if len(reason) > REASON_MAX:
        raise DisclosureError(f"The reason must be {REASON_MAX} characters or fewer", field="reason")
    current = SharingRecord.objects.select_for_update().get(pk=record.pk)
    if version is None or current.version != version:
        raise ChangedMeanwhileError(CHANGED_MESSAGE)
    if current.in_error:
        raise DisclosureError("This record is already marked as recorded in error")
    now = timezone.now()
    SharingRecord.objects.filter(pk=current.pk).update(
        in_error_at=now, in_error_by=actor, in_error_reason=reason, version=F("version") + 1
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        family_id=current.family_id,
        summary="Sharing record marked as recorded in error",
        changes={"in_error_reason": [None, reason]},
    )
    current.refresh_from_db()
    return current


# --- Subject access requests ------------------------------------------------------------------------


def due_date(received_on: dt.date) -> dt.date:
    """One calendar month from receipt (the ICO's rule): the same day next month, or the last day of
    next month when it has no such day (31 January → 28 or 29 February)."""
    return received_on + relativedelta(months=1)


@transaction.atomic
def subject_access_request_create(
    *, actor: User, person: Person, received_on: dt.date, requester: str, requester_name: str = ""
) -> SubjectAccessRequest:
    """Open a subject access request for a person. Caller: an early help manager
    (permissions.person_for_subject_access). Someone other than the person must be named."""
    if requester not in Requester.values:
        raise DisclosureError("Select who made the request", field="requester")
    if received_on > timezone.localdate():
        raise DisclosureError(
            "The date the request was received must be today or in the past", field="received_on"
        )
    requester_name = (requester_name or "").strip()
    if requester != Requester.SELF and not requester_name:
        raise DisclosureError("Enter the name of the person who made the request", field="requester_name")
    sar = SubjectAccessRequest.objects.create(
        person=person,
        created_by=actor,
        received_on=received_on,
        due_on=due_date(received_on),
        requester=requester,
        requester_name=requester_name if requester != Requester.SELF else "",
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=sar,
        summary="Subject access request opened",
        changes={
            "person": [None, person.pk],
            "received_on": [None, received_on.isoformat()],
            "requester": [None, requester],
            "requester_name": [None, sar.requester_name],
        },
    )
    return sar


def _locked(sar: SubjectAccessRequest, version: int | None) -> SubjectAccessRequest:
    current = SubjectAccessRequest.objects.select_for_update().get(pk=sar.pk)
    if version is None or current.version != version:
        raise ChangedMeanwhileError(CHANGED_MESSAGE)
    if current.status != SubjectAccessStatus.DRAFT:
        raise DisclosureError("This request has been released: its redactions can no longer change")
    return current


def _clean_choices(choices: dict[str, dict], *, defaults: dict[str, bool]) -> dict[str, dict]:
    """Keep the choices that differ from the defaults, for items that exist; releasing an item marked
    as about other people needs a reason."""
    kept: dict[str, dict] = {}
    for key, choice in choices.items():
        if key not in defaults:
            continue
        action = choice.get("action")
        reason = (choice.get("reason") or "").strip()[:REASON_MAX]
        if action == "release" and defaults[key]:
            if not reason:
                raise DisclosureError(
                    "Enter why each item about other people can be released", field=f"reason-{key}"
                )
            kept[key] = {"action": "release", "reason": reason}
        elif action == "redact" and not defaults[key]:
            kept[key] = {"action": "redact", "reason": reason}
    return kept


@transaction.atomic
def subject_access_save_choices(
    *, actor: User, sar: SubjectAccessRequest, choices: dict[str, dict], version: int | None
) -> SubjectAccessRequest:
    """Save the redaction decisions. `choices` maps item keys to {"action", "reason"}; only those that
    differ from the defaults are kept (items about other people are redacted unless released with a
    reason; everything else is released unless redacted). Caller: an early help manager. A stale
    `version` is refused, nothing overwritten."""
    from .subject_access import build_export

    current = _locked(sar, version)
    export = build_export(person=current.person)
    kept = _clean_choices(choices, defaults={i.key: i.third_party for i in export.items})
    before = current.choices
    SubjectAccessRequest.objects.filter(pk=current.pk).update(choices=kept, version=F("version") + 1)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        summary="Subject access redactions saved",
        changes={"choices": [before, kept]},
    )
    current.refresh_from_db()
    return current


@transaction.atomic
def subject_access_release(
    *, actor: User, sar: SubjectAccessRequest, version: int | None
) -> SubjectAccessRequest:
    """Freeze the redaction decisions and the redacted export; from then on the PDF and JSON are made
    from what was frozen, whatever changes in the record afterwards. Caller: an early help manager."""
    from .subject_access import build_export, redacted_content

    current = _locked(sar, version)
    export = build_export(person=current.person)
    now = timezone.now()
    content = redacted_content(export=export, choices=current.choices, released_at=now, sar=current)
    SubjectAccessRequest.objects.filter(pk=current.pk).update(
        status=SubjectAccessStatus.RELEASED,
        released_at=now,
        released_by=actor,
        released_content=content,
        version=F("version") + 1,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        summary="Subject access request released",
        changes={
            "status": [SubjectAccessStatus.DRAFT, SubjectAccessStatus.RELEASED],
            "choices": [None, current.choices],
            "items": [None, len(export.items)],
        },
    )
    current.refresh_from_db()
    return current
