"""Writes on consent, the Early Help Assessment and the family plan. Each is atomic and audited; callers
have checked access (assessments.permissions), and these functions enforce the rules of the work itself:
consent before an assessment, one editor's save never silently overwriting another's, a version kept on
every completion, and sign-off by someone other than the assessor."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import Agency, AuditAction, FamilyMember, HouseholdRole, Person, User
from pathway.models import ChronologyKind, Episode, EpisodeStatus, IdentifiedNeed, OutcomeArea, Review
from pathway.services import (
    PathwayError,
    _locked,
    _require_open,
    _transition,
    baseline_record,
    chronology_add,
    first_meeting_held,
)

from .models import (
    ActionStatus,
    Assessment,
    AssessmentPdfJob,
    AssessmentStatus,
    AssessmentTemplate,
    AssessmentVersion,
    ConsentMethod,
    ConsentRecord,
    PdfJobStatus,
    PlanAction,
    PlanOutcome,
    SharingBasis,
)
from .pdf import ASSESSMENT_PDF_TEMPLATE, assessment_pdf_context, pdf_render

log = logging.getLogger(__name__)


@transaction.atomic
def action_add(
    *,
    actor: User,
    episode: Episode,
    description: str,
    due_on: dt.date,
    owner_user: User | None = None,
    owner_agency: Agency | None = None,
    owner_person: Person | None = None,
    outcome: PlanOutcome | None = None,
) -> PlanAction:
    """The lead professional (or whoever manages the episode) adds an action to the family plan."""
    if not episode.is_open:
        raise PathwayError("This episode is closed, so it can no longer be changed")
    owners = [o for o in (owner_user, owner_agency, owner_person) if o is not None]
    if len(owners) != 1:
        raise PathwayError(
            "Select who owns the action: a practitioner, an agency or a family member", field="owner"
        )
    if owner_person is not None and not owner_person.memberships.filter(family_id=episode.family_id).exists():
        raise PathwayError("Select someone from this family", field="owner")
    if due_on < episode.opened_on:
        raise PathwayError(
            f"Due date must be on or after the episode opened ({episode.opened_on:%-d %B %Y})", field="due_on"
        )
    assessed_on = assessment_date_for(episode=episode)
    if assessed_on and due_on < assessed_on:
        raise PathwayError(
            f"Due date must be on or after the date of the assessment ({assessed_on:%-d %B %Y})",
            field="due_on",
        )
    if outcome is not None and outcome.episode_id != episode.pk:
        raise PathwayError("Select one of this plan's outcomes", field="outcome")
    action = PlanAction.objects.create(
        episode=episode,
        outcome=outcome,
        description=description,
        due_on=due_on,
        owner_user=owner_user,
        owner_agency=owner_agency,
        owner_person=owner_person,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=action,
        family_id=episode.family_id,
        summary="Plan action added",
        changes={"description": [None, description], "due_on": [None, due_on.isoformat()]},
    )
    return action


@transaction.atomic
def action_set_status(
    *, actor: User, action: PlanAction, status: str, expected_version: int | None
) -> PlanAction:
    """A TAF member updates their own action; the lead professional may update any."""
    if not action.episode.is_open:
        raise PathwayError("This episode is closed, so it can no longer be changed")
    if status not in ActionStatus.values:
        raise PathwayError("Select the action's status", field="status")
    version = action.version if expected_version is None else expected_version
    before = action.status
    if not PlanAction.objects.filter(pk=action.pk, version=version).update(
        status=status, version=F("version") + 1
    ):
        raise AssessmentChangedError(
            "Someone else updated this action after you opened the page. Check it and try again."
        )
    action.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=action,
        family_id=action.episode.family_id,
        summary="Plan action status changed",
        changes={"status": [before, status]},
    )
    return action


class AssessmentChangedError(PathwayError):
    """Someone else saved the assessment after the user opened it (a stale version)."""


ANSWER_MAX_LENGTH = 4000
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
EVIDENCE_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


def _age_on(person: Person, on: dt.date) -> int | None:
    born = person.date_of_birth
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _current_members(episode: Episode) -> dict[int, FamilyMember]:
    return {
        m.person_id: m
        for m in FamilyMember.objects.filter(
            family_id=episode.family_id, end_date__isnull=True
        ).select_related("person")
    }


def assessment_date_for(*, episode: Episode) -> dt.date | None:
    """The date of the episode's latest assessment, which plan actions may not fall due before."""
    return (
        Assessment.objects.filter(episode=episode)
        .order_by("-assessment_date")
        .values_list("assessment_date", flat=True)
    ).first()


