"""The audit table partitioned by month (migration ehcase/0009, ehcase.partitions, docs/audit.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from ehcase.audit import audit_record
from ehcase.models import AuditEvent
from ehcase.oversight.selectors import AuditFilters, audit_search
from ehcase.partitions import (
    DEFAULT_PARTITION,
    add_months,
    audit_partitions,
    audit_partitions_ensure,
    month_start,
    partition_name,
)
from ehcase.retention import services as retention
from ehcase.retention.models import DestructionLog, DestructionReview, LegalHold, ReviewStatus

pytestmark = pytest.mark.django_db

INSERT = (
    "INSERT INTO ehcase_auditevent (occurred_at, actor_username, action, object_type, object_id, "
    "family_id, summary, changes, user_agent, path) "
    "VALUES (%s, %s, 'view', '', '', %s, %s, '{}', '', '') RETURNING id"
)


@pytest.fixture
def today() -> dt.date:
    return timezone.localdate()


def insert_event(occurred_at: dt.datetime, *, summary: str = "", family_id=None, username="") -> int:
    """occurred_at is auto_now_add: an event of another date is written with a plain insert."""
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [occurred_at, username, family_id, summary])
        return cursor.fetchone()[0]


def partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM ehcase_auditevent WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def this_month() -> dt.date:
    return month_start(timezone.now().astimezone(dt.UTC).date())


def test_the_table_is_partitioned_by_month_with_this_month_the_months_ahead_and_a_default(settings):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat, pg_get_partkeydef(partrelid) FROM pg_partitioned_table "
            "WHERE partrelid = 'ehcase_auditevent'::regclass"
        )
        assert cursor.fetchone() == ("r", "RANGE (occurred_at)")
    bounds = dict(audit_partitions())
    assert bounds[DEFAULT_PARTITION] == "DEFAULT"
    for ahead in range(settings.AUDIT_PARTITION_MONTHS_AHEAD + 1):
        month = add_months(this_month(), ahead)
        following = add_months(month, 1)
        assert bounds[partition_name(month)] == (
            f"FOR VALUES FROM ('{month} 00:00:00+00') TO ('{following} 00:00:00+00')"
        )


def test_the_primary_key_includes_the_partition_key_and_ids_come_from_one_sequence(personas):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ehcase_auditevent_pkey'"
        )
        assert cursor.fetchone() == ("PRIMARY KEY (id, occurred_at)",)
        cursor.execute("SELECT pg_get_serial_sequence('ehcase_auditevent', 'id')")
        assert cursor.fetchone() == ("public.ehcase_auditevent_id_seq",)
    first = audit_record(actor=personas.sam, action="view", summary="first")
    old = insert_event(utc(2001, 2, 3, 12))
    second = audit_record(actor=personas.sam, action="view", summary="second")
    assert first.pk < old < second.pk


def test_an_event_lands_in_the_partition_of_its_month(personas):
    event = audit_record(actor=personas.sam, action="view", family_id=personas.ashworth.pk, summary="x")
    assert partition_of(event.pk) == partition_name(event.occurred_at.astimezone(dt.UTC).date())
    # Partitions are UTC months: 00:30 on 1 April in London (BST) is 23:30 UTC on 31 March.
    late = insert_event(dt.datetime.fromisoformat("2026-04-01T00:30:00+01:00"))
    audit_partitions_ensure(since=dt.date(2026, 3, 1))
    assert partition_of(late) == "ehcase_auditevent_2026_03"


def test_ensure_creates_the_months_missing_and_is_idempotent():
    ahead = add_months(this_month(), 8)
    assert partition_name(ahead) not in dict(audit_partitions())

    created = audit_partitions_ensure(ahead=8)

    assert created[-1] == partition_name(ahead)
    assert all(name in dict(audit_partitions()) for name in created)
    assert audit_partitions_ensure(ahead=8) == []
    assert audit_partitions_ensure() == []


def test_rows_that_landed_in_default_are_moved_to_their_months_partition():
    ancient = insert_event(utc(1990, 5, 2, 9), summary="ancient")
    future = insert_event(add_months_dt(this_month(), 30), summary="future")
    assert partition_of(ancient) == partition_of(future) == DEFAULT_PARTITION

    created = audit_partitions_ensure()

    assert created == [partition_name(dt.date(1990, 5, 1)), partition_name(add_months(this_month(), 30))]
    assert partition_of(ancient) == "ehcase_auditevent_1990_05"
    assert AuditEvent.objects.get(pk=ancient).summary == "ancient"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608 - a constant
        assert cursor.fetchone() == (0,)
    # DEFAULT is back in place: an insert of any date still succeeds.
    assert partition_of(insert_event(utc(1980, 1, 1))) == DEFAULT_PARTITION


def add_months_dt(month: dt.date, months: int) -> dt.datetime:
    day = add_months(month, months)
    return utc(day.year, day.month, 15, 12)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ehcase_auditevent SET summary = 'tampered' WHERE id = %s",
        "DELETE FROM ehcase_auditevent WHERE id = %s",
        "UPDATE {partition} SET summary = 'tampered' WHERE id = %s",
        "DELETE FROM {partition} WHERE id = %s",
        "UPDATE ehcase_auditevent SET occurred_at = '1990-01-01' WHERE id = %s",
    ],
)
def test_update_and_delete_are_refused_on_the_table_and_on_each_partition(statement):
    event = insert_event(utc(1995, 6, 7), summary="kept")
    audit_partitions_ensure()
    partition = partition_of(event)
    assert partition == "ehcase_auditevent_1995_06"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement.format(partition=partition), [event])
    assert AuditEvent.objects.get(pk=event).summary == "kept"


def test_retention_destroys_an_old_month_in_its_own_partition_except_held_families(personas, today):
    old = utc(today.year - 8, today.month, 10, 12)
    held = personas.bennett
    LegalHold.objects.create(family=held, reason="Court", placed_by=personas.morgan)
    for family_id in (None, personas.ashworth.pk, held.pk):
        insert_event(old, summary="old", family_id=family_id)
    audit_partitions_ensure()
    assert partition_of(AuditEvent.objects.filter(summary="old").first().pk) == partition_name(old.date())
    retention.retention_scan(today=today)
    review = DestructionReview.objects.get(record_class="audit")
    retention.review_approve(actor=personas.morgan, review=review, version=review.version)

    assert retention.destroy_review(review_id=review.pk, today=today) == ReviewStatus.DESTROYED

    assert list(AuditEvent.objects.filter(summary="old").values_list("family_id", flat=True)) == [held.pk]
    assert DestructionLog.objects.get(review=review).counts == {"ehcase.AuditEvent": 2}


def test_the_viewers_search_by_date_returns_the_days_events_from_its_partition_only(personas):
    audit_partitions_ensure(since=dt.date(2024, 1, 1))
    for day in (dt.date(2024, 2, 28), dt.date(2024, 2, 29), dt.date(2024, 3, 1)):
        for hour in (0, 12, 23):
            # Local (London) days: 00:00 on 29 February is 00:00 UTC (GMT).
            insert_event(
                timezone.make_aware(dt.datetime.combine(day, dt.time(hour))), summary=f"{day} {hour}"
            )
    filters = AuditFilters(date_from=dt.date(2024, 2, 29), date_to=dt.date(2024, 2, 29))

    events = audit_search(user=personas.morgan, filters=filters)

    assert [e.summary for e in events] == ["2024-02-29 23", "2024-02-29 12", "2024-02-29 0"]
    plan = audit_search(user=personas.morgan, filters=filters)[:51].explain()
    assert "ehcase_auditevent_2024_02" in plan
    assert "ehcase_auditevent_2024_03" not in plan
    assert DEFAULT_PARTITION not in plan


@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_existing_rows_backwards_and_forwards():
    """Back to the plain table of 0008 and forwards again, with rows of several months and of the
    future: every row keeps its id and values, lands in its month's partition, and new ids carry on."""
    before = ("ehcase", "0008_audit_destruction_trigger")
    after = ("ehcase", "0009_audit_partitioned")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_partitioned_table")
            assert cursor.fetchone() == (0,)
        dates = [
            utc(2003, 1, 31, 23, 59),
            utc(2003, 2, 1),
            utc(2019, 7, 4, 12),
            add_months_dt(this_month(), 9),
        ]
        ids = [insert_event(when, summary=f"row {n}", family_id=n) for n, when in enumerate(dates)]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([after])

    for event_id, when in zip(ids, dates, strict=True):
        assert partition_of(event_id) == partition_name(when.date())
    rows = AuditEvent.objects.filter(pk__in=ids).order_by("id")
    assert [(e.summary, e.family_id, e.occurred_at) for e in rows] == [
        (f"row {n}", n, when) for n, when in enumerate(dates)
    ]
    assert insert_event(timezone.now()) > max(ids)
    names = dict(audit_partitions())
    assert partition_name(add_months(this_month(), 3)) in names
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=ids[0]).update(summary="tampered")


