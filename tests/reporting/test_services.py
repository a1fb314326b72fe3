"""Snapshots (reporting.services): stored once and reused, recalculated on request and nightly; the
comparison with earlier quarters (direction of travel, better or worse); the SVG charts.

The quarter under test is the last one that has ended (the dashboard's default), so the tests hold
whatever day they run on. Data is real rows through the ORM; nothing is mocked."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ehcase.permissions import grant_family_access
from hubs.models import Hub
from pathway.models import Episode, EpisodeStatus, LevelOfNeed
from reporting import services
from reporting.charts import bar_chart_svg, comparison_chart_svg
from reporting.indicators import INDICATORS, SECTIONS, Scope
from reporting.models import Snapshot
from reporting.quarters import Quarter
from reporting.tasks import refresh_snapshots
from tests.factories import FamilyFactory

ALL = Scope()
TODAY = timezone.localdate()
Q = Quarter.default(TODAY)  # the last quarter that has ended


def open_episode(family, opened_on: dt.date, *, lead=None) -> Episode:
    """An active episode of the family, led by `lead` (whose agency the episode is attributed to)."""
    return Episode.objects.create(
        family=family,
        level=LevelOfNeed.objects.get(code="3"),
        opened_on=opened_on,
        status=EpisodeStatus.PLAN_ACTIVE,
        lead_professional=lead,
    )


def north_family(personas, name: str):
    area = personas.ashworth.area
    return FamilyFactory(name=name, area=area, hub=area.hub)


def opened(figures_or_data) -> int:
    data = getattr(figures_or_data, "data", figures_or_data)
    return data["episodes_opened"]["value"]


# --- Snapshots -----------------------------------------------------------------------------------


def test_figures_are_calculated_once_then_read_from_the_snapshot(personas, django_assert_num_queries):
    open_episode(personas.ashworth, Q.start, lead=personas.sam)
    first = services.figures(Q, ALL)
    assert opened(first) == 1
    assert Snapshot.objects.filter(quarter=Q.slug, hub_id=0, agency_id=0).count() == 1

    # Second time: nothing is calculated. 1 query: the snapshot row.
    with django_assert_num_queries(1):
        again = services.figures(Q, ALL)
    assert again.data == first.data
    assert again.computed_at == first.computed_at


def test_figures_are_as_at_the_calculation_until_refreshed(personas):
    open_episode(personas.ashworth, Q.start, lead=personas.sam)
    before = services.figures(Q, ALL)
    open_episode(personas.bennett, Q.end, lead=personas.sam)  # the last day of the quarter

    stale = services.figures(Q, ALL)
    assert opened(stale) == 1, "a stored snapshot is not recalculated on read"

    fresh = services.figures(Q, ALL, refresh=True)
    assert opened(fresh) == 2
    assert fresh.computed_at > before.computed_at
    assert opened(services.figures(Q, ALL)) == 2, "the refresh is stored"
    assert Snapshot.objects.filter(quarter=Q.slug).count() == 1


def test_each_scope_has_its_own_snapshot(personas):
    open_episode(personas.ashworth, Q.start, lead=personas.sam)  # riverside, north hub
    open_episode(personas.evans, Q.start, lead=personas.ola)  # southfield, south hub
    assert opened(services.figures(Q, ALL)) == 2
    assert opened(services.figures(Q, Scope(hub_id=personas.north.pk))) == 1
    assert opened(services.figures(Q, Scope(agency_id=personas.southfield.pk))) == 1
    assert opened(services.figures(Q, Scope(hub_id=personas.north.pk, agency_id=personas.southfield.pk))) == 0
    keys = set(Snapshot.objects.values_list("hub_id", "agency_id"))
    assert keys == {
        (0, 0),
        (personas.north.pk, 0),
        (0, personas.southfield.pk),
        (personas.north.pk, personas.southfield.pk),
    }


def test_storing_twice_upserts_one_row(personas):
    """Two calculations of the same snapshot (two workers, or a refresh racing a first visit) leave one
    row holding the later figures: INSERT ... ON CONFLICT DO UPDATE, never an IntegrityError."""
    services._store(Q, ALL)
    open_episode(personas.ashworth, Q.start, lead=personas.sam)
    services._store(Q, ALL)
    rows = Snapshot.objects.filter(quarter=Q.slug, hub_id=0, agency_id=0)
    assert rows.count() == 1
    assert opened(rows.get().data) == 1


def test_comparisons_read_three_snapshots_in_one_query(personas, django_assert_num_queries):
    open_episode(personas.ashworth, Q.start, lead=personas.sam)
    services.comparisons(Q, ALL)  # calculates and stores the three quarters
    assert set(Snapshot.objects.values_list("quarter", flat=True)) == {
        Q.slug,
        Q.previous().slug,
        Q.year_before().slug,
    }
    with django_assert_num_queries(1):
        sections = services.comparisons(Q, ALL)
    assert [section.key for section, _ in sections] == [s.key for s in SECTIONS]
    assert sum(len(items) for _, items in sections) == len(INDICATORS)
    episodes = dict(sections)[next(s for s in SECTIONS if "episodes_opened" in s.indicators)]
    comparison = next(c for c in episodes if c.key == "episodes_opened")
    assert (comparison.value, comparison.previous_value, comparison.year_before_value) == (1, 0, 0)
    assert comparison.direction == "up"
    assert comparison.direction_label == "Up 1 from 0"


def test_comparison_with_an_earlier_quarter(personas):
    """Three episodes opened in the quarter, one the quarter before, none a year before."""
    for name in ("One", "Two", "Three"):
        open_episode(north_family(personas, name), Q.start + dt.timedelta(days=3), lead=personas.sam)
    closed = open_episode(north_family(personas, "Earlier"), Q.previous().start, lead=personas.sam)
    Episode.objects.filter(pk=closed.pk).update(
        status=EpisodeStatus.CLOSED, closed_on=Q.previous().end, closure_reason="needs_met"
    )
    sections = dict(services.comparisons(Q, ALL))
    by_key = {c.key: c for items in sections.values() for c in items}
    c = by_key["episodes_opened"]
    assert (c.value, c.previous_value, c.year_before_value) == (3, 1, 0)
    assert (c.direction, c.judgement) == ("up", "neutral")  # up_is_good None: neither way is better
    assert c.direction_label == "Up 2 from 1"
    assert c.arrow == "↑" and c.direction_word == "Up"
    assert c.judgement_label == "Neither better nor worse"


# --- Direction of travel and judgement -----------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "up_is_good", "direction", "judgement"),
    [
        (12, 10, True, "up", "better"),
        (12, 10, False, "up", "worse"),
        (12, 10, None, "up", "neutral"),
        (8, 10, True, "down", "worse"),
        (8, 10, False, "down", "better"),
        (8, 10, None, "down", "neutral"),
        (10, 10, True, "same", "neutral"),
        (10, 10, False, "same", "neutral"),
        (0, 0, None, "same", "neutral"),
        (40.5, 40.5, True, "same", "neutral"),
        (10, None, True, None, None),  # no previous figure (a percentage of nothing)
        (None, 10, False, None, None),  # no figure this quarter
        (None, None, None, None, None),
    ],
)
def test_direction_and_judgement(current, previous, up_is_good, direction, judgement):
    assert services.direction_of(current, previous) == direction
    assert services.judgement_of(direction, up_is_good) == judgement
    indicator = replace(INDICATORS["episodes_opened"], up_is_good=up_is_good)
    c = services.compare(indicator, {"value": current, "rows": []}, {"value": previous, "rows": []}, {})
    assert (c.direction, c.judgement) == (direction, judgement)


@pytest.mark.parametrize(
    ("key", "current", "previous", "label", "judgement_label"),
    [
        ("episodes_opened", 52, 40, "Up 12 from 40", "Neither better nor worse"),
        ("drift", 3, 5, "Down 2 from 5", "Better"),
        ("drift", 5, 5, "No change from 5", "Neither better nor worse"),
        ("reviews_on_time", 37.5, 40.0, "Down 2.5 percentage points from 40.0%", "Worse"),
        ("reviews_on_time", 41.0, 40.0, "Up 1.0 percentage point from 40.0%", "Better"),
        ("median_days_to_decision", 6.5, 4, "Up 2.5 days from 4 days", "Worse"),
        ("distance_travelled", 1.25, 0.5, "Up 0.75 from 0.5", "Better"),
        ("reviews_on_time", 50.0, None, "No figure for the previous quarter", ""),
        ("reviews_on_time", None, 50.0, "No figure this quarter", ""),
    ],
)
def test_labels(key, current, previous, label, judgement_label):
    indicator = INDICATORS[key]
    c = services.compare(indicator, {"value": current}, {"value": previous}, {})
    assert c.direction_label == label
    assert c.judgement_label == judgement_label


def test_values_are_shown_in_their_unit():
    assert services.format_value(1234, "count") == "1,234"
    assert services.format_value(42.46, "percent") == "42.5%"
    assert services.format_value(12.5, "days") == "12.5 days"
    assert services.format_value(1, "days") == "1 day"
    assert services.format_value(-0.5, "score") == "-0.5"
    assert services.format_value(2.25, "mean") == "2.25"
    assert services.format_value(None, "count") == "No figure"


def test_breakdown_rows_cover_every_quarter():
    """An agency with requests last quarter and none now is listed with 0 now (a count), not dropped."""
    indicator = INDICATORS["requests_received"]
    current = {"value": 3, "rows": [{"key": "1", "label": "School", "value": 3}]}
    previous = {
        "value": 5,
        "rows": [{"key": "1", "label": "School", "value": 1}, {"key": "2", "label": "GP", "value": 4}],
    }
    year_before = {}  # a snapshot from before the indicator existed
    c = services.compare(indicator, current, previous, year_before)
    rows = {r.key: r for r in c.rows}
    assert [r.key for r in c.rows] == ["1", "2"]
    assert (rows["1"].value, rows["1"].previous_value, rows["1"].direction_label) == (3, 1, "Up 2 from 1")
    assert (rows["2"].value, rows["2"].previous_value, rows["2"].direction) == (0, 4, "down")
    assert rows["2"].year_before_text == "No figure"
    assert not rows["2"].drillable and rows["1"].drillable


# --- The nightly refresh ---------------------------------------------------------------------------


def test_refresh_recent_recalculates_recent_quarters_of_every_known_scope(personas):
    current = Quarter.containing(TODAY)
    old = current.previous().previous()
    riverside = Scope(agency_id=personas.riverside.pk)
    for quarter in (current.previous(), old):
        services.figures(quarter, riverside)  # someone looked at riverside's figures
    open_episode(personas.ashworth, current.previous().start, lead=personas.sam)
    old_row = Snapshot.objects.get(quarter=old.slug, agency_id=personas.riverside.pk)

    assert refresh_snapshots.name == "reporting.tasks.refresh_snapshots"  # the beat entry's name
    count = refresh_snapshots.apply().result  # the Celery task, run in this process

    # Scopes: every hub together, each hub of the demo county, riverside (looked at, and Alex manages it).
    # Two recent quarters each, recalculated; three earlier ones the dashboard compares them with,
    # calculated once where missing (riverside's `old` was there already).
    hubs = list(Hub.objects.values_list("pk", flat=True))
    scopes = 1 + len(hubs) + 1
    assert count == scopes * 2 + scopes * 3 - 1
    assert services.refresh_recent() == scopes * 2, "the earlier quarters are kept once calculated"
    stored = set(Snapshot.objects.values_list("quarter", "hub_id", "agency_id"))
    expected = [(0, 0), *((hub, 0) for hub in hubs), (0, personas.riverside.pk)]
    earlier = (old, current.year_before(), current.previous().year_before())
    for quarter in (current, current.previous(), *earlier):
        for hub_id, agency_id in expected:
            assert (quarter.slug, hub_id, agency_id) in stored
    assert opened(services.figures(current.previous(), riverside)) == 1, "recalculated with the new episode"
    assert Snapshot.objects.get(pk=old_row.pk).computed_at == old_row.computed_at, "older quarters kept"


# --- Charts --------------------------------------------------------------------------------------


def test_bar_chart_is_labelled_escaped_and_prints_its_values():
    svg = str(
        bar_chart_svg(
            title="Requests <by> agency",
            description="One bar per agency",
            rows=[("Smith & Sons <script>", 12), ("No data", None), ("Fall", -1.5)],
            unit="count",
            chart_id="requests by agency",
        )
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="requests-by-agency-title requests-by-agency-desc"' in svg
    assert '<title id="requests-by-agency-title">Requests &lt;by&gt; agency</title>' in svg
    assert "<script>" not in svg and "Smith &amp; Sons &lt;script&gt;" in svg
    assert ">12</text>" in svg and ">No figure</text>" in svg and ">-1.5</text>" in svg
    assert "The table beside the chart gives the same figures." in svg


def test_comparison_chart_differs_by_pattern_as_well_as_colour():
    svg = str(
        comparison_chart_svg(
            title="Closures",
            description="Closures by reason",
            current=[("Needs met", 40.0)],
            previous=[("Needs met", 30.0)],
            year_before=[("Moved away", 5.0)],
            chart_id="closures",
            unit="percent",
        )
    )
    assert 'id="closures-hatch"' in svg and 'id="closures-cross"' in svg
    assert 'fill="url(#closures-hatch)"' in svg and 'fill="url(#closures-cross)"' in svg
    for text in (
        "This quarter",
        "Previous quarter",
        "Same quarter a year before",
        ">40.0%<",
        ">30.0%<",
        ">5.0%<",
    ):
        assert text in svg
    assert "Moved away" in svg, "a category only in an earlier quarter is drawn"


def test_an_empty_chart_says_so():
    svg = str(bar_chart_svg(title="T", description="D", rows=[], unit="count", chart_id="x"))
    assert "No figures to show." in svg and 'role="img"' in svg


def test_grants_do_not_change_figures(personas):
    """Figures are aggregates over everyone's cases: who may see a family changes the drill-down, not the
    count (a sanity check that the snapshot is not per user)."""
    open_episode(personas.dixon, Q.start, lead=personas.sam)
    before = opened(services.figures(Q, ALL, refresh=True))
    grant_family_access(user=personas.sam, family=personas.dixon)
    assert opened(services.figures(Q, ALL, refresh=True)) == before == 1


def test_calculating_a_snapshot_takes_a_fixed_number_of_queries(personas):
    with CaptureQueriesContext(connection) as small:
        services.figures(Q, ALL)
    Snapshot.objects.all().delete()
    for n in range(20):
        open_episode(north_family(personas, f"Bulk{n}"), Q.start, lead=personas.sam)
    with CaptureQueriesContext(connection) as large:
        services.figures(Q, ALL)
    assert len(small) == len(large)
