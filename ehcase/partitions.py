"""Monthly partitions of the audit table (docs/audit.md).

`ehcase_auditevent` is range-partitioned by `occurred_at`, one partition per calendar month in UTC
(`ehcase_auditevent_YYYY_MM`), with a DEFAULT partition (`ehcase_auditevent_default`) so that an insert
never fails. The work is done by a SQL function, `ehcase_audit_partitions_ensure(first, last)`, written by
migration ehcase/0009: the migration, this module (for the daily Celery task and seed_demo) and the
benchmark's audit writer (bench/audit_rows.py, which does not load Django) all call the same code.

This module imports no models, so that a migration may call it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

DEFAULT_MONTHS_AHEAD = 3

# Shared with the migration (which writes the function) and the tests.
PARENT = "ehcase_auditevent"
DEFAULT_PARTITION = "ehcase_auditevent_default"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def months_ahead() -> int:
    return int(getattr(settings, "AUDIT_PARTITION_MONTHS_AHEAD", DEFAULT_MONTHS_AHEAD))


def audit_partitions_ensure(
    *, since: dt.date | None = None, ahead: int | None = None, today: dt.date | None = None
) -> list[str]:
    """Create the audit partitions missing for every month from `since` (default: this month) to this
    month plus `ahead` months (default settings.AUDIT_PARTITION_MONTHS_AHEAD), in UTC. Rows that landed in
    the DEFAULT partition (events dated before the first partition or after the last) are moved into
    partitions of their own months in the same transaction, so DEFAULT is empty afterwards. Idempotent:
    a second call creates nothing. Returns the names of the partitions created, oldest first.

    For the daily task, seed_demo and the migration; no user calls it. It takes a short lock on the audit
    table when it creates a partition: `lock_timeout` makes it give up (and raise) rather than hold up the
    inserts of every request behind a long query on the table; the next day's run catches up, and the
    months ahead leave that much time."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    first = month_start(since or today)
    last = add_months(month_start(today), months_ahead() if ahead is None else ahead)
    first = min(first, month_start(today))
    with transaction.atomic(), connection.cursor() as cursor:
        # For this call only: the caller's transaction (the migration, seed_demo) keeps its own setting.
        cursor.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', '10s', true)")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT name FROM ehcase_audit_partitions_ensure(%s, %s) AS name", [first, last])
        created = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    return created


def audit_partitions() -> list[tuple[str, str]]:
    """The audit table's partitions with their bounds as PostgreSQL prints them, in order of name
    (so by month, DEFAULT last). For tests, /healthz and docs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass "
            "ORDER BY c.relname = %s, c.relname",
            [PARENT, DEFAULT_PARTITION],
        )
        return list(cursor.fetchall())
