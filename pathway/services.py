"""Writes on the pathway (DESIGN.md §2). Each is atomic, audited and adds to the family's chronology.

Callers have already checked access (pathway.permissions); these functions enforce the pathway's
own rules and raise PathwayError with a message for the user when a rule is broken.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from guardian.shortcuts import remove_perm

from ehcase.audit import audit_record
from ehcase.models import Agency, AuditAction, Family, FamilyUserObjectPermission, Person, User
from ehcase.permissions import grant_family_access, revoke_family_access

from .models import (
    Attendance,
    ChronologyEntry,
    ChronologyKind,
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

S = EpisodeStatus
# The pathway's legal moves. Closure (including step up) is possible from every open state.
TRANSITIONS: dict[str, set[str]] = {
    S.OPEN: {S.ASSESSMENT, S.CLOSED},
    S.ASSESSMENT: {S.PLAN_ACTIVE, S.CLOSED},
    S.PLAN_ACTIVE: {S.REVIEWING, S.CLOSED},
    S.REVIEWING: {S.CLOSED},
    S.CLOSED: set(),
}
RE_REFERRAL_WINDOW = dt.timedelta(days=365)


class PathwayError(Exception):
    """A pathway rule was broken. `field` names the form field the message belongs to, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class EpisodeChangedError(PathwayError):
    """Someone else changed the record after the user opened the page (a stale version)."""


def _not_future(value: dt.date, label: str, field: str) -> None:
    if value > timezone.localdate():
        raise PathwayError(f"{label} must be today or in the past", field=field)


def review_interval() -> dt.timedelta:
    return dt.timedelta(weeks=getattr(settings, "REVIEW_INTERVAL_WEEKS", 6))


def _lock_row(episode: Episode) -> None:
    """Serialise writes on one episode (two people adding the same member at once)."""
    Episode.objects.select_for_update().filter(pk=episode.pk).values_list("pk", flat=True).first()


def _access_level(*, user: User, family_id: int) -> str:
    codenames = set(
        FamilyUserObjectPermission.objects.filter(user=user, content_object_id=family_id).values_list(
            "permission__codename", flat=True
        )
    )
    return "change" if "change_family" in codenames else "view" if "view_family" in codenames else "none"


def _require_open(episode: Episode) -> None:
    if not episode.is_open:
        raise PathwayError("This episode is closed, so it can no longer be changed")


def _locked(episode: Episode, expected_version: int | None = None) -> Episode:
    """The episode row, locked for this transaction; refuses if someone changed it meanwhile."""
    current = Episode.objects.select_for_update().get(pk=episode.pk)
    if expected_version is not None and current.version != expected_version:
        if current.status == S.CLOSED:
            raise EpisodeChangedError(
                "Someone else closed this episode after you opened the page. Nothing was changed."
            )
        raise EpisodeChangedError(
            "Someone else changed this episode after you opened the page. Check it and try again."
        )
    return current


def _transition(
    *, actor: User | None, episode: Episode, to: str, reason: str, on: dt.date | None = None
) -> None:
    """Move the episode; `on` is the date the event happened (for the chronology), if not today."""
    if to not in TRANSITIONS[episode.status]:
        raise PathwayError(
            f"An episode cannot go from ‘{S(episode.status).label.lower()}’ to ‘{S(to).label.lower()}’"
            if episode.status != S.CLOSED
            else "This episode is closed, so it can no longer be changed"
        )
    EpisodeTransition.objects.create(
        episode=episode, from_status=episode.status, to_status=to, by=actor, reason=reason[:500]
    )
    before = episode.status
    episode.status = to
    Episode.objects.filter(pk=episode.pk).update(status=to, version=F("version") + 1)
    episode.version += 1
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=episode,
        family_id=episode.family_id,
        summary=f"Episode {S(before).label.lower()} → {S(to).label.lower()}",
        changes={"status": [before, to]},
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.TRANSITION,
        occurred_on=on or timezone.localdate(),
        title=f"Episode: {S(to).label.lower()}",
        detail=reason,
        author=actor,
    )


