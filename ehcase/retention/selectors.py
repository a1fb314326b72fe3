"""Reads for retention: which records are due (the SQL the scan and the destruction share), and the
lists the retention pages show. Only early help managers and quality auditors reach these lists
(ehcase.retention.permissions); they carry family references and names, which both roles may see
partnership-wide."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from assessments.models import ConsentRecord
from ehcase.models import Family, FamilyMember, HouseholdRole, Person
from hubs.models import RequestForSupport, TriageDecision
from pathway.models import Episode, EpisodeStatus

from .models import (
    OPEN_REVIEW_STATUSES,
    DestructionLog,
    DestructionReview,
    LegalHold,
    RecordClass,
    RetentionRule,
)

PAGE_SIZE = 50


def _t(model) -> str:
    return model._meta.db_table


def active_rules() -> dict[str, RetentionRule]:
    return {rule.record_class: rule for rule in RetentionRule.objects.filter(active=True)}


def family_due_sql(
    *,
    family_rule: RetentionRule,
    child_rule: RetentionRule | None,
    today: dt.date,
    family_id: int | None = None,
) -> tuple[str, list]:
    """SQL (with params) for the families due for destruction on `today`: columns id, reference,
    due_on, basis. One statement over indexed per-family lookups; `family_id` narrows it to one family
    (the destruction's second look).

    A family is due when it has no open episode, no legal hold in place, and both of these dates have
    passed (the later decides):
    - the family rule: its last activity (the latest of the record's creation or last change, an
      episode's closure, a request for support received or decided) + the rule's years;
    - the child rule: its youngest child's date of birth (or expected date of birth) + the rule's
      years, when the child rule is active."""
    tz = settings.TIME_ZONE
    only = "AND f.id = %s" if family_id is not None else ""
    child_years = child_rule.years if child_rule is not None else None
    sql = f"""
        WITH basis AS (
            SELECT f.id, f.reference,
                GREATEST(
                    (f.created_at AT TIME ZONE %s)::date,
                    (f.updated_at AT TIME ZONE %s)::date,
                    (SELECT max(e.closed_on) FROM {_t(Episode)} e WHERE e.family_id = f.id),
                    (SELECT max(r.received_on) FROM {_t(RequestForSupport)} r WHERE r.family_id = f.id),
                    (SELECT max(d.decided_on) FROM {_t(TriageDecision)} d
                        JOIN {_t(RequestForSupport)} r ON r.id = d.request_id WHERE r.family_id = f.id)
                ) AS last_activity,
                (SELECT max(e.closed_on) FROM {_t(Episode)} e WHERE e.family_id = f.id) AS last_closure,
                (SELECT max(COALESCE(p.date_of_birth, p.expected_date_of_birth))
                    FROM {_t(FamilyMember)} m JOIN {_t(Person)} p ON p.id = m.person_id
                    WHERE m.family_id = f.id AND m.role = %s) AS youngest_child_born
            FROM {_t(Family)} f
            WHERE NOT EXISTS (
                    SELECT 1 FROM {_t(Episode)} e WHERE e.family_id = f.id AND e.status <> %s)
                AND NOT EXISTS (
                    SELECT 1 FROM {_t(LegalHold)} h WHERE h.family_id = f.id AND h.lifted_at IS NULL)
                {only}
        ), dates AS (
            SELECT id, reference, last_activity, last_closure,
                (last_activity + make_interval(years => %s))::date AS family_due,
                CASE WHEN %s::int IS NOT NULL
                    THEN (youngest_child_born + make_interval(years => %s::int))::date END AS child_due
            FROM basis
        )
        SELECT id, reference, GREATEST(family_due, child_due) AS due_on,
            CASE
                WHEN child_due > family_due THEN 'The youngest child reaches ' || %s::int || ' (child rule)'
                WHEN last_closure = last_activity
                    THEN 'Last episode closed on ' || to_char(last_closure, 'FMDD FMMonth YYYY')
                ELSE 'Last activity on ' || to_char(last_activity, 'FMDD FMMonth YYYY')
            END AS basis
        FROM dates
        WHERE GREATEST(family_due, child_due) <= %s
    """  # noqa: S608 - table names from model metadata; every value is a parameter
    params: list = [tz, tz, HouseholdRole.CHILD, EpisodeStatus.CLOSED]
    if family_id is not None:
        params.append(family_id)
    params += [family_rule.years, child_years, child_years, child_years, today]
    return sql, params


def family_due_on(*, family_id: int, today: dt.date) -> dt.date | None:
    """The date the family became due for destruction, if it is due today (and not held), else None."""
    rules = active_rules()
    if RecordClass.FAMILY not in rules:
        return None
    sql, params = family_due_sql(
        family_rule=rules[RecordClass.FAMILY],
        child_rule=rules.get(RecordClass.CHILD),
        today=today,
        family_id=family_id,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[2] if row else None


def audit_purge_before(*, rule: RetentionRule, today: dt.date) -> dt.date:
    """The first day of the first month whose audit events are not yet due: events recorded before
    it are `rule.years` years old at the end of their month."""
    year = today.year - rule.years
    try:
        start = today.replace(year=year, day=1)
    except ValueError:  # pragma: no cover - day=1 always exists
        start = dt.date(year, today.month, 1)
    return start


def reviews_open(*, page: int = 1) -> list[DestructionReview]:
    """Reviews waiting for a decision (awaiting, approved not yet carried out, deferred), soonest due
    first, with the family's name and whether a hold is in place: one query for the page. Returns up to
    PAGE_SIZE + 1 rows (the extra one says there is a next page)."""
    offset = (max(page, 1) - 1) * PAGE_SIZE
    return list(
        DestructionReview.objects.filter(status__in=OPEN_REVIEW_STATUSES)
        .select_related("rule", "decided_by")
        .annotate(
            family_name=Subquery(Family.objects.filter(pk=OuterRef("object_id")).values("name")[:1]),
        )
        .order_by("due_on", "id")[offset : offset + PAGE_SIZE + 1]
    )


def review_get(*, review_id: int | str) -> DestructionReview | None:
    try:
        review_id = int(review_id)
    except (TypeError, ValueError):
        return None
    return DestructionReview.objects.select_related("rule", "decided_by").filter(pk=review_id).first()


def family_contents(*, family_id: int) -> dict[str, int]:
    """How much of the family's record there is (shown before an approval), in one query."""
    sql = f"""
        SELECT
            (SELECT count(*) FROM {_t(FamilyMember)} WHERE family_id = %s),
            (SELECT count(*) FROM {_t(RequestForSupport)} WHERE family_id = %s),
            (SELECT count(*) FROM {_t(Episode)} WHERE family_id = %s),
            (SELECT count(*) FROM {_t(ConsentRecord)} WHERE family_id = %s)
    """  # noqa: S608 - table names from model metadata
    with connection.cursor() as cursor:
        cursor.execute(sql, [family_id] * 4)
        members, requests, episodes, consents = cursor.fetchone()
    return {"members": members, "requests": requests, "episodes": episodes, "consents": consents}


def holds_active() -> QuerySet[LegalHold]:
    """Legal holds in place, newest first, with the family and who placed them: one query."""
    return LegalHold.objects.filter(lifted_at__isnull=True).select_related("family", "placed_by")


def hold_get(*, hold_id: int | str) -> LegalHold | None:
    try:
        hold_id = int(hold_id)
    except (TypeError, ValueError):
        return None
    return LegalHold.objects.select_related("family", "placed_by").filter(pk=hold_id).first()


def destruction_logs(*, page: int = 1) -> list[DestructionLog]:
    offset = (max(page, 1) - 1) * PAGE_SIZE
    return list(DestructionLog.objects.select_related("approved_by")[offset : offset + PAGE_SIZE + 1])
