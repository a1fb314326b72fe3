"""Who may see which performance figures (docs/reporting.md, DESIGN.md §4 and §6).

- Early help managers and quality auditors: any scope (every hub and agency, any hub, any agency, both).
- Agency managers: the figures of an agency they manage, for every hub or any one hub (the agency is
  fixed; with no agency asked for, the first one they manage).
- Hub coordinators: the figures of a hub they coordinate, for every agency or any one agency (the hub is
  fixed; with no hub asked for, the first one they coordinate).
- Someone with both roles may use either.
- Practitioners, system administrators and everyone else: no dashboards, exports or API (404).

Asking for a scope you may not see is a 404, the same answer as a hub or agency that does not exist.
Figures are aggregates; the families behind a figure are filtered again by the family access rules
(ehcase.permissions.families_visible_to) in the drill-down.

Roles come from `roles_for`, cached on the user for the request: checking access costs no query beyond
the one the page already makes for the navigation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404, HttpRequest
from django.utils import timezone

from ehcase.models import Agency, Role, User
from ehcase.permissions import roles_for
from hubs.models import Hub

from .indicators import Scope
from .quarters import Quarter


@dataclass(frozen=True)
class ReportingAccess:
    """What a user may see of the performance figures.

    `all_hubs` and `all_agencies` are both true for partnership-wide roles (any scope at all).
    `hub_ids`: hubs whose figures they may see for any agency (hub coordinators).
    `agency_ids`: agencies whose figures they may see for any hub (agency managers).
    """

    all_hubs: bool
    all_agencies: bool
    hub_ids: tuple[int, ...]
    agency_ids: tuple[int, ...]

    @property
    def partnership_wide(self) -> bool:
        return self.all_hubs and self.all_agencies

    def allows(self, scope: Scope) -> bool:
        """Whether the scope (hub id or None for every hub, agency id or None for every agency) is visible."""
        if self.partnership_wide:
            return True
        if scope.agency_id is not None and scope.agency_id in self.agency_ids:
            return True
        if scope.hub_id is not None and scope.hub_id in self.hub_ids:
            return True
        # Partnership-wide in one dimension only (not a role today, kept coherent for the future).
        if self.all_hubs and scope.hub_id is None and scope.agency_id in self.agency_ids:
            return True
        return bool(self.all_agencies and scope.agency_id is None and scope.hub_id in self.hub_ids)

    @property
    def hub_fixed(self) -> bool:
        """A hub coordinator only: the hub is always one of theirs (no free hub filter)."""
        return not self.all_hubs and not self.agency_ids

    @property
    def agency_fixed(self) -> bool:
        """An agency manager only: the agency is always one of theirs (no free agency filter)."""
        return not self.all_agencies and not self.hub_ids


def reporting_access(user: User) -> ReportingAccess | None:
    """The user's access to performance figures, or None when they may not see any (practitioners,
    system administrators, anyone signed out or inactive). No query beyond `roles_for`'s (cached)."""
    roles = roles_for(user)
    if roles.partnership_wide:
        return ReportingAccess(all_hubs=True, all_agencies=True, hub_ids=(), agency_ids=())
    if roles.coordinated_hub_ids or roles.managed_agency_ids:
        return ReportingAccess(
            all_hubs=False,
            all_agencies=False,
            hub_ids=tuple(roles.coordinated_hub_ids),
            agency_ids=tuple(roles.managed_agency_ids),
        )
    return None


def require_reporting_access(user: User) -> ReportingAccess:
    """The user's access, or 404 for anyone who may not see dashboards (the same page as a missing one)."""
    access = reporting_access(user)
    if access is None:
        raise Http404
    return access