def chronology_add(
    *,
    family_id: int,
    kind: str,
    occurred_on: dt.date,
    title: str,
    detail: str = "",
    author: User | None = None,
    episode: Episode | None = None,
    significant: bool = False,
) -> ChronologyEntry:
    return ChronologyEntry.objects.create(
        family_id=family_id,
        episode=episode,
        kind=kind,
        occurred_on=occurred_on,
        title=title[:200],
        detail=detail,
        author=author,
        significant=significant,
    )


# --- Opening ----------------------------------------------------------------------------------------


@transaction.atomic
def episode_open(
    *,
    actor: User,
    family: Family,
    source: str,
    level: LevelOfNeed,
    opened_on: dt.date,
    reason: str,
    assessor: User | None = None,
    social_care_reference: str = "",
    handover_notes: str = "",
) -> Episode:
    """Open an episode. One open episode per family; a re-referral within 12 months of a closure is
    flagged. The assessor (if named) gets read and change access and joins the TAF."""
    Family.objects.select_for_update().filter(pk=family.pk).first()  # serialise openings per family
    if Episode.objects.filter(family=family).exclude(status=S.CLOSED).exists():
        raise PathwayError("This family already has an open episode of early help")
    if opened_on > timezone.localdate():
        raise PathwayError("Date opened must be today or in the past", field="opened_on")
    last_closed = (
        Episode.objects.filter(family=family, status=S.CLOSED)
        .order_by("-closed_on")
        .values_list("closed_on", flat=True)
        .first()
    )
    episode = Episode.objects.create(
        family=family,
        level=level,
        opened_on=opened_on,
        source=source,
        assessor=assessor,
        social_care_reference=social_care_reference,
        handover_notes=handover_notes,
        # A step down is a hand-over from social care, not a new referral to early help.
        is_re_referral=bool(
            source != EpisodeSource.STEP_DOWN
            and last_closed
            and opened_on - last_closed <= RE_REFERRAL_WINDOW
        ),
    )
    EpisodeTransition.objects.create(
        episode=episode, from_status="", to_status=S.OPEN, by=actor, reason=reason[:500]
    )
    LevelChange.objects.create(episode=episode, level=level, changed_on=opened_on, by=actor, reason="Opened")
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=episode,
        family_id=family.pk,
        summary=f"Episode opened ({EpisodeSource(source).label.lower()})",
        changes={
            "level": [None, level.code],
            "source": [None, source],
            "social_care_reference": [None, social_care_reference],
        },
    )
    chronology_add(
        family_id=family.pk,
        episode=episode,
        kind=ChronologyKind.TRANSITION,
        occurred_on=opened_on,
        title="Early help episode opened"
        + (" (re-referral within 12 months)" if episode.is_re_referral else ""),
        detail=reason,
        author=actor,
        significant=True,
    )
    if assessor is not None:
        taf_add_worker(
            actor=actor, episode=episode, user=assessor, role="Assessor", joined_on=opened_on, change=True
        )
    return episode


@transaction.atomic
def episode_start_directly(
    *, actor: User, family: Family, level: LevelOfNeed, consent_given_by: str, consent_on: dt.date
) -> Episode:
    """A practitioner starts an Early Help Assessment with the family's consent: no hub request is
    needed and they become the assessor."""
    if not consent_given_by.strip():
        raise PathwayError("Enter who in the family agreed to early help", field="consent_given_by")
    episode = episode_open(
        actor=actor,
        family=family,
        source=EpisodeSource.DIRECT,
        level=level,
        opened_on=consent_on,
        reason=f"Assessment started with consent from {consent_given_by}",
        assessor=actor,
    )
    _transition(
        actor=actor,
        episode=episode,
        to=S.ASSESSMENT,
        reason=f"Early Help Assessment started; consent from {consent_given_by} on {consent_on:%-d %B %Y}",
    )
    Episode.objects.filter(pk=episode.pk).update(assessor=actor)
    return episode


