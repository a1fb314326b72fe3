"""Reads for oversight: the emergency access review list, the audit trail search and the access alerts.
Each takes the acting user and returns only what they may see (ehcase.oversight.permissions); each page
costs a fixed number of queries whatever its rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from ehcase.models import AuditEvent, Family, User

from .models import AccessAlert, BreakGlassAccess
from .permissions import break_glass_uses_visible_to, can_oversee

PAGE_SIZE = 50


def live(queryset: QuerySet[BreakGlassAccess]) -> QuerySet[BreakGlassAccess]:
    now = Now()
    return queryset.filter(ended_at__isnull=True, started_at__lte=now, expires_at__gt=now)


def break_glass_review_list(*, user: User) -> QuerySet[BreakGlassAccess]:
    """The uses the user may see: active first, then not yet reviewed, then reviewed; newest first in
    each. One query per page (user, family and reviewer joined)."""
    now = Now()
    group = Case(
        When(ended_at__isnull=True, started_at__lte=now, expires_at__gt=now, then=Value(0)),
        When(reviewed_at__isnull=True, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        break_glass_uses_visible_to(user=user)
        .select_related("user", "family", "reviewed_by")
        .annotate(group=group)
        .order_by("group", "-started_at", "-id")
    )


def own_live_break_glass(*, user: User) -> list[BreakGlassAccess]:
    """The user's own live emergency accesses (for the request page), with the family."""
    return list(live(BreakGlassAccess.objects.filter(user_id=user.pk)).select_related("family"))


@dataclass(frozen=True)
class AuditFilters:
    username: str = ""
    reference: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    action: str = ""

    def as_audit(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in vars(self).items() if v}


def audit_search(*, user: User, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Audit events matching the filters, newest first, each with the family's `family_reference`
    (a correlated lookup in the same query). Early help managers and auditors only: anyone else gets
    nothing. The caller slices a page (no COUNT over the whole trail)."""
    if not can_oversee(user=user):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.all()
    if filters.username:
        events = events.filter(actor_username__iexact=filters.username)
    if filters.reference:
        events = events.filter(
            family_id__in=Family.objects.filter(reference__iexact=filters.reference).values("id")
        )
    if filters.date_from:
        start = timezone.make_aware(dt.datetime.combine(filters.date_from, dt.time.min))
        events = events.filter(occurred_at__gte=start)
    if filters.date_to:
        end = timezone.make_aware(dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min))
        events = events.filter(occurred_at__lt=end)
    if filters.action:
        events = events.filter(action=filters.action)
    reference = Family.objects.filter(pk=OuterRef("family_id")).values("reference")[:1]
    return events.annotate(family_reference=Subquery(reference)).order_by("-occurred_at", "-id")


def page_of(queryset: QuerySet, page: int, size: int = PAGE_SIZE) -> tuple[list, bool]:
    """Rows of a page and whether there is a next one: one query (size + 1 rows), no COUNT."""
    start = (page - 1) * size
    rows = list(queryset[start : start + size + 1])
    return rows[:size], len(rows) > size


def alerts_list(*, user: User) -> QuerySet[AccessAlert]:
    """Access alerts, not yet reviewed first, newest first. Early help managers and auditors only."""
    if not can_oversee(user=user):
        return AccessAlert.objects.none()
    unreviewed = Case(
        When(reviewed_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        AccessAlert.objects.select_related("user", "reviewed_by")
        .annotate(group=unreviewed)
        .order_by("group", "-day", "-id")
    )


def references_for(family_ids) -> dict[int, str]:
    """Family references for ids (one query). For pages seen only by partnership-wide readers."""
    ids = sorted({i for i in family_ids if i is not None})
    if not ids:
        return {}
    return dict(Family.objects.filter(id__in=ids).values_list("id", "reference"))
