"""Who may do what with Supporting Families claims (pathway.claims).

A claim is part of its family's record, so seeing one follows the family (ehcase.permissions); these
helpers add who may act on claims:

- Read: anyone who may see the family (the claims are listed on the episode page).
- Draft (start a claim, change a draft): the episode's lead professional, for their own episode, and
  early help managers.
- Change the status (verify, send back, submit, record a rejection, reopen): early help managers only.
  The claim is the council's payment claim to the national programme, so the partnership's early help
  manager answers for it; hub coordinators, agency managers and auditors read.

Not visible → 404 (the same page whether the claim exists or not); visible but not allowed → 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ehcase.models import Role, User
from ehcase.permissions import roles_for

from .models import Episode, SupportingFamiliesClaim
from .permissions import episode_for_user


def claim_for_user(*, user: User, claim_id: int | str) -> SupportingFamiliesClaim:
    """The claim, with its episode through the access layer, if the user may see the family;
    otherwise 404."""
    try:
        claim_id = int(claim_id)
    except (TypeError, ValueError):
        raise Http404 from None
    episode_id = (
        SupportingFamiliesClaim.objects.filter(pk=claim_id).values_list("episode_id", flat=True).first()
    )
    if episode_id is None:
        raise Http404
    episode = episode_for_user(user=user, episode_id=episode_id)
    claim = SupportingFamiliesClaim.objects.select_related("created_by", "updated_by").get(pk=claim_id)
    claim.episode = episode
    claim.family = episode.family
    return claim


def is_early_help_manager(*, user: User) -> bool:
    return Role.EARLY_HELP_MANAGER in roles_for(user).roles


def can_draft_claim(*, user: User, episode: Episode) -> bool:
    """The episode's (current) lead professional, or an early help manager. `episode` has passed
    episode_for_user, so the user may already see the family."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return (episode.lead_professional_id is not None and episode.lead_professional_id == user.pk) or (
        is_early_help_manager(user=user)
    )


def require_draft_claim(*, user: User, episode: Episode) -> None:
    if not can_draft_claim(user=user, episode=episode):
        raise PermissionDenied(
            "Only the lead professional or an early help manager can prepare a Supporting Families claim"
        )


def can_change_claim_status(*, user: User) -> bool:
    """Verify, send back, submit, record a rejection, reopen: early help managers only."""
    return is_early_help_manager(user=user)


def require_change_claim_status(*, user: User) -> None:
    if not can_change_claim_status(user=user):
        raise PermissionDenied(
            "Only an early help manager can verify, submit or record the outcome of a claim"
        )