@transaction.atomic
def episode_accept_step_down(
    *,
    actor: User,
    family: Family,
    social_care_reference: str,
    handover_notes: str,
    accepted_on: dt.date,
    assessor: User | None = None,
) -> Episode:
    """Accept a family stepped down from children's social care: an episode at band 3, with the social
    care reference and handover notes carried over."""
    if not social_care_reference.strip():
        raise PathwayError("Enter the social care reference", field="social_care_reference")
    if not handover_notes.strip():
        raise PathwayError("Enter the handover notes from social care", field="handover_notes")
    level = LevelOfNeed.objects.filter(band=LevelOfNeed.Band.MULTIPLE).order_by("order").first()
    return episode_open(
        actor=actor,
        family=family,
        source=EpisodeSource.STEP_DOWN,
        level=level,
        opened_on=accepted_on,
        reason=f"Stepped down from children's social care ({social_care_reference})",
        assessor=assessor,
        social_care_reference=social_care_reference,
        handover_notes=handover_notes,
    )


@transaction.atomic
def episode_start_assessment(*, actor: User, episode: Episode, reason: str) -> Episode:
    episode = _locked(episode)
    _transition(actor=actor, episode=episode, to=S.ASSESSMENT, reason=reason)
    return episode


@transaction.atomic
def episode_change_level(
    *, actor: User, episode: Episode, level: LevelOfNeed, changed_on: dt.date, reason: str
) -> Episode:
    episode = _locked(episode)
    _require_open(episode)
    if not reason.strip():
        raise PathwayError("Enter why the level of need changed", field="reason")
    if changed_on < episode.opened_on or changed_on > timezone.localdate():
        raise PathwayError(
            "Date of the change must be between the opening date and today", field="changed_on"
        )
    before = episode.level
    LevelChange.objects.create(episode=episode, level=level, changed_on=changed_on, by=actor, reason=reason)
    Episode.objects.filter(pk=episode.pk).update(level=level, version=F("version") + 1)
    episode.level = level
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=episode,
        family_id=episode.family_id,
        summary="Level of need changed",
        changes={"level": [before.code, level.code]},
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.TRANSITION,
        occurred_on=changed_on,
        title=f"Level of need: {level.name}",
        detail=reason,
        author=actor,
    )
    return episode


# --- Team Around the Family -------------------------------------------------------------------------


@transaction.atomic
def taf_add_worker(
    *,
    actor: User,
    episode: Episode,
    user: User,
    role: str,
    joined_on: dt.date,
    agency: Agency | None = None,
    change: bool = False,
) -> TafMember:
    """A practitioner joins the TAF: they can see the family's record from now on."""
    _lock_row(episode)
    _require_open(episode)
    _not_future(joined_on, "Date they joined", "joined_on")
    if TafMember.objects.filter(episode=episode, user=user, left_on__isnull=True).exists():
        raise PathwayError(f"{user.display_name} is already in the team", field="user")
    from assessments.services import sharing_withdrawn

    withdrawn = sharing_withdrawn(episode=episode)
    if withdrawn:
        first = withdrawn[0]
        raise PathwayError(
            f"Consent was withdrawn for {first.person.full_name} on {first.withdrawn_on:%-d %B %Y}: "
            "no one new can join the team until consent is recorded again",
            field="user",
        )
    if agency is None:
        agency = Agency.objects.filter(memberships__user=user).order_by("memberships__id").first()
    member = TafMember.objects.create(
        episode=episode,
        user=user,
        agency=agency,
        role=role,
        joined_on=joined_on,
        prior_access=_access_level(user=user, family_id=episode.family_id),
    )
    grant_family_access(user=user, family=episode.family, change=change, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        family_id=episode.family_id,
        summary=f"{user.username} joined the Team Around the Family",
    )
    return member