# --- Consent ---------------------------------------------------------------------------------------


def consent_self_age() -> int:
    return getattr(settings, "CONSENT_SELF_AGE", 16)


def current_consents(*, episode: Episode) -> dict[int, ConsentRecord]:
    """Each family member's current (not withdrawn) consent to early help in this episode."""
    return {c.person_id: c for c in ConsentRecord.objects.filter(episode=episode, withdrawn_on__isnull=True)}


def sharing_withdrawn(*, episode: Episode) -> list[ConsentRecord]:
    """Withdrawn consents not replaced by a newer one: while any stands, nothing more is shared."""
    current = set(
        ConsentRecord.objects.filter(episode=episode, withdrawn_on__isnull=True).values_list(
            "person_id", flat=True
        )
    )
    return [
        c
        for c in ConsentRecord.objects.filter(episode=episode, withdrawn_on__isnull=False).select_related(
            "person"
        )
        if c.person_id not in current
    ]


def _check_evidence(evidence) -> tuple[str, str, bytes] | None:
    if evidence is None:
        return None
    if evidence.size > EVIDENCE_MAX_BYTES:
        raise PathwayError("The evidence file must be smaller than 5MB", field="evidence")
    content_type = (getattr(evidence, "content_type", "") or "").split(";")[0]
    if content_type not in EVIDENCE_TYPES:
        raise PathwayError("The evidence file must be a PDF, JPEG or PNG", field="evidence")
    data = evidence.read()
    magic = {"application/pdf": b"%PDF", "image/jpeg": b"\xff\xd8", "image/png": b"\x89PNG"}[content_type]
    if not data.startswith(magic):
        raise PathwayError("The evidence file must be a PDF, JPEG or PNG", field="evidence")
    return evidence.name[:200], content_type, data


@transaction.atomic
def consent_record(
    *,
    actor: User,
    episode: Episode,
    person: Person,
    given_by: Person,
    given_on: dt.date,
    method: str,
    agrees_to_sharing: bool,
    sharing_basis: str,
    own_consent_competent: bool = False,
    notes: str = "",
    evidence=None,
) -> ConsentRecord:
    """Record a family member's agreement to receive early help. Whoever manages the episode may call it.

    Rules: both people are current members of the family; someone aged CONSENT_SELF_AGE (16) or over
    consents for themself; a younger child consents for themself only when recorded as having enough
    understanding, otherwise a parent or carer in the household gives it; one current consent per person.
    """
    episode = _locked(episode)
    _require_open(episode)
    members = _current_members(episode)
    if person.pk not in members:
        raise PathwayError("Select someone in this family", field="person")
    if given_by.pk not in members:
        raise PathwayError("Select someone in this family as the person giving consent", field="given_by")
    if given_on > timezone.localdate():
        raise PathwayError("Date consent was given must be today or in the past", field="given_on")
    if method not in ConsentMethod.values:
        raise PathwayError("Select how consent was given", field="method")
    if sharing_basis not in SharingBasis.values:
        raise PathwayError("Select the lawful basis for sharing information", field="sharing_basis")
    age = _age_on(person, given_on)
    if given_by.pk == person.pk:
        if members[person.pk].role == HouseholdRole.CHILD and (age is None or age < consent_self_age()):
            if not own_consent_competent:
                raise PathwayError(
                    f"{person.full_name} is under {consent_self_age()}: confirm they have enough "
                    "understanding to consent for themself, or record consent from a parent or carer",
                    field="own_consent_competent",
                )
    else:
        # A child with no date of birth yet (unborn, or not known) is consented for by a parent or carer.
        old_enough = age is not None and age >= consent_self_age()
        if old_enough or members[person.pk].role != HouseholdRole.CHILD:
            raise PathwayError(f"{person.full_name} gives consent for themself", field="given_by")
        if members[given_by.pk].role != HouseholdRole.PARENT_CARER:
            raise PathwayError("Consent for a child is given by a parent or carer", field="given_by")
        own_consent_competent = False
    if ConsentRecord.objects.filter(episode=episode, person=person, withdrawn_on__isnull=True).exists():
        raise PathwayError(f"Consent for {person.full_name} is already recorded", field="person")
    stored = _check_evidence(evidence)
    record = ConsentRecord.objects.create(
        family_id=episode.family_id,
        episode=episode,
        person=person,
        given_by=given_by,
        own_consent_competent=own_consent_competent,
        given_on=given_on,
        method=method,
        agrees_to_sharing=agrees_to_sharing,
        sharing_basis=sharing_basis,
        notes=notes,
        evidence_name=stored[0] if stored else "",
        evidence_type=stored[1] if stored else "",
        evidence=stored[2] if stored else None,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=record,
        family_id=episode.family_id,
        summary="Consent to early help recorded",
        changes={"person": [None, person.pk], "given_by": [None, given_by.pk], "method": [None, method]},
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.ASSESSMENT,
        occurred_on=given_on,
        title=f"Consent to early help given for {person.full_name}",
        author=actor,
    )
    return record