def test_the_daily_task_is_scheduled_and_creates_the_months_ahead(settings):
    from ehcase.tasks import ensure_audit_partitions

    entry = settings.CELERY_BEAT_SCHEDULE["ensure-audit-partitions"]
    assert entry["task"] == ensure_audit_partitions.name
    settings.AUDIT_PARTITION_MONTHS_AHEAD = 5
    expected = [partition_name(add_months(this_month(), n)) for n in (4, 5)]

    assert ensure_audit_partitions.apply().get() == expected
    assert ensure_audit_partitions.apply().get() == []


def test_the_family_pages_recent_history_reads_the_last_year_first_then_older_months(
    personas, django_assert_num_queries
):
    from ehcase.models import Family
    from ehcase.selectors import family_recent_audit

    # Only the id and the creation time matter: a family of its own, with no events but these.
    family = Family(pk=987_654_321, created_at=timezone.now())
    audit_partitions_ensure(since=dt.date(2015, 1, 1))
    for n in range(3):
        audit_record(actor=personas.sam, action="view", family_id=family.pk, summary=f"now {n}")
    for year in (2016, 2017, 2018):
        insert_event(utc(year, 6, 1), family_id=family.pk, summary=f"old {year}")

    # Created this year: no older events to look for, one query pruned to the last year's partitions.
    with django_assert_num_queries(1) as queries:
        assert [e.summary for e in family_recent_audit(family=family)] == ["now 2", "now 1", "now 0"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert partition_name(this_month()) in plan
    assert "ehcase_auditevent_2018_" not in plan and DEFAULT_PARTITION not in plan

    family.created_at = utc(2015, 1, 1)
    with django_assert_num_queries(2):
        recent = family_recent_audit(family=family, size=5)
    assert [e.summary for e in recent] == ["now 2", "now 1", "now 0", "old 2018", "old 2017"]


def test_ensure_sets_its_lock_timeout_for_itself_only():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '3s'")
        audit_partitions_ensure(ahead=7)
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("3s",)
