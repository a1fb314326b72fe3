"""The benchmark tiers: a database each, built once and then reused.

``ensure_tier("large", base_url=..., redis_url=...)`` makes sure the database ``ehcase_bench_large``
on the server of ``base_url`` holds the large tier of DESIGN.md §9 and returns its URL:

1. it creates the database when it is missing (through the ``postgres`` maintenance database);
2. runs ``manage.py migrate`` and ``manage.py seed_demo --families N`` in subprocesses with
   DATABASE_URL set to the tier's database (seed_demo skips the chunks of families that exist, so
   an interrupted build resumes and a database built by hand is adopted rather than rebuilt);
3. adds what the large-tier generator does not write: the audit trail (bench.audit_rows);
4. VACUUM ANALYZEs, counts the main tables and records the tier in ``bench_tier`` (a table of bench's own,
   not a Django model).

When ``bench_tier`` says the tier is complete for this TIER_VERSION and family count, it only
applies any new migrations (a new index since the build) and writes no data. Bump TIER_VERSION when
what a tier holds changes (the generator, the audit rows), so that existing tier databases are
brought up to date on their next use.

    python -m bench.tiers small      # build or reuse, then print the counts

The server is DATABASE_URL's (default postgres://postgres@127.0.0.1:5432/ehcase); database names
are BENCH_DB_PREFIX (default ``ehcase_bench_``) + tier.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

TIERS = {"tiny": 300, "small": 3_000, "large": 250_000}
# 1: seed_demo's tier plus bench.audit_rows (audit chunk size and views per grant as there).
TIER_VERSION = 1
DEFAULT_PREFIX = "ehcase_bench_"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ehcase"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parent.parent

Log = Callable[[str], None]

MARKER_TABLE = """
CREATE TABLE IF NOT EXISTS bench_tier (
    tier text PRIMARY KEY,
    families integer NOT NULL,
    version integer NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now(),
    counts jsonb NOT NULL DEFAULT '{}'
)
"""

# What the report shows, label: table. Case notes are the chronology's notes; the chronology
# holds every line (requests, decisions, meetings, reviews, changes of status and notes).
COUNTED_TABLES = {
    "families": "ehcase_family",
    "people": "ehcase_person",
    "family members": "ehcase_familymember",
    "requests for support": "hubs_requestforsupport",
    "triage decisions": "hubs_triagedecision",
    "assessments": "assessments_assessment",
    "episodes": "pathway_episode",
    "reviews": "pathway_review",
    "TAF meetings": "pathway_tafmeeting",
    "chronology entries": "pathway_chronologyentry",
    "audit events": "ehcase_auditevent",
    "guardian grants": "ehcase_familyuserobjectpermission",
    "users": "ehcase_user",
}


def tier_database_url(base_url: str, tier: str) -> str:
    """The URL of the tier's database: base_url with its database name replaced."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}: one of {', '.join(TIERS)}")
    prefix = os.environ.get("BENCH_DB_PREFIX", DEFAULT_PREFIX)
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{prefix}{tier}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _maintenance_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def create_database(url: str) -> bool:
    """Create the database of ``url`` unless it exists. Returns True when it was created."""
    name = database_name(url)
    conn = psycopg2.connect(_maintenance_url(url))
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return False
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        conn.close()


def drop_database(url: str) -> None:
    """Drop the database of ``url`` if it exists (tests' throwaway tiers)."""
    conn = psycopg2.connect(_maintenance_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name(url)))
            )
    finally:
        conn.close()


def read_marker(url: str, tier: str) -> dict | None:
    """The tier's row of bench_tier, or None when there is none (or no such table yet)."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_tier') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return None
            cursor.execute(
                "SELECT tier, families, version, built_at, counts FROM bench_tier WHERE tier = %s", [tier]
            )
            row = cursor.fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    return dict(zip(("tier", "families", "version", "built_at", "counts"), row, strict=True))


def marker_is_current(marker: dict | None, tier: str) -> bool:
    return marker is not None and marker["version"] == TIER_VERSION and marker["families"] == TIERS[tier]


def count_rows(url: str) -> dict[str, int]:
    """Exact row counts of the main tables, and the case notes among the chronology's lines."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            counts = {}
            for label, table in COUNTED_TABLES.items():
                cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                counts[label] = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM pathway_chronologyentry WHERE kind = 'note'")
            counts["case notes"] = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM ehcase_family WHERE reference LIKE %s", ["F-L%"])
            counts["large-tier families"] = cursor.fetchone()[0]
    finally:
        conn.close()
    return counts


