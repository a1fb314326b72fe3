"""How much the reminder scans cost on the large tier (DESIGN.md §9). A benchmark, not a test.

    createdb ehcase_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/ehcase_bench
    python manage.py migrate
    python manage.py seed_demo --families 250000      # about five minutes
    python scripts/bench_reminders.py                 # adds plan actions, requests and assessments once

The large tier has no plan actions, requests for support or assessments yet, so the first run adds them
with set-based SQL at DESIGN.md §9's proportions (three actions per episode, 700,000 requests with a
queue of undecided ones, an assessment per episode). Each scan is then run five times inside a
transaction that is rolled back, so every run claims the same reminders: the figures are the time of the
claiming INSERT ... SELECT (first) and of running it again when everything is already claimed (repeat),
with the number of queries (always one) and the plan's sequential scans, if any, over large tables.
One batch of delivery is timed the same way (email to Django's in-memory backend).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehcase.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from assessments.models import Assessment, AssessmentTemplate, PlanAction  # noqa: E402
from ehcase.models import Family, User  # noqa: E402
from ehcase.notifications import scans  # noqa: E402
from ehcase.notifications.models import Reminder  # noqa: E402
from ehcase.notifications.services import reminders_deliver  # noqa: E402
from hubs.models import RequestForSupport  # noqa: E402

RUNS = 5


class Rollback(Exception):
    pass


def execute(sql: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


def top_up() -> None:
    """Add what the large tier lacks, once (skipped when the tables already hold rows)."""
    sam = User.objects.get(username="sam.practitioner").pk
    t0 = time.perf_counter()
    if PlanAction.objects.count() < 1000:
        added = execute(
            f"INSERT INTO {PlanAction._meta.db_table} (episode_id, description, owner_user_id, "  # noqa: S608
            "due_on, status, created_by_id, created_at, updated_at, version) "
            "SELECT e.id, 'Benchmark action', COALESCE(e.lead_professional_id, e.assessor_id, %s), "
            "COALESCE(e.closed_on, CURRENT_DATE) - ((e.id * 7 + g) %% 120)::int + 30, "
            "CASE WHEN (e.id + g) %% 3 = 0 THEN 'done' WHEN (e.id + g) %% 3 = 1 THEN 'in_progress' "
            "ELSE 'not_started' END, %s, now(), now(), 1 "
            f"FROM {scans.EPISODES} e CROSS JOIN generate_series(1, 3) g",
            [sam, sam],
        )
        print(f"added {added:,} plan actions")
    if RequestForSupport.objects.count() < 1000:
        added = execute(
            f"INSERT INTO {RequestForSupport._meta.db_table} (family_id, hub_id, referrer_id, "  # noqa: S608
            "status, source, urgency, reasons, tried_already, consent_given, consent_by, consent_method, "
            "no_consent_reason, "
            "received_on, is_re_referral, created_at, updated_at, version) "
            "SELECT f.id, f.hub_id, %s, CASE WHEN f.id %% 350 = 0 AND g = 1 THEN "
            "(CASE WHEN f.id %% 700 = 0 THEN 'new' ELSE 'awaiting' END) ELSE 'decided' END, "
            "'2A', 'routine', 'Benchmark', '', true, 'Parent', 'verbal', '', "
            "CASE WHEN f.id %% 350 = 0 AND g = 1 THEN CURRENT_DATE - (f.id %% 15)::int "
            "ELSE CURRENT_DATE - ((f.id * 13 + g * 101) %% 3650)::int END, false, now(), now(), 1 "
            f"FROM {Family._meta.db_table} f CROSS JOIN generate_series(1, 3) g WHERE (f.id + g) %% 16 <> 0",
            [sam],
        )
        print(f"added {added:,} requests for support")
    if Assessment.objects.count() < 1000:
        template = AssessmentTemplate.objects.order_by("id").values_list("id", flat=True).first()
        added = execute(
            f"INSERT INTO {Assessment._meta.db_table} (episode_id, template_id, assessor_id, "  # noqa: S608
            "status, started_on, assessment_date, content, completed_at, updated_at, updated_by_id, version) "
            "SELECT e.id, %s, COALESCE(e.assessor_id, e.lead_professional_id, %s), "
            "CASE WHEN e.status IN ('open', 'assessment') THEN 'draft' "
            "WHEN e.status = 'closed' THEN 'signed_off' ELSE 'completed' END, "
            "e.opened_on, e.opened_on, '{}'::jsonb, "
            "CASE WHEN e.status IN ('open', 'assessment') THEN NULL "
            "ELSE (e.opened_on + 21)::timestamptz END, "
            "now(), %s, 1 "
            f"FROM {scans.EPISODES} e",
            [template, sam, sam],
        )
        print(f"added {added:,} assessments")
    print(f"top-up took {time.perf_counter() - t0:.1f} s")
    for model in (PlanAction, RequestForSupport, Assessment, Reminder):
        execute(f"ANALYZE {model._meta.db_table}")
    execute(f"ANALYZE {scans.EPISODES}")


def seq_scans(scan: scans.Scan, clock: scans.Clock) -> list[str]:
    select, params = scan.build(clock, None)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + select, params)
        plan = cursor.fetchone()[0]
    found: list[str] = []

    def walk(node):
        if node.get("Node Type") == "Seq Scan" and node.get("Plan Rows", 0) > 0:
            found.append(f"{node['Relation Name']} (~{node.get('Plan Rows')} rows out)")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def bench_scan(scan: scans.Scan, clock: scans.Clock) -> dict:
    first, repeat, claimed, queries = [], [], 0, 0
    for _ in range(RUNS):
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as captured:
                    t0 = time.perf_counter()
                    claimed = scans.claim_due(scan=scan, clock=clock)
                    first.append((time.perf_counter() - t0) * 1000)
                queries = len(captured)
                t0 = time.perf_counter()
                assert scans.claim_due(scan=scan, clock=clock) == 0
                repeat.append((time.perf_counter() - t0) * 1000)
                raise Rollback
        except Rollback:
            pass
    return {
        "kind": scan.kind,
        "claimed": claimed,
        "first_ms": statistics.median(first),
        "repeat_ms": statistics.median(repeat),
        "queries": queries,
        "seq": seq_scans(scan, clock),
    }


def bench_delivery(clock: scans.Clock, batch: int = 50) -> tuple[int, float, int]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Warm the URLconf and templates once: a worker does this at start, not per reminder.
    from django.template.loader import get_template
    from django.urls import reverse

    reverse("home")
    get_template("notifications/email.txt")
    try:
        with transaction.atomic():
            for scan in scans.CATALOGUE:
                scans.claim_due(scan=scan, clock=clock)
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                result = reminders_deliver(limit=batch, batch_size=batch)
                elapsed = (time.perf_counter() - t0) * 1000
            sent = result.sent + result.withheld + result.stale
            raise Rollback
    except Rollback:
        return sent, elapsed, len(captured)


def main() -> None:
    print(f"database {connection.settings_dict['NAME']}: {Family.objects.count():,} families")
    top_up()
    clock = scans.Clock.at()
    rows = [bench_scan(scan, clock) for scan in scans.CATALOGUE]
    print(f"\n{'kind':<24}{'claimed':>9}{'first ms':>10}{'repeat ms':>11}{'queries':>9}  sequential scans")
    for r in rows:
        seq = ", ".join(r["seq"]) or "none"
        print(
            f"{r['kind']:<24}{r['claimed']:>9,}{r['first_ms']:>10.1f}{r['repeat_ms']:>11.1f}"
            f"{r['queries']:>9}  {seq}"
        )
    print(
        f"{'whole catalogue':<24}{sum(r['claimed'] for r in rows):>9,}"
        f"{sum(r['first_ms'] for r in rows):>10.1f}{sum(r['repeat_ms'] for r in rows):>11.1f}"
        f"{sum(r['queries'] for r in rows):>9}"
    )
    sent, elapsed, queries = bench_delivery(clock)
    print(
        f"\ndelivery: {sent} reminders in {elapsed:.0f} ms ({elapsed / max(sent, 1):.1f} ms each), "
        f"{queries} queries"
    )


if __name__ == "__main__":
    main()
