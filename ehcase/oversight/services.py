"""Writes of emergency access and access alerts: atomic, audited, telling the people who oversee them.

Callers have already checked who may act (ehcase.oversight.permissions). These functions enforce the
rules of the thing itself and raise OversightError, naming the form field a message belongs to.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import (
    AuditAction,
    AuditEvent,
    Family,
    FamilyUserObjectPermission,
    Membership,
    Role,
    User,
)
from ehcase.notifications.models import Notification
from ehcase.permissions import VIEW, families_visible_to

from .models import AccessAlert, AlertKind, BreakGlassAccess

REASON_MIN = 40
REASON_MAX = 2000
NOTE_MAX = 2000
# Notification kinds of this app (Notification.kind is a plain column; the notification centre shows
# title and body).
NOTIFY_BREAK_GLASS = "break_glass"
NOTIFY_ACCESS_ALERT = "access_alert"


class OversightError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AlreadyVisibleError(OversightError):
    """The user may already see the family: no emergency access is needed."""

    def __init__(self, family: Family):
        super().__init__("You can already see this family's record", field="reference")
        self.family = family


class ChangedError(OversightError):
    """Someone else changed the record after the user opened the page (a stale version)."""


def break_glass_hours() -> int:
    return int(getattr(settings, "BREAK_GLASS_HOURS", 4))


def normalise_reference(reference: str) -> str:
    return (reference or "").strip().upper()


def _notify(*, recipients: list[int], title: str, body: str, url: str, kind: str, family_id=None) -> None:
    """In-app notifications for oversight, one INSERT whatever the number of recipients. Text names a
    family only by its reference."""
    Notification.objects.bulk_create(
        [
            Notification(recipient_id=r, kind=kind, title=title, body=body, url=url, family_id=family_id)
            for r in sorted(set(recipients))
        ]
    )


def _early_help_managers() -> list[int]:
    return list(
        Membership.objects.filter(role=Role.EARLY_HELP_MANAGER, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def break_glass_start(*, actor: User, reference: str, reason: str) -> BreakGlassAccess:
    """Start emergency (read only) access for `actor` to the family with this reference. Caller: a
    worker who may ask for it (permissions.can_request_break_glass). The reason must be at least
    REASON_MIN characters. A reference that matches no family is refused and audited; a family the
    actor can already see raises AlreadyVisibleError. Audited (the reason stays in the record, not in
    the audit summary) and notified to the managers of the actor's agencies and to every early help
    manager."""
    reason = (reason or "").strip()
    wanted = normalise_reference(reference)
    if not wanted:
        raise OversightError("Enter the family's reference", field="reference")
    if len(reason) < REASON_MIN:
        raise OversightError(
            f"Explain why you need the record in at least {REASON_MIN} characters", field="reason"
        )
    if len(reason) > REASON_MAX:
        raise OversightError(f"The reason must be {REASON_MAX} characters or fewer", field="reason")
    family = Family.objects.filter(reference=wanted).first()
    if family is None:
        audit_record(
            actor=actor,
            action=AuditAction.BREAK_GLASS,
            summary="Emergency access refused: no family has that reference",
            changes={"reference": [None, wanted[:40]]},
        )
        raise OversightError("No family has this reference: check it and try again", field="reference")
    if families_visible_to(user=actor).filter(pk=family.pk).exists():
        raise AlreadyVisibleError(family)
    return _break_glass_grant(actor=actor, family=family, reason=reason)


@transaction.atomic
def _break_glass_grant(*, actor: User, family: Family, reason: str) -> BreakGlassAccess:
    now = timezone.now()
    access = BreakGlassAccess.objects.create(
        user=actor,
        family=family,
        reason=reason,
        started_at=now,
        expires_at=now + dt.timedelta(hours=break_glass_hours()),
    )
    audit_record(
        actor=actor,
        action=AuditAction.BREAK_GLASS,
        obj=access,
        family_id=family.pk,
        summary="Emergency access started",
        changes={"expires_at": [None, access.expires_at.isoformat()]},
    )
    managers = Membership.objects.filter(
        role=Role.AGENCY_MANAGER,
        agency_id__in=Membership.objects.filter(user=actor).values("agency_id"),
        user__is_active=True,
    ).values_list("user_id", flat=True)
    recipients = [r for r in [*managers, *_early_help_managers()] if r != actor.pk]
    until = timezone.localtime(access.expires_at)
    _notify(
        recipients=recipients,
        kind=NOTIFY_BREAK_GLASS,
        title=f"Emergency access to family {family.reference}",
        body=f"{actor.display_name} ({actor.username}) started emergency access to family "
        f"{family.reference}, until {until:%H:%M} on {until:%-d %B %Y}. Review it on the emergency "
        "access page.",
        url=reverse("oversight:break-glass-review", args=[access.pk]),
        family_id=family.pk,
    )
    return access


@transaction.atomic
def break_glass_end(*, actor: User, access: BreakGlassAccess) -> bool:
    """End the actor's own emergency access now ("I no longer need access"). Caller: the user it was
    granted to (permissions.own_break_glass). False (and nothing written) when it had already ended
    or expired."""
    now = timezone.now()
    ended = BreakGlassAccess.objects.filter(
        pk=access.pk, user=actor, ended_at__isnull=True, expires_at__gt=now
    ).update(ended_at=now, version=F("version") + 1)
    if not ended:
        return False
    audit_record(
        actor=actor,
        action=AuditAction.BREAK_GLASS,
        obj=access,
        family_id=access.family_id,
        summary="Emergency access ended by the user",
        changes={"ended_at": [None, now.isoformat()]},
    )
    access.refresh_from_db()
    return True


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise OversightError("Enter a review note", field="note")
    if len(note) > NOTE_MAX:
        raise OversightError(f"The review note must be {NOTE_MAX} characters or fewer", field="note")
    return note


@transaction.atomic
def break_glass_review(
    *, actor: User, access: BreakGlassAccess, note: str, version: int | None
) -> BreakGlassAccess:
    """Mark a use of emergency access as reviewed, with a note. Caller: an early help manager or a
    manager of the user's agency (permissions.require_review_break_glass). `version` is the one the
    reviewer's page showed: a stale one (someone reviewed it meanwhile) is refused. Audited."""
    note = _clean_note(note)
    current = BreakGlassAccess.objects.select_for_update().get(pk=access.pk)
    if version is None or current.version != version or current.reviewed_at is not None:
        raise ChangedError(
            "Someone else reviewed or changed this emergency access after you opened the page. "
            "Nothing was saved: check it and try again."
        )
    now = timezone.now()
    BreakGlassAccess.objects.filter(pk=current.pk).update(
        reviewed_by=actor, reviewed_at=now, review_note=note, version=F("version") + 1
    )
    audit_record(
        actor=actor,
        action=AuditAction.BREAK_GLASS,
        obj=current,
        family_id=current.family_id,
        summary="Emergency access reviewed",
        changes={"review_note": [None, note]},
    )
    current.refresh_from_db()
    return current


