"""Supporting Families claims (DESIGN.md §3): the council's payment-by-results claim to the national
programme for one episode, naming the headline outcomes (outcome areas) in which the family made
sustained progress and the evidence for it.

    draft ──verify──► verified ──submit──► submitted ──reject──► rejected
      ▲                  │                                          │
      └──── send back ───┘◄──────────────── reopen ─────────────────┘ (both back to draft)

Writes here are atomic and audited (ehcase.audit). Callers have already checked access
(pathway.claims_permissions): the lead professional and early help managers draft; only early help
managers move a claim on. These functions enforce the workflow's own rules and raise ClaimError (a
PathwayError, so the pathway views show it at the field it names).

Claims do not go into the family's chronology: the chronology is the story of the family and the work
with them, read with the family and disclosed to them on request; a payment claim is the council's
paperwork about that work. Every write is in the audit trail instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import AuditAction, AuditEvent, User

from .models import ClaimStatus, Episode, IdentifiedNeed, OutcomeArea, Review, SupportingFamiliesClaim
from .services import PathwayError

C = ClaimStatus
# The claim's legal moves: the key is where it is, the values where it may go.
CLAIM_TRANSITIONS: dict[str, tuple[str, ...]] = {
    C.DRAFT: (C.VERIFIED,),
    C.VERIFIED: (C.SUBMITTED, C.DRAFT),
    C.SUBMITTED: (C.REJECTED,),
    C.REJECTED: (C.DRAFT,),
}
# Moves that must say why: the lead professional needs to know what to fix.
REASON_REQUIRED: set[tuple[str, str]] = {(C.VERIFIED, C.DRAFT), (C.SUBMITTED, C.REJECTED)}
# What each move is called, for buttons, messages and the audit trail.
MOVE_LABELS: dict[tuple[str, str], str] = {
    (C.DRAFT, C.VERIFIED): "Verify the evidence",
    (C.VERIFIED, C.SUBMITTED): "Mark as submitted to the programme",
    (C.VERIFIED, C.DRAFT): "Send back to draft",
    (C.SUBMITTED, C.REJECTED): "Record that the programme rejected it",
    (C.REJECTED, C.DRAFT): "Reopen as a draft",
}
MOVE_DONE: dict[tuple[str, str], str] = {
    (C.DRAFT, C.VERIFIED): "verified",
    (C.VERIFIED, C.SUBMITTED): "submitted",
    (C.VERIFIED, C.DRAFT): "sent back to draft",
    (C.SUBMITTED, C.REJECTED): "rejected",
    (C.REJECTED, C.DRAFT): "reopened as a draft",
}
REASON_MAX = 2000
# A claim still counting towards payment (or about to): an outcome area can be in only one of these
# per episode, so the same progress is never claimed twice.
LIVE = (C.DRAFT, C.VERIFIED, C.SUBMITTED)
OBJECT_TYPE = SupportingFamiliesClaim._meta.label_lower


class ClaimError(PathwayError):
    """A claim rule was broken; `field` names the form field the message belongs to, if any."""


class ClaimChangedError(ClaimError):
    """Someone else changed the claim after the user opened the page (a stale version)."""


# --- Reads ------------------------------------------------------------------------------------------


def episode_claims(*, episode: Episode) -> list[SupportingFamiliesClaim]:
    """The episode's claims, newest first, for an episode that already passed the access layer.
    One query however many claims: the area names come aggregated (`area_names`), the people joined."""
    return list(
        SupportingFamiliesClaim.objects.filter(episode=episode)
        .select_related("created_by", "updated_by")
        .annotate(
            area_names=ArrayAgg(
                "areas__name",
                filter=Q(areas__isnull=False),
                order_by=("areas__order", "areas__name"),
                default=[],
            )
        )
        .order_by("-created_at", "-id")
    )


def claim_last_decision(*, claim: SupportingFamiliesClaim) -> AuditEvent | None:
    """Why the claim is where it is, if someone said so: the send back or the rejection (also once a
    rejected claim is reopened as a draft to fix), with who and when. The reason lives in the audit
    trail, which records every change of status; one indexed query (audit_object)."""
    events = list(
        AuditEvent.objects.filter(object_type=OBJECT_TYPE, object_id=str(claim.pk), changes__has_key="status")
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:2]
    )
    if not events or events[0].changes["status"][1] != claim.status:
        return None
    if events[0].changes.get("reason"):
        return events[0]
    reopened = events[0].changes["status"] == [C.REJECTED, C.DRAFT]
    if reopened and len(events) > 1 and events[1].changes.get("reason"):
        return events[1]
    return None


def allowed_moves(*, claim: SupportingFamiliesClaim) -> list[tuple[str, str]]:
    """(status, label) for each move open from where the claim is."""
    return [(to, MOVE_LABELS[(claim.status, to)]) for to in CLAIM_TRANSITIONS[claim.status]]


# --- Checks -----------------------------------------------------------------------------------------


def _lock_episode(episode: Episode) -> None:
    """Serialise claim writes on one episode, so two claims cannot take the same outcome area at once."""
    Episode.objects.select_for_update().filter(pk=episode.pk).values_list("pk", flat=True).first()


def _has_something_to_claim_against(episode: Episode) -> bool:
    """Sustained progress is progress from somewhere: the episode must have identified needs or
    baseline scores before a claim is started."""
    return (
        IdentifiedNeed.objects.filter(episode=episode).exists()
        or Review.objects.filter(episode=episode, is_baseline=True).exists()
    )


def _clean(areas: Iterable[OutcomeArea], evidence: str) -> tuple[list[OutcomeArea], str]:
    area_list = list(dict.fromkeys(areas))
    if not area_list:
        raise ClaimError("Select at least one outcome area the claim evidences", field="areas")
    if not (evidence or "").strip():
        raise ClaimError("Enter the evidence of sustained progress", field="evidence")
    if len(evidence) > 8000:
        raise ClaimError("Evidence of sustained progress must be 8000 characters or fewer", field="evidence")
    return area_list, evidence.strip()


def _check_not_claimed_elsewhere(
    *, episode: Episode, areas: list[OutcomeArea], exclude: SupportingFamiliesClaim | None = None
) -> None:
    taken = SupportingFamiliesClaim.areas.through.objects.filter(
        supportingfamiliesclaim__episode=episode,
        supportingfamiliesclaim__status__in=LIVE,
        outcomearea__in=areas,
    )
    if exclude is not None:
        taken = taken.exclude(supportingfamiliesclaim=exclude)
    names = sorted({row.outcomearea.name for row in taken.select_related("outcomearea")})
    if names:
        raise ClaimError(
            f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} already in another claim for this "
            "episode: an outcome can be claimed once",
            field="areas",
        )


def _locked_claim(claim: SupportingFamiliesClaim, version: int | None) -> SupportingFamiliesClaim:
    """The claim row, locked for this transaction; refuses if someone changed it meanwhile."""
    current = SupportingFamiliesClaim.objects.select_for_update().get(pk=claim.pk)
    if version is None or current.version != version:
        raise ClaimChangedError(
            "Someone else changed this claim after you opened the page. Nothing was saved: check the "
            "claim and try again."
        )
    return current


def _area_codes(areas: Iterable[OutcomeArea]) -> list[str]:
    return sorted(a.code for a in areas)


# --- Writes -----------------------------------------------------------------------------------------


@transaction.atomic
def claim_create(
    *, actor: User, episode: Episode, areas: Iterable[OutcomeArea], evidence: str
) -> SupportingFamiliesClaim:
    """Start a draft claim for the episode. Caller: the lead professional or an early help manager
    (claims_permissions.require_draft_claim). The episode needs identified needs or a baseline, at least
    one outcome area and the evidence; an area already in another live claim of the episode is refused.
    Closed episodes may be claimed for: progress is often evidenced as sustained after closure."""
    area_list, evidence = _clean(areas, evidence)
    _lock_episode(episode)
    if not _has_something_to_claim_against(episode):
        raise ClaimError(
            "Record the family's identified needs or baseline scores before starting a claim: the claim "
            "evidences progress from them"
        )
    _check_not_claimed_elsewhere(episode=episode, areas=area_list)
    claim = SupportingFamiliesClaim.objects.create(
        episode=episode,
        family_id=episode.family_id,
        evidence=evidence,
        status=C.DRAFT,
        status_changed_on=timezone.localdate(),
        created_by=actor,
        updated_by=actor,
    )
    claim.areas.set(area_list)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=claim,
        family_id=episode.family_id,
        summary="Supporting Families claim drafted",
        changes={
            "status": [None, C.DRAFT],
            "areas": [None, _area_codes(area_list)],
            "evidence": [None, evidence],
        },
    )
    return claim


@transaction.atomic
def claim_update(
    *,
    actor: User,
    claim: SupportingFamiliesClaim,
    areas: Iterable[OutcomeArea],
    evidence: str,
    version: int | None,
) -> SupportingFamiliesClaim:
    """Change a draft's outcome areas and evidence. Caller: the lead professional or an early help
    manager. `version` is the one the user's page showed: a stale one is refused, nothing overwritten.
    Only drafts change; a verified claim is sent back to draft first."""
    area_list, evidence = _clean(areas, evidence)
    _lock_episode(claim.episode)
    current = _locked_claim(claim, version)
    if current.status != C.DRAFT:
        raise ClaimError(f"This claim is {C(current.status).label.lower()}, so it can no longer be changed")
    _check_not_claimed_elsewhere(episode=claim.episode, areas=area_list, exclude=current)
    before = {"areas": _area_codes(current.areas.all()), "evidence": current.evidence}
    after = {"areas": _area_codes(area_list), "evidence": evidence}
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    SupportingFamiliesClaim.objects.filter(pk=current.pk).update(
        evidence=evidence, updated_by=actor, updated_at=timezone.now(), version=F("version") + 1
    )
    current.areas.set(area_list)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        family_id=current.family_id,
        summary="Supporting Families claim changed",
        changes=changes,
    )
    current.refresh_from_db()
    current.episode = claim.episode
    return current


@transaction.atomic
def claim_set_status(
    *,
    actor: User,
    claim: SupportingFamiliesClaim,
    status: str,
    version: int | None,
    reason: str = "",
) -> SupportingFamiliesClaim:
    """Move the claim: draft → verified → submitted → rejected, verified → draft (sent back),
    rejected → draft (reopened). Caller: an early help manager (claims_permissions). Sending back and
    recording a rejection need a reason. The date of the status is today. A stale `version` is refused;
    reopening is refused if another live claim of the episode has taken one of its outcome areas."""
    reason = (reason or "").strip()
    _lock_episode(claim.episode)  # episode first, then the claim: the same order as claim_update
    current = _locked_claim(claim, version)
    before = current.status
    if status not in C.values:
        raise ClaimError("Select what to do with the claim", field="status")
    if status not in CLAIM_TRANSITIONS[before]:
        raise ClaimError(
            f"A claim cannot go from ‘{C(before).label.lower()}’ to ‘{C(status).label.lower()}’",
            field="status",
        )
    move = (before, status)
    if move in REASON_REQUIRED and not reason:
        raise ClaimError(
            "Enter why the claim is going back to draft"
            if status == C.DRAFT
            else "Enter why the programme rejected the claim",
            field="reason",
        )
    if len(reason) > REASON_MAX:
        raise ClaimError(f"The reason must be {REASON_MAX} characters or fewer", field="reason")
    if status == C.DRAFT and before == C.REJECTED:
        _check_not_claimed_elsewhere(episode=claim.episode, areas=list(current.areas.all()), exclude=current)
    today = timezone.localdate()
    SupportingFamiliesClaim.objects.filter(pk=current.pk).update(
        status=status,
        status_changed_on=today,
        updated_by=actor,
        updated_at=timezone.now(),
        version=F("version") + 1,
    )
    changes: dict[str, list] = {"status": [before, status], "status_changed_on": [None, today.isoformat()]}
    if reason:
        changes["reason"] = [None, reason]
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        family_id=current.family_id,
        summary=f"Supporting Families claim {MOVE_DONE[move]}",
        changes=changes,
    )
    current.refresh_from_db()
    current.episode = claim.episode
    return current
