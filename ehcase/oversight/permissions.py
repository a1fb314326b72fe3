"""Who may use emergency access, review it, read the audit trail and the access alerts.

- Ask for emergency access: anyone who works with families without a partnership-wide role
  (practitioners, hub coordinators, agency managers). Partnership-wide roles already read every
  family; system administrators never read case data.
- Emergency access uses: early help managers and quality auditors see all; agency managers see their
  own agencies' staff's uses (not their own). Early help managers and agency managers mark a use as
  reviewed (never their own); auditors read.
- The audit viewer and the access alerts: early help managers and quality auditors; early help
  managers mark alerts as reviewed.

Not allowed to see → 404 (the same page whether the object exists or not); may see but not act → 403.
The family record itself is always reached through ehcase.permissions.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from ehcase.models import Membership, Role, User
from ehcase.permissions import roles_for

from .models import AccessAlert, BreakGlassAccess

WORKER_ROLES = frozenset({Role.PRACTITIONER, Role.HUB_COORDINATOR, Role.AGENCY_MANAGER})


def _int(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


def can_request_break_glass(*, user: User) -> bool:
    roles = roles_for(user)
    return (
        bool(roles.roles & WORKER_ROLES) and not roles.partnership_wide and not roles.is_system_administrator
    )


def require_request_break_glass(*, user: User) -> None:
    if not can_request_break_glass(user=user):
        raise Http404


def is_early_help_manager(*, user: User) -> bool:
    return Role.EARLY_HELP_MANAGER in roles_for(user).roles


def can_oversee(*, user: User) -> bool:
    """The audit viewer and the access alerts: early help managers and quality auditors."""
    return roles_for(user).partnership_wide


def require_oversee(*, user: User) -> None:
    if not can_oversee(user=user):
        raise Http404


def can_see_break_glass_uses(*, user: User) -> bool:
    roles = roles_for(user)
    return roles.partnership_wide or bool(roles.managed_agency_ids)


def require_see_break_glass_uses(*, user: User) -> None:
    if not can_see_break_glass_uses(user=user):
        raise Http404


def break_glass_uses_visible_to(*, user: User) -> QuerySet[BreakGlassAccess]:
    """The emergency access uses the user may see on the review page (nothing for everyone else)."""
    roles = roles_for(user)
    if roles.partnership_wide:
        return BreakGlassAccess.objects.all()
    if roles.managed_agency_ids:
        staff = Membership.objects.filter(agency_id__in=roles.managed_agency_ids).values("user_id")
        return BreakGlassAccess.objects.filter(user_id__in=staff).exclude(user_id=user.pk)
    return BreakGlassAccess.objects.none()


def break_glass_for_reviewer(*, user: User, access_id: int | str) -> BreakGlassAccess:
    access = (
        break_glass_uses_visible_to(user=user)
        .select_related("user", "family", "reviewed_by")
        .filter(pk=_int(access_id))
        .first()
    )
    if access is None:
        raise Http404
    return access


def can_review_break_glass(*, user: User, access: BreakGlassAccess) -> bool:
    """Early help managers and managers of the user's agency (`access` passed break_glass_for_reviewer);
    never one's own use, and not auditors (they read)."""
    roles = roles_for(user)
    if access.user_id == user.pk:
        return False
    return Role.EARLY_HELP_MANAGER in roles.roles or bool(roles.managed_agency_ids)


def require_review_break_glass(*, user: User, access: BreakGlassAccess) -> None:
    if not can_review_break_glass(user=user, access=access):
        raise PermissionDenied(
            "Only an early help manager or the person's manager can review emergency access"
        )


def own_break_glass(*, user: User, access_id: int | str) -> BreakGlassAccess:
    """One of the user's own emergency accesses; anyone else's is a 404."""
    access = BreakGlassAccess.objects.filter(pk=_int(access_id), user_id=user.pk).first()
    if access is None or not getattr(user, "is_authenticated", False):
        raise Http404
    return access


def alert_for_user(*, user: User, alert_id: int | str) -> AccessAlert:
    require_oversee(user=user)
    alert = AccessAlert.objects.select_related("user", "reviewed_by").filter(pk=_int(alert_id)).first()
    if alert is None:
        raise Http404
    return alert


def require_review_alert(*, user: User) -> None:
    if not is_early_help_manager(user=user):
        raise PermissionDenied("Only an early help manager can review access alerts")
