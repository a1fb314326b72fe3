"""Per-operation benchmark: `python -m bench.measure --calls 200 [--json PATH] [--only NAME,...]`.

Runs in the database of DATABASE_URL (Redis from REDIS_URL), with DEBUG off as in production. For each
operation of bench/operations.py: prepare(), a few warm-up calls, one call under
CaptureQueriesContext for the number of queries, then N timed calls (time.perf_counter) → p50 and p95.
The SQL floor is the operation's main queries (main_sql(); by default the slowest SELECT of the captured
call) executed N times through a raw cursor → p50; the ratio is the operation's p50 over the floor's.

Also the cost of the access filter: sam.practitioner's family list (the page's own queryset,
ehcase.selectors.family_search: 50 rows and the count) against the same list unfiltered (the same selector
for a partnership-wide reader, which is every family with the same ordering and columns), both as raw SQL
and through the ORM.

Write operations add rows each run (see bench/operations.py): run it against a benchmark database.
Figures are printed as a table and, with --json, written as
{"tier_families", "operations": [{"name", "calls", "p50_ms", "p95_ms", "queries", "sql_floor_ms", "ratio",
"notes"}], "filter_ratio": {...}}; with --compare SMALL.json also "vs_small": {name: p50 / small p50}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WARMUP = 3
FILTER_USER = "sam.practitioner"
UNFILTERED_USER = "morgan.manager"  # partnership-wide: family_search over every family


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q from 0 to 100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any], calls: int) -> list[float]:
    """Milliseconds of each of `calls` calls of fn."""
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def run_sql(statements) -> None:
    """Execute each statement through a raw cursor and fetch its rows, as the ORM would."""
    from django.db import connection

    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()


def slowest_select(captured: list[dict]) -> list[tuple[str, None]]:
    from .operations import is_read

    selects = [q for q in captured if is_read(q["sql"])]
    if not selects:
        return []
    slowest = max(selects, key=lambda q: float(q["time"]))
    return [(slowest["sql"], None)]


def measure_operation(op, *, calls: int, warmup: int = WARMUP) -> dict:
    """prepare(), warm up, count the queries of one call, time `calls` calls and the SQL floor."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    op.prepare()
    if op.max_calls is not None:
        calls = min(calls, op.max_calls)
        warmup = min(warmup, 1)
    for _ in range(warmup):
        op.check(op.call())
    with CaptureQueriesContext(connection) as captured:
        result = op.call()
    # A copy now: the next request through the test client resets the connection's query log.
    captured_queries = list(captured.captured_queries)
    op.check(result)
    queries = len(captured_queries)

    # Each result is checked after the clock stops, so that checking is not timed.
    times: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        result = op.call()
        times.append((time.perf_counter() - started) * 1000)
        op.check(result)

    main = op.main_sql()
    floor_source = "main_sql" if main else "slowest query of a call"
    if not main:
        main = slowest_select(captured_queries)
    floor = statistics.median(timed(lambda: run_sql(main), calls)) if main else None
    p50 = statistics.median(times)
    return {
        "name": op.name,
        "calls": calls,
        "p50_ms": round(p50, 2),
        "p95_ms": round(percentile(times, 95), 2),
        "queries": queries,
        "sql_floor_ms": round(floor, 3) if floor is not None else None,
        "sql_floor_queries": len(main),
        "sql_floor_source": floor_source,
        "ratio": round(p50 / floor, 1) if floor else None,
        "notes": op.notes,
    }


def filter_ratio(*, calls: int) -> dict:
    """The permission-filtered family list against the same list unfiltered (module docstring)."""
    from django.core.paginator import Paginator

    from ehcase.models import User
    from ehcase.permissions import roles_for
    from ehcase.selectors import family_search

    from .operations import captured_sql

    def page(user) -> tuple[int, list]:
        paginator = Paginator(family_search(user=user), 50)
        current = paginator.get_page(1)
        return paginator.count, list(current.object_list)

    out: dict = {}
    for key, username in (("filtered", FILTER_USER), ("unfiltered", UNFILTERED_USER)):
        user = User.objects.get(username=username)
        roles_for(user)  # once per request on the page too
        count, rows = page(user)
        sql = captured_sql(lambda user=user: page(user))
        for _ in range(WARMUP):
            run_sql(sql)
            page(user)
        out[key] = {
            "user": username,
            "families": count,
            "rows": len(rows),
            "raw_sql_p50_ms": round(statistics.median(timed(lambda sql=sql: run_sql(sql), calls)), 3),
            "orm_p50_ms": round(statistics.median(timed(lambda user=user: page(user), calls)), 3),
        }
    f, u = out["filtered"], out["unfiltered"]
    out["raw_sql_ratio"] = round(f["raw_sql_p50_ms"] / u["raw_sql_p50_ms"], 2)
    out["orm_ratio"] = round(f["orm_p50_ms"] / u["orm_p50_ms"], 2)
    out["notes"] = (
        "family_search for sam.practitioner (UNION of granted ids) vs for morgan.manager (partnership-wide: "
        "every family, same ordering and member counts); 50 rows + count each"
    )
    return out


