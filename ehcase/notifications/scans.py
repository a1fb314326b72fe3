"""The reminder catalogue (DESIGN.md §5): one set-based query per kind.

Each scan is a single SELECT of (recipient_id, object_id, family_id, due_on) over an indexed, usually
partial-indexed, column. `claim_due` wraps it in ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into
the reminder table, whose unique key (kind, recipient, object, due date) is the claim: running a scan
twice, from two beat processes or from a retried task, claims nothing new. No row of the families,
episodes or actions passes through Python.

The same SELECT, narrowed to a batch's objects (`only`), tells delivery whether a claimed reminder is
still due (a review recorded meanwhile, a lead professional named, a meeting moved).

Scanning what is new: what a kind finds due depends on the day (its windows are whole dates) and on
the rows it reads. So the first run of a day scans every kind in full, and later runs that day narrow
the kinds with a `changes` list to the objects whose rows changed since the previous run (the
`changed_at` stamps of notifications/0003, less an overlap for transactions still open then). Their
cost follows what people changed in the last few minutes, not everything that is due. ScanMark keeps,
per kind, the day and limits it was last scanned for and when.

Only table names from model metadata are interpolated into the SQL; every value is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from assessments.models import Assessment, PlanAction
from ehcase.models import Membership, Role, User
from hubs.models import Hub, RequestForSupport
from pathway.models import Episode, TafMeeting, TafMember

from .models import Notification, Reminder, ReminderKind, ScanMark, ScanRun

K = ReminderKind


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@dataclass(frozen=True)
class Clock:
    """The moment a scan runs, in the service's time zone, with the time limits from settings."""

    now: dt.datetime
    today: dt.date
    review_due_days: int
    eha_draft_days: int
    no_lead_days: int
    sustainment_months: int
    rereferral_months: int
    catch_up_days: int
    weekly_digest_weekday: int
    daily_email_hour: int

    @classmethod
    def at(cls, now: dt.datetime | None = None) -> Clock:
        now = now or timezone.now()
        local = timezone.localtime(now)
        return cls(
            now=now,
            today=local.date(),
            review_due_days=_setting("REMINDER_REVIEW_DUE_DAYS", 7),
            eha_draft_days=_setting("REMINDER_EHA_DRAFT_DAYS", 28),
            no_lead_days=_setting("REMINDER_NO_LEAD_DAYS", 14),
            sustainment_months=_setting("REMINDER_SUSTAINMENT_MONTHS", 6),
            rereferral_months=_setting("REMINDER_REREFERRAL_MONTHS", 12),
            catch_up_days=_setting("REMINDER_CATCH_UP_DAYS", 14),
            weekly_digest_weekday=_setting("REMINDER_WEEKLY_DIGEST_WEEKDAY", 0),
            daily_email_hour=_setting("REMINDER_DAILY_EMAIL_HOUR", 7),
        )

    def local_midnight(self, day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    @property
    def since(self) -> dt.date:
        """The earliest date a state-triggered reminder (something overdue) is still sent for: it is sent
        when it falls due, or within the catch-up days if nothing could run then; older ones are not
        brought back, so a first deployment does not flood anyone with years of backlog."""
        return self.today - dt.timedelta(days=self.catch_up_days)

    @property
    def week_start(self) -> dt.date:
        return self.today - dt.timedelta(days=self.today.weekday())

    @property
    def local_hour(self) -> int:
        return timezone.localtime(self.now).hour

    @property
    def limits(self) -> str:
        """The settings the windows are made of: a scan mark is only built on when they are the same."""
        return (
            f"tz={settings.TIME_ZONE} review={self.review_due_days} draft={self.eha_draft_days} "
            f"lead={self.no_lead_days} sustain={self.sustainment_months} reref={self.rereferral_months} "
            f"catchup={self.catch_up_days}"
        )


def _t(model) -> str:
    return model._meta.db_table


EPISODES = _t(Episode)
ASSESSMENTS = _t(Assessment)
ACTIONS = _t(PlanAction)
REQUESTS = _t(RequestForSupport)
CLOSED = "closed"


def _only(column: str, only: Sequence[int] | None) -> tuple[str, list]:
    if only is None:
        return "", []
    return f" AND {column} = ANY(%s)", [list(only)]


Builder = Callable[[Clock, Sequence[int] | None], tuple[str, list]]


def _review_due(c: Clock, only) -> tuple[str, list]:
    extra, extra_params = _only("e.id", only)
    sql = (
        "SELECT COALESCE(e.lead_professional_id, e.assessor_id) AS recipient_id, e.id AS object_id, "  # noqa: S608
        f"e.family_id, e.next_review_due AS due_on FROM {EPISODES} e "
        f"WHERE e.status <> '{CLOSED}' AND e.next_review_due > %s AND e.next_review_due <= %s "
        "AND COALESCE(e.lead_professional_id, e.assessor_id) IS NOT NULL" + extra
    )
    return sql, [c.today, c.today + dt.timedelta(days=c.review_due_days), *extra_params]


def _review_overdue(c: Clock, only) -> tuple[str, list]:
    extra, extra_params = _only("e.id", only)
    sql = (
        "SELECT COALESCE(e.lead_professional_id, e.assessor_id) AS recipient_id, e.id AS object_id, "  # noqa: S608
        f"e.family_id, e.next_review_due AS due_on FROM {EPISODES} e "
        f"WHERE e.status <> '{CLOSED}' AND e.next_review_due < %s AND e.next_review_due >= %s "
        "AND COALESCE(e.lead_professional_id, e.assessor_id) IS NOT NULL" + extra
    )
    return sql, [c.today, c.since, *extra_params]


def _meeting_tomorrow(c: Clock, only) -> tuple[str, list]:
    tomorrow = c.today + dt.timedelta(days=1)
    invited = TafMeeting.invited.through
    extra, extra_params = _only("id", only)
    # Tomorrow's meetings first, by the (status, starts_at) index, then each one's invitations: joined
    # freely, a misjudged number of invitations let PostgreSQL walk every meeting or every team member
    # instead (100-150 ms at the large tier, against a few); OFFSET 0 keeps the per-meeting subquery whole.
    sql = (
        f"WITH m AS MATERIALIZED (SELECT id, episode_id FROM {_t(TafMeeting)} "  # noqa: S608
        f"WHERE status = 'scheduled' AND starts_at >= %s AND starts_at < %s{extra}) "
        "SELECT invitee.user_id AS recipient_id, m.id AS object_id, e.family_id, %s::date AS due_on "
        f"FROM m CROSS JOIN LATERAL (SELECT tm.user_id FROM {_t(invited)} inv "
        f"JOIN {_t(TafMember)} tm ON tm.id = inv.tafmember_id "
        "WHERE inv.tafmeeting_id = m.id AND tm.user_id IS NOT NULL AND tm.left_on IS NULL OFFSET 0) invitee "
        f"JOIN {EPISODES} e ON e.id = m.episode_id AND e.status <> '{CLOSED}'"
    )
    return sql, [
        c.local_midnight(tomorrow),
        c.local_midnight(tomorrow + dt.timedelta(days=1)),
        *extra_params,
        tomorrow,
    ]


def _eha_draft_stale(c: Clock, only) -> tuple[str, list]:
    extra, extra_params = _only("a.id", only)
    sql = (
        "SELECT a.assessor_id AS recipient_id, a.id AS object_id, e.family_id, "  # noqa: S608
        "a.started_on + %s AS due_on "
        f"FROM {_t(Assessment)} a JOIN {EPISODES} e ON e.id = a.episode_id "
        f"WHERE a.status = 'draft' AND a.started_on <= %s AND a.started_on >= %s AND e.status <> '{CLOSED}'"
        + extra
    )
    stale_from = c.today - dt.timedelta(days=c.eha_draft_days)
    return sql, [c.eha_draft_days, stale_from, stale_from - dt.timedelta(days=c.catch_up_days), *extra_params]


def _no_lead(c: Clock, only) -> tuple[str, list]:
    """Open episodes with no lead professional (a small partial index) whose assessment was completed
    more than N days ago. The due date is the first completion plus N days."""
    extra, extra_params = _only("e.id", only)
    sql = (
        "SELECT a.assessor_id AS recipient_id, e.id AS object_id, e.family_id, "  # noqa: S608
        "(MIN(a.completed_at AT TIME ZONE %s))::date + %s AS due_on "
        f"FROM {EPISODES} e JOIN {_t(Assessment)} a ON a.episode_id = e.id "
        f"WHERE e.status <> '{CLOSED}' AND e.lead_professional_id IS NULL "
        "AND a.status IN ('completed', 'signed_off') AND a.completed_at < %s AND a.completed_at >= %s"
        + extra
        + " "
        "GROUP BY a.assessor_id, e.id, e.family_id"
    )
    return sql, [
        settings.TIME_ZONE,
        c.no_lead_days,
        c.local_midnight(c.today - dt.timedelta(days=c.no_lead_days - 1)),
        c.local_midnight(c.today - dt.timedelta(days=c.no_lead_days + c.catch_up_days)),
        *extra_params,
    ]


# Adding N Monday-to-Friday days to date d, as hubs.services.triage_due_on does (a weekend start counts
# from the Friday before; tests/notifications/test_scans.py checks the two agree).
_TRIAGE_DUE = (
    "(CASE WHEN h.triage_target_working_days = 0 THEN r.received_on ELSE "
    "(r.received_on - GREATEST(EXTRACT(ISODOW FROM r.received_on)::int - 5, 0)) "
    "+ (h.triage_target_working_days / 5) * 7 + (h.triage_target_working_days %% 5) "
    "+ CASE WHEN LEAST(EXTRACT(ISODOW FROM r.received_on)::int, 5) + (h.triage_target_working_days %% 5) > 5 "
    "THEN 2 ELSE 0 END END)"
)


def _triage_overdue(c: Clock, only) -> tuple[str, list]:
    hubs_of = Membership.hubs.through
    extra, extra_params = _only("r.id", only)
    sql = (
        f"SELECT m.user_id AS recipient_id, r.id AS object_id, r.family_id, {_TRIAGE_DUE} AS due_on "  # noqa: S608
        f"FROM {_t(RequestForSupport)} r JOIN {_t(Hub)} h ON h.id = r.hub_id "
        f"JOIN {_t(hubs_of)} mh ON mh.hub_id = r.hub_id "
        f"JOIN {_t(Membership)} m ON m.id = mh.membership_id AND m.role = %s "
        f"WHERE r.status IN ('new', 'awaiting') AND r.received_on < %s AND {_TRIAGE_DUE} < %s "
        f"AND {_TRIAGE_DUE} >= %s" + extra
    )
    return sql, [Role.HUB_COORDINATOR, c.today, c.today, c.since, *extra_params]


def _action_overdue(c: Clock, only) -> tuple[str, list]:
    extra, extra_params = _only("pa.id", only)
    sql = (
        "SELECT pa.owner_user_id AS recipient_id, pa.id AS object_id, e.family_id, pa.due_on "  # noqa: S608
        f"FROM {_t(PlanAction)} pa JOIN {EPISODES} e ON e.id = pa.episode_id "
        "WHERE pa.status IN ('not_started', 'in_progress') AND pa.owner_user_id IS NOT NULL "
        f"AND pa.due_on < %s AND pa.due_on >= %s AND e.status <> '{CLOSED}'" + extra
    )
    return sql, [c.today, c.since, *extra_params]


def _after_closure(c: Clock, only, *, months: int, condition: str) -> tuple[str, list]:
    """Closed episodes whose closure date plus `months` fell in the last catch-up days. The index on
    closed_on narrows to a few weeks of closures; the exact calendar arithmetic is PostgreSQL's."""
    extra, extra_params = _only("e.id", only)
    due = f"(e.closed_on + make_interval(months => {int(months)}))::date"
    sql = (
        "SELECT COALESCE(e.lead_professional_id, e.assessor_id) AS recipient_id, e.id AS object_id, "  # noqa: S608
        f"e.family_id, {due} AS due_on FROM {EPISODES} e "
        f"WHERE e.status = '{CLOSED}' AND e.closed_on BETWEEN %s AND %s AND {due} BETWEEN %s AND %s "
        f"AND COALESCE(e.lead_professional_id, e.assessor_id) IS NOT NULL {condition}" + extra
    )
    earliest = c.today - dt.timedelta(days=months * 31 + c.catch_up_days + 1)
    latest = c.today - dt.timedelta(days=months * 28)
    return sql, [earliest, latest, c.today - dt.timedelta(days=c.catch_up_days), c.today, *extra_params]


def _sustainment_check(c: Clock, only) -> tuple[str, list]:
    return _after_closure(
        c, only, months=c.sustainment_months, condition="AND e.closure_reason = 'outcomes_achieved'"
    )


def _rereferral_window_end(c: Clock, only) -> tuple[str, list]:
    # Not when the family has come back meanwhile: the window no longer matters.
    return _after_closure(
        c,
        only,
        months=c.rereferral_months,
        condition=(
            f"AND NOT EXISTS (SELECT 1 FROM {EPISODES} later WHERE later.family_id = e.family_id "  # noqa: S608
            "AND later.id <> e.id AND later.opened_on >= e.closed_on)"
        ),
    )


def _weekly_digest(c: Clock, only) -> tuple[str, list]:
    extra, extra_params = _only("m.user_id", only)
    sql = (
        "SELECT DISTINCT m.user_id AS recipient_id, 0::bigint AS object_id, NULL::bigint AS family_id, "  # noqa: S608
        f"%s::date AS due_on FROM {_t(Membership)} m JOIN {_t(User)} u ON u.id = m.user_id "
        "WHERE u.is_active AND m.role = ANY(%s) AND %s" + extra
    )
    return sql, [
        c.week_start,
        [Role.AGENCY_MANAGER, Role.EARLY_HELP_MANAGER],
        c.today.weekday() >= c.weekly_digest_weekday,
        *extra_params,
    ]


def _daily_email(c: Clock, only) -> tuple[str, list]:
    extra, extra_params = _only("n.recipient_id", only)
    sql = (
        "SELECT DISTINCT n.recipient_id, 0::bigint AS object_id, NULL::bigint AS family_id, "  # noqa: S608
        f"%s::date AS due_on FROM {_t(Notification)} n WHERE n.email_state = 'digest' AND %s" + extra
    )
    return sql, [c.today, c.local_hour >= c.daily_email_hour, *extra_params]


@dataclass(frozen=True)
class Scan:
    kind: str
    build: Builder
    # Whether a reminder of this kind is about one family (and so needs the family access check).
    about_a_family: bool = True
    # Where, within one day, a change can make a reminder of this kind newly due: (table, the column
    # holding the scan's object id) for each table the kind's rows come from. Empty: the kind is scanned
    # in full every run (its candidates are few: tomorrow's meetings, managers, waiting notifications).
    # Not listed, so first seen by the next day's full scan: a new coordinator for a hub, a hub's new
    # triage target, a worker joining a team the day before its meeting.
    changes: tuple[tuple[str, str], ...] = ()


_EPISODE = ((EPISODES, "id"),)
CATALOGUE: tuple[Scan, ...] = (
    Scan(K.REVIEW_DUE, _review_due, changes=_EPISODE),
    Scan(K.REVIEW_OVERDUE, _review_overdue, changes=_EPISODE),
    Scan(K.MEETING_TOMORROW, _meeting_tomorrow),
    Scan(K.EHA_DRAFT_STALE, _eha_draft_stale, changes=((ASSESSMENTS, "id"),)),
    Scan(K.NO_LEAD, _no_lead, changes=((EPISODES, "id"), (ASSESSMENTS, "episode_id"))),
    Scan(K.TRIAGE_OVERDUE, _triage_overdue, changes=((REQUESTS, "id"),)),
    Scan(K.ACTION_OVERDUE, _action_overdue, changes=((ACTIONS, "id"),)),
    Scan(K.SUSTAINMENT_CHECK, _sustainment_check, changes=_EPISODE),
    Scan(K.REREFERRAL_WINDOW_END, _rereferral_window_end, changes=_EPISODE),
    Scan(K.WEEKLY_DIGEST, _weekly_digest, about_a_family=False),
    Scan(K.DAILY_EMAIL, _daily_email, about_a_family=False),
)
SCANS = {scan.kind: scan for scan in CATALOGUE}
# Digests are keyed by recipient: delivery narrows their re-check by recipient, the others by object.
BY_RECIPIENT = {K.WEEKLY_DIGEST, K.DAILY_EMAIL}

_COLUMNS = "kind, recipient_id, object_id, family_id, due_on"
_KEY = "kind, recipient_id, object_id, due_on"


def claim_due(*, scan: Scan, clock: Clock, only: Sequence[int] | None = None) -> int:
    """Claim every reminder of this kind that is due and not yet claimed (among `only`'s objects, when
    given); the number newly claimed."""
    select, params = scan.build(clock, only)
    table = _t(Reminder)
    # First attempt from the scan's own moment (the database's clock when the scan runs now), so a scan
    # and a delivery run at a given moment agree whatever the time of day they are run at.
    sql = (
        f"INSERT INTO {table} ({_COLUMNS}, next_attempt_at) "  # noqa: S608
        f"SELECT %s, s.recipient_id, s.object_id, s.family_id, s.due_on, %s FROM ({select}) s "
        f"ON CONFLICT ({_KEY}) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [scan.kind, clock.now, *params])
        return cursor.rowcount


@dataclass(frozen=True)
class Due:
    kind: str
    recipient_id: int
    object_id: int
    family_id: int | None
    due_on: dt.date


def unclaimed_due(*, scan: Scan, clock: Clock) -> list[Due]:
    """What `claim_due` would claim now, without claiming it (for --dry-run)."""
    select, params = scan.build(clock, None)
    sql = (
        f"SELECT DISTINCT s.recipient_id, s.object_id, s.family_id, s.due_on FROM ({select}) s "  # noqa: S608
        f"WHERE NOT EXISTS (SELECT 1 FROM {_t(Reminder)} r WHERE r.kind = %s "
        "AND r.recipient_id = s.recipient_id AND r.object_id = s.object_id AND r.due_on = s.due_on) "
        "ORDER BY s.due_on, s.recipient_id, s.object_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, scan.kind])
        return [Due(scan.kind, *row) for row in cursor.fetchall()]


def still_due(*, kind: str, reminders: Iterable[Reminder], clock: Clock) -> set[str]:
    """The keys, among these claimed reminders of one kind, that the scan would still find due now."""
    reminders = list(reminders)
    if not reminders:
        return set()
    scan = SCANS[kind]
    only = sorted({r.recipient_id if kind in BY_RECIPIENT else r.object_id for r in reminders})
    select, params = scan.build(clock, only)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.recipient_id, s.object_id, s.due_on FROM ({select}) s", params)  # noqa: S608
        return {f"{kind}:{u}:{o}:{d.isoformat()}" for u, o, d in cursor.fetchall()}


def _overlap() -> dt.timedelta:
    # A transaction still open when the previous run read the tables commits rows stamped before that
    # run started: looking back this far past the mark finds them (web requests last seconds).
    return dt.timedelta(minutes=_setting("REMINDER_SCAN_OVERLAP_MINUTES", 30))


def _full_scan_limit() -> int:
    # More changed objects than this (a bulk import, a data fix) and a full scan is the cheaper read.
    return _setting("REMINDER_SCAN_CHANGES_LIMIT", 5000)


def changes_since(*, scan: Scan, mark: ScanMark | None, clock: Clock) -> dt.datetime | None:
    """When this kind needs only re-checking from, or None when it must be scanned in full: no mark, a
    mark for another day or other limits, or a kind that is always scanned in full."""
    if not scan.changes or mark is None:
        return None
    if mark.scanned_for != clock.today or mark.limits != clock.limits:
        return None
    return mark.started_at - _overlap()


def changed_objects(*, scan: Scan, since: dt.datetime, cache: dict | None = None) -> list[int] | None:
    """The ids of the scan's objects whose rows changed since `since` (one indexed range read of each
    table, shared through `cache` by the kinds reading the same table); None when there are so many that
    a full scan is cheaper."""
    cache = {} if cache is None else cache
    limit = _full_scan_limit()
    found: set[int] = set()
    for table, column in scan.changes:
        key = (table, column, since)
        if key not in cache:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT DISTINCT {column} FROM {table} WHERE changed_at >= %s LIMIT %s",  # noqa: S608
                    [since, limit + 1],
                )
                cache[key] = [row[0] for row in cursor.fetchall()]
        ids = cache[key]
        if len(ids) > limit:
            return None
        found.update(ids)
    return sorted(found) if len(found) <= limit else None


def _record_marks(kinds: Sequence[str], *, clock: Clock, started: dt.datetime) -> None:
    """The marks of the kinds this run scanned, after their claims committed. A mark never moves back to
    an earlier start (two runs at once: the later one's mark stands)."""
    if not kinds:
        return
    table = _t(ScanMark)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(kinds))
    params: list = []
    for kind in kinds:
        params += [kind, clock.today, clock.limits, started]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, scanned_for, limits, started_at) VALUES {values} "  # noqa: S608
            "ON CONFLICT (kind) DO UPDATE SET scanned_for = EXCLUDED.scanned_for, limits = EXCLUDED.limits, "
            f"started_at = EXCLUDED.started_at WHERE {table}.started_at <= EXCLUDED.started_at",
            params,
        )


