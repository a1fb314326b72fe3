"""Writes for retention: the scan that lists records due for destruction, the early help manager's
decisions (approve, defer), legal holds, and destruction itself. docs/retention.md explains the rules.

Callers: the scan and destruction run in Celery tasks (ehcase.retention.tasks); decisions and holds
come from the retention pages, whose views have checked the user is an early help manager
(ehcase.retention.permissions). Every write is audited."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import AuditAction, AuditEvent, Family, FamilyMember, Membership, Person, Role, User
from ehcase.notifications.models import Notification, Reminder
from hubs.models import HubAgendaItem, RequestForSupport, TriageDecision

from . import selectors
from .models import (
    OPEN_REVIEW_STATUSES,
    DestructionLog,
    DestructionReview,
    LegalHold,
    RecordClass,
    ReviewStatus,
)

log = logging.getLogger(__name__)

NOTIFICATION_KIND = "retention_review"
REASON_MAX = 2000
DESTROYED_CHANGES = '{"destroyed": true}'


class RetentionError(Exception):
    """A decision that cannot be made as asked: `message` for the user, at `field` if it names one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _t(model) -> str:
    return model._meta.db_table


# --- The scan ---------------------------------------------------------------------------------------


def _scan_families(*, today: dt.date) -> tuple[int, int]:
    """One statement for the family rule (with the child rule folded in): open reviews whose record is
    no longer due on that date are marked no longer due; a review row is inserted for each family due,
    or brought back if it had been marked no longer due. Returns (new or returned, no longer due)."""
    rules = selectors.active_rules()
    family_rule = rules.get(RecordClass.FAMILY)
    review = _t(DestructionReview)
    if family_rule is None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {review} SET status = %s, note = %s, version = version + 1 "  # noqa: S608
                "WHERE record_class = %s AND status = ANY(%s)",
                [
                    ReviewStatus.NOT_DUE,
                    "The family rule was switched off",
                    RecordClass.FAMILY,
                    list(OPEN_REVIEW_STATUSES),
                ],
            )
            return 0, cursor.rowcount
    due_sql, due_params = selectors.family_due_sql(
        family_rule=family_rule, child_rule=rules.get(RecordClass.CHILD), today=today
    )
    sql = f"""
        WITH due AS ({due_sql}),
        stale AS (
            UPDATE {review} r SET status = %s, note = %s, version = r.version + 1
            WHERE r.record_class = %s AND r.status = ANY(%s)
                AND NOT EXISTS (SELECT 1 FROM due WHERE due.id = r.object_id AND due.due_on = r.due_on)
            RETURNING 1
        ), listed AS (
            INSERT INTO {review} (record_class, object_id, family_reference, rule_id, basis, due_on, status,
                defer_reason, note, created_at, version)
            SELECT %s, due.id, due.reference, %s, due.basis, due.due_on, %s, '', '', now(), 1 FROM due
            ON CONFLICT (record_class, object_id, due_on) DO UPDATE
                SET status = EXCLUDED.status, note = '', version = {review}.version + 1
                WHERE {review}.status = %s
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM listed), (SELECT count(*) FROM stale)
    """  # noqa: S608 - table names from model metadata; every value is a parameter
    params = [
        *due_params,
        ReviewStatus.NOT_DUE,
        "No longer due when the records were checked again",
        RecordClass.FAMILY,
        list(OPEN_REVIEW_STATUSES),
        RecordClass.FAMILY,
        family_rule.pk,
        ReviewStatus.AWAITING,
        ReviewStatus.NOT_DUE,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        listed, stale = cursor.fetchone()
    return listed, stale


def _scan_audit(*, today: dt.date) -> int:
    """One statement for the audit rule: a review per calendar month of audit events old enough."""
    rule = selectors.active_rules().get(RecordClass.AUDIT)
    if rule is None:
        return 0
    before = selectors.audit_purge_before(rule=rule, today=today)
    review = _t(DestructionReview)
    sql = f"""
        WITH months AS (
            SELECT date_trunc('month', occurred_at AT TIME ZONE %s)::date AS month
            FROM {_t(AuditEvent)} WHERE occurred_at < (%s::date)::timestamp AT TIME ZONE %s GROUP BY 1
        ), listed AS (
            INSERT INTO {review} (record_class, object_id, family_reference, rule_id, basis, due_on, status,
                defer_reason, note, created_at, version)
            SELECT %s, to_char(month, 'YYYYMM')::bigint, '', %s,
                'Recorded in ' || to_char(month, 'FMMonth YYYY'),
                (month + interval '1 month' + make_interval(years => %s))::date, %s, '', '', now(), 1
            FROM months
            ON CONFLICT (record_class, object_id, due_on) DO UPDATE
                SET status = EXCLUDED.status, note = '', version = {review}.version + 1
                WHERE {review}.status = %s
            RETURNING 1
        )
        SELECT count(*) FROM listed
    """  # noqa: S608 - table names from model metadata; every value is a parameter
    tz = timezone.get_default_timezone_name()
    params = [
        tz,
        before,
        tz,
        RecordClass.AUDIT,
        rule.pk,
        rule.years,
        ReviewStatus.AWAITING,
        ReviewStatus.NOT_DUE,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _notify_managers(*, count: int) -> int:
    """An in-app notification for each early help manager: how many records are newly due."""
    managers = list(
        User.objects.filter(
            is_active=True,
            pk__in=Membership.objects.filter(role=Role.EARLY_HELP_MANAGER).values("user_id"),
        ).values_list("pk", flat=True)
    )
    plural = "record is" if count == 1 else "records are"
    Notification.objects.bulk_create(
        Notification(
            recipient_id=user_id,
            kind=NOTIFICATION_KIND,
            title=f"{count} {plural} due for destruction review",
            body="Check each one and approve its destruction, defer it, or place a legal hold.",
            url=reverse("retention:review-list"),
        )
        for user_id in managers
    )
    return len(managers)


@transaction.atomic
def retention_scan(*, today: dt.date | None = None) -> dict[str, int]:
    """List every record due for destruction for review. Safe to run again, and at the same time in
    two processes (a transaction-level advisory lock makes the second wait): exactly one review row
    per record and due date. Deferred reviews whose date has come return to "awaiting review".
    Early help managers are notified when new records are listed. For the scan_retention task."""
    today = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('ehcase.retention.scan'))")
    returned = DestructionReview.objects.filter(
        status=ReviewStatus.DEFERRED, deferred_until__lte=today
    ).update(status=ReviewStatus.AWAITING, version=F("version") + 1)
    families, not_due = _scan_families(today=today)
    audit = _scan_audit(today=today)
    notified = _notify_managers(count=families + audit) if families + audit else 0
    result = {
        "families": families,
        "audit": audit,
        "not_due": not_due,
        "returned": returned,
        "notified": notified,
    }
    log.info("Retention scan: %s", result)
    return result


# --- Decisions --------------------------------------------------------------------------------------


def _lock_review(*, review: DestructionReview, version: int | None) -> DestructionReview:
    locked = DestructionReview.objects.select_for_update().get(pk=review.pk)
    if version is not None and locked.version != version:
        raise RetentionError(
            "Someone else decided on this record while you had the page open. Check the list again."
        )
    return locked


@transaction.atomic
def review_approve(*, actor: User, review: DestructionReview, version: int | None) -> DestructionReview:
    """Approve a review's destruction (early help managers: the view checks). The approver is recorded;
    destruction runs in a task queued when this commits, which checks legal holds again."""
    locked = _lock_review(review=review, version=version)
    if locked.status not in (ReviewStatus.AWAITING, ReviewStatus.DEFERRED):
        raise RetentionError("This record is no longer waiting for a decision. Check the list again.")
    if (
        locked.record_class == RecordClass.FAMILY
        and LegalHold.objects.filter(family_id=locked.object_id, lifted_at__isnull=True).exists()
    ):
        raise RetentionError("The family's record is under a legal hold: it cannot be destroyed")
    locked.status = ReviewStatus.APPROVED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.version += 1
    locked.save(update_fields=["status", "decided_by", "decided_at", "version"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=locked,
        family_id=locked.object_id if locked.record_class == RecordClass.FAMILY else None,
        summary=f"Destruction approved: {locked.what}",
        changes={"status": [review.status, locked.status]},
    )
    from .tasks import destroy_enqueue

    destroy_enqueue(review_id=locked.pk)
    return locked


@transaction.atomic
def review_defer(
    *, actor: User, review: DestructionReview, version: int | None, reason: str, until: dt.date
) -> DestructionReview:
    """Put a review off until a later date, with a reason (early help managers)."""
    reason = (reason or "").strip()
    if not reason:
        raise RetentionError("Enter why the destruction is deferred", "reason")
    if until <= timezone.localdate():
        raise RetentionError("The date to look again must be in the future", "until")
    locked = _lock_review(review=review, version=version)
    if locked.status not in (ReviewStatus.AWAITING, ReviewStatus.APPROVED, ReviewStatus.DEFERRED):
        raise RetentionError("This record is no longer waiting for a decision. Check the list again.")
    before = {"status": locked.status, "deferred_until": locked.deferred_until}
    locked.status = ReviewStatus.DEFERRED
    locked.defer_reason = reason[:REASON_MAX]
    locked.deferred_until = until
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.version += 1
    locked.save(
        update_fields=["status", "defer_reason", "deferred_until", "decided_by", "decided_at", "version"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=locked,
        family_id=locked.object_id if locked.record_class == RecordClass.FAMILY else None,
        summary=f"Destruction deferred: {locked.what}",
        changes={
            "status": [before["status"], locked.status],
            "deferred_until": [
                before["deferred_until"].isoformat() if before["deferred_until"] else None,
                until.isoformat(),
            ],
            "defer_reason": [None, locked.defer_reason],
        },
    )
    return locked


# --- Legal holds ------------------------------------------------------------------------------------


@transaction.atomic
def legal_hold_place(*, actor: User, family: Family, reason: str) -> LegalHold:
    """Stop the family's record being destroyed (early help managers). Locks the family row, as
    destruction does, so a hold and a destruction never pass each other. Open reviews of the family
    are marked no longer due."""
    reason = (reason or "").strip()
    if not reason:
        raise RetentionError("Enter why the record must be kept", "reason")
    Family.objects.select_for_update().filter(pk=family.pk).first()
    if LegalHold.objects.filter(family=family, lifted_at__isnull=True).exists():
        raise RetentionError("The family's record is already under a legal hold")
    hold = LegalHold.objects.create(family=family, reason=reason[:REASON_MAX], placed_by=actor)
    DestructionReview.objects.filter(
        record_class=RecordClass.FAMILY, object_id=family.pk, status__in=OPEN_REVIEW_STATUSES
    ).update(status=ReviewStatus.NOT_DUE, note="A legal hold was placed", version=F("version") + 1)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=hold,
        family_id=family.pk,
        summary="Legal hold placed",
        changes={"reason": [None, hold.reason]},
    )
    return hold


@transaction.atomic
def legal_hold_lift(*, actor: User, hold: LegalHold, version: int | None, reason: str) -> LegalHold:
    """End a legal hold (early help managers). The next scan lists the record again if it is due."""
    reason = (reason or "").strip()
    if not reason:
        raise RetentionError("Enter why the hold is lifted", "reason")
    locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if (version is not None and locked.version != version) or locked.lifted_at is not None:
        raise RetentionError("Someone else changed this legal hold while you had the page open")
    locked.lifted_at = timezone.now()
    locked.lifted_by = actor
    locked.lift_reason = reason[:REASON_MAX]
    locked.version += 1
    locked.save(update_fields=["lifted_at", "lifted_by", "lift_reason", "version"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=locked,
        family_id=locked.family_id,
        summary="Legal hold lifted",
        changes={"lift_reason": [None, locked.lift_reason]},
    )
    return locked


# --- Destruction ------------------------------------------------------------------------------------


def _person_reverse_guarded() -> list:
    """Records about a person that go with the person (a subject access request is about that person
    and nobody else)."""
    models = []
    try:
        models.append(apps.get_model("disclosure", "SubjectAccessRequest"))
    except LookupError:
        pass
    return models


def _destroy_family(*, family_id: int) -> Counter:
    """Remove the family's record and everything under it, the people who belong to no other family,
    the access grants, notifications and reminders about it; clear the personal values in its audit
    events. Runs inside destroy_review's transaction. Returns rows removed per table."""
    counts: Counter = Counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT m.person_id FROM {_t(FamilyMember)} m WHERE m.family_id = %s "  # noqa: S608
            f"AND NOT EXISTS (SELECT 1 FROM {_t(FamilyMember)} o WHERE o.person_id = m.person_id "
            "AND o.family_id <> %s)",
            [family_id, family_id],
        )
        person_ids = [row[0] for row in cursor.fetchall()]

        # Requests for support and what hangs off them are protected from casual deletion
        # (on_delete=PROTECT, and a decision protects the one it supersedes): delete them directly.
        # PostgreSQL checks the foreign keys (deferred) at commit, when all of them are gone.
        requests = f"SELECT id FROM {_t(RequestForSupport)} WHERE family_id = %s"  # noqa: S608
        needs = RequestForSupport.needs.through
        # Only table names from model metadata are interpolated; the family id is a parameter.
        for model, sql in (
            (HubAgendaItem, f"DELETE FROM {_t(HubAgendaItem)} WHERE request_id IN ({requests})"),  # noqa: S608
            (TriageDecision, f"DELETE FROM {_t(TriageDecision)} WHERE request_id IN ({requests})"),  # noqa: S608
            (needs, f"DELETE FROM {_t(needs)} WHERE requestforsupport_id IN ({requests})"),  # noqa: S608
            (RequestForSupport, f"DELETE FROM {_t(RequestForSupport)} WHERE family_id = %s"),  # noqa: S608
        ):
            cursor.execute(sql, [family_id])  # noqa: S608
            counts[model._meta.label] += cursor.rowcount

    for queryset in (
        Notification.objects.filter(family_id=family_id),
        Reminder.objects.filter(family_id=family_id),
    ):
        counts.update(queryset.delete()[1])

    # Grants through guardian's generic tables (the family's own are direct foreign keys, below).
    from guardian.models import GroupObjectPermission, UserObjectPermission

    family_type = ContentType.objects.get_for_model(Family)
    person_type = ContentType.objects.get_for_model(Person)
    for model in (UserObjectPermission, GroupObjectPermission):
        counts.update(model.objects.filter(content_type=family_type, object_pk=str(family_id)).delete()[1])
        if person_ids:
            counts.update(
                model.objects.filter(
                    content_type=person_type, object_pk__in=[str(p) for p in person_ids]
                ).delete()[1]
            )

    # The family and everything that cascades from it: members' links, relationships, episodes and all
    # under them, consent, claims, holds, sharing records, emergency access, object permissions.
    counts.update(Family.objects.filter(pk=family_id).delete()[1])
    if person_ids:
        for model in _person_reverse_guarded():
            counts.update(model.objects.filter(person_id__in=person_ids).delete()[1])
        # A person named in another family's record (and so protected) stops the destruction: the
        # whole transaction rolls back and the review says why.
        counts.update(Person.objects.filter(pk__in=person_ids).delete()[1])

    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('ehcase.destroying_family', %s, true)", [str(family_id)])
        cursor.execute(
            f"UPDATE {_t(AuditEvent)} SET changes = %s::jsonb WHERE family_id = %s "  # noqa: S608
            "AND changes <> '{}'::jsonb AND changes <> %s::jsonb",
            [DESTROYED_CHANGES, family_id, DESTROYED_CHANGES],
        )
        counts["ehcase.AuditEvent (personal values cleared)"] += cursor.rowcount
        cursor.execute("SELECT set_config('ehcase.destroying_family', '', true)")

    # Free text typed on the reviews of this family (a deferral's reason) goes too.
    DestructionReview.objects.filter(record_class=RecordClass.FAMILY, object_id=family_id).update(
        defer_reason=""
    )
    return counts


def _destroy_audit_month(*, review: DestructionReview, today: dt.date) -> Counter | None:
    year, month = divmod(review.object_id, 100)
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    rule = review.rule
    if not rule.active or end > selectors.audit_purge_before(rule=rule, today=today):
        return None
    tz = timezone.get_default_timezone()
    start_at = timezone.make_aware(dt.datetime.combine(start, dt.time()), tz)
    end_at = timezone.make_aware(dt.datetime.combine(end, dt.time()), tz)
    counts: Counter = Counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('ehcase.audit_purge_before', %s, true)", [end_at.isoformat()])
        cursor.execute(
            f"DELETE FROM {_t(AuditEvent)} WHERE occurred_at >= %s AND occurred_at < %s "  # noqa: S608
            f"AND (family_id IS NULL OR family_id NOT IN "
            f"(SELECT family_id FROM {_t(LegalHold)} WHERE lifted_at IS NULL))",
            [start_at, end_at],
        )
        counts[AuditEvent._meta.label] += cursor.rowcount
        cursor.execute("SELECT set_config('ehcase.audit_purge_before', '', true)")
    return counts


def _not_due(review: DestructionReview, note: str) -> str:
    DestructionReview.objects.filter(pk=review.pk).update(
        status=ReviewStatus.NOT_DUE, note=note, version=F("version") + 1
    )
    audit_record(
        actor=None,
        action=AuditAction.UPDATE,
        obj=review,
        family_id=review.object_id if review.record_class == RecordClass.FAMILY else None,
        summary=f"Destruction not carried out: {note}",
    )
    return ReviewStatus.NOT_DUE


def destroy_review(*, review_id: int, today: dt.date | None = None) -> str:
    """Carry out an approved destruction. For the destroy_review task (and tests): no user calls this.

    In one transaction: the review and the family rows are locked; a legal hold in place now (even one
    placed after the approval) or a record no longer due (an episode reopened, the rule changed) stops
    it and the review is marked no longer due; otherwise the record is destroyed, the destruction log
    written and the destruction audited. Returns the review's status afterwards."""
    today = today or timezone.localdate()
    try:
        with transaction.atomic():
            review = (
                DestructionReview.objects.select_for_update(of=("self",))
                .select_related("rule", "decided_by")
                .filter(pk=review_id)
                .first()
            )
            if review is None or review.status != ReviewStatus.APPROVED:
                return review.status if review else "missing"
            family_id = review.object_id if review.record_class == RecordClass.FAMILY else None
            if family_id is not None:
                Family.objects.select_for_update().filter(pk=family_id).first()
                if LegalHold.objects.filter(family_id=family_id, lifted_at__isnull=True).exists():
                    return _not_due(review, "A legal hold is in place")
                if selectors.family_due_on(family_id=family_id, today=today) != review.due_on:
                    return _not_due(review, "No longer due when checked before destruction")
                counts = _destroy_family(family_id=family_id)
            else:
                counts = _destroy_audit_month(review=review, today=today)
                if counts is None:
                    return _not_due(review, "No longer due when checked before destruction")
            counts = {label: n for label, n in sorted(counts.items()) if n}
            DestructionLog.objects.create(
                review=review,
                record_class=review.record_class,
                family_reference=review.family_reference,
                rule_description=str(review.rule)[:200],
                due_on=review.due_on,
                approved_by=review.decided_by,
                approved_at=review.decided_at,
                counts=counts,
            )
            DestructionReview.objects.filter(pk=review.pk).update(
                status=ReviewStatus.DESTROYED, note="", version=F("version") + 1
            )
            audit_record(
                actor=review.decided_by,
                action=AuditAction.DESTROY,
                obj=review,
                family_id=family_id,
                summary=f"{review.what} destroyed under the retention rule ({sum(counts.values())} rows)",
                changes={"counts": counts},
            )
            return ReviewStatus.DESTROYED
    except Exception as error:
        # Logged without personal data: the review id and the kind of error only.
        log.warning("Destruction of review %s failed: %s", review_id, type(error).__name__)
        DestructionReview.objects.filter(pk=review_id, status=ReviewStatus.APPROVED).update(
            note=f"Could not be destroyed ({type(error).__name__}); it will be tried again"[:200]
        )
        raise
