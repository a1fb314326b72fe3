import datetime as dt

import pytest

from reporting.quarters import Quarter


@pytest.mark.parametrize(
    ("quarter", "start", "end"),
    [
        (Quarter(2026, 1), dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
        (Quarter(2026, 2), dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
        (Quarter(2026, 3), dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        # Q4 is in the next calendar year, and 2028 is a leap year: February has 29 days, March 31.
        (Quarter(2027, 4), dt.date(2028, 1, 1), dt.date(2028, 3, 31)),
    ],
)
def test_start_and_end_are_inclusive_financial_year_dates(quarter, start, end):
    assert (quarter.start, quarter.end) == (start, end)
    assert quarter.contains(start) and quarter.contains(end)
    assert not quarter.contains(start - dt.timedelta(days=1))
    assert not quarter.contains(end + dt.timedelta(days=1))


def test_label_slug_and_months():
    quarter = Quarter(2026, 2)
    assert quarter.label == "2026-27 Q2" == str(quarter)
    assert quarter.slug == "2026-27-q2"
    assert quarter.months == "July to September 2026"
    assert Quarter(2026, 4).months == "January to March 2027"
    assert Quarter(2099, 4).label == "2099-00 Q4"


def test_next_previous_and_year_before_cross_financial_years():
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2025, 4).next() == Quarter(2026, 1)
    assert Quarter(2026, 2).previous() == Quarter(2026, 1)
    assert Quarter(2026, 3).year_before() == Quarter(2025, 3)
    # Consecutive quarters tile the calendar: no gap, no overlap.
    quarter = Quarter(2025, 1)
    for _ in range(8):
        assert quarter.next().start == quarter.end + dt.timedelta(days=1)
        quarter = quarter.next()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 3, 31), Quarter(2025, 4)),
        (dt.date(2026, 4, 1), Quarter(2026, 1)),
        (dt.date(2026, 6, 30), Quarter(2026, 1)),
        (dt.date(2026, 7, 1), Quarter(2026, 2)),
        (dt.date(2026, 12, 31), Quarter(2026, 3)),
        (dt.date(2027, 1, 1), Quarter(2026, 4)),
    ],
)
def test_containing(day, expected):
    assert Quarter.containing(day) == expected


def test_parse_round_trips_and_refuses_anything_else():
    assert Quarter.parse("2026-27-q2") == Quarter(2026, 2)
    assert Quarter.parse(" 2026-27-Q2 ") == Quarter(2026, 2)
    assert Quarter.parse("2099-00-q4") == Quarter(2099, 4)
    for quarter in (Quarter(2025, 4), Quarter(2026, 1)):
        assert Quarter.parse(quarter.slug) == quarter
    for bad in ["", None, "2026-28-q2", "2026-27-q5", "2026-27-q0", "2026-q2", "2026-27", "x2026-27-q2"]:
        with pytest.raises(ValueError):
            Quarter.parse(bad)


def test_number_must_be_one_to_four():
    with pytest.raises(ValueError):
        Quarter(2026, 5)


def test_recent_and_default():
    today = dt.date(2026, 11, 22)
    assert Quarter.recent(today, 5) == [
        Quarter(2026, 3),
        Quarter(2026, 2),
        Quarter(2026, 1),
        Quarter(2025, 4),
        Quarter(2025, 3),
    ]
    # The dashboard opens on the last quarter that has ended.
    assert Quarter.default(today) == Quarter(2026, 2)
    assert Quarter.default(dt.date(2026, 7, 1)) == Quarter(2026, 1)
    assert Quarter.default(dt.date(2026, 6, 30)) == Quarter(2025, 4)


def test_quarters_order_by_time():
    assert Quarter(2025, 4) < Quarter(2026, 1) < Quarter(2026, 2)