@transaction.atomic
def consent_withdraw(
    *, actor: User, consent: ConsentRecord, withdrawn_on: dt.date, reason: str
) -> ConsentRecord:
    """Record that consent was withdrawn. From then on nothing more about the family is shared: no new
    practitioner joins the team until consent is given again."""
    consent = (
        ConsentRecord.objects.select_for_update()
        .select_related("person")
        .defer("evidence")
        .get(pk=consent.pk)
    )
    if consent.withdrawn_on is not None:
        raise PathwayError("This consent has already been withdrawn")
    if withdrawn_on > timezone.localdate():
        raise PathwayError("Date consent was withdrawn must be today or in the past", field="withdrawn_on")
    if withdrawn_on < consent.given_on:
        raise PathwayError(
            f"Date consent was withdrawn must be on or after it was given ({consent.given_on:%-d %B %Y})",
            field="withdrawn_on",
        )
    if not reason.strip():
        raise PathwayError("Enter what the family said when they withdrew consent", field="reason")
    ConsentRecord.objects.filter(pk=consent.pk).update(
        withdrawn_on=withdrawn_on, withdrawal_reason=reason, withdrawal_recorded_by=actor
    )
    consent.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=consent,
        family_id=consent.family_id,
        summary="Consent to early help withdrawn",
        changes={"withdrawn_on": [None, withdrawn_on.isoformat()]},
    )
    chronology_add(
        family_id=consent.family_id,
        episode=consent.episode,
        kind=ChronologyKind.ASSESSMENT,
        occurred_on=withdrawn_on,
        title=f"Consent to early help withdrawn for {consent.person.full_name}",
        detail=reason,
        author=actor,
        significant=True,
    )
    return consent


# --- The assessment --------------------------------------------------------------------------------


def _missing_consent(episode: Episode, person_ids: list[int], members: dict[int, FamilyMember]) -> list[str]:
    consented = set(current_consents(episode=episode))
    return [members[pid].person.full_name for pid in person_ids if pid not in consented]


def _consent_message(names: list[str], doing: str) -> str:
    return f"Record consent for {', '.join(names)} before {doing} the assessment"


@transaction.atomic
def assessment_start(
    *, actor: User, episode: Episode, members: list[Person], assessment_date: dt.date
) -> Assessment:
    """Start an assessment covering the chosen family members: the caller becomes its assessor. Anyone who
    manages the episode may call it; every member covered needs current consent."""
    episode = _locked(episode)
    _require_open(episode)
    if Assessment.objects.filter(episode=episode).exclude(status=AssessmentStatus.SIGNED_OFF).exists():
        raise PathwayError("This episode already has an assessment in progress")
    current = _current_members(episode)
    if not members:
        raise PathwayError("Select the family members the assessment covers", field="members")
    person_ids = [p.pk for p in members]
    if any(pid not in current for pid in person_ids):
        raise PathwayError("Select people who are in this family", field="members")
    missing = _missing_consent(episode, person_ids, current)
    if missing:
        raise PathwayError(_consent_message(missing, "starting"), field="members")
    if assessment_date > timezone.localdate():
        raise PathwayError("Date of the assessment must be today or in the past", field="assessment_date")
    if assessment_date < episode.opened_on:
        raise PathwayError(
            f"Date of the assessment must be on or after the episode opened ({episode.opened_on:%-d %B %Y})",
            field="assessment_date",
        )
    template = AssessmentTemplate.objects.filter(published=True).order_by("-version").first()
    if template is None:
        raise PathwayError("No assessment form has been published: ask your system administrator")
    assessment = Assessment.objects.create(
        episode=episode,
        template=template,
        assessor=actor,
        started_on=timezone.localdate(),
        assessment_date=assessment_date,
        content={},
        updated_by=actor,
    )
    assessment.members.set(person_ids)
    if episode.status == EpisodeStatus.OPEN:
        _transition(
            actor=actor, episode=episode, to=EpisodeStatus.ASSESSMENT, reason="Early help assessment started"
        )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=assessment,
        family_id=episode.family_id,
        summary="Early help assessment started",
        changes={"members": [None, sorted(person_ids)]},
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.ASSESSMENT,
        occurred_on=assessment_date,
        title="Early help assessment started",
        author=actor,
    )
    return assessment