def measure_all(*, calls: int, only: list[str] | None = None, warmup: int = WARMUP, log=print) -> dict:
    """Every operation (or those in `only`) and the filter ratio, in the current database."""
    from django.conf import settings
    from django.db import connection

    from ehcase.models import Family

    from .operations import operations

    names = [name for name in only if name != "filter_ratio"] if only is not None else None
    chosen = operations(names) if names is None or names else []
    document: dict = {
        "database": connection.settings_dict["NAME"],
        "tier_families": Family.objects.count(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "debug": settings.DEBUG},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "operations": [],
    }
    for op in chosen:
        log(f"  {op.name} ...")
        document["operations"].append(measure_operation(op, calls=calls, warmup=warmup))
    if only is None or "filter_ratio" in only:
        log("  filter_ratio ...")
        document["filter_ratio"] = filter_ratio(calls=calls)
    return document


def tier_ratios(large: dict, small: dict) -> dict[str, float]:
    """Each operation's p50 at the larger tier over its p50 at the smaller one (both documents from
    measure_all), for the operations measured in both."""
    small_p50 = {row["name"]: row["p50_ms"] for row in small["operations"]}
    return {
        row["name"]: round(row["p50_ms"] / small_p50[row["name"]], 2)
        for row in large["operations"]
        if small_p50.get(row["name"])
    }


def table(document: dict) -> str:
    """The figures as a plain-text table."""
    columns = (("operation", "<16"), ("calls", ">6"), ("p50 ms", ">10"), ("p95 ms", ">10"))
    columns += (("queries", ">9"), ("floor ms", ">10"), ("ratio", ">8"))
    head = "".join(f"{title:{spec}}" for title, spec in columns)
    lines = [f"Tier: {document['tier_families']:,} families ({document['database']})", head, "-" * len(head)]
    for row in document["operations"]:
        floor = f"{row['sql_floor_ms']:.2f}" if row["sql_floor_ms"] is not None else "-"
        ratio = f"{row['ratio']:.1f}" if row["ratio"] is not None else "-"
        lines.append(
            f"{row['name']:<16}{row['calls']:>6}{row['p50_ms']:>10.2f}{row['p95_ms']:>10.2f}"
            f"{row['queries']:>9}{floor:>10}{ratio:>8}"
        )
    ratios = document.get("vs_small")
    if ratios:
        small = document.get("small_tier_families")
        lines += ["", f"p50 here / p50 at the {small:,}-family tier:"]
        lines += [f"  {name:<16}{ratio:>6.2f}" for name, ratio in ratios.items()]
    fr = document.get("filter_ratio")
    if fr:
        f, u = fr["filtered"], fr["unfiltered"]
        lines += [
            "",
            f"Family list, filtered ({f['user']}, {f['families']:,} families) vs unfiltered "
            f"({u['families']:,} families):",
            f"  raw SQL p50 {f['raw_sql_p50_ms']:.2f} ms vs {u['raw_sql_p50_ms']:.2f} ms: "
            f"ratio {fr['raw_sql_ratio']}",
            f"  ORM p50     {f['orm_p50_ms']:.2f} ms vs {u['orm_p50_ms']:.2f} ms: ratio {fr['orm_ratio']}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measure", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="timed calls per operation (default 200)")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="untimed calls first (default 3)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--only", help="comma-separated operation names (and/or filter_ratio)")
    parser.add_argument(
        "--compare", type=Path, help="a smaller tier's JSON from this command: adds p50 here / p50 there"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehcase.settings")
    # Production's settings where they change what is measured: no query log kept in memory, and API
    # rate limits well above what N back-to-back calls send.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("API_RATE_USER", "1000000/min")
    import django

    django.setup()

    only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    document = measure_all(
        calls=args.calls, only=only, warmup=args.warmup, log=lambda m: print(m, file=sys.stderr)
    )
    if args.compare:
        small = json.loads(args.compare.read_text())
        document["small_tier_families"] = small["tier_families"]
        document["vs_small"] = tier_ratios(document, small)
    print(table(document))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
        print(f"\nWritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
