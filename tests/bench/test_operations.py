"""bench/operations.py and bench/measure.py against the test database: every operation prepares, runs
and returns what a user would get, and the measurement has the right shape. Nothing here is timed: the
targets are benchmark figures, not test assertions."""

import pytest

from bench import fixtures
from bench import operations as ops
from bench.measure import filter_ratio, measure_operation, percentile, table, tier_ratios
from ehcase.models import Family, FamilyMember
from pathway.models import Review

pytestmark = pytest.mark.django_db

STATUS = {
    "family_list": 200,
    "family_page": 200,
    "family_search": 200,
    "duplicate_check": 200,
    "hub_queue": 200,
    "my_work": 200,
    "chronology": 200,
    "dashboard": 200,
    "api_families": 200,
    "eha_pdf_request": 302,
    "create_family": 302,
    "record_review": 302,
}


def test_every_operation_has_an_expected_result():
    names = {op.name for op in ops.OPERATIONS}
    assert names == set(STATUS) | {"reminder_scan", "eha_pdf"}


@pytest.mark.parametrize("name", sorted(STATUS))
def test_page_operations_answer_as_a_user_would_see(personas, name):
    (op,) = ops.operations([name])
    op.prepare()
    for _ in range(2):
        response = op.call()
        assert response.status_code == STATUS[name], response.content[:500]
        op.check(response)
    sql = op.main_sql()
    assert sql is None or (sql and all(ops.is_read(statement) for statement, _ in sql))


def test_page_family_is_built_once_through_the_services(personas):
    first = fixtures.page_family()
    again = fixtures.page_family()
    assert first == again
    family = first.family
    assert family.reference == fixtures.PAGE_FAMILY
    assert FamilyMember.objects.filter(family=family, end_date__isnull=True).count() == 8
    assert family.chronology.filter(kind="note").count() == fixtures.NOTES
    assert Review.objects.filter(episode_id=first.episode_id, is_baseline=True).exists()
    # Visible to Sam, not to the South hub's practitioner.
    from ehcase.permissions import families_visible_to

    assert families_visible_to(user=personas.sam).filter(pk=family.pk).exists()
    assert not families_visible_to(user=personas.ola).filter(pk=family.pk).exists()


def test_search_and_duplicate_check_find_the_bench_family(personas):
    for name in ("family_search", "duplicate_check"):
        (op,) = ops.operations([name])
        op.prepare()
        assert b"Benchford" in op.call().content


def test_writes_add_rows_where_the_notes_say(personas):
    create, review = ops.operations(["create_family", "record_review"])
    create.prepare()
    review.prepare()
    before_reviews = Review.objects.filter(episode_id=review.episode_id).count()
    for _ in range(2):
        create.call()
        review.call()
    created = Family.objects.filter(name=fixtures.CREATED_FAMILY_NAME)
    assert created.count() == 2
    assert all(f.members.count() == 3 for f in created)
    assert Review.objects.filter(episode_id=review.episode_id).count() == before_reviews + 2
    # The creator is the bench's own practitioner, so Sam's list does not grow.
    from ehcase.permissions import families_visible_to

    assert not families_visible_to(user=personas.sam).filter(name=fixtures.CREATED_FAMILY_NAME).exists()


def test_reminder_scan_runs_the_catalogue(personas):
    from ehcase.notifications.models import Reminder, ScanRun

    (op,) = ops.operations(["reminder_scan"])
    op.prepare()  # the previous run, for real: it claims what is due now
    claimed, runs = Reminder.objects.count(), ScanRun.objects.count()
    assert runs == 1
    result = op.call()
    op.check(result)
    # A timed call claims only what became due since (nothing, a moment later), and is rolled back.
    assert sum(result.values()) == 0
    assert Reminder.objects.count() == claimed and ScanRun.objects.count() == runs
    # The floor is the SELECTs a later run makes: one per kind read in full (tomorrow's meetings and the
    # two digests, every run) and one per kind with changed objects to re-check (none here: the personas
    # have no episodes, assessments, requests or plan actions).
    from ehcase.notifications.scans import CATALOGUE

    always_full = [scan for scan in CATALOGUE if not scan.changes]
    sql = op.main_sql()
    assert len(always_full) == 3 and len(sql) == len(always_full)


def test_assessment_pdf_is_about_twenty_pages_and_rendered_off_the_request(personas):
    from assessments.models import AssessmentPdfJob

    ask, render = ops.operations(["eha_pdf_request", "eha_pdf"])
    ask.prepare()
    render.prepare()
    ask.check(ask.call())
    rendered = render.call()
    render.check(rendered)
    assert 18 <= rendered.pages <= 24
    # Both calls are rolled back: no job (and no file) is left behind.
    assert not AssessmentPdfJob.objects.exists()


def test_measure_operation_reports_calls_percentiles_queries_and_floor(personas):
    (op,) = ops.operations(["family_list"])
    row = measure_operation(op, calls=4, warmup=1)
    assert row["name"] == "family_list" and row["calls"] == 4
    assert 0 < row["p50_ms"] <= row["p95_ms"]
    assert row["queries"] > 0
    assert row["sql_floor_source"] == "main_sql" and row["sql_floor_queries"] == 2  # count and page
    assert row["sql_floor_ms"] > 0 and row["ratio"] > 0


def test_measure_falls_back_to_the_slowest_query_of_a_call(personas):
    (op,) = ops.operations(["hub_queue"])
    row = measure_operation(op, calls=2, warmup=0)
    assert row["sql_floor_source"] == "slowest query of a call" and row["sql_floor_queries"] == 1
    assert row["sql_floor_ms"] > 0


def test_filter_ratio_compares_sams_list_with_every_family(personas):
    result = filter_ratio(calls=2)
    filtered, unfiltered = result["filtered"], result["unfiltered"]
    assert filtered["families"] < unfiltered["families"] == Family.objects.count()
    assert filtered["rows"] == min(50, filtered["families"])
    assert result["raw_sql_ratio"] > 0 and result["orm_ratio"] > 0


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0


def test_tier_ratios_and_table():
    large = {
        "database": "large",
        "tier_families": 250_000,
        "operations": [
            {
                "name": "family_list",
                "calls": 200,
                "p50_ms": 10.0,
                "p95_ms": 12.0,
                "queries": 8,
                "sql_floor_ms": 2.0,
                "ratio": 5.0,
            },
            {
                "name": "eha_pdf",
                "calls": 20,
                "p50_ms": 2000.0,
                "p95_ms": 2100.0,
                "queries": 14,
                "sql_floor_ms": None,
                "ratio": None,
            },
        ],
    }
    small = {"tier_families": 3_000, "operations": [{"name": "family_list", "p50_ms": 8.0}]}
    large["vs_small"] = tier_ratios(large, small)
    large["small_tier_families"] = 3_000
    assert large["vs_small"] == {"family_list": 1.25}
    text = table(large)
    assert "250,000 families" in text and "family_list" in text and "1.25" in text