def _parse_id(value: str | int | None) -> int | None:
    """A hub or agency id from a query string: blank means "all"; anything but a positive integer is a 404."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Http404
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if not text:
            return None
        if not text.isdigit() or len(text) > 12:
            raise Http404
        number = int(text)
    if number <= 0:
        raise Http404
    return number


def scope_for(user: User, *, hub: str | int | None, agency: str | int | None) -> Scope:
    """The scope the user asked for, with their fixed hub or agency filled in, or 404.

    Agency managers get their agency fixed (the first they manage when none is given) and may choose any
    hub; coordinators get their hub fixed (the first they coordinate) and may choose any agency. A hub or
    agency that does not exist is a 404 like one the user may not see (so no snapshot is ever stored for
    an id that means nothing)."""
    access = require_reporting_access(user)
    hub_id, agency_id = _parse_id(hub), _parse_id(agency)
    scope = Scope(hub_id=hub_id, agency_id=agency_id)
    if not access.allows(scope):
        if agency_id is None and access.agency_ids:
            scope = Scope(hub_id=hub_id, agency_id=access.agency_ids[0])
        elif hub_id is None and access.hub_ids:
            scope = Scope(hub_id=access.hub_ids[0], agency_id=agency_id)
        else:
            raise Http404
    # The ids the user was given by their memberships exist; check the others (at most two small queries).
    if scope.hub_id is not None and scope.hub_id not in access.hub_ids:
        if not Hub.objects.filter(pk=scope.hub_id).exists():
            raise Http404
    if scope.agency_id is not None and scope.agency_id not in access.agency_ids:
        if not Agency.objects.filter(pk=scope.agency_id).exists():
            raise Http404
    return scope


def parse_quarter(value: str | None, *, today: dt.date | None = None) -> Quarter:
    """The quarter named by a query string value (its slug), the default (the last one ended) when blank.
    Raises ValueError for anything else, and for a quarter that has not started yet; the callers decide
    between a 404 and a form error."""
    today = today or timezone.localdate()
    if value is None or not value.strip():
        return Quarter.default(today)
    quarter = Quarter.parse(value)
    if quarter > Quarter.containing(today):
        # A quarter that has not started has no figures (and must not leave a snapshot behind).
        raise ValueError(f"{quarter.label} has not started")
    return quarter


def request_scope(request: HttpRequest) -> tuple[Quarter, Scope]:
    """The quarter and scope of a reporting request (GET `quarter`, `hub`, `agency`): the access check
    first (404 for anyone without reporting access, before anything about the query is revealed), then a
    bad quarter or a scope the user may not see is a 404. The dashboard page itself shows a GOV.UK error
    for a bad quarter instead."""
    require_reporting_access(request.user)  # type: ignore[arg-type]
    try:
        quarter = parse_quarter(request.GET.get("quarter"))
    except ValueError:
        raise Http404 from None
    scope = scope_for(request.user, hub=request.GET.get("hub"), agency=request.GET.get("agency"))  # type: ignore[arg-type]
    return quarter, scope


def hub_choices(access: ReportingAccess) -> list[Hub]:
    """The hubs the user may pick in the hub filter (one query): every hub, unless they only coordinate."""
    if access.hub_fixed:
        return list(Hub.objects.filter(pk__in=access.hub_ids).order_by("name", "id"))
    return list(Hub.objects.order_by("name", "id"))


def agency_choices(access: ReportingAccess) -> list[Agency]:
    """The agencies the user may pick in the agency filter (one query): every agency, unless they only
    manage agencies (then only theirs)."""
    if access.agency_fixed:
        return list(Agency.objects.filter(pk__in=access.agency_ids).order_by("name", "id"))
    return list(Agency.objects.order_by("name", "id"))


def may_write_commentary(user: User, scope: Scope) -> bool:
    """Whether the user may save commentary for this scope's board pack (they may already see it):
    early help managers for any scope; agency managers for a scope fixed to an agency they manage; hub
    coordinators for a scope fixed to a hub they coordinate. Quality auditors read only."""
    roles = roles_for(user)
    if Role.EARLY_HELP_MANAGER in roles.roles:
        return True
    if scope.agency_id is not None and scope.agency_id in roles.managed_agency_ids:
        return True
    return scope.hub_id is not None and scope.hub_id in roles.coordinated_hub_ids


def scope_query(quarter: Quarter, scope: Scope, **extra) -> str:
    """The query string request_scope reads back: quarter, hub and agency (blank for all), then `extra`."""
    params = {"quarter": quarter.slug, "hub": scope.hub_id or "", "agency": scope.agency_id or ""}
    params.update({k: v for k, v in extra.items() if v is not None})
    return urlencode(params)