@transaction.atomic
def taf_add_family_member(
    *, actor: User, episode: Episode, person: Person, role: str, joined_on: dt.date
) -> TafMember:
    _lock_row(episode)
    _require_open(episode)
    _not_future(joined_on, "Date they joined", "joined_on")
    if not person.memberships.filter(family_id=episode.family_id).exists():
        raise PathwayError("Select someone from this family", field="person")
    if TafMember.objects.filter(episode=episode, person=person, left_on__isnull=True).exists():
        raise PathwayError(f"{person.full_name} is already in the team", field="person")
    member = TafMember.objects.create(episode=episode, person=person, role=role, joined_on=joined_on)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        family_id=episode.family_id,
        summary="Family member joined the Team Around the Family",
    )
    return member


@transaction.atomic
def taf_remove(*, actor: User, member: TafMember, left_on: dt.date) -> TafMember:
    """A member leaves the TAF. A practitioner loses at once what joining gave them: access they had
    before joining (they created the record, or were granted it otherwise) is left as it was."""
    episode = _locked(member.episode)
    _require_open(episode)
    member = TafMember.objects.select_for_update().get(pk=member.pk)
    if not member.is_current:
        raise PathwayError(f"{member.name} has already left the team", field="member")
    _not_future(left_on, "Date they left", "left_on")
    if member.user_id and member.user_id in (episode.lead_professional_id, episode.assessor_id):
        raise PathwayError(
            "Choose a new lead professional or assessor before removing them from the team", field="member"
        )
    if left_on < member.joined_on:
        raise PathwayError("Date they left must be on or after they joined", field="left_on")
    member.left_on = left_on
    member.save(update_fields=["left_on"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=member,
        family_id=episode.family_id,
        summary="Left the Team Around the Family",
        changes={"left_on": [None, left_on.isoformat()]},
    )
    if member.user_id and member.prior_access == "none":
        revoke_family_access(user=member.user, family=episode.family, actor=actor)
    elif member.user_id and member.prior_access == "view":
        remove_perm("change_family", member.user, episode.family)
    return member


# --- Lead professional ------------------------------------------------------------------------------


@transaction.atomic
def lead_professional_set(
    *,
    actor: User,
    episode: Episode,
    user: User,
    family_view: str,
    started_on: dt.date,
    handover_note: str = "",
    agreed_at: TafMeeting | None = None,
    expected_version: int | None = None,
) -> LeadProfessional:
    """Name the lead professional; the previous one (if any) hands over and keeps read access as a TAF
    member. The family's say in the choice is recorded."""
    episode = _locked(episode, expected_version)
    _require_open(episode)
    _not_future(started_on, "Date they take over", "started_on")
    if started_on < episode.opened_on:
        raise PathwayError("Date they take over must be on or after the episode opened", field="started_on")
    if not family_view.strip():
        raise PathwayError(
            "Enter what the family said about who should be their lead professional", field="family_view"
        )
    current = LeadProfessional.objects.filter(episode=episode, ended_on__isnull=True).first()
    if current is not None:
        if current.user_id == user.pk:
            raise PathwayError(f"{user.display_name} is already the lead professional", field="user")
        if not handover_note.strip():
            raise PathwayError("Enter a handover note for the new lead professional", field="handover_note")
        if started_on < current.started_on:
            raise PathwayError(
                "The new lead professional cannot start before the current one did", field="started_on"
            )
        current.ended_on = started_on
        current.save(update_fields=["ended_on"])
    lead = LeadProfessional.objects.create(
        episode=episode,
        user=user,
        started_on=started_on,
        family_view=family_view,
        handover_note=handover_note,
        agreed_at=agreed_at,
        recorded_by=actor,
    )
    if not TafMember.objects.filter(episode=episode, user=user, left_on__isnull=True).exists():
        taf_add_worker(
            actor=actor,
            episode=episode,
            user=user,
            role="Lead professional",
            joined_on=started_on,
            change=True,
        )
    else:
        grant_family_access(user=user, family=episode.family, change=True, actor=actor)
    previous = current.user if current else None
    Episode.objects.filter(pk=episode.pk).update(lead_professional=user, version=F("version") + 1)
    episode.lead_professional = user
    if previous is not None and previous.pk != episode.assessor_id:
        # The previous lead stays in the team with read access only.
        remove_perm("change_family", previous, episode.family)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=episode,
        family_id=episode.family_id,
        summary=f"Lead professional: {user.username}",
        changes={"lead_professional": [previous.pk if previous else None, user.pk]},
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.TRANSITION,
        occurred_on=started_on,
        title=f"Lead professional: {user.display_name}",
        detail=handover_note or family_view,
        author=actor,
        significant=True,
    )
    return lead