def _clean_content(assessment: Assessment, changes: dict, member_ids: set[int]) -> dict:
    """Validate a partial update of the answers; the first problem raises with the field it belongs to."""
    allowed_areas = set(assessment.template.area_codes())
    scored_areas = set(OutcomeArea.objects.filter(active=True).values_list("code", flat=True))
    for key, value in changes.items():
        if key == "domains":
            for code, text in value.items():
                if code not in allowed_areas:
                    raise PathwayError(
                        "That part of the assessment form does not exist", field=f"domains.{code}"
                    )
                _check_text(text, f"domains.{code}")
        elif key in ("members", "child_voice"):
            if not isinstance(value, dict):
                raise PathwayError("Answer for each family member the assessment covers", field=key)
            for pid, entry in value.items():
                if not str(pid).isdigit() or int(pid) not in member_ids:
                    raise PathwayError("Answer only for family members the assessment covers", field=key)
                if key == "members":
                    for part in ("strengths", "needs"):
                        _check_text(entry.get(part, ""), f"members.{pid}.{part}")
                else:
                    _check_text(entry, f"child_voice.{pid}")
        elif key == "family_view":
            _check_text(value, "family_view")
        elif key == "needs":
            for i, need in enumerate(value):
                if need.get("area") not in scored_areas:
                    raise PathwayError("Select the outcome the need is about", field=f"needs.{i}.area")
                if not str(need.get("description", "")).strip():
                    raise PathwayError("Describe the need", field=f"needs.{i}.description")
                if len(need["description"]) > 500:
                    raise PathwayError(
                        "Describe the need in 500 characters or fewer", field=f"needs.{i}.description"
                    )
        elif key == "scores":
            for code, score in value.items():
                if code not in scored_areas:
                    raise PathwayError("That outcome area does not exist", field=f"scores.{code}")
                if score is not None and (
                    not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10
                ):
                    raise PathwayError("Score must be a whole number from 0 to 10", field=f"scores.{code}")
        else:
            raise PathwayError(f"Unknown part of the assessment: {key}")
    return changes


def _check_text(text, field: str) -> None:
    if not isinstance(text, str):
        raise PathwayError("Enter text", field=field)
    if len(text) > ANSWER_MAX_LENGTH:
        raise PathwayError(
            f"Answer must be {ANSWER_MAX_LENGTH:,} characters or fewer (you entered {len(text):,})",
            field=field,
        )


def _merge(content: dict, changes: dict) -> dict:
    merged = dict(content)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            inner = dict(merged[key])
            inner.update(value)
            merged[key] = inner
        else:
            merged[key] = value
    return merged


