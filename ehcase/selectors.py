"""Reads of core case data. Every function takes the acting user and returns only what they may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from pathway.models import Episode

from .models import AuditEvent, Family, FamilyMember, Relationship, User
from .permissions import can_change_family, families_visible_to, family_for_user


def family_search(*, user: User, text: str = "", date_of_birth: dt.date | None = None) -> QuerySet[Family]:
    """Visible families matching every word of `text` (family or member name, reference, postcode)
    and, when given, with a member born on `date_of_birth`. Ordered by name, with member counts."""
    families = families_visible_to(user=user)
    if date_of_birth:
        visible_members = FamilyMember.objects.filter(family__in=families.values("id"))
        families = families.filter(
            id__in=visible_members.filter(person__date_of_birth=date_of_birth).values("family_id")
        )
    # Member matches are looked for among the members of the families still in the running (visible,
    # and with someone born on the date when one is given), so that a common name costs what the user
    # can see, or the few families of that date, rather than what the partnership holds. No ordering
    # inside the subqueries: their rows only feed IN (...).
    members = FamilyMember.objects.filter(family__in=families.order_by().values("id")).order_by()
    words = text.split()
    if len(words) == 1 and words[0].upper().startswith("F-"):
        families = families.filter(reference__iexact=words[0])
    else:
        compact = "".join(words).upper()
        for word in words:
            by_member = members.filter(
                Q(person__last_name__icontains=word)
                | Q(person__first_name__icontains=word)
                | Q(person__known_as__icontains=word)
            ).values("family_id")
            by_family = Q(name__icontains=word)
            if any(c.isdigit() for c in word):
                by_family |= Q(postcode__istartswith=word) | Q(postcode__iexact=compact)
            # A UNION of two indexed lookups rather than an OR, which would test every family row.
            matches = families.filter(by_family).order_by().values("id").union(by_member, all=True)
            families = families.filter(id__in=matches)
    # A correlated count per row of the page, not a JOIN + GROUP BY: the paginator's COUNT(*)
    # then drops it and stays a plain indexed count.
    current_members = (
        FamilyMember.objects.filter(family=OuterRef("pk"), end_date__isnull=True)
        .order_by()
        .values("family")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        families.select_related("area", "hub")
        .annotate(current_members=Coalesce(Subquery(current_members), 0))
        .order_by("name", "id")
    )


@dataclass
class FamilyRecord:
    family: Family
    current_members: list[FamilyMember]
    past_members: list[FamilyMember]
    relationships: list[Relationship]
    episodes: list[Episode]
    recent_audit: list[AuditEvent]
    can_change: bool

    @property
    def can_open_episode(self) -> bool:
        """Whether the page offers to start early help: no open episode and change rights."""
        return self.can_change and not any(e.is_open for e in self.episodes)


def family_record(*, user: User, family_id: int | str) -> FamilyRecord:
    """Everything the family page shows, in a fixed number of queries whatever the family's size."""
    family = family_for_user(user=user, family_id=family_id)
    members = list(
        FamilyMember.objects.filter(family=family)
        .select_related("person")
        .order_by("role", "person__date_of_birth")
    )
    relationships = list(
        Relationship.objects.filter(family=family).select_related("from_person", "to_person").order_by("id")
    )
    episodes = list(
        Episode.objects.filter(family=family)
        .select_related("level", "lead_professional")
        .order_by("-opened_on")
    )
    recent_audit = family_recent_audit(family=family)
    return FamilyRecord(
        family=family,
        current_members=[m for m in members if m.is_current],
        past_members=[m for m in members if not m.is_current],
        relationships=relationships,
        episodes=episodes,
        recent_audit=recent_audit,
        can_change=can_change_family(user=user, family=family),
    )


RECENT_AUDIT_DAYS = 366


def family_recent_audit(*, family: Family, size: int = 10) -> list[AuditEvent]:
    """The family's latest `size` audit events, newest first, for its page (the caller has passed
    family_for_user). The audit table has a partition per month (docs/audit.md): a query on family_id
    alone plans and probes every partition, tens of milliseconds with 25 years of months. The last
    RECENT_AUDIT_DAYS are read first, with constant bounds that PostgreSQL prunes at planning; older
    months only when those hold fewer than `size` events and the family is older than that (a second
    query). Events dated more than a day ahead (a clock set wrong) are left to the full history."""
    now = timezone.now()
    since = now - dt.timedelta(days=RECENT_AUDIT_DAYS)
    events = AuditEvent.objects.filter(family_id=family.pk).order_by("-occurred_at", "-id")
    recent = list(events.filter(occurred_at__gte=since, occurred_at__lt=now + dt.timedelta(days=1))[:size])
    if len(recent) < size and family.created_at < since:
        recent += list(events.filter(occurred_at__lt=since)[: size - len(recent)])
    return recent


def family_audit(*, user: User, family: Family) -> QuerySet[AuditEvent]:
    """The family's audit trail; the caller has already passed family_for_user."""
    return AuditEvent.objects.filter(family_id=family.pk).order_by("-occurred_at", "-id")
