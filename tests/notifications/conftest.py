"""Fixtures for reminders: a world with one reminder of each common kind due today, and real Celery
worker processes (as tests/test_health.py starts them) working on the test database."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from assessments.services import action_add
from hubs import services as hub_services
from hubs.models import RequestForSupport
from pathway import services
from pathway.models import Episode, LevelOfNeed, OutcomeArea, TafMeeting

from . import email_backend

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class World:
    ashworth_episode: Episode
    bennett_episode: Episode
    meeting: TafMeeting
    action_id: int
    request: RequestForSupport

    def expected(self, personas) -> set[tuple[str, int, int]]:
        """(kind, recipient id, object id) of every reminder due in this world."""
        p = personas
        return {
            ("review_due", p.sam.pk, self.ashworth_episode.pk),
            ("review_overdue", p.sam.pk, self.bennett_episode.pk),
            ("meeting_tomorrow", p.sam.pk, self.meeting.pk),
            ("meeting_tomorrow", p.hana.pk, self.meeting.pk),
            ("action_overdue", p.hana.pk, self.action_id),
            ("triage_overdue", p.chris.pk, self.request.pk),
            ("weekly_digest", p.alex.pk, 0),
            ("weekly_digest", p.morgan.pk, 0),
        }


def build_world(personas) -> World:
    """Sam leads Ashworth (review in 3 days; a TAF meeting tomorrow with Hana invited; an action of
    Hana's overdue) and Bennett (review overdue); a request for Dixon is past the North hub's target."""
    p = personas
    today = timezone.localdate()
    level = LevelOfNeed.objects.get(code="3")
    ashworth = services.episode_start_directly(
        actor=p.sam,
        family=p.ashworth,
        level=level,
        consent_given_by="Kerry",
        consent_on=today - dt.timedelta(days=40),
    )
    hana = services.taf_add_worker(
        actor=p.sam, episode=ashworth, user=p.hana, role="Health visitor", joined_on=today
    )
    sam = ashworth.taf_members.get(user=p.sam)
    tomorrow = today + dt.timedelta(days=1)
    meeting = services.meeting_schedule(
        actor=p.sam,
        episode=ashworth,
        starts_at=timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(10, 30))),
        location="Riverside Primary School",
        online=False,
        invited=[sam, hana],
    )
    action = action_add(
        actor=p.sam, episode=ashworth, description="Book the dentist", owner_user=p.hana, due_on=tomorrow
    )
    type(action).objects.filter(pk=action.pk).update(due_on=today - dt.timedelta(days=2))
    Episode.objects.filter(pk=ashworth.pk).update(next_review_due=today + dt.timedelta(days=3))
    bennett = services.episode_start_directly(
        actor=p.sam,
        family=p.bennett,
        level=level,
        consent_given_by="Lee",
        consent_on=today - dt.timedelta(days=60),
    )
    Episode.objects.filter(pk=bennett.pk).update(next_review_due=today - dt.timedelta(days=2))
    draft = hub_services.request_save_draft(
        actor=p.chris,
        family=p.dixon,
        needs=[OutcomeArea.objects.order_by("order").first()],
        data={
            "source": "2A",
            "urgency": "routine",
            "reasons": "Attendance",
            "consent_given": True,
            "consent_by": "Paul",
            "consent_on": today,
            "consent_method": "verbal",
        },
    )
    request = hub_services.request_submit(actor=p.chris, request=draft)
    RequestForSupport.objects.filter(pk=request.pk).update(received_on=today - dt.timedelta(days=14))
    return World(ashworth, bennett, meeting, action.pk, request)


@pytest.fixture
def world(personas) -> World:
    return build_world(personas)


@pytest.fixture
def redis_clean(settings):
    """An empty Redis database for the test (the broker queue and the recording backend's lists)."""
    r = email_backend.client()
    r.flushdb()
    yield r
    r.flushdb()


class Workers:
    """Starts Celery worker processes on the test database with the recording email backend."""

    def __init__(self, settings):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "REDIS_URL": settings.REDIS_URL,
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "EMAIL_BACKEND": "tests.notifications.email_backend.EmailBackend",
            "DB_CONN_MAX_AGE": "0",
        }
        self.processes: list[subprocess.Popen] = []

    def start(self, *, pool: str = "solo") -> subprocess.Popen:
        args = [sys.executable, "-m", "celery", "-A", "ehcase", "worker", "--pool", pool, "-l", "warning"]
        if pool == "prefork":
            args += ["--concurrency", "1"]
        args += ["-n", f"notify-{os.getpid()}-{len(self.processes)}@%h"]
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(transactional_db, settings, redis_clean):
    pool = Workers(settings)
    yield pool
    pool.stop_all()


def wait_for(condition, *, timeout: float = 60.0, what: str = "condition"):
    """Poll until `condition()` is true: waiting for another process to reach a state, never timing."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
