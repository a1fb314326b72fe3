"""Requests for support and hub triage. Atomic, audited, and in the family's chronology; callers have
checked access (hubs.permissions). Rule breaks raise RequestError with a message for the user."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import Agency, AuditAction, Family, User
from pathway import services as pathway
from pathway.models import ChronologyKind, Episode, EpisodeStatus, LevelOfNeed, OutcomeArea
from pathway.services import EpisodeChangedError, PathwayError

from .models import (
    ConsentMethod,
    Hub,
    HubAgendaItem,
    HubMeeting,
    ReferralSource,
    RequestForSupport,
    RequestStatus,
    TriageDecision,
    TriageOutcome,
    Urgency,
)

RE_REFERRAL_WINDOW = dt.timedelta(days=365)
DRAFT_FIELDS = [
    "source",
    "urgency",
    "reasons",
    "tried_already",
    "consent_given",
    "consent_by",
    "consent_on",
    "consent_method",
    "no_consent_reason",
]


class RequestError(PathwayError):
    """A rule of the front door was broken; `field` names the form field the message belongs to."""


class RequestChangedError(EpisodeChangedError):
    """Someone else changed or decided the request after the user opened it."""


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days after `start` up to and including `end` (bank holidays count as working
    days: a partnership's own calendar is future work)."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if (start + dt.timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def triage_due_on(received_on: dt.date, target_working_days: int) -> dt.date:
    day, left = received_on, target_working_days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


# --- The referrer's side ----------------------------------------------------------------------------


@transaction.atomic
def request_save_draft(
    *,
    actor: User,
    family: Family | None,
    data: dict[str, Any],
    request: RequestForSupport | None = None,
    needs: list[OutcomeArea] | None = None,
) -> RequestForSupport:
    """Keep what the referrer has typed so far (a draft is theirs alone until they send it)."""
    if request is None:
        agency = Agency.objects.filter(memberships__user=actor).order_by("memberships__id").first()
        request = RequestForSupport(referrer=actor, referrer_agency=agency)
    elif request.status != RequestStatus.DRAFT:
        raise RequestError("This request has been sent, so it can no longer be changed")
    if family is not None:
        request.family = family
    for name in DRAFT_FIELDS:
        if name in data:
            setattr(request, name, data[name])
    request.save()
    if needs is not None:
        request.needs.set(needs)
    return request


def _submission_errors(request: RequestForSupport, needs: list) -> list[tuple[str, str]]:
    today = timezone.localdate()
    problems: list[tuple[str, str]] = []
    if request.family_id is None:
        problems.append(("family", "Find the family, or add them, before sending the request"))
    if request.source not in ReferralSource.values:
        problems.append(("source", "Select where the request comes from"))
    if request.urgency not in Urgency.values:
        problems.append(("urgency", "Select how urgent the request is"))
    if not request.reasons.strip():
        problems.append(("reasons", "Enter why the family needs support"))
    if not needs:
        problems.append(("needs", "Select at least one area the family needs help with"))
    if request.consent_given is None:
        problems.append(("consent_given", "Select whether the family agreed to this request"))
    elif request.consent_given:
        if not request.consent_by.strip():
            problems.append(("consent_by", "Enter who in the family agreed"))
        if request.consent_on is None:
            problems.append(("consent_on", "Enter the date they agreed"))
        elif request.consent_on > today:
            problems.append(("consent_on", "Date they agreed must be today or in the past"))
        if request.consent_method not in ConsentMethod.values:
            problems.append(("consent_method", "Select how they agreed"))
    elif not request.no_consent_reason.strip():
        problems.append(("no_consent_reason", "Enter why consent was not sought"))
    return problems


@transaction.atomic
def request_submit(*, actor: User, request: RequestForSupport) -> RequestForSupport:
    """Send the request to the family's hub. It must be complete; the clock starts today."""
    request = RequestForSupport.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.DRAFT:
        raise RequestError("This request has already been sent")
    needs = list(request.needs.all())
    problems = _submission_errors(request, needs)
    if problems:
        field, message = problems[0]
        raise RequestError(message, field=field)
    family = Family.objects.get(pk=request.family_id)
    today = timezone.localdate()
    last_closed = (
        Episode.objects.filter(family=family, status=EpisodeStatus.CLOSED)
        .order_by("-closed_on")
        .values_list("closed_on", flat=True)
        .first()
    )
    request.hub_id = family.hub_id
    request.received_on = today
    request.status = RequestStatus.NEW
    request.is_re_referral = bool(last_closed and today - last_closed <= RE_REFERRAL_WINDOW)
    request.version = F("version") + 1
    request.save()
    request.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=request,
        family_id=family.pk,
        summary="Request for support sent to the hub",
        changes={
            "source": [None, request.source],
            "urgency": [None, request.urgency],
            "consent_given": [None, request.consent_given],
        },
    )
    pathway.chronology_add(
        family_id=family.pk,
        kind=ChronologyKind.REQUEST,
        occurred_on=today,
        title="Request for support" + (" (re-referral)" if request.is_re_referral else ""),
        detail=request.reasons,
        author=actor,
        significant=request.urgency == Urgency.URGENT,
    )
    return request


# --- The hub's side ---------------------------------------------------------------------------------


@transaction.atomic
def hub_meeting_schedule(*, actor: User, hub: Hub, starts_at: dt.datetime, location: str) -> HubMeeting:
    if not location.strip():
        raise RequestError("Enter where the meeting is", field="location")
    meeting = HubMeeting.objects.create(hub=hub, starts_at=starts_at, location=location, created_by=actor)
    audit_record(actor=actor, action=AuditAction.CREATE, obj=meeting, summary=f"{hub} meeting scheduled")
    return meeting


