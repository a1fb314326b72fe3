"""bench/tiers.py and bench/audit_rows.py: the tiny tier built by ensure_tier into a throwaway
database of its own (dropped at the end), then reused.

Slow for a test (migrate and seed_demo in subprocesses: about a minute on an idle 2-core machine,
several when it is busy), so it is marked ``bench``: deselect with ``-m "not bench"``. Nothing is
timed; reuse is checked through the bench_tier marker and the row counts."""

import json
import os
import subprocess
import sys
import uuid

import psycopg2
import pytest

from bench import audit_rows, tiers
from bench.tiers import TIER_VERSION, TIERS

pytestmark = pytest.mark.bench

BASE_URL = os.environ.get("DATABASE_URL", tiers.DEFAULT_DATABASE_URL)
REDIS_URL = os.environ.get("REDIS_URL", tiers.DEFAULT_REDIS_URL)


def _query(url: str, statement: str, params=None) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        conn.close()


LATE_CREATIONS_SQL = """
SELECT count(*) FROM ehcase_auditevent c
JOIN ehcase_family f ON f.id = c.family_id AND f.reference LIKE 'F-L%%'
WHERE c.action = 'create' AND c.object_type = 'ehcase.family' AND c.occurred_at >= (
    SELECT min(r.occurred_at) FROM ehcase_auditevent r
    WHERE r.family_id = c.family_id AND r.object_type = 'hubs.requestforsupport' AND r.action = 'create'
)
"""


@pytest.fixture(scope="module")
def tiny(request):
    """The tiny tier, built once for the module under a prefix of this run's own, named after the
    database the tests were given (so parallel runs never share a tier database)."""
    base_name = tiers.database_name(BASE_URL)
    prefix = f"{base_name}_benchtest_{uuid.uuid4().hex[:8]}_"
    saved = os.environ.get("BENCH_DB_PREFIX")
    os.environ["BENCH_DB_PREFIX"] = prefix
    url = tiers.tier_database_url(BASE_URL, "tiny")

    def cleanup():
        tiers.drop_database(url)
        if saved is None:
            os.environ.pop("BENCH_DB_PREFIX", None)
        else:
            os.environ["BENCH_DB_PREFIX"] = saved

    request.addfinalizer(cleanup)
    log: list[str] = []
    assert tiers.ensure_tier("tiny", base_url=BASE_URL, redis_url=REDIS_URL, log=log.append) == url
    return url, log


def test_tier_database_url_keeps_the_server_and_names_the_tier(monkeypatch):
    monkeypatch.delenv("BENCH_DB_PREFIX", raising=False)
    assert (
        tiers.tier_database_url("postgres://u:p@db.example:6543/ehcase?sslmode=require", "large")
        == "postgres://u:p@db.example:6543/ehcase_bench_large?sslmode=require"
    )
    monkeypatch.setenv("BENCH_DB_PREFIX", "other_")
    assert tiers.tier_database_url("postgres://postgres@127.0.0.1:5432/x", "small").endswith("/other_small")
    with pytest.raises(ValueError):
        tiers.tier_database_url("postgres://postgres@127.0.0.1:5432/x", "huge")


def test_the_built_tier_is_marked_complete_with_its_counts(tiny):
    url, log = tiny
    marker = tiers.read_marker(url, "tiny")
    assert marker["version"] == TIER_VERSION
    assert marker["families"] == TIERS["tiny"]
    assert marker["counts"] == tiers.count_rows(url)
    assert marker["counts"]["large-tier families"] == TIERS["tiny"]
    assert any("created database" in line for line in log)


def test_a_second_ensure_tier_reuses_the_tier_without_writing(tiny):
    url, _ = tiny
    before = tiers.read_marker(url, "tiny")
    chunks_sql = "SELECT first_family_id, events, written_at FROM bench_audit_chunk ORDER BY 1"
    chunks = _query(url, chunks_sql)
    log: list[str] = []

    assert tiers.ensure_tier("tiny", base_url=BASE_URL, redis_url=REDIS_URL, log=log.append) == url

    assert log == [f"Tier tiny: {tiers.database_name(url)} is ready (version {TIER_VERSION})"]
    after = tiers.read_marker(url, "tiny")
    assert after["built_at"] == before["built_at"]
    assert tiers.count_rows(url) == before["counts"]
    assert _query(url, chunks_sql) == chunks


def test_audit_rows_are_not_written_twice(tiny):
    url, _ = tiny
    tiers._setup_django()
    conn = psycopg2.connect(url)
    try:
        assert audit_rows.write_audit_rows(conn, log=lambda _: None) == 0
    finally:
        conn.close()


def test_the_audit_events_are_in_their_months_partitions_and_none_waits_in_default(tiny):
    """bench.audit_rows creates the partitions of each chunk's months before writing it (docs/audit.md)."""
    url, _ = tiny
    assert _query(url, "SELECT count(*) FROM ehcase_auditevent_default") == [(0,)]
    (misplaced,) = _query(
        url,
        "SELECT count(*) FROM ehcase_auditevent WHERE tableoid::regclass::text "
        "<> 'ehcase_auditevent_' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY_MM')",
    )[0]
    assert misplaced == 0
    (months,) = _query(
        url,
        "SELECT count(DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')) FROM ehcase_auditevent",
    )[0]
    assert months > 12