@transaction.atomic
def assessment_save(
    *,
    actor: User,
    assessment: Assessment,
    expected_version: int,
    changes: dict | None = None,
    members: list[Person] | None = None,
    assessment_date: dt.date | None = None,
    edit_token: str = "",
    page_done: bool = False,
) -> Assessment:
    """Save part of a draft (each page, and the autosave as the assessor types). The assessor may call it.
    Refuses with AssessmentChangedError if anyone saved since `expected_version`, so nobody's work is
    silently overwritten. `edit_token` names the open page: saves since `expected_version` made from that
    same page (its autosaves) are its own, not someone else's. `page_done` (the page was submitted) ends
    the page's claim, so an autosave from it arriving late cannot save over later work."""
    current = (
        Assessment.objects.select_for_update().select_related("template", "episode").get(pk=assessment.pk)
    )
    own_page = bool(edit_token) and current.last_edit_token == edit_token
    if current.version != expected_version and not own_page:
        raise AssessmentChangedError(
            "Someone else saved this assessment after you opened it. Your answers have not been saved yet."
        )
    if not current.is_editable:
        raise PathwayError("This assessment has been completed, so it can no longer be changed")
    _require_open(current.episode)
    member_ids = set(current.members.values_list("pk", flat=True))
    changed: dict = {}
    if members is not None:
        family_members = _current_members(current.episode)
        ids = [p.pk for p in members]
        if not ids:
            raise PathwayError("Select the family members the assessment covers", field="members")
        if any(pid not in family_members for pid in ids):
            raise PathwayError("Select people who are in this family", field="members")
        missing = _missing_consent(current.episode, ids, family_members)
        if missing:
            raise PathwayError(_consent_message(missing, "adding them to"), field="members")
        if set(ids) != member_ids:
            current.members.set(ids)
            changed["members"] = [sorted(member_ids), sorted(ids)]
            member_ids = set(ids)
    if assessment_date is not None and assessment_date != current.assessment_date:
        if assessment_date > timezone.localdate() or assessment_date < current.episode.opened_on:
            raise PathwayError(
                "Date of the assessment must be between the episode opening and today",
                field="assessment_date",
            )
        changed["assessment_date"] = [current.assessment_date.isoformat(), assessment_date.isoformat()]
        current.assessment_date = assessment_date
    if changes:
        _clean_content(current, changes, member_ids)
        current.content = _merge(current.content, changes)
        changed["content"] = sorted(changes)
    current.version = F("version") + 1
    current.updated_by = actor
    current.last_edit_token = "" if page_done else edit_token[:32]
    current.save(
        update_fields=["content", "assessment_date", "version", "updated_by", "updated_at", "last_edit_token"]
    )
    current.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        family_id=current.episode.family_id,
        summary="Early help assessment saved",
        changes=changed,
    )
    return current


def completion_problems(*, assessment: Assessment) -> list[tuple[str, str]]:
    """What stops the assessment being completed, as (field, message) pairs for the check-answers page."""
    content = assessment.content or {}
    problems: list[tuple[str, str]] = []
    if not any(str(v).strip() for v in (content.get("domains") or {}).values()):
        problems.append(("domains", "Answer at least one part of the assessment domains"))
    if not str(content.get("family_view", "")).strip():
        problems.append(("family_view", "Enter the family's view"))
    if not content.get("needs"):
        problems.append(("needs", "Add at least one identified need"))
    scores = {k: v for k, v in (content.get("scores") or {}).items() if v is not None}
    has_baseline = Review.objects.filter(episode_id=assessment.episode_id, is_baseline=True).exists()
    if not scores and not has_baseline:
        problems.append(("scores", "Enter a baseline score for at least one outcome area"))
    return problems


@transaction.atomic
def assessment_complete(*, actor: User, assessment: Assessment, expected_version: int) -> Assessment:
    """The assessor completes the assessment: a new version is kept, the needs and baseline scores go to
    the episode, and the episode's plan becomes active if its first TAF meeting has already agreed a lead
    professional. Every member covered must still have current consent."""
    episode = _locked(assessment.episode)
    _require_open(episode)
    current = Assessment.objects.select_for_update().select_related("template").get(pk=assessment.pk)
    if current.version != expected_version:
        raise AssessmentChangedError(
            "Someone else saved this assessment after you opened it. Check the answers and complete it again."
        )
    if current.assessor_id != actor.pk:
        raise PathwayError("Only the assessor can complete the assessment")
    if not current.is_editable:
        raise PathwayError("This assessment has already been completed")
    previous_status = current.status
    person_ids = list(current.members.values_list("pk", flat=True))
    missing = _missing_consent(episode, person_ids, _current_members(episode))
    if missing:
        raise PathwayError(_consent_message(missing, "completing"), field="members")
    problems = completion_problems(assessment=current)
    if problems:
        raise PathwayError(problems[0][1], field=problems[0][0])
    now = timezone.now()
    number = AssessmentVersion.objects.filter(assessment=current).count() + 1
    AssessmentVersion.objects.create(
        assessment=current,
        number=number,
        template=current.template,
        assessment_date=current.assessment_date,
        member_ids=sorted(person_ids),
        content=current.content,
        completed_by=actor,
        completed_at=now,
    )
    Assessment.objects.filter(pk=current.pk).update(
        status=AssessmentStatus.COMPLETED, completed_at=now, version=F("version") + 1, updated_by=actor
    )
    areas = {a.code: a for a in OutcomeArea.objects.all()}
    existing = set(IdentifiedNeed.objects.filter(episode=episode).values_list("area__code", "description"))
    IdentifiedNeed.objects.bulk_create(
        [
            IdentifiedNeed(episode=episode, area=areas[n["area"]], description=n["description"].strip())
            for n in current.content.get("needs", [])
            if (n["area"], n["description"].strip()) not in existing
        ]
    )
    scores = {areas[k]: v for k, v in (current.content.get("scores") or {}).items() if v is not None}
    if scores and not Review.objects.filter(episode=episode, is_baseline=True).exists():
        baseline_record(actor=actor, episode=episode, held_on=current.assessment_date, scores=scores)
    if (
        episode.status == EpisodeStatus.ASSESSMENT
        and episode.lead_professional_id
        and first_meeting_held(episode=episode)
    ):
        _transition(
            actor=actor,
            episode=episode,
            to=EpisodeStatus.PLAN_ACTIVE,
            reason="Assessment completed, with the team formed and a lead professional agreed",
        )
        if episode.next_review_due is None:
            from pathway.services import review_interval

            Episode.objects.filter(pk=episode.pk).update(
                next_review_due=timezone.localdate() + review_interval()
            )
    current.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        family_id=episode.family_id,
        summary=f"Early help assessment completed (version {number})",
        changes={"status": [previous_status, "completed"]},
    )
    chronology_add(
        family_id=episode.family_id,
        episode=episode,
        kind=ChronologyKind.ASSESSMENT,
        occurred_on=timezone.localdate(),
        title="Early help assessment completed",
        author=actor,
        significant=True,
    )
    return current


