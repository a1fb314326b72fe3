"""The access layer: the only place that grants, checks and filters case data by permission.

Policy (docs/access.md): deny by default. A family is visible to
- users holding the guardian object permission ``view_family`` on it (lead professional,
  assessor, TAF members, the practitioner who created the record);
- coordinators of the family's hub;
- agency managers of an agency one of whose practitioners holds ``view_family`` on it;
- early help managers and quality auditors (partnership-wide, read);
- a worker with emergency (break-glass) access to it: read only, until it expires or they end it
  (ehcase.oversight).
System administrators manage users and configuration, not case data.

Lists are filtered through indexed paths: granted ids (UNION ALL) or the hub column (never
guardian's ``get_objects_for_user``, whose OR of subqueries scans every family). Single objects
go through ``family_for_user``: a family the user may not see is a 404, whatever the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now
from django.http import Http404
from guardian.shortcuts import assign_perm, remove_perm

from .models import Family, FamilyUserObjectPermission, Membership, Person, Role, User
from .oversight.models import BreakGlassAccess

VIEW = "view_family"
CHANGE = "change_family"
PARTNERSHIP_READ_ROLES = {Role.EARLY_HELP_MANAGER, Role.QUALITY_AUDITOR}


@dataclass(frozen=True)
class Roles:
    """What a user's memberships entitle them to, read once per request."""

    roles: frozenset[str] = frozenset()
    coordinated_hub_ids: tuple[int, ...] = ()
    managed_agency_ids: tuple[int, ...] = ()
    agency_ids: tuple[int, ...] = ()
    memberships: tuple[Membership, ...] = field(default=(), compare=False)

    @property
    def partnership_wide(self) -> bool:
        return bool(self.roles & PARTNERSHIP_READ_ROLES)

    @property
    def is_practitioner(self) -> bool:
        return Role.PRACTITIONER in self.roles

    @property
    def is_coordinator(self) -> bool:
        return Role.HUB_COORDINATOR in self.roles

    @property
    def is_system_administrator(self) -> bool:
        return Role.SYSTEM_ADMINISTRATOR in self.roles

    @property
    def works_with_families(self) -> bool:
        """Whether the user has any route to case data at all."""
        return self.partnership_wide or bool(
            self.roles & {Role.PRACTITIONER, Role.AGENCY_MANAGER, Role.HUB_COORDINATOR}
        )

    @property
    def can_create_families(self) -> bool:
        return bool(self.roles & {Role.PRACTITIONER, Role.HUB_COORDINATOR})


