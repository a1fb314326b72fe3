"""Who may act on the family plan: the episode's managers (lead professional, assessor, hub
coordinator) add and change actions; an action's owner may update its status."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ehcase.models import User
from pathway.permissions import can_manage_episode, episode_for_user

from .models import PlanAction


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
