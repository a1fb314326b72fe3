"""The HTTP load run (bench/load.py, bench/locustfile.py): the workload really signs in through both
steps and asks for every page without a failure, against a live server over HTTP; and the statistics
are read from locust's CSV as locust writes it. Nothing here is timed.

The locustfile is only ever run in a locust subprocess: importing locust patches the standard library
for gevent, which pytest's own process must not have."""

from __future__ import annotations

import csv

import pytest
from django.db import connection

from bench import load

STATS_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
    "99.99%,100%"
).split(",")


def _stats_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(STATS_HEADER)
        for name, count, failures, rps, p50, p95 in rows:
            writer.writerow(["GET" if name != "Aggregated" else "", name, count, failures, p50, 1, 1, 1, 1,
                             rps, 0, p50, p50, p50, p50, p95, p95, p95, p95, p95, p95, p95])  # fmt: skip
    return path


def test_stats_csv_gives_the_aggregated_row_and_each_page_that_was_asked_for(tmp_path):
    path = _stats_csv(
        tmp_path / "x_stats.csv",
        [
            ("family list", 120, 0, 40.04, 30, 90),
            ("sign in: code", 0, 0, 0, "N/A", "N/A"),  # reset before the window: left out
            ("dashboard", 30, 2, 10.0, 45, 210),
            ("Aggregated", 150, 2, 50.04, 31, 120),
        ],
    )

    stats = load.parse_stats_csv(path)

    assert (stats["requests"], stats["errors"], stats["rps"], stats["p95_ms"]) == (150, 2, 50.0, 120.0)
    assert set(stats["pages"]) == {"family list", "dashboard"}
    assert stats["pages"]["dashboard"] == {"requests": 30, "errors": 2, "p50_ms": 45.0, "p95_ms": 210.0}


def test_stats_csv_without_requests_has_no_percentile(tmp_path):
    path = _stats_csv(tmp_path / "x_stats.csv", [("Aggregated", 0, 0, 0, "N/A", "N/A")])

    assert load.parse_stats_csv(path)["p95_ms"] is None


def test_next_totp_step_is_the_start_of_the_following_30_seconds():
    assert load.next_totp_step(60.0) == 90.0
    assert load.next_totp_step(89.9) == 90.0


def _database_url() -> str:
    """The test database's address, for bench.load's own read-only connection."""
    db = connection.settings_dict
    user = f"{db['USER']}:{db['PASSWORD']}@" if db["PASSWORD"] else f"{db['USER']}@"
    return f"postgres://{user}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_accounts_refuse_a_database_where_a_persona_cannot_sign_in(personas):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=personas.hana).delete()  # she can no longer pass the second step

    with pytest.raises(RuntimeError, match=r"no demo accounts hana\.healthvisitor in this database"):
        load.load_accounts(_database_url(), practitioners=4)


@pytest.mark.django_db(transaction=True)
def test_workload_signs_in_through_both_steps_and_every_page_answers(
    personas, live_server, settings, tmp_path
):
    """Every kind of simulated user, the ceiling's included, against the live server with the personas:
    each account signs in through the password and code pages, and every page of the workload is asked
    for at least once with no failure (non-2xx/3xx, or a redirect back to signing in)."""
    settings.ROOT_URLCONF = "bench.urls"  # bench/ceiling/, as bench.settings serves it
    accounts = load.load_accounts(_database_url(), practitioners=4)
    assert accounts["practitioners"][:2] == ["sam.practitioner", "hana.healthvisitor"]
    assert accounts["coordinators"][0] == "chris.coordinator"
    assert accounts["managers"][:2] == ["morgan.manager", "alex.schoolmanager"]

    stats = load.run_locust(
        live_server.url,
        users=12,
        seconds=3,
        classes=(*load.MIXED_CLASSES, "Ceiling"),
        accounts=accounts,
        csv_prefix=tmp_path / "run",
    )

    assert stats["errors"] == 0, stats["pages"]
    assert stats["requests"] > 0
    assert {"family list", "family page", "chronology", "my work", "search (form)", "search (results)",
            "hub queue", "dashboard", "ceiling"} <= set(stats["pages"])  # fmt: skip
    assert "sign in (before the measured window)" not in stats["pages"]