@transaction.atomic
def hub_meeting_add_to_agenda(*, actor: User, meeting: HubMeeting, requests: list[RequestForSupport]) -> int:
    """Put undecided requests of the meeting's hub on its agenda; they are now awaiting a decision."""
    wrong = [
        r
        for r in requests
        if r.hub_id != meeting.hub_id or r.status not in (RequestStatus.NEW, RequestStatus.AWAITING_DECISION)
    ]
    if wrong:
        raise RequestError("Only undecided requests for this hub can go on its agenda", field="requests")
    start = HubAgendaItem.objects.filter(meeting=meeting).count()
    existing = set(HubAgendaItem.objects.filter(meeting=meeting).values_list("request_id", flat=True))
    new = [r for r in requests if r.pk not in existing]
    HubAgendaItem.objects.bulk_create(
        [HubAgendaItem(meeting=meeting, request=r, order=start + i) for i, r in enumerate(new, start=1)]
    )
    RequestForSupport.objects.filter(pk__in=[r.pk for r in new], status=RequestStatus.NEW).update(
        status=RequestStatus.AWAITING_DECISION, version=F("version") + 1
    )
    audit_record(
        actor=actor, action=AuditAction.UPDATE, obj=meeting, summary=f"{len(new)} requests added to agenda"
    )
    return len(new)


@transaction.atomic
def hub_meeting_record_attendance(*, actor: User, meeting: HubMeeting, attendees: str) -> HubMeeting:
    if not attendees.strip():
        raise RequestError("Enter who attended", field="attendees")
    HubMeeting.objects.filter(pk=meeting.pk).update(attendees=attendees, status="held")
    meeting.refresh_from_db()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, obj=meeting, summary="Hub meeting attendance recorded"
    )
    return meeting


@transaction.atomic
def triage_decide(
    *,
    actor: User,
    request: RequestForSupport,
    outcome: str,
    rationale: str,
    decided_on: dt.date,
    expected_version: int | None,
    meeting: HubMeeting | None = None,
    signposting: str = "",
    agency: Agency | None = None,
    allocated_to: User | None = None,
    social_care_reference: str = "",
    change_decision: bool = False,
) -> TriageDecision:
    """Decide a request. A decided request is never silently re-decided: a change is a new decision,
    made deliberately (`change_decision`), that supersedes the previous one, and both are audited."""
    request = RequestForSupport.objects.select_for_update().get(pk=request.pk)
    if expected_version is not None and request.version != expected_version:
        raise RequestChangedError(
            "Someone else changed or decided this request after you opened it. Check the decision below."
        )
    previous = request.decisions.filter(superseded_by__isnull=True).order_by("-id").first()
    if request.status == RequestStatus.DRAFT:
        raise RequestError("This request has not been sent yet")
    if previous is not None and not change_decision:
        raise RequestError("This request has already been decided. To change the decision, record a new one")
    if outcome not in TriageOutcome.values:
        raise RequestError("Select the decision", field="outcome")
    if not rationale.strip():
        raise RequestError("Enter the reasons for the decision", field="rationale")
    if decided_on > timezone.localdate():
        raise RequestError("Date of the decision must be today or in the past", field="decided_on")
    if decided_on < request.received_on:
        raise RequestError(
            "Date of the decision must be on or after the request was received", field="decided_on"
        )
    if outcome == TriageOutcome.SIGNPOSTING and not signposting.strip():
        raise RequestError("Enter the information and signposting for the referrer", field="signposting")
    if outcome == TriageOutcome.SINGLE_AGENCY and agency is None:
        raise RequestError("Select the agency that will support the family", field="agency")
    if outcome == TriageOutcome.EARLY_HELP and allocated_to is None:
        raise RequestError("Select the assessor or lead professional to allocate", field="allocated_to")
    if outcome == TriageOutcome.STEP_UP and not social_care_reference.strip():
        raise RequestError("Enter the social care reference", field="social_care_reference")
    family = Family.objects.get(pk=request.family_id)
    episode = None
    if outcome == TriageOutcome.EARLY_HELP:
        level = LevelOfNeed.objects.filter(band=LevelOfNeed.Band.MULTIPLE).order_by("order").first()
        try:
            episode = pathway.episode_open(
                actor=actor,
                family=family,
                source="triage",
                level=level,
                opened_on=decided_on,
                reason=f"Hub decision: {rationale}",
                assessor=allocated_to,
            )
        except PathwayError as error:
            raise RequestError(error.message, field="outcome") from error
    decision = TriageDecision.objects.create(
        request=request,
        outcome=outcome,
        rationale=rationale,
        decided_on=decided_on,
        decided_by=actor,
        meeting=meeting,
        signposting=signposting,
        agency=agency,
        allocated_to=allocated_to,
        social_care_reference=social_care_reference,
        episode=episode,
        supersedes=previous,
    )
    RequestForSupport.objects.filter(pk=request.pk).update(
        status=RequestStatus.DECIDED, version=F("version") + 1
    )
    label = TriageOutcome(outcome).label
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=decision,
        family_id=family.pk,
        summary=("Triage decision changed: " if previous else "Triage decision: ") + label,
        changes={"outcome": [previous.outcome if previous else None, outcome]},
    )
    pathway.chronology_add(
        family_id=family.pk,
        kind=ChronologyKind.TRIAGE,
        occurred_on=decided_on,
        title=f"Hub decision: {label.lower()}" + (" (changed)" if previous else ""),
        detail=rationale,
        author=actor,
        episode=episode,
        significant=outcome in (TriageOutcome.EARLY_HELP, TriageOutcome.STEP_UP),
    )
    # The referrer hears the outcome by email once this commits (in-app: My requests).
    from .tasks import decision_notify_referrer

    decision_notify_referrer(decision=decision)
    return decision