@transaction.atomic
def assessment_decide(
    *, actor: User, assessment: Assessment, sign_off: bool, comments: str, expected_version: int | None = None
) -> Assessment:
    """A manager signs the completed assessment off, or returns it to the assessor with comments. The
    caller has checked the manager's right (assessments.permissions.can_sign_off); the assessor can never
    sign off their own assessment."""
    current = Assessment.objects.select_for_update().select_related("episode").get(pk=assessment.pk)
    _require_open(current.episode)
    if expected_version is not None and current.version != expected_version:
        raise AssessmentChangedError(
            "Someone else changed this assessment after you opened it. Check it and try again."
        )
    if current.assessor_id == actor.pk:
        raise PathwayError("You cannot sign off an assessment you completed yourself: ask a manager")
    if current.status != AssessmentStatus.COMPLETED:
        raise PathwayError("Only a completed assessment can be signed off or returned")
    if not sign_off and not comments.strip():
        raise PathwayError("Enter what the assessor needs to change", field="comments")
    if len(comments) > 4000:
        raise PathwayError("Comments must be 4,000 characters or fewer", field="comments")
    now = timezone.now()
    outcome = AssessmentStatus.SIGNED_OFF if sign_off else AssessmentStatus.RETURNED
    latest = AssessmentVersion.objects.filter(assessment=current).order_by("-number").first()
    AssessmentVersion.objects.filter(pk=latest.pk).update(
        outcome=outcome, decided_by=actor, decided_at=now, comments=comments
    )
    update = {"status": outcome, "version": F("version") + 1}
    if sign_off:
        update |= {"signed_off_at": now, "signed_off_by": actor}
    Assessment.objects.filter(pk=current.pk).update(**update)
    current.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        family_id=current.episode.family_id,
        summary="Early help assessment signed off"
        if sign_off
        else "Early help assessment returned for changes",
        changes={"status": ["completed", outcome]},
    )
    chronology_add(
        family_id=current.episode.family_id,
        episode=current.episode,
        kind=ChronologyKind.ASSESSMENT,
        occurred_on=timezone.localdate(),
        title="Early help assessment signed off"
        if sign_off
        else "Early help assessment returned for changes",
        detail=comments,
        author=actor,
    )
    return current


# --- The plan's outcomes ---------------------------------------------------------------------------


def _check_outcome(episode: Episode, wording: str, said_by: Person | None) -> None:
    if not wording.strip():
        raise PathwayError("Enter what the family wants to be different, in their words", field="wording")
    if len(wording) > 500:
        raise PathwayError("Outcome must be 500 characters or fewer", field="wording")
    if said_by is not None and said_by.pk not in _current_members(episode):
        raise PathwayError("Select someone in this family", field="said_by")


