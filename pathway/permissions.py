"""Access to the pathway. Everything under an episode is part of its family's record, so visibility is
the family's (ehcase.permissions); these helpers add who may act on the pathway.

- Read: anyone who may see the family.
- Manage (TAF, meetings, lead professional, needs, baseline, reviews, step up, closure): those who may
  change the family: the lead professional, the assessor and the hub's coordinators.
- Case notes: anyone working with the family: those who may change it and the TAF (view grant).
- Open an episode directly (start an assessment with consent) or accept a step down: practitioners and
  coordinators who may change the family.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from ehcase.models import FamilyUserObjectPermission, User
from ehcase.permissions import can_change_family, families_visible_to, family_for_user, roles_for

from .models import Episode, TafMeeting, TafMember


def episode_for_user(*, user: User, episode_id: int | str) -> Episode:
    """The episode if the user may see its family; otherwise 404."""
    try:
        episode_id = int(episode_id)
    except (TypeError, ValueError):
        raise Http404 from None
    family_id = Episode.objects.filter(pk=episode_id).values_list("family_id", flat=True).first()
    if family_id is None:
        raise Http404
    family = family_for_user(user=user, family_id=family_id)
    episode = Episode.objects.select_related("level", "lead_professional", "assessor").get(pk=episode_id)
    episode.family = family
    return episode


def episodes_visible_to(*, user: User) -> QuerySet[Episode]:
    """Episodes of the families the user may see: the family filter is the access layer's indexed
    path, so a list never reaches an episode of a family the user may not see."""
    return Episode.objects.filter(family__in=families_visible_to(user=user))


def taf_member_for_user(*, user: User, member_id: int | str) -> TafMember:
    """A member of a TAF, if the user may see the episode's family; otherwise 404."""
    try:
        member_id = int(member_id)
    except (TypeError, ValueError):
        raise Http404 from None
    episode_id = TafMember.objects.filter(pk=member_id).values_list("episode_id", flat=True).first()
    if episode_id is None:
        raise Http404
    episode = episode_for_user(user=user, episode_id=episode_id)
    member = TafMember.objects.select_related("user", "person", "agency").get(pk=member_id)
    member.episode = episode
    return member


def meeting_for_user(*, user: User, meeting_id: int | str) -> TafMeeting:
    try:
        meeting_id = int(meeting_id)
    except (TypeError, ValueError):
        raise Http404 from None
    episode_id = TafMeeting.objects.filter(pk=meeting_id).values_list("episode_id", flat=True).first()
    if episode_id is None:
        raise Http404
    episode = episode_for_user(user=user, episode_id=episode_id)
    meeting = TafMeeting.objects.get(pk=meeting_id)
    meeting.episode = episode
    return meeting


def can_manage_episode(*, user: User, episode: Episode) -> bool:
    return can_change_family(user=user, family=episode.family)


def require_manage_episode(*, user: User, episode: Episode) -> None:
    if not can_manage_episode(user=user, episode=episode):
        raise PermissionDenied(
            "Only the lead professional, the assessor or the hub coordinator can change this family's "
            "early help"
        )


def can_add_case_note(*, user: User, family) -> bool:
    if can_change_family(user=user, family=family):
        return True
    return (
        FamilyUserObjectPermission.objects.filter(
            user=user, content_object=family, permission__codename="view_family"
        ).exists()
        and roles_for(user).is_practitioner
    )


def require_case_note(*, user: User, family) -> None:
    if not can_add_case_note(user=user, family=family):
        raise PermissionDenied("Only people working with the family can add case notes")


def require_open_episode_rights(*, user: User, family) -> None:
    roles = roles_for(user)
    if not (roles.is_practitioner or roles.is_coordinator) or not can_change_family(user=user, family=family):
        raise PermissionDenied(
            "Only the family's practitioner or hub coordinator can open early help for them"
        )