# --- Meetings ---------------------------------------------------------------------------------------


@transaction.atomic
def meeting_schedule(
    *,
    actor: User,
    episode: Episode,
    starts_at: dt.datetime,
    location: str,
    online: bool,
    invited: list[TafMember],
    already_held: bool = False,
) -> TafMeeting:
    """Schedule a TAF meeting, or (already_held) enter one that has taken place so it can be recorded.
    A meeting in the past cannot be left as merely scheduled, nor one in the future entered as held."""
    episode = _locked(episode)
    _require_open(episode)
    if already_held and starts_at > timezone.now():
        raise PathwayError(
            "A meeting that has already happened must have a date in the past", field="starts_at"
        )
    if not already_held and starts_at <= timezone.now():
        raise PathwayError(
            "Date of the meeting must be in the future. If it has already happened, say so and record it",
            field="starts_at",
        )
    if any(m.episode_id != episode.pk or not m.is_current for m in invited):
        raise PathwayError("Invite current members of this family's team only", field="invited")
    meeting = TafMeeting.objects.create(
        episode=episode, starts_at=starts_at, location=location, online=online, created_by=actor
    )
    meeting.invited.set(invited)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=meeting,
        family_id=episode.family_id,
        summary="TAF meeting scheduled",
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.MEETING,
        occurred_on=timezone.localtime(starts_at).date(),
        title="TAF meeting scheduled",
        detail=location,
        author=actor,
    )
    return meeting


@transaction.atomic
def meeting_cancel(*, actor: User, meeting: TafMeeting, reason: str) -> TafMeeting:
    """Call off a scheduled meeting (it stays in the record as cancelled, with why)."""
    _lock_row(meeting.episode)
    meeting = TafMeeting.objects.select_for_update().select_related("episode").get(pk=meeting.pk)
    _require_open(meeting.episode)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise PathwayError("Only a scheduled meeting can be cancelled")
    if not reason.strip():
        raise PathwayError("Enter why the meeting is cancelled", field="reason")
    _cancel_meetings(actor=actor, meetings=[meeting], reason=reason)
    meeting.refresh_from_db()
    return meeting


def _cancel_meetings(*, actor: User, meetings: list[TafMeeting], reason: str) -> None:
    for meeting in meetings:
        TafMeeting.objects.filter(pk=meeting.pk).update(
            status=MeetingStatus.CANCELLED, decisions=f"Cancelled: {reason}", version=F("version") + 1
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=meeting,
            family_id=meeting.episode.family_id,
            summary="TAF meeting cancelled",
            changes={"status": ["scheduled", "cancelled"]},
        )
        chronology_add(
            family_id=meeting.episode.family_id,
            episode=meeting.episode,
            kind=ChronologyKind.MEETING,
            occurred_on=timezone.localdate(),
            title="TAF meeting cancelled",
            detail=reason,
            author=actor,
        )


def _cancel_scheduled(*, actor: User, episode: Episode, why: str) -> None:
    """A closed episode has no meetings to come: the scheduled ones are cancelled with it."""
    scheduled = list(TafMeeting.objects.filter(episode=episode, status=MeetingStatus.SCHEDULED))
    for meeting in scheduled:
        meeting.episode = episode
    _cancel_meetings(actor=actor, meetings=scheduled, reason=why)