@transaction.atomic
def plan_outcome_add(
    *,
    actor: User,
    episode: Episode,
    wording: str,
    said_by: Person | None = None,
    area: OutcomeArea | None = None,
) -> PlanOutcome:
    """The lead professional (whoever manages the episode) adds an outcome to the family plan."""
    episode = _locked(episode)
    _require_open(episode)
    _check_outcome(episode, wording, said_by)
    order = PlanOutcome.objects.filter(episode=episode).count() + 1
    outcome = PlanOutcome.objects.create(
        episode=episode, wording=wording.strip(), said_by=said_by, area=area, order=order, created_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=outcome,
        family_id=episode.family_id,
        summary="Plan outcome added",
        changes={"wording": [None, outcome.wording]},
    )
    return outcome


@transaction.atomic
def plan_outcome_update(
    *,
    actor: User,
    outcome: PlanOutcome,
    wording: str,
    said_by: Person | None,
    area: OutcomeArea | None,
    achieved: bool,
    expected_version: int,
) -> PlanOutcome:
    """The lead professional rewords an outcome or marks it achieved."""
    episode = outcome.episode
    _require_open(episode)
    _check_outcome(episode, wording, said_by)
    before = PlanOutcome.objects.get(pk=outcome.pk)
    if not PlanOutcome.objects.filter(pk=outcome.pk, version=expected_version).update(
        wording=wording.strip(), said_by=said_by, area=area, achieved=achieved, version=F("version") + 1
    ):
        raise AssessmentChangedError(
            "Someone else changed this outcome after you opened the page. Check it and try again."
        )
    outcome.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=outcome,
        family_id=episode.family_id,
        summary="Plan outcome changed",
        changes={
            k: [getattr(before, k), getattr(outcome, k)]
            for k in ("wording", "achieved")
            if getattr(before, k) != getattr(outcome, k)
        },
    )
    return outcome


# --- The assessment PDF, rendered by a Celery worker ------------------------------------------------------
#
# docs/pdfs.md: asking creates (or reuses) a job and queues its render once the ask commits; the worker
# checks again that the requester may still see the family, renders, and stores the file until it
# expires. Logs name jobs by id only: never a family, a person or anything the document holds.


def _pdf_job_expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(minutes=settings.PDF_JOB_EXPIRY_MINUTES)


def pdf_job_is_stale(job: AssessmentPdfJob, *, now: dt.datetime | None = None) -> bool:
    """A job still queued long after it was asked for: no worker took it (a broker or worker outage).
    It is shown as failed, so that the user can ask again, and never reused."""
    now = now or timezone.now()
    return job.status == PdfJobStatus.QUEUED and job.requested_at < now - dt.timedelta(
        minutes=settings.PDF_JOB_STALE_MINUTES
    )


def assessment_pdf_document(*, assessment: Assessment, version: AssessmentVersion | None) -> tuple[dict, str]:
    """The PDF's template context and the SHA-256 of what it prints (its HTML with the printed-at time
    left out): two renders of the same state have the same hash. The caller has checked access."""
    context = assessment_pdf_context(assessment=assessment, version=version)
    unprinted = render_to_string(ASSESSMENT_PDF_TEMPLATE, {**context, "printed_at": None})
    return context, hashlib.sha256(unprinted.encode()).hexdigest()


def assessment_pdf_request(
    *, actor: User, assessment: Assessment, version: AssessmentVersion | None
) -> AssessmentPdfJob:
    """Ask for the assessment PDF: the actor's job for this assessment and version that is still being
    prepared, or one that is ready and would print the same today; otherwise a new job, whose render is
    queued when this transaction commits. The caller fetched `assessment` through assessment_for_user
    (and `version` from it). Nothing is audited here: the export is recorded when the file is
    downloaded (pdf_job_download)."""
    now = timezone.now()
    with transaction.atomic():
        # One ask at a time per assessment, so that a double click makes one job, not two.
        Assessment.objects.select_for_update().filter(pk=assessment.pk).values_list("pk").first()
        candidates = list(
            AssessmentPdfJob.objects.filter(
                requested_by=actor,
                assessment=assessment,
                version=version,
                status__in=[PdfJobStatus.QUEUED, PdfJobStatus.READY],
                expires_at__gt=now,
            )
            .defer("content")
            .order_by("-requested_at", "-id")[:5]
        )
        for job in candidates:
            if job.status == PdfJobStatus.QUEUED and not pdf_job_is_stale(job, now=now):
                return job
        ready = [job for job in candidates if job.status == PdfJobStatus.READY]
        if ready:
            _context, digest = assessment_pdf_document(assessment=assessment, version=version)
            for job in ready:
                if job.content_hash == digest:
                    return job
        job = AssessmentPdfJob.objects.create(
            requested_by=actor,
            assessment=assessment,
            version=version,
            requested_at=now,
            expires_at=_pdf_job_expiry(now),
        )
        pdf_job_enqueue(job_id=job.pk)
    return job