def _manage(args: list[str], *, url: str, redis_url: str, log: Log) -> None:
    """Run manage.py in a subprocess against the tier's database, passing its output to ``log``."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "DB_CONN_MAX_AGE": "0"}
    process = subprocess.Popen(  # noqa: S603 - this interpreter, manage.py and fixed arguments
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        log("    " + line.rstrip())
    if process.wait() != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed with exit status {process.returncode}")


def _setup_django() -> None:
    """bench.audit_rows reads the labels of a few choices from the models; nothing here uses
    Django's database connection (the tier is reached with psycopg2)."""
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehcase.settings")
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        django.setup()


def write_marker(url: str, tier: str, counts: dict[str, int]) -> None:
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(MARKER_TABLE)
            cursor.execute(
                "INSERT INTO bench_tier (tier, families, version, built_at, counts) "
                "VALUES (%s, %s, %s, now(), %s) ON CONFLICT (tier) DO UPDATE SET "
                "families = EXCLUDED.families, version = EXCLUDED.version, "
                "built_at = EXCLUDED.built_at, counts = EXCLUDED.counts",
                [tier, TIERS[tier], TIER_VERSION, json.dumps(counts)],
            )
    finally:
        conn.close()


def ensure_tier(tier: str, *, base_url: str, redis_url: str, log: Log = print) -> str:
    """Build the tier's database or bring it up to date, and return its URL. When bench_tier records
    it complete for this TIER_VERSION, only migrates (schema changes since the build) and writes no data."""
    from bench import audit_rows

    url = tier_database_url(base_url, tier)
    name = database_name(url)
    if create_database(url):
        log(f"Tier {tier}: created database {name}")
    elif marker_is_current(read_marker(url, tier), tier):
        # The data is there; the schema still follows the code (a new index or column since the build).
        _manage(["migrate", "--noinput", "-v", "0"], url=url, redis_url=redis_url, log=log)
        log(f"Tier {tier}: {name} is ready (version {TIER_VERSION})")
        return url
    families = TIERS[tier]
    started = time.monotonic()
    log(f"Tier {tier}: migrating {name}")
    _manage(["migrate", "--noinput", "-v", "0"], url=url, redis_url=redis_url, log=log)
    log(f"Tier {tier}: seed_demo --families {families:,} (existing chunks are kept)")
    _manage(["seed_demo", "--families", str(families)], url=url, redis_url=redis_url, log=log)
    log(f"Tier {tier}: audit events of the large-tier families")
    _setup_django()
    conn = psycopg2.connect(url)
    try:
        written = audit_rows.write_audit_rows(conn, log=log)
        log(f"Tier {tier}: {written:,} audit events written")
        conn.autocommit = True
        with conn.cursor() as cursor:
            # VACUUM as well: a freshly written table has no visibility map, so PostgreSQL cannot answer
            # counts from an index alone until autovacuum has visited it, as it would have in service.
            cursor.execute("VACUUM ANALYZE")
    finally:
        conn.close()
    counts = count_rows(url)
    write_marker(url, tier, counts)
    log(f"Tier {tier}: ready after {time.monotonic() - started:.0f}s: {format_counts(counts)}")
    return url


def format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} {value:,}" for label, value in counts.items())


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build or reuse a benchmark tier, then print its counts.")
    parser.add_argument("tier", choices=sorted(TIERS))
    args = parser.parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    url = ensure_tier(args.tier, base_url=base_url, redis_url=redis_url)
    marker = read_marker(url, args.tier)
    assert marker is not None
    print(f"{args.tier} tier in {database_name(url)}, built {marker['built_at']:%Y-%m-%d %H:%M}")
    counts = marker["counts"]  # jsonb keeps its own key order: print in COUNTED_TABLES' order
    order = [*COUNTED_TABLES, "case notes", "large-tier families"]
    labels = [label for label in order if label in counts] + sorted(set(counts) - set(order))
    width = max(map(len, labels))
    for label in labels:
        print(f"  {label:<{width}}  {counts[label]:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