@transaction.atomic
def meeting_record(
    *,
    actor: User,
    meeting: TafMeeting,
    attendance: dict[int, str],
    decisions: str,
    plan_changes: str = "",
    next_meeting_on: dt.date | None = None,
    lead: User | None = None,
    family_view: str = "",
    expected_version: int | None = None,
) -> TafMeeting:
    """Record what happened at a meeting. The first TAF meeting agrees the lead professional, and the
    plan becomes active."""
    episode = _locked(meeting.episode)
    _require_open(episode)
    meeting = TafMeeting.objects.select_for_update().get(pk=meeting.pk)
    if expected_version is not None and meeting.version != expected_version:
        raise EpisodeChangedError(
            "Someone else recorded this meeting after you opened the page. Check it and try again."
        )
    if meeting.status != MeetingStatus.SCHEDULED:
        raise PathwayError("This meeting has already been recorded")
    if meeting.starts_at > timezone.now():
        raise PathwayError("This meeting has not happened yet: record it on or after its date")
    if not decisions.strip():
        raise PathwayError("Enter the decisions made at the meeting", field="decisions")
    if next_meeting_on and next_meeting_on <= timezone.localtime(meeting.starts_at).date():
        raise PathwayError("Date of the next meeting must be after this meeting", field="next_meeting_on")
    members = {m.pk: m for m in TafMember.objects.filter(episode=episode)}
    unknown = set(attendance) - set(members)
    if unknown:
        raise PathwayError("Record attendance for members of this team only", field="attendance")
    MeetingAttendance.objects.bulk_create(
        [
            MeetingAttendance(meeting=meeting, member_id=mid, attendance=Attendance(value))
            for mid, value in attendance.items()
        ]
    )
    first = not first_meeting_held(episode=episode)
    TafMeeting.objects.filter(pk=meeting.pk).update(
        status=MeetingStatus.HELD,
        decisions=decisions,
        plan_changes=plan_changes,
        next_meeting_on=next_meeting_on,
        version=F("version") + 1,
    )
    meeting.refresh_from_db()
    held_on = timezone.localtime(meeting.starts_at).date()
    if first and episode.lead_professional_id is None:
        if lead is None:
            raise PathwayError("Select the lead professional agreed at this first TAF meeting", field="lead")
        lead_professional_set(
            actor=actor,
            episode=episode,
            user=lead,
            family_view=family_view,
            started_on=held_on,
            agreed_at=meeting,
        )
        episode.refresh_from_db()
    if (
        episode.status == S.ASSESSMENT
        and episode.lead_professional_id
        and assessment_completed(episode=episode)
    ):
        _transition(
            actor=actor,
            episode=episode,
            to=S.PLAN_ACTIVE,
            reason="First TAF meeting held and lead professional agreed",
            on=held_on,
        )
        Episode.objects.filter(pk=episode.pk).update(next_review_due=held_on + review_interval())
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=meeting,
        family_id=episode.family_id,
        summary="TAF meeting recorded",
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.MEETING,
        occurred_on=held_on,
        title="TAF meeting held",
        detail=decisions,
        author=actor,
        significant=first,
    )
    return meeting


def first_meeting_held(*, episode: Episode) -> bool:
    return TafMeeting.objects.filter(episode=episode, status=MeetingStatus.HELD).exists()


def assessment_completed(*, episode: Episode) -> bool:
    """The plan becomes active only once the assessment is completed (DESIGN.md §2)."""
    from assessments.models import Assessment, AssessmentStatus

    return Assessment.objects.filter(
        episode=episode, status__in=[AssessmentStatus.COMPLETED, AssessmentStatus.SIGNED_OFF]
    ).exists()


# --- Needs, baseline and reviews --------------------------------------------------------------------


@transaction.atomic
def need_add(*, actor: User, episode: Episode, area: OutcomeArea, description: str) -> IdentifiedNeed:
    episode = _locked(episode)
    _require_open(episode)
    need = IdentifiedNeed.objects.create(episode=episode, area=area, description=description)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=need,
        family_id=episode.family_id,
        summary="Need identified",
    )
    return need


def _check_scores(scores: dict[OutcomeArea, int]) -> None:
    if not scores:
        raise PathwayError("Enter a score for at least one outcome area", field="scores")
    for area, score in scores.items():
        if not 0 <= score <= 10:
            raise PathwayError(
                f"Score for {area.name.lower()} must be a whole number from 0 to 10", field=area.code
            )