@transaction.atomic
def alert_review(*, actor: User, alert: AccessAlert, note: str, version: int | None) -> AccessAlert:
    """Mark an access alert as reviewed, with a note. Caller: an early help manager
    (permissions.require_review_alert). A stale `version` is refused. Audited."""
    note = _clean_note(note)
    current = AccessAlert.objects.select_for_update().get(pk=alert.pk)
    if version is None or current.version != version or current.reviewed_at is not None:
        raise ChangedError(
            "Someone else reviewed this alert after you opened the page. Nothing was saved: check it "
            "and try again."
        )
    AccessAlert.objects.filter(pk=current.pk).update(
        reviewed_by=actor, reviewed_at=timezone.now(), review_note=note, version=F("version") + 1
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=current,
        summary="Access alert reviewed",
        changes={"review_note": [None, note]},
    )
    current.refresh_from_db()
    return current


# --- Unusual access ---------------------------------------------------------------------------------


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Midnight to midnight of a local day, as aware datetimes."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return start, end


_INSERT = (
    "INSERT INTO {alert} (kind, user_id, day, count, family_ids, created_at, review_note, version) "
    "SELECT %s, s.user_id, %s, s.n, s.family_ids, now(), '', 1 FROM ({select}) s "
    "ON CONFLICT (user_id, day, kind) DO NOTHING RETURNING id"
)