def test_every_large_tier_family_has_its_audit_trail(tiny):
    url, _ = tiny
    per_family = _query(
        url,
        "SELECT f.id, "
        " count(*) FILTER (WHERE a.action = 'create' AND a.object_type = 'ehcase.family'),"
        " count(*) FILTER (WHERE a.action = 'create' AND a.object_type = 'ehcase.person'),"
        " (SELECT count(*) FROM ehcase_familymember m WHERE m.family_id = f.id),"
        " count(*) FILTER (WHERE a.action = 'view'),"
        " count(*)"
        " FROM ehcase_family f LEFT JOIN ehcase_auditevent a ON a.family_id = f.id"
        " WHERE f.reference LIKE 'F-L%%' GROUP BY f.id",
    )
    assert len(per_family) == TIERS["tiny"]
    for family_id, created, people_added, members, views, _ in per_family:
        assert created == 1, family_id
        assert people_added == members, family_id
    total = sum(row[5] for row in per_family)
    assert 30 <= total / len(per_family) <= 80  # about 45 a family (bench/audit_rows.py)
    assert sum(row[4] for row in per_family) > 5 * len(per_family)
    # Every actor is a real user, named as the app names them, and nothing is in the future.
    (orphans, misnamed, future) = _query(
        url,
        "SELECT count(*) FILTER (WHERE u.id IS NULL), count(*) FILTER (WHERE u.username <> a.actor_username),"
        " count(*) FILTER (WHERE a.occurred_at > now())"
        " FROM ehcase_auditevent a JOIN ehcase_family f ON f.id = a.family_id AND f.reference LIKE 'F-L%%'"
        " LEFT JOIN ehcase_user u ON u.id = a.actor_id WHERE a.action <> 'grant'",
    )[0]
    assert (orphans, misnamed, future) == (0, 0, 0)
    # A family is created (and its people added) before its first request for support is sent.
    (late,) = _query(url, LATE_CREATIONS_SQL)[0]
    assert late == 0
    (logins,) = _query(url, "SELECT count(*) FROM ehcase_auditevent WHERE action = 'login'")[0]
    assert logins > 0


# Run in the tier's own Django (DATABASE_URL set to it): the app's access layer decides who can see.
VISIBILITY_CHECK = """
import json
from ehcase.models import AuditEvent, Family, User
from ehcase.permissions import families_visible_to
large = Family.objects.filter(reference__startswith="F-L").values("id")
views = list(
    AuditEvent.objects.filter(action="view", family_id__in=large)
    .values_list("actor_id", "family_id")
    .distinct()
)
users = User.objects.in_bulk({actor for actor, _ in views})
visible = {}
unseen = []
for actor, family in views:
    if actor not in visible:
        visible[actor] = set(families_visible_to(user=users[actor]).values_list("id", flat=True))
    if family not in visible[actor]:
        unseen.append([actor, family])
print(json.dumps({"checked": len(views), "unseen": unseen[:10], "unseen_count": len(unseen)}))
"""


def test_family_records_are_read_only_by_users_who_can_see_them(tiny):
    url, _ = tiny
    result = subprocess.run(
        [sys.executable, str(tiers.ROOT / "manage.py"), "shell", "-c", VISIBILITY_CHECK],
        cwd=tiers.ROOT,
        env={**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL},
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["checked"] > TIERS["tiny"]
    assert report["unseen_count"] == 0, report["unseen"]


def test_the_tier_has_the_proportions_of_the_large_tier(tiny):
    url, _ = tiny
    (families, people, requests, episodes, grants) = _query(
        url,
        "SELECT count(DISTINCT f.id), "
        " (SELECT count(*) FROM ehcase_familymember m JOIN ehcase_family g ON g.id = m.family_id"
        "   WHERE g.reference LIKE 'F-L%%'),"
        " (SELECT count(*) FROM hubs_requestforsupport r JOIN ehcase_family g ON g.id = r.family_id"
        "   WHERE g.reference LIKE 'F-L%%'),"
        " (SELECT count(*) FROM pathway_episode e JOIN ehcase_family g ON g.id = e.family_id"
        "   WHERE g.reference LIKE 'F-L%%'),"
        " (SELECT count(*) FROM ehcase_familyuserobjectpermission p JOIN ehcase_family g"
        "   ON g.id = p.content_object_id WHERE g.reference LIKE 'F-L%%')"
        " FROM ehcase_family f WHERE f.reference LIKE 'F-L%%'",
    )[0]
    assert families == TIERS["tiny"]
    assert 2.5 <= people / families <= 3.5  # DESIGN.md §9: 750,000 people for 250,000 families
    assert 1.5 <= requests / families <= 4  # 700,000 hub requests
    assert 0.3 <= episodes / families <= 1.5
    assert 1 <= grants / families <= 10