@transaction.atomic
def baseline_record(
    *, actor: User, episode: Episode, held_on: dt.date, scores: dict[OutcomeArea, int]
) -> Review:
    """The baseline scores from the assessment: distance travelled is measured from here."""
    episode = _locked(episode)
    _require_open(episode)
    _check_scores(scores)
    if Review.objects.filter(episode=episode, is_baseline=True).exists():
        raise PathwayError("The baseline for this episode has already been recorded")
    if held_on < episode.opened_on or held_on > timezone.localdate():
        raise PathwayError("Date of the baseline must be between the opening date and today", field="held_on")
    baseline = Review.objects.create(
        episode=episode,
        held_on=held_on,
        is_baseline=True,
        recorded_by=actor,
        summary="Baseline from the assessment",
    )
    OutcomeScore.objects.bulk_create(
        [OutcomeScore(review=baseline, area=a, score=s) for a, s in scores.items()]
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=baseline,
        family_id=episode.family_id,
        summary="Baseline outcome scores recorded",
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.ASSESSMENT,
        occurred_on=held_on,
        title="Baseline outcome scores recorded",
        author=actor,
    )
    return baseline


@transaction.atomic
def review_record(
    *,
    actor: User,
    episode: Episode,
    held_on: dt.date,
    scores: dict[OutcomeArea, int],
    decision: str,
    summary: str,
    meeting: TafMeeting | None = None,
) -> Review:
    """A review: scores per outcome area and a decision (continue, step up, step down, close). The
    caller follows a step up or closure decision with episode_step_up / episode_close."""
    episode = _locked(episode)
    _require_open(episode)
    _check_scores(scores)
    baseline = Review.objects.filter(episode=episode, is_baseline=True).first()
    if baseline is None:
        raise PathwayError("Record the baseline scores from the assessment before the first review")
    if held_on < baseline.held_on:
        raise PathwayError(
            f"Date of the review must be on or after the assessment ({baseline.held_on:%-d %B %Y})",
            field="held_on",
        )
    if held_on > timezone.localdate():
        raise PathwayError("Date of the review must be today or in the past", field="held_on")
    if episode.status not in (S.PLAN_ACTIVE, S.REVIEWING):
        raise PathwayError(
            "Reviews start once the plan is active: hold the first TAF meeting and agree the lead "
            "professional first"
        )
    if decision not in ReviewDecision.values:
        raise PathwayError("Select what the review decided", field="decision")
    review = Review.objects.create(
        episode=episode,
        held_on=held_on,
        decision=decision,
        summary=summary,
        meeting=meeting,
        recorded_by=actor,
    )
    OutcomeScore.objects.bulk_create(
        [OutcomeScore(review=review, area=a, score=s) for a, s in scores.items()]
    )
    if episode.status == S.PLAN_ACTIVE:
        _transition(actor=actor, episode=episode, to=S.REVIEWING, reason="First review held", on=held_on)
    Episode.objects.filter(pk=episode.pk).update(
        next_review_due=held_on + review_interval(), version=F("version") + 1
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=review,
        family_id=episode.family_id,
        summary=f"Review recorded: {ReviewDecision(decision).label.lower()}",
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.REVIEW,
        occurred_on=held_on,
        title=f"Review: {ReviewDecision(decision).label.lower()}",
        detail=summary,
        author=actor,
    )
    return review


# --- Step up and closure ----------------------------------------------------------------------------


