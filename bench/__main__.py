"""`make bench`: the whole benchmark in one command (docs/benchmarks.md).

    python -m bench [--calls 200] [--users 8,32,64] [--seconds 30] [--skip-load] [--only NAME,...]

With DATABASE_URL and REDIS_URL set (scripts/devservices.py sets them, with embedded servers when they
are not), it
1. builds or reuses the small (3,000 families) and large (250,000 families) tiers, each in its own
   database on DATABASE_URL's server (bench.tiers);
2. measures every operation at both tiers, each in its own process with DATABASE_URL set to the tier
   (bench.measure: p50, p95, queries, SQL floor, and the permission filter's cost);
3. runs the HTTP load at the large tier (bench.load: gunicorn and locust, the ceiling and each level);
4. prints one table with each figure beside its target and writes everything, with the date, the commit
   and the machine, to bench/results/bench-<date>-<commit>.json (git-ignored).
Targets are checked here and reported as met or not; they are never assertions in `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import psycopg2

from bench import tiers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# Targets at the large tier (the issue's, DESIGN.md §9): (figure, limit) per operation.
TARGETS: dict[str, list[tuple[str, float]]] = {
    "family_list": [("p50_ms", 25), ("queries", 8), ("ratio", 5)],
    "family_page": [("p50_ms", 40), ("queries", 12)],
    "family_search": [("p95_ms", 50)],
    "dashboard": [("p95_ms", 50)],
    "reminder_scan": [("p50_ms", 50)],
    # The assessment PDF: asking for it is a page like any other; the render runs in a Celery task.
    "eha_pdf_request": [("p50_ms", 100)],
    "eha_pdf": [("p50_ms", 3000)],
}
TIER_RATIO_LIMIT = 1.25
FILTER_RATIO_LIMIT = 2.0
# Interactive operations (a person waits for them): the large/small ratio applies to these.
NOT_INTERACTIVE = {"reminder_scan", "eha_pdf"}
LOAD_TARGET = {"rps": 300, "p95_ms": 200, "errors": 0}


def say(text: str = "") -> None:
    print(text, flush=True)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(database_url: str) -> dict:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if "MemTotal" in line
        )
    except (OSError, StopIteration, ValueError):
        memory_kb = 0
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    conn.close()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgres": postgres,
        "shared_buffers": shared_buffers,
        "system": platform.platform(),
    }


def measure(
    url: str, redis_url: str, *, calls: int, out: Path, only: str | None, compare: Path | None
) -> dict:
    """bench.measure in its own process against one tier (Django reads DATABASE_URL once, at start)."""
    command = [sys.executable, "-m", "bench.measure", "--calls", str(calls), "--json", str(out)]
    if only:
        command += ["--only", only]
    if compare is not None:
        command += ["--compare", str(compare)]
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url}
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return json.loads(out.read_text())


def verdicts(large: dict, load: dict | None) -> list[dict]:
    """Each target beside its figure: {"what", "figure", "target", "met"}."""
    rows = {row["name"]: row for row in large["operations"]}
    result = []

    def add(what: str, figure, limit: float, *, at_least: bool = False) -> None:
        met = None if figure is None else (figure >= limit if at_least else figure <= limit)
        result.append(
            {"what": what, "figure": figure, "target": f"{'≥' if at_least else '≤'} {limit:g}", "met": met}
        )

    for name, targets in TARGETS.items():
        row = rows.get(name)
        if row is None:
            continue
        for figure, limit in targets:
            add(f"{name} {figure}", row.get(figure), limit)
    filter_ratio = large.get("filter_ratio")
    if filter_ratio:
        add("permission filter / unfiltered list (ORM)", filter_ratio.get("orm_ratio"), FILTER_RATIO_LIMIT)
        add(
            "permission filter / unfiltered list (raw SQL)",
            filter_ratio.get("raw_sql_ratio"),
            FILTER_RATIO_LIMIT,
        )
    for name, ratio in (large.get("vs_small") or {}).items():
        if name not in NOT_INTERACTIVE:
            add(f"{name} large / small p50", ratio, TIER_RATIO_LIMIT)
    if load:
        for level in load["levels"]:
            users = level["users"]
            add(f"load at {users} users: requests/s", level["rps"], LOAD_TARGET["rps"], at_least=True)
            add(f"load at {users} users: p95 ms", level["p95_ms"], LOAD_TARGET["p95_ms"])
            add(f"load at {users} users: errors", level["errors"], LOAD_TARGET["errors"])
    return result


def verdict_table(rows: list[dict]) -> str:
    width = max(len(row["what"]) for row in rows)
    lines = [f"{'target':<{width}}  {'figure':>10}  {'limit':>8}  met", "-" * (width + 28)]
    for row in rows:
        figure = row["figure"]
        shown = "-" if figure is None else (f"{figure:.2f}" if isinstance(figure, float) else str(figure))
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        lines.append(f"{row['what']:<{width}}  {shown:>10}  {row['target']:>8}  {met}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="timed calls per operation (default 200)")
    parser.add_argument(
        "--users", default="8,32,64", help="concurrent users of the load run (default 8,32,64)"
    )
    parser.add_argument(
        "--seconds", type=int, default=30, help="measured seconds per load stage (default 30)"
    )
    parser.add_argument("--skip-load", action="store_true", help="leave out the HTTP load run")
    parser.add_argument("--only", help="measure only these operations (comma-separated, as bench.measure)")
    args = parser.parse_args(argv)
    base_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not base_url or not redis_url:
        parser.error("DATABASE_URL and REDIS_URL must be set (make bench sets them)")

    started = dt.datetime.now().astimezone()
    commit = git_commit()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"{started:%Y%m%d-%H%M%S}-{commit.replace('+', '-')}"

    urls = {}
    for tier in ("small", "large"):
        urls[tier] = tiers.ensure_tier(tier, base_url=base_url, redis_url=redis_url, log=say)
    counts = {tier: (tiers.read_marker(url, tier) or {}).get("counts", {}) for tier, url in urls.items()}

    say("\nOperations at the small tier")
    small_path = RESULTS / f"operations-small-{stamp}.json"
    small = measure(urls["small"], redis_url, calls=args.calls, out=small_path, only=args.only, compare=None)
    say("\nOperations at the large tier")
    large = measure(
        urls["large"],
        redis_url,
        calls=args.calls,
        out=RESULTS / f"operations-large-{stamp}.json",
        only=args.only,
        compare=small_path,
    )

    load = None
    if not args.skip_load:
        from bench.load import run_load
        from bench.load import table as load_table

        say("\nHTTP load at the large tier")
        users = [int(n) for n in args.users.split(",") if n.strip()]
        load = run_load(urls["large"], redis_url, users, args.seconds)
        say(load_table(load))

    rows = verdicts(large, load)
    say("\nTargets (large tier)")
    say(verdict_table(rows))
    report = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit,
        "machine": machine(urls["large"]),
        "tiers": counts,
        "small": small,
        "large": large,
        "load": load,
        "targets": rows,
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    say(f"\nWritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
