"""The HTTP load run of DESIGN.md §9: real gunicorn, real HTTP, locust as the load generator.

    DATABASE_URL=... REDIS_URL=... python -m bench.load [--users 8,32,64] [--seconds 30] [--json PATH]

The demo data must already be in DATABASE_URL (`manage.py seed_demo [--families N]`; the benchmark
orchestrator builds the tiers): this module only reads it, apart from what signing in and opening pages
write themselves (sessions, audit events).

1. gunicorn serves ehcase.wsgi on a free port of 127.0.0.1, as scripts/run.py does, with
   DJANGO_SETTINGS_MODULE=bench.settings (the site plus bench/ceiling/, bench/urls.py), DEBUG off
   (DEBUG keeps every query in memory), no access log, and the rate limits raised through the
   environment: the run signs in dozens of accounts from one address and asks for hundreds of pages a
   second, far past what the limits allow one person. django-axes is left alone: it counts only wrong
   passwords, and the run never sends one.
2. The ceiling: `Ceiling` users (bench/locustfile.py) at the highest level's concurrency ask for the
   signed-in page that does nothing, so its throughput is what the middleware stack allows.
3. Each level: the mixed workload (practitioners, coordinators, managers, 7:2:1) at that many
   concurrent users, each asking again as soon as answered.
Each stage is its own locust process (`locust --headless --csv`), measured over `--seconds` after
every simulated user has signed in; requests/s, p95 and failures come from the Aggregated row of
locust's CSV. The results are printed as a table and written as JSON (bench/results/, git-ignored).

Workers: gthread, WEB_WORKERS processes (default: 2 per CPU) of WEB_THREADS threads (default 4). A page
is mostly Python (templates, forms), so one process per core is what runs in parallel; a second per
core, and threads within each, keep the CPU busy while a request waits for PostgreSQL. Threads rather
than more processes because locust keeps its connections open and a gthread worker keeps them alive
(sync workers close every connection), and each thread holds one persistent database connection
(DB_CONN_MAX_AGE), so 2 x 2 x 4 = 16 connections on this machine. On this 2-core machine the load
generator runs alongside, so the figures are a floor for a dedicated web server.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
RESULTS = ROOT / "bench" / "results"
DEFAULT_USERS = (8, 32, 64)
DEFAULT_SECONDS = 30
READY_TIMEOUT = 90.0  # seconds for gunicorn to answer
SIGN_IN_TIMEOUT = 240  # seconds for a stage's simulated users to sign in (bench/locustfile.py)
STOP_TIMEOUT = 15.0
# Raised so that the run measures the pages, not the limits (ehcase/security.py, ehcase/api/throttling.py).
RAISED_LIMITS = {
    "API_RATE_USER": "1000000/min",
    "API_RATE_ANON": "1000000/min",
    "LOGIN_RATE_PER_ADDRESS": "1000000",
    "LOGIN_RATE_PER_USERNAME": "1000000",
}
MIXED_CLASSES = ("Practitioner", "Coordinator", "Manager")
PERSONA_PRACTITIONERS = ("sam.practitioner", "hana.healthvisitor")
PERSONA_COORDINATORS = ("chris.coordinator",)
PERSONA_MANAGERS = ("morgan.manager", "alex.schoolmanager")

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP proxy


def say(text: str) -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- accounts


def _usernames(cursor, sql: str, params: list) -> list[str]:
    cursor.execute(sql, params)
    return [row[0] for row in cursor.fetchall()]


# Accounts that can pass both sign-in steps: active, with a confirmed authenticator app.
_CAN_SIGN_IN = """u.is_active AND EXISTS (
    SELECT 1 FROM otp_totp_totpdevice d WHERE d.user_id = u.id AND d.confirmed)"""


def load_accounts(database_url: str, practitioners: int) -> dict[str, list[str]]:
    """The accounts the simulated users sign in as, personas first: practitioners with the most
    families granted (the large tier's busiest, whose lists fill a page), every hub coordinator, and
    the managers. Only active accounts with a confirmed authenticator app (seed_demo gives every demo
    account the published secret). Read-only."""
    connection = psycopg2.connect(database_url)
    connection.set_session(readonly=True)
    with closing(connection), connection.cursor() as cursor:
        personas = PERSONA_PRACTITIONERS + PERSONA_COORDINATORS + PERSONA_MANAGERS
        present = set(
            _usernames(
                cursor,
                f"SELECT u.username FROM ehcase_user u WHERE u.username = ANY(%s) AND {_CAN_SIGN_IN}",  # noqa: S608
                [list(personas)],
            )
        )
        missing = sorted(set(personas) - present)
        if missing:
            raise RuntimeError(
                f"no demo accounts {', '.join(missing)} in this database: run `manage.py seed_demo` first"
            )
        busiest = _usernames(
            cursor,
            f"""SELECT u.username FROM ehcase_user u
                JOIN ehcase_membership m ON m.user_id = u.id AND m.role = 'practitioner'
                JOIN ehcase_familyuserobjectpermission fp ON fp.user_id = u.id
                WHERE {_CAN_SIGN_IN} AND u.username <> ALL(%s)
                GROUP BY u.username ORDER BY count(*) DESC, u.username LIMIT %s""",  # noqa: S608
            [list(PERSONA_PRACTITIONERS), max(0, practitioners - len(PERSONA_PRACTITIONERS))],
        )
        coordinators = _usernames(
            cursor,
            f"""SELECT DISTINCT u.username FROM ehcase_user u
                JOIN ehcase_membership m ON m.user_id = u.id AND m.role = 'hub_coordinator'
                WHERE {_CAN_SIGN_IN} AND u.username <> ALL(%s) ORDER BY u.username""",  # noqa: S608
            [list(PERSONA_COORDINATORS)],
        )
        managers = _usernames(
            cursor,
            f"""SELECT DISTINCT u.username FROM ehcase_user u
                JOIN ehcase_membership m ON m.user_id = u.id AND m.role = 'early_help_manager'
                WHERE {_CAN_SIGN_IN} AND u.username <> ALL(%s) ORDER BY u.username""",  # noqa: S608
            [list(PERSONA_MANAGERS)],
        )
    return {
        "practitioners": [*PERSONA_PRACTITIONERS, *busiest],
        "coordinators": [*PERSONA_COORDINATORS, *coordinators],
        "managers": [*PERSONA_MANAGERS, *managers],
    }


# ---------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def web_settings() -> tuple[int, int]:
    """(workers, threads) from WEB_WORKERS / WEB_THREADS, else 2 per CPU and 4 threads."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return int(os.environ.get("WEB_WORKERS") or 2 * cpus), int(os.environ.get("WEB_THREADS") or 4)


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        **RAISED_LIMITS,
    }


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int, log: Path):
    argv = [
        sys.executable, "-m", "gunicorn", "ehcase.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread",
        "--workers", str(workers),
        "--threads", str(threads),
        "--graceful-timeout", "10",
        "--timeout", "120",
        "--error-logfile", "-",
        "--no-control-socket",  # else every gunicorn on the machine shares ~/.gunicorn/gunicorn.ctl
    ]  # fmt: skip
    with open(log, "wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def wait_ready(url: str, server: subprocess.Popen, log: Path) -> None:
    """Until the sign-in page answers 200 (it goes through every middleware and the database)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{_tail(log)}")
        try:
            with _opener.open(url + "/accounts/login/", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT:.0f}s:\n{_tail(log)}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    """SIGTERM to the master (it stops its workers), then SIGKILL to its process group if need be."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(server.pid, signal.SIGKILL)  # stragglers of the group, if any
    except (ProcessLookupError, PermissionError):
        pass
    server.wait(timeout=5)


def next_totp_step(moment: float, step: int = 30) -> float:
    """The start of the authenticator-app time step after the one `moment` falls in."""
    return (moment // step + 1) * step


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------- locust


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None  # "N/A" when nothing was measured


def parse_stats_csv(path: Path) -> dict[str, Any]:
    """Locust's `<prefix>_stats.csv`: the Aggregated row (requests/s, p95, failures) and, per page
    name, its count, failures, median and p95."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    total = next((row for row in rows if row["Name"] == "Aggregated"), None)
    if total is None:
        raise ValueError(f"{path}: no Aggregated row")
    pages = {
        row["Name"]: {
            "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "p50_ms": _number(row["50%"]),
            "p95_ms": _number(row["95%"]),
        }
        for row in rows
        if row["Name"] != "Aggregated" and int(row["Request Count"] or 0) > 0
    }
    return {
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]),
        "rps": round(float(total["Requests/s"]), 1),
        "p95_ms": _number(total["95%"]),
        "pages": pages,
    }


def run_locust(
    url: str,
    users: int,
    seconds: int,
    classes: tuple[str, ...],
    accounts: dict[str, list[str]],
    csv_prefix: Path,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One headless locust process: `users` simulated users of `classes`, measured for `seconds` once
    all have signed in (bench/locustfile.py stops itself then). Returns parse_stats_csv's result."""
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(users), "-r", str(users),
        "--run-time", f"{seconds + SIGN_IN_TIMEOUT + 30}s",  # a backstop: the locustfile stops first
        "--csv", str(csv_prefix), "--host", url, "--only-summary", "--loglevel", "WARNING",
        *classes,
    ]  # fmt: skip
    locust_env = {
        **(env or os.environ),
        "EHCASE_LOAD_SECONDS": str(seconds),
        "EHCASE_LOAD_SIGN_IN_TIMEOUT": str(SIGN_IN_TIMEOUT),
        "EHCASE_LOAD_PRACTITIONERS": ",".join(accounts["practitioners"]),
        "EHCASE_LOAD_COORDINATORS": ",".join(accounts["coordinators"]),
        "EHCASE_LOAD_MANAGERS": ",".join(accounts["managers"]),
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        argv, cwd=ROOT, env=locust_env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=seconds + SIGN_IN_TIMEOUT + 120,
    )  # fmt: skip
    stats = Path(f"{csv_prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no statistics (exit {done.returncode}):\n{done.stderr[-3000:]}")
    # Exit code 1 means some request failed: that is a result, counted in the CSV, not a crash.
    if done.returncode not in (0, 1):
        raise RuntimeError(f"locust exited {done.returncode}:\n{done.stderr[-3000:]}")
    result = parse_stats_csv(stats)
    # Locust warns when its own process is short of CPU: the figures are then partly the generator's.
    result["generator_cpu_bound"] = "CPU usage" in done.stderr
    return result


# ---------------------------------------------------------------- the run


def run_load(
    database_url: str,
    redis_url: str,
    users: list[int] | tuple[int, ...] = DEFAULT_USERS,
    seconds: int = DEFAULT_SECONDS,
    *,
    csv_dir: Path | None = None,
) -> dict[str, Any]:
    """Serve the site with gunicorn, measure the ceiling and each level of users, stop gunicorn.
    Returns {"ceiling": {"rps", "p95_ms", "errors", ...}, "levels": [{"users", "rps", "p95_ms",
    "errors", "ratio_to_ceiling", ...}], "server": {...}, "seconds": ...}."""
    users = sorted({int(n) for n in users})
    if not users or users[0] < 1:
        raise ValueError("users: one or more positive numbers")
    accounts = load_accounts(database_url, practitioners=users[-1])
    workers, threads = web_settings()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    csv_dir = csv_dir or RESULTS / "locust"
    if csv_dir.exists():
        shutil.rmtree(csv_dir)
    csv_dir.mkdir(parents=True)
    log = csv_dir / "gunicorn.log"
    env = server_env(database_url, redis_url)
    say(
        f"gunicorn gthread {workers} workers x {threads} threads on {url}; "
        f"{len(accounts['practitioners'])} practitioner, {len(accounts['coordinators'])} coordinator "
        f"and {len(accounts['managers'])} manager accounts; {seconds}s a stage"
    )
    codes_used_before = 0.0

    def stage(label: str, count: int, classes: tuple[str, ...], prefix: str) -> dict[str, Any]:
        nonlocal codes_used_before
        # Every stage signs the same accounts in again. django-otp takes a code only from a later time
        # step than the last one used, so start once the previous stage's codes are a step old, rather
        # than have each sign-in refused once (and audited as a wrong code).
        time.sleep(max(0.0, next_totp_step(codes_used_before) - time.time()))
        say(f"{label}: {count} users ...")
        started = time.monotonic()
        out = run_locust(url, count, seconds, classes, accounts, csv_dir / prefix, env)
        codes_used_before = time.time() - seconds  # the window starts once all have signed in
        say(f"  {out['requests']} requests, {out['errors']} errors ({time.monotonic() - started:.0f}s)")
        return {"users": count, **out}

    server = start_gunicorn(env, port, workers, threads, log)
    try:
        wait_ready(url, server, log)
        ceiling = stage("ceiling, bench/ceiling/", users[-1], ("Ceiling",), "ceiling")
        levels = []
        for count in users:
            level = stage("mixed workload", count, MIXED_CLASSES, f"users-{count}")
            level["ratio_to_ceiling"] = round(level["rps"] / ceiling["rps"], 3) if ceiling["rps"] else None
            levels.append(level)
    finally:
        stop_gunicorn(server)
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": seconds,
        "server": {"worker_class": "gthread", "workers": workers, "threads": threads, "cpus": os.cpu_count()},
        "accounts": {kind: len(names) for kind, names in accounts.items()},
        "ceiling": ceiling,
        "levels": levels,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(result: dict[str, Any]) -> str:
    rows = [("stage", "users", "requests", "req/s", "p95 ms", "errors", "vs ceiling")]
    c = result["ceiling"]
    rows.append(
        ("ceiling", c["users"], c["requests"], f"{c['rps']:.1f}", _ms(c["p95_ms"]), c["errors"], "1.00")
    )
    for level in result["levels"]:
        ratio = level["ratio_to_ceiling"]
        rows.append((
            "mixed", level["users"], level["requests"], f"{level['rps']:.1f}", _ms(level["p95_ms"]),
            level["errors"], "-" if ratio is None else f"{ratio:.2f}",
        ))  # fmt: skip
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            str(value).ljust(width) if i == 0 else str(value).rjust(width)
            for i, (value, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    server = result["server"]
    head = (
        f"HTTP load: gunicorn gthread {server['workers']}x{server['threads']}, "
        f"{result['seconds']}s a stage, targets >= 300 req/s at p95 <= 200 ms, 0 errors"
    )
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default=",".join(map(str, DEFAULT_USERS)), help="levels, e.g. 8,32,64")
    parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS, help="measured seconds a stage")
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/)")
    args = parser.parse_args(argv)
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        parser.error("set DATABASE_URL and REDIS_URL (the database must hold the demo data)")
    users = [int(n) for n in args.users.split(",") if n.strip()]
    result = run_load(database_url, redis_url, users, args.seconds)
    say(table(result))
    path = args.json or RESULTS / f"load-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    say(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