@transaction.atomic
def episode_step_up(
    *,
    actor: User,
    episode: Episode,
    reason: str,
    stepped_up_on: dt.date,
    social_care_reference: str,
    expected_version: int | None = None,
) -> Episode:
    """Step up to children's social care: the episode closes as stepped up, with the reason, the date
    and the social care reference. Needs without an outcome pass to social care."""
    episode = _locked(episode, expected_version)
    _require_open(episode)
    if not reason.strip():
        raise PathwayError("Enter the reason for stepping up to children's social care", field="reason")
    if stepped_up_on < episode.opened_on or stepped_up_on > timezone.localdate():
        raise PathwayError(
            "Date of the step up must be between the opening date and today", field="stepped_up_on"
        )
    IdentifiedNeed.objects.filter(episode=episode, outcome="").update(outcome=NeedOutcome.TRANSFERRED)
    _transition(actor=actor, episode=episode, to=S.CLOSED, reason=f"Stepped up: {reason}", on=stepped_up_on)
    Episode.objects.filter(pk=episode.pk).update(
        closed_on=stepped_up_on,
        closure_reason=ClosureReason.STEP_UP,
        step_up_reason=reason,
        social_care_reference=social_care_reference,
        next_review_due=None,
    )
    _end_leads(episode, stepped_up_on)
    _cancel_scheduled(actor=actor, episode=episode, why="Stepped up to children's social care")
    episode.refresh_from_db()
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.TRANSITION,
        occurred_on=stepped_up_on,
        title="Stepped up to children's social care",
        detail=reason,
        author=actor,
        significant=True,
    )
    return episode


@transaction.atomic
def episode_close(
    *,
    actor: User,
    episode: Episode,
    reason: str,
    closed_on: dt.date,
    need_outcomes: dict[int, str],
    note: str = "",
    expected_version: int | None = None,
) -> Episode:
    """Close with a reason and the outcome for every identified need. A closed episode is read-only.
    Two people closing at once: the second is told it was closed meanwhile (version check)."""
    episode = _locked(episode, expected_version)
    _require_open(episode)
    if reason not in ClosureReason.values:
        raise PathwayError("Select why the episode is closing", field="reason")
    if reason == ClosureReason.STEP_UP:
        raise PathwayError("Use ‘step up to children's social care’ to close with a step up", field="reason")
    if reason == ClosureReason.OTHER and not note.strip():
        raise PathwayError("Enter why the episode is closing", field="note")
    if closed_on < episode.opened_on or closed_on > timezone.localdate():
        raise PathwayError("Date of closure must be between the opening date and today", field="closed_on")
    needs = list(IdentifiedNeed.objects.filter(episode=episode))
    missing = [n for n in needs if need_outcomes.get(n.pk) not in NeedOutcome.values]
    if missing:
        raise PathwayError("State the outcome for every identified need", field=f"need_{missing[0].pk}")
    for need in needs:
        need.outcome = need_outcomes[need.pk]
    IdentifiedNeed.objects.bulk_update(needs, ["outcome"])
    _transition(
        actor=actor,
        episode=episode,
        to=S.CLOSED,
        reason=f"Closed: {ClosureReason(reason).label}",
        on=closed_on,
    )
    Episode.objects.filter(pk=episode.pk).update(
        closed_on=closed_on, closure_reason=reason, closure_note=note, next_review_due=None
    )
    _end_leads(episode, closed_on)
    _cancel_scheduled(actor=actor, episode=episode, why="Episode closed")
    episode.refresh_from_db()
    return episode


def _end_leads(episode: Episode, on: dt.date) -> None:
    LeadProfessional.objects.filter(episode=episode, ended_on__isnull=True).update(ended_on=on)


# --- Case notes -------------------------------------------------------------------------------------


@transaction.atomic
def case_note_add(
    *, actor: User, family: Family, occurred_on: dt.date, title: str, detail: str, significant: bool = False
) -> ChronologyEntry:
    if occurred_on > timezone.localdate():
        raise PathwayError("Date of the event must be today or in the past", field="occurred_on")
    episode = Episode.objects.filter(family=family).exclude(status=S.CLOSED).first()
    entry = chronology_add(
        family_id=family.pk,
        episode=episode,
        kind=ChronologyKind.NOTE,
        occurred_on=occurred_on,
        title=title,
        detail=detail,
        author=actor,
        significant=significant,
    )
    audit_record(
        actor=actor, action=AuditAction.CREATE, obj=entry, family_id=family.pk, summary="Case note added"
    )
    return entry