def roles_for(user: User) -> Roles:
    """The user's roles, cached on the user object for the rest of the request (one query)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Roles()
    cached = getattr(user, "_ehcase_roles", None)
    if cached is not None:
        return cached
    memberships = tuple(Membership.objects.filter(user=user).prefetch_related("hubs"))
    roles = Roles(
        roles=frozenset(m.role for m in memberships),
        coordinated_hub_ids=tuple(
            sorted({h.id for m in memberships if m.role == Role.HUB_COORDINATOR for h in m.hubs.all()})
        ),
        managed_agency_ids=tuple(sorted({m.agency_id for m in memberships if m.role == Role.AGENCY_MANAGER})),
        agency_ids=tuple(sorted({m.agency_id for m in memberships})),
        memberships=memberships,
    )
    user._ehcase_roles = roles  # type: ignore[attr-defined]
    return roles


_PERMISSION_ID_SQL = (
    "SELECT p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id "
    "WHERE ct.app_label = 'ehcase' AND ct.model = 'family' AND p.codename = %s"
)


def _granted_family_ids_sql(user: User, roles: Roles) -> tuple[str, list]:
    """SQL (with params) for the ids of the families granted to the user, or to practitioners of the
    agencies they manage: a UNION ALL of indexed paths (duplicates are harmless inside IN).

    Only table names from model metadata are interpolated; every value is a bound parameter."""
    perm_table = FamilyUserObjectPermission._meta.db_table
    membership_table = Membership._meta.db_table
    parts: list[str] = [
        f"SELECT fp.content_object_id FROM {perm_table} fp "  # noqa: S608
        f"WHERE fp.user_id = %s AND fp.permission_id = ({_PERMISSION_ID_SQL})"
    ]
    params: list = [user.pk, VIEW]
    # Emergency access: the user's own live grants (partial index bg_user_live), never those of the
    # practitioners an agency manager manages. Read only: can_change_family does not look here. The
    # statement's clock, not the transaction's (now()), so that expiry is exact in long transactions.
    parts.append(
        f"SELECT bg.family_id FROM {BreakGlassAccess._meta.db_table} bg "  # noqa: S608
        "WHERE bg.user_id = %s AND bg.ended_at IS NULL "
        "AND bg.started_at <= statement_timestamp() AND bg.expires_at > statement_timestamp()"
    )
    params.append(user.pk)
    if roles.managed_agency_ids:
        parts.append(
            f"SELECT fp.content_object_id FROM {perm_table} fp "  # noqa: S608
            f"JOIN {membership_table} m ON m.user_id = fp.user_id "
            f"WHERE m.agency_id = ANY(%s) AND m.role = %s AND fp.permission_id = ({_PERMISSION_ID_SQL})"
        )
        params.extend([list(roles.managed_agency_ids), Role.PRACTITIONER, VIEW])
    return " UNION ALL ".join(parts), params


def families_visible_to(*, user: User) -> QuerySet[Family]:
    """Every family the user may see. Callers add ordering, search and pagination.

    Granted families are one hashed id set; a coordinator's hubs are a condition on the family row
    itself (hub_id), so a hub of 70,000 families is never materialised as a list of ids."""
    roles = roles_for(user)
    if roles.partnership_wide:
        return Family.objects.all()
    if not roles.works_with_families:
        return Family.objects.none()
    sql, params = _granted_family_ids_sql(user, roles)
    granted = Q(id__in=RawSQL(sql, params))  # noqa: S611 - values are parameters
    if roles.coordinated_hub_ids:
        return Family.objects.filter(Q(hub_id__in=roles.coordinated_hub_ids) | granted)
    return Family.objects.filter(granted)


def family_pairs_visible(*, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (user id, family id) pairs are visible: the rules of `families_visible_to`, for many
    users and families in one query (reminder delivery checks a batch for its recipients at once).

    It must agree with `families_visible_to` for every user and family: tests/notifications/
    test_access_pairs.py compares the two for every persona and family of the demo county."""
    wanted = sorted(set(pairs))
    if not wanted:
        return set()
    perm_table = FamilyUserObjectPermission._meta.db_table
    membership = Membership._meta.db_table
    hubs_of = Membership.hubs.through._meta.db_table
    sql = (
        "WITH p(user_id, family_id) AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[])), "  # noqa: S608
        f"r AS (SELECT p.user_id, p.family_id FROM p JOIN {User._meta.db_table} u "
        "ON u.id = p.user_id AND u.is_active "
        f"JOIN {Family._meta.db_table} f ON f.id = p.family_id) "
        "SELECT r.user_id, r.family_id FROM r "
        f"WHERE EXISTS (SELECT 1 FROM {membership} m WHERE m.user_id = r.user_id AND m.role = ANY(%s)) "
        f"OR (EXISTS (SELECT 1 FROM {membership} m WHERE m.user_id = r.user_id AND m.role = ANY(%s)) AND ("
        f"EXISTS (SELECT 1 FROM {perm_table} fp WHERE fp.user_id = r.user_id "
        f"AND fp.content_object_id = r.family_id AND fp.permission_id = ({_PERMISSION_ID_SQL})) "
        f"OR EXISTS (SELECT 1 FROM {membership} m JOIN {hubs_of} mh ON mh.membership_id = m.id "
        f"JOIN {Family._meta.db_table} f ON f.hub_id = mh.hub_id "
        "WHERE m.user_id = r.user_id AND m.role = %s AND f.id = r.family_id) "
        f"OR EXISTS (SELECT 1 FROM {membership} mgr JOIN {membership} pr "
        "ON pr.agency_id = mgr.agency_id AND pr.role = %s "
        f"JOIN {perm_table} fp ON fp.user_id = pr.user_id "
        "WHERE mgr.user_id = r.user_id AND mgr.role = %s AND fp.content_object_id = r.family_id "
        f"AND fp.permission_id = ({_PERMISSION_ID_SQL})) "
        # Emergency access counts here too, so that this agrees with families_visible_to: a reminder
        # about a family reaches a reader with live emergency access only if it is addressed to them.
        f"OR EXISTS (SELECT 1 FROM {BreakGlassAccess._meta.db_table} bg WHERE bg.user_id = r.user_id "
        "AND bg.family_id = r.family_id AND bg.ended_at IS NULL AND bg.started_at <= statement_timestamp() "
        "AND bg.expires_at > statement_timestamp())))"
    )
    params = [
        [u for u, _ in wanted],
        [f for _, f in wanted],
        sorted(PARTNERSHIP_READ_ROLES),
        [Role.PRACTITIONER, Role.AGENCY_MANAGER, Role.HUB_COORDINATOR],
        VIEW,
        Role.HUB_COORDINATOR,
        Role.PRACTITIONER,
        Role.AGENCY_MANAGER,
        VIEW,
    ]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(int(u), int(f)) for u, f in cursor.fetchall()}