# (a) Distinct families a user opened on the day without holding view_family on them (so reached
# through a partnership-wide role, hub coordination, agency oversight or emergency access).
_MANY_FAMILIES = (
    "SELECT e.actor_id AS user_id, count(DISTINCT e.family_id) AS n, "
    "array_agg(DISTINCT e.family_id ORDER BY e.family_id) AS family_ids "
    "FROM {audit} e WHERE e.action = %s AND e.occurred_at >= %s AND e.occurred_at < %s "
    "AND e.actor_id IS NOT NULL AND e.family_id IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM {perm} fp WHERE fp.user_id = e.actor_id "
    "AND fp.content_object_id = e.family_id AND fp.permission_id = ("
    "SELECT p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id "
    "WHERE ct.app_label = 'ehcase' AND ct.model = 'family' AND p.codename = %s)) "
    "GROUP BY e.actor_id HAVING count(DISTINCT e.family_id) > %s"
)

# (b) Emergency accesses a user started in the seven days ending on the day.
_MANY_BREAK_GLASS = (
    "SELECT bg.user_id, count(*) AS n, array_agg(DISTINCT bg.family_id ORDER BY bg.family_id) AS family_ids "
    "FROM {bg} bg WHERE bg.started_at >= %s AND bg.started_at < %s "
    "GROUP BY bg.user_id HAVING count(*) > %s"
)


def access_alerts_raise(*, day: dt.date | None = None) -> list[AccessAlert]:
    """Raise the alerts for a day (yesterday by default): one INSERT ... SELECT per kind, each alert at
    most once per user, day and kind (a rerun inserts nothing). Each new alert is notified to the early
    help managers. For the daily task; no user calls this."""
    day = day or timezone.localdate() - dt.timedelta(days=1)
    start, end = _day_bounds(day)
    week_start, _ = _day_bounds(day - dt.timedelta(days=6))
    alert_table = AccessAlert._meta.db_table
    statements = [
        (
            AlertKind.MANY_FAMILIES,
            _MANY_FAMILIES.format(
                audit=AuditEvent._meta.db_table, perm=FamilyUserObjectPermission._meta.db_table
            ),
            [AuditAction.VIEW, start, end, VIEW, int(getattr(settings, "ACCESS_ALERT_FAMILIES_PER_DAY", 20))],
        ),
        (
            AlertKind.MANY_BREAK_GLASS,
            _MANY_BREAK_GLASS.format(bg=BreakGlassAccess._meta.db_table),
            [week_start, end, int(getattr(settings, "ACCESS_ALERT_BREAK_GLASS_PER_WEEK", 3))],
        ),
    ]
    new_ids: list[int] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            for kind, select, params in statements:
                cursor.execute(
                    _INSERT.format(alert=alert_table, select=select),  # noqa: S608 - table names only
                    [kind, day, *params],
                )
                new_ids.extend(row[0] for row in cursor.fetchall())
        alerts = list(AccessAlert.objects.filter(pk__in=new_ids).select_related("user").order_by("id"))
        managers = _early_help_managers()
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=manager,
                    kind=NOTIFY_ACCESS_ALERT,
                    title=f"Unusual access by {alert.user.username}",
                    body=alert_sentence(alert),
                    url=reverse("oversight:alert-review", args=[alert.pk]),
                )
                for alert in alerts
                for manager in managers
            ]
        )
    return alerts


def alert_sentence(alert: AccessAlert) -> str:
    if alert.kind == AlertKind.MANY_FAMILIES:
        return (
            f"{alert.user.username} opened {alert.count} families they do not work with on "
            f"{alert.day:%-d %B %Y}."
        )
    return (
        f"{alert.user.username} started {alert.count} emergency accesses in the seven days to "
        f"{alert.day:%-d %B %Y}."
    )
