"""Who may see and act on retention (docs/retention.md).

- Early help managers: the records due for destruction, legal holds and the destruction log; they
  approve or defer destruction and place and lift legal holds.
- Quality auditors: read the same pages (they audit that the rules are followed), and get 403 for
  every decision.
- Everyone else, system administrators included, gets 404: the pages name families.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ehcase.models import Role, User
from ehcase.permissions import roles_for


def can_read_retention(*, user: User) -> bool:
    return bool(roles_for(user).roles & {Role.EARLY_HELP_MANAGER, Role.QUALITY_AUDITOR})


def can_decide_retention(*, user: User) -> bool:
    return Role.EARLY_HELP_MANAGER in roles_for(user).roles


def require_read_retention(*, user: User) -> None:
    """404 for anyone who may not see the retention pages at all."""
    if not can_read_retention(user=user):
        raise Http404


def require_decide_retention(*, user: User) -> None:
    """404 for those who may not see; 403 for auditors, who may see but not decide."""
    require_read_retention(user=user)
    if not can_decide_retention(user=user):
        raise PermissionDenied("Only an early help manager can make retention decisions")