def family_for_user(*, user: User, family_id: int | str) -> Family:
    """The family (with hub and area) if the user may see it; otherwise 404, with no hint of why."""
    try:
        family_id = int(family_id)
    except (TypeError, ValueError):
        raise Http404 from None
    families = families_visible_to(user=user).select_related("hub", "area").filter(pk=family_id)
    if not roles_for(user).partnership_wide:
        # `emergency_access_id`: the live emergency access this user reads the family through, if any
        # (the family pages show a banner); in the same query, over the partial index bg_user_live.
        live = _live_emergency_access(user).values("pk")[:1]
        families = families.annotate(emergency_access_id=Subquery(live))
    # Whether the user holds change_family on it, in the same query: can_change_family reads it.
    grants = _change_grants(user).filter(content_object=OuterRef("pk"))
    families = families.annotate(change_granted=Exists(grants))
    family = families.first()
    if family is None:
        raise Http404
    family.change_granted_to = user.pk
    return family


def _live_emergency_access(user: User) -> QuerySet[BreakGlassAccess]:
    now = Now()
    return BreakGlassAccess.objects.filter(
        user_id=user.pk,
        family_id=OuterRef("pk"),
        ended_at__isnull=True,
        started_at__lte=now,
        expires_at__gt=now,
    )


def can_change_family(*, user: User, family: Family) -> bool:
    """Change rights: holders of ``change_family`` on it (lead professional, assessor, creator)
    and coordinators of its hub. Partnership-wide roles and agency managers read only."""
    roles = roles_for(user)
    if family.hub_id in roles.coordinated_hub_ids:
        return True
    if getattr(family, "change_granted_to", None) == user.pk:
        return family.change_granted  # annotated by family_for_user for this user
    return _change_grants(user).filter(content_object=family).exists()


def _change_grants(user: User) -> QuerySet[FamilyUserObjectPermission]:
    return FamilyUserObjectPermission.objects.filter(user=user, permission__codename=CHANGE)


def require_change_family(*, user: User, family: Family) -> None:
    from django.core.exceptions import PermissionDenied

    if not can_change_family(user=user, family=family):
        raise PermissionDenied("You can see this family's record but not change it")


def people_visible_to(*, user: User) -> QuerySet[Person]:
    """People who are or were members of a family the user may see."""
    roles = roles_for(user)
    if roles.partnership_wide:
        return Person.objects.all()
    if not roles.works_with_families:
        return Person.objects.none()
    return Person.objects.filter(memberships__family__in=families_visible_to(user=user)).distinct()


def person_for_user(*, user: User, person_id: int | str) -> Person:
    try:
        person_id = int(person_id)
    except (TypeError, ValueError):
        raise Http404 from None
    person = people_visible_to(user=user).filter(pk=person_id).first()
    if person is None:
        raise Http404
    return person


def grant_family_access(
    *, user: User, family: Family, change: bool = False, actor: User | None = None
) -> None:
    """Give a worker the family's record (TAF membership, allocation, lead professional). Audited."""
    from .audit import audit_record
    from .models import AuditAction

    assign_perm(VIEW, user, family)
    if change:
        assign_perm(CHANGE, user, family)
    audit_record(
        actor=actor,
        action=AuditAction.GRANT,
        obj=user,
        family_id=family.pk,
        summary=f"{'Read and change' if change else 'Read'} access for {user.username}",
    )


def revoke_family_access(*, user: User, family: Family, actor: User | None = None) -> None:
    """Take the family's record away from a worker (they get 404 from the next request). Audited."""
    from .audit import audit_record
    from .models import AuditAction

    remove_perm(VIEW, user, family)
    remove_perm(CHANGE, user, family)
    audit_record(
        actor=actor,
        action=AuditAction.REVOKE,
        obj=user,
        family_id=family.pk,
        summary=f"Access removed for {user.username}",
    )


def can_manage_users(*, user: User) -> bool:
    return roles_for(user).is_system_administrator