def pdf_job_enqueue(*, job_id: int) -> None:
    """Queue the render once the job commits. A broker outage is logged, not raised: the job stays
    queued and is shown as failed after PDF_JOB_STALE_MINUTES, so the user can ask again."""
    from .tasks import render_assessment_pdf

    def enqueue() -> None:
        try:
            render_assessment_pdf.delay(job_id)
        except Exception:  # noqa: BLE001 - the broker may be down
            log.warning("Could not queue the render of PDF job %s", job_id)

    transaction.on_commit(enqueue)


def _pdf_job_finish(*, job_id: int, **fields) -> bool:
    """Record a render's outcome on a job still queued; False if another run already did."""
    return bool(AssessmentPdfJob.objects.filter(pk=job_id, status=PdfJobStatus.QUEUED).update(**fields))


def pdf_job_render(*, job_id: int) -> str:
    """Render one job's PDF (called by the Celery task; safe to run again or twice at once: only the first
    outcome is recorded, on a job still queued). The requester's access to the family is checked again
    here, as it may have ended since they asked: without it the job fails and nothing is rendered.
    Returns a word saying what happened, never anything the document holds."""
    from django.http import Http404

    from .permissions import assessment_for_user

    job = AssessmentPdfJob.objects.select_related("requested_by").defer("content").filter(pk=job_id).first()
    if job is None:
        return "gone"
    if job.status != PdfJobStatus.QUEUED:
        return "done"
    now = timezone.now()
    try:
        if not job.requested_by.is_active:
            raise Http404
        assessment = assessment_for_user(user=job.requested_by, assessment_id=job.assessment_id)
    except Http404:
        _pdf_job_finish(job_id=job.pk, status=PdfJobStatus.FAILED, rendered_at=now)
        log.info("PDF job %s refused: the requester may no longer see the family", job.pk)
        return "refused"
    version = None
    if job.version_id is not None:
        version = (
            AssessmentVersion.objects.filter(pk=job.version_id)
            .select_related("template", "completed_by", "decided_by")
            .first()
        )
    try:
        context, digest = assessment_pdf_document(assessment=assessment, version=version)
        rendered = pdf_render(template_name=ASSESSMENT_PDF_TEMPLATE, context=context)
    except Exception as error:  # noqa: BLE001 - any failure is shown to the user as "could not be prepared"
        # The exception's type only: its message could quote what the document holds.
        log.error("PDF job %s could not be rendered: %s", job.pk, type(error).__name__)
        _pdf_job_finish(job_id=job.pk, status=PdfJobStatus.FAILED, rendered_at=timezone.now())
        return "failed"
    done = timezone.now()
    finished = _pdf_job_finish(
        job_id=job.pk,
        status=PdfJobStatus.READY,
        content=rendered.content,
        pages=rendered.pages,
        content_hash=digest,
        rendered_at=done,
        expires_at=_pdf_job_expiry(done),
    )
    return "ready" if finished else "done"


def pdf_job_download(*, actor: User, job: AssessmentPdfJob) -> bytes:
    """The ready job's file, recorded in the audit trail as an export (as the download in the request
    was: the assessment, the version and the page count). The caller fetched `job` through
    pdf_job_for_user, so it is the actor's own and they may still see the family."""
    content = (
        AssessmentPdfJob.objects.filter(pk=job.pk, status=PdfJobStatus.READY)
        .values_list("content", flat=True)
        .first()
    )
    if content is None:
        raise AssessmentPdfJob.DoesNotExist
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=job.assessment,
        family_id=job.assessment.episode.family_id,
        summary="Early help assessment PDF downloaded",
        changes={"version": job.version.number if job.version else None, "pages": job.pages},
    )
    return bytes(content)


def pdf_jobs_delete_expired(*, now: dt.datetime | None = None) -> int:
    """Delete every job (and its file) past its expiry; called by the periodic Celery task."""
    now = now or timezone.now()
    deleted, _ = AssessmentPdfJob.objects.filter(expires_at__lte=now).delete()
    return deleted