def scan_all(*, now: dt.datetime | None = None, kinds: Iterable[str] | None = None) -> dict[str, int]:
    """Run the catalogue (or some kinds of it) once: each kind claims in its own transaction, in full or
    among the objects changed since its mark (module docstring), and the run is recorded for /healthz.
    Returns the number newly claimed per kind."""
    clock = Clock.at(now)
    started = timezone.now()
    marks = {mark.kind: mark for mark in ScanMark.objects.all()}
    cache: dict = {}
    claimed: dict[str, int] = {}
    scanned: dict[str, str | int] = {}
    for scan in CATALOGUE:
        if kinds is not None and scan.kind not in kinds:
            continue
        since = changes_since(scan=scan, mark=marks.get(scan.kind), clock=clock)
        only = None if since is None else changed_objects(scan=scan, since=since, cache=cache)
        if only is None:
            scanned[scan.kind] = "full"
            with transaction.atomic():
                claimed[scan.kind] = claim_due(scan=scan, clock=clock)
        else:
            scanned[scan.kind] = len(only)
            claimed[scan.kind] = 0
            if only:
                with transaction.atomic():
                    claimed[scan.kind] = claim_due(scan=scan, clock=clock, only=only)
    _record_marks(list(scanned), clock=clock, started=started)
    ScanRun.objects.create(started_at=started, finished_at=timezone.now(), claimed=claimed, scanned=scanned)
    return claimed
