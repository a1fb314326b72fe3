"""How long the quarterly indicators take to compute (reporting/indicators.py). A benchmark, not a test.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/ehcase_bench
    python manage.py migrate
    python manage.py seed_demo --families 250000      # the large tier (DESIGN.md §9)
    python scripts/bench_dashboard.py                 # [--runs N] [--explain] [--page N]

It reads whatever the database holds and writes nothing, except with --page: then it also renders the
dashboard page N times as the early help manager persona through the whole Django stack (middleware,
session, access, template), the first time with no stored snapshot (the page calculates and stores the
three quarters, as on the first view of a scope) and then from the snapshots, as every later view is.

A dashboard shows a quarter beside the previous one and the same quarter a year before, so it computes the
last ended quarter and those two, for every hub and agency and for the hub and the agency with the most
families / episodes. Each computation is run `--runs` times; the first run of each quarter and scope is
"cold" (nothing of it in PostgreSQL's cache beyond what earlier scopes left), and p50 / p95 are over every
run. The query count is compute()'s (BEGIN, SET LOCAL jit, the names, one per section, COMMIT); the per-
section times come from the captured queries of the runs. With --explain the plan of each section's query
is searched for sequential scans of large tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehcase.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from assessments.models import Assessment, AssessmentVersion  # noqa: E402
from ehcase.models import Agency, Family, Person  # noqa: E402
from hubs.models import Hub, RequestForSupport, TriageDecision  # noqa: E402
from pathway.models import Episode, IdentifiedNeed, Review, SupportingFamiliesClaim  # noqa: E402
from reporting import indicators  # noqa: E402
from reporting.quarters import Quarter  # noqa: E402

LARGE = 10_000  # rows a plan may not scan sequentially without saying so


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def counts() -> None:
    for model in (
        Family,
        Person,
        RequestForSupport,
        TriageDecision,
        Assessment,
        AssessmentVersion,
        Episode,
        Review,
        IdentifiedNeed,
        SupportingFamiliesClaim,
    ):
        print(f"  {model._meta.verbose_name_plural:<28}{model.objects.count():>12,}")


def scopes() -> list[tuple[str, indicators.Scope]]:
    found = [("every hub and agency", indicators.Scope())]
    hub = Hub.objects.annotate(n=Count("families")).order_by("-n").first()
    if hub:
        found.append((f"hub {hub.name}", indicators.Scope(hub_id=hub.pk)))
    busiest = (
        Episode.objects.exclude(lead_professional=None)
        .values("lead_professional__memberships__agency")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    agency_id = busiest and busiest["lead_professional__memberships__agency"]
    if agency_id:
        name = Agency.objects.get(pk=agency_id).name
        found.append((f"agency {name}", indicators.Scope(agency_id=agency_id)))
    return found


def sequential_scans(quarter: Quarter, scope: indicators.Scope) -> dict[str, list[str]]:
    """Per section, the large tables its query reads with a sequential scan (from EXPLAIN)."""
    values = indicators._values(quarter, scope)
    found: dict[str, list[str]] = {}
    for section in indicators.SECTIONS:
        sql, params = indicators._positional(indicators._section_sql(section, scope), values)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        found[section.key] = []
        walk(plan[0]["Plan"], found[section.key])
    return found


def walk(node: dict, scans: list[str]) -> None:
    if node.get("Node Type") == "Seq Scan" and node.get("Plan Rows", 0) >= LARGE:
        scans.append(f"{node['Relation Name']} (~{node['Plan Rows']:,} rows)")
    for child in node.get("Plans", []):
        walk(child, scans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--page", type=int, default=0, help="render the dashboard page N times")
    args = parser.parse_args()
    if args.page:
        page(args.page)
        return

    print(f"database {connection.settings_dict['NAME']}")
    counts()
    latest = Quarter.default(timezone.localdate())
    quarters = [latest, latest.previous(), latest.year_before()]
    print(f"\nquarters: {', '.join(q.label for q in quarters)}; {args.runs} runs each\n")
    header = f"{'scope':<44}{'quarter':<12}{'cold ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}"
    print(header)
    section_ms: dict[str, list[float]] = {s.key: [] for s in indicators.SECTIONS}
    dashboard_cold: dict[str, float] = {}
    for label, scope in scopes():
        for quarter in quarters:
            times: list[float] = []
            queries = 0
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as captured:
                    t0 = time.perf_counter()
                    figures = indicators.compute(quarter, scope)
                    times.append((time.perf_counter() - t0) * 1000)
                queries = len(captured)
                # SET LOCAL jit, the names, then one query per section in order (each a WITH ...).
                sections = [q for q in captured.captured_queries if q["sql"].startswith("WITH")]
                for section, query in zip(indicators.SECTIONS, sections, strict=True):
                    section_ms[section.key].append(float(query["time"]) * 1000)
            dashboard_cold[label] = dashboard_cold.get(label, 0.0) + times[0]
            print(
                f"{label[:43]:<44}{quarter.label:<12}{times[0]:>9.0f}{statistics.median(times):>9.0f}"
                f"{percentile(times, 0.95):>9.0f}{queries:>9}"
            )
        print(
            f"{'':<44}{'':<12}  requests {figures['requests_received']['value']:,}, "
            f"open episodes {figures['episodes_open_at_end']['value']:,}, "
            f"reviews {figures['reviews_on_time']['denominator']:,} (year before)"
        )
    print("\na dashboard's three quarters computed cold, per scope:")
    for label, total in dashboard_cold.items():
        print(f"  {label:<44}{total:>8.0f} ms")
    print("\nper section, over every run (ms):")
    print(f"  {'section':<24}{'p50':>8}{'p95':>8}{'max':>8}")
    for key, values in section_ms.items():
        if values:
            print(
                f"  {key:<24}{statistics.median(values):>8.1f}{percentile(values, 0.95):>8.1f}"
                f"{max(values):>8.1f}"
            )
    if args.explain:
        print(f"\nsequential scans of {LARGE:,} rows or more, {latest.label}, every hub and agency:")
        for key, found in sequential_scans(latest, indicators.Scope()).items():
            print(f"  {key:<24}{', '.join(found) or 'none'}")
    print(f"\nfinished {dt.datetime.now():%H:%M:%S}")


def page(calls: int) -> None:
    """The dashboard page for the last ended quarter, every hub and agency, as Morgan (early help manager)."""
    from django.test import Client

    from ehcase.models import User
    from reporting.models import Snapshot

    latest = Quarter.default(timezone.localdate())
    slugs = [latest.slug, latest.previous().slug, latest.year_before().slug]
    client = Client()
    client.force_login(User.objects.get(username="morgan.manager"))
    url = f"/reporting/?quarter={latest.slug}"
    print(f"database {connection.settings_dict['NAME']}; GET {url} as morgan.manager")
    Snapshot.objects.filter(quarter__in=slugs, hub_id=0, agency_id=0).delete()
    t0 = time.perf_counter()
    response = client.get(url)
    cold = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200, response.status_code
    print(f"  first view, calculating three quarters: {cold:,.0f} ms")
    times: list[float] = []
    for _ in range(calls):
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    print(
        f"  from snapshots, {calls} views: p50 {statistics.median(times):.1f} ms, "
        f"p95 {percentile(times, 0.95):.1f} ms, {len(captured)} queries, {len(response.content):,} bytes"
    )


if __name__ == "__main__":
    main()
