"""Who may act on consent, the assessment and the family plan. Everything here is part of the family's
record, so seeing it needs the family (404 otherwise); these helpers add who may act (403 otherwise):

- consent: recorded and withdrawn by whoever manages the episode (lead professional, assessor, hub
  coordinator);
- the assessment: started by a practitioner who manages the episode, who becomes its assessor; written and
  completed only by that assessor; signed off or returned by a manager of the assessor's agency or an early
  help manager, never by the assessor;
- the plan: the episode's managers add and change outcomes and actions; an action's owner may update its
  status.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ehcase.models import Membership, Role, User
from ehcase.permissions import roles_for
from pathway.models import Episode
from pathway.permissions import can_manage_episode, episode_for_user

from .models import Assessment, AssessmentPdfJob, ConsentRecord, PlanAction, PlanOutcome


def action_for_user(*, user: User, action_id: int | str) -> PlanAction:
    try:
        action_id = int(action_id)
    except (TypeError, ValueError):
        raise Http404 from None
    episode_id = PlanAction.objects.filter(pk=action_id).values_list("episode_id", flat=True).first()
    if episode_id is None:
        raise Http404
    episode = episode_for_user(user=user, episode_id=episode_id)
    action = PlanAction.objects.select_related("owner_user", "owner_agency", "owner_person").get(pk=action_id)
    action.episode = episode
    return action


def require_update_action(*, user: User, action: PlanAction) -> None:
    if action.owner_user_id == user.pk or can_manage_episode(user=user, episode=action.episode):
        return
    raise PermissionDenied("Only the action's owner or the lead professional can update it")


# --- Assessments, consent and plan outcomes ----------------------------------------------------------


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


def assessment_for_user(*, user: User, assessment_id: int | str) -> Assessment:
    """The assessment if the user may see its family; otherwise 404."""
    assessment_id = _int_or_404(assessment_id)
    episode_id = Assessment.objects.filter(pk=assessment_id).values_list("episode_id", flat=True).first()
    if episode_id is None:
        raise Http404
    episode = episode_for_user(user=user, episode_id=episode_id)
    assessment = Assessment.objects.select_related("template", "assessor", "signed_off_by", "updated_by").get(
        pk=assessment_id
    )
    assessment.episode = episode
    return assessment


def pdf_job_for_user(*, user: User, job_id: int | str) -> AssessmentPdfJob:
    """An assessment PDF job, only for the user who asked for it, while they may still see the family
    and until it expires; 404 otherwise (the same answer whatever the reason). The file itself is not
    loaded."""
    from django.utils import timezone

    job_id = _int_or_404(job_id)
    job = (
        AssessmentPdfJob.objects.filter(pk=job_id, requested_by_id=user.pk, expires_at__gt=timezone.now())
        .select_related("version")
        .defer("content")
        .first()
    )
    if job is None:
        raise Http404
    job.assessment = assessment_for_user(user=user, assessment_id=job.assessment_id)
    return job


def consent_for_user(*, user: User, consent_id: int | str) -> ConsentRecord:
    """A consent record if the user may see its family; otherwise 404."""
    consent_id = _int_or_404(consent_id)
    episode_id = ConsentRecord.objects.filter(pk=consent_id).values_list("episode_id", flat=True).first()
    if episode_id is None:
        raise Http404
    episode = episode_for_user(user=user, episode_id=episode_id)
    consent = (
        ConsentRecord.objects.select_related("person", "given_by", "recorded_by")
        .defer("evidence")
        .get(pk=consent_id)
    )
    consent.episode = episode
    return consent


def outcome_for_user(*, user: User, outcome_id: int | str) -> PlanOutcome:
    """A plan outcome if the user may see its family; otherwise 404."""
    outcome_id = _int_or_404(outcome_id)
    episode_id = PlanOutcome.objects.filter(pk=outcome_id).values_list("episode_id", flat=True).first()
    if episode_id is None:
        raise Http404
    episode = episode_for_user(user=user, episode_id=episode_id)
    outcome = PlanOutcome.objects.select_related("said_by", "area").get(pk=outcome_id)
    outcome.episode = episode
    return outcome


def require_record_consent(*, user: User, episode: Episode) -> None:
    """Consent is recorded (and withdrawn) by whoever manages the episode."""
    if not can_manage_episode(user=user, episode=episode):
        raise PermissionDenied(
            "Only the lead professional, the assessor or the hub coordinator can record consent"
        )


def can_start_assessment(*, user: User, episode: Episode) -> bool:
    """An assessment is started by a practitioner who manages the episode; they become its assessor."""
    return roles_for(user).is_practitioner and can_manage_episode(user=user, episode=episode)


def require_start_assessment(*, user: User, episode: Episode) -> None:
    if not can_start_assessment(user=user, episode=episode):
        raise PermissionDenied("Only the family's practitioner can start an assessment")


def can_edit_assessment(*, user: User, assessment: Assessment) -> bool:
    """Only the assessor writes the assessment, while they still may change the family."""
    return assessment.assessor_id == user.pk and can_manage_episode(user=user, episode=assessment.episode)


def require_edit_assessment(*, user: User, assessment: Assessment) -> None:
    if not can_edit_assessment(user=user, assessment=assessment):
        raise PermissionDenied("Only the assessor can change this assessment")


def can_sign_off(*, user: User, assessment: Assessment) -> bool:
    """A manager of the assessor's agency, or an early help manager; never the assessor themself."""
    if assessment.assessor_id == user.pk:
        return False
    roles = roles_for(user)
    if Role.EARLY_HELP_MANAGER in roles.roles:
        return True
    if not roles.managed_agency_ids:
        return False
    return Membership.objects.filter(
        user_id=assessment.assessor_id, agency_id__in=roles.managed_agency_ids, role=Role.PRACTITIONER
    ).exists()


def require_sign_off(*, user: User, assessment: Assessment) -> None:
    if not can_sign_off(user=user, assessment=assessment):
        raise PermissionDenied(
            "Only a manager of the assessor's agency or an early help manager can sign off this assessment"
        )


def can_see_sign_off_queue(*, user: User) -> bool:
    """Those who sign assessments off: agency managers and early help managers."""
    roles = roles_for(user)
    return Role.EARLY_HELP_MANAGER in roles.roles or bool(roles.managed_agency_ids)
