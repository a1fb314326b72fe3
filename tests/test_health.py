"""/healthz against the real database, Redis and a real Celery worker process."""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def celery_worker_process(settings):
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ehcase",
            "worker",
            "--pool",
            "solo",
            "-l",
            "warning",
            "-n",
            f"health-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.django_db
def test_all_up_is_200_with_each_part_named(client, celery_worker_process):
    deadline = time.monotonic() + 60
    while True:
        response = client.get("/healthz")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["down"] == []
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["celery"]["workers"] >= 1


@pytest.mark.django_db
def test_redis_down_is_503_naming_it(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert "redis" in body["down"] and "celery" in body["down"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_no_worker_is_503_naming_celery(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["celery"]


@pytest.mark.django_db
def test_the_reminder_state_is_shown_without_changing_the_status(client):
    body = client.get("/healthz").json()
    assert body["reminders"] == {"last_scan_at": None, "pending": 0, "pending_due": 0, "failed": 0}
    assert "reminders" not in body["down"]


@pytest.mark.django_db
def test_the_audit_partitions_are_shown_without_changing_the_status(client, settings):
    from ehcase.partitions import add_months, month_start

    last = add_months(
        month_start(timezone.now().astimezone(dt.UTC).date()), settings.AUDIT_PARTITION_MONTHS_AHEAD
    )
    body = client.get("/healthz").json()
    assert body["audit_partitions"] == {"last_month": f"{last:%Y-%m}", "events_in_default": False}
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ehcase_auditevent (occurred_at, actor_username, action, object_type, object_id, "
            "summary, changes, user_agent, path) VALUES ('1990-01-01', '', 'view', '', '', '', '{}', '', '')"
        )
    assert client.get("/healthz").json()["audit_partitions"]["events_in_default"] is True
    assert "audit_partitions" not in body["down"]
