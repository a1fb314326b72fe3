"""The performance figures as CSV: one plain table per dashboard section, or every section in one file.
Pure functions over the comparisons of `reporting.services` (no queries, no access checks: the view has
checked the user may see the scope). docs/reporting.md (Exports) says what each column holds.

Publication mode (`?publication=1`) hides small numbers so a file can be shared outside the partnership:

- a count from 1 to 4 becomes "<5" (0 is shown: nobody is identified by nobody);
- a percentage, median, mean or mean change whose numerator or denominator is from 1 to 4 becomes "[c]"
  (confidential, the Government Statistical Service's symbol): 1 in 3 families, or 3 in 200 shown as 1.5%,
  would give the small count away;
- secondary suppression: when the rows of a breakdown add up to its total (every count breakdown whose
  categories do not overlap), one hidden row could be worked out by subtracting the others from the total,
  so the smallest other non-zero row is hidden as well ("[c]");
- the direction of travel and better/worse are left blank where either figure compared is hidden.

Differencing across files (a hub's figures against every hub's, one quarter's against the next) can still
reveal a hidden cell: publication mode protects one file, not every combination of files.

Text cells (indicator, section and category names, which include agency names anyone with the admin can
type) that start with = + - @ or a tab or carriage return are prefixed with an apostrophe, so a spreadsheet
shows them as text instead of running them as a formula (CSV injection). Numbers are written by us and
never prefixed: a negative mean change stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.text import slugify

from .indicators import Section
from .quarters import Quarter
from .services import Comparison, RowComparison

SMALL_NUMBER_LIMIT = 5  # counts from 1 to SMALL_NUMBER_LIMIT - 1 are hidden in publication mode
SMALL_COUNT = "<5"
CONFIDENTIAL = "[c]"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER = [
    "section",
    "indicator",
    "row",
    "unit",
    "value",
    "numerator",
    "denominator",
    "previous quarter value",
    "same quarter last year value",
    "direction",
    "judgement",
]
TOTAL_ROW = "All"  # the `row` cell of an indicator's headline figure
UNIT_WORDS = {
    "count": "count",
    "percent": "percentage",
    "days": "median days",
    "score": "mean change in score",
    "mean": "mean",
}
DIRECTION_WORDS = {"up": "up", "down": "down", "same": "no change"}
JUDGEMENT_WORDS = {"better": "better", "worse": "worse", "neutral": "neither better nor worse"}


def safe_text(value: Any) -> str:
    """A text cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a '."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def is_small(value: Any) -> bool:
    """1 to 4 (a count small enough to identify someone); 0 and missing figures are not small."""
    number = _number(value)
    return number is not None and 0 < number < SMALL_NUMBER_LIMIT


def number_text(value: Any, unit: str = "count") -> str:
    """A figure as a plain number a spreadsheet reads: no thousands separators, no units; "" for none.
    Counts are whole numbers; other units one decimal place (two for scores and means, as the engine
    stores them)."""
    number = _number(value)
    if number is None:
        return ""
    if unit == "count" and number.is_integer():
        return str(int(number))
    if unit in ("percent", "days"):
        return f"{number:.1f}"
    return f"{number:.2f}"


# --- One figure, published or not --------------------------------------------------------------


@dataclass
class Cell:
    """One value of a figure as written, and whether publication mode hid it."""

    text: str
    hidden: bool = False


def _value_hidden(figure: dict, unit: str) -> bool:
    """Primary suppression of a figure's value (publication mode)."""
    if not figure:
        return False
    if unit == "count":
        return is_small(figure.get("value"))
    return is_small(figure.get("numerator")) or is_small(figure.get("denominator"))


def value_cell(figure: dict, unit: str, *, publication: bool) -> Cell:
    value = (figure or {}).get("value")
    if publication and _value_hidden(figure, unit):
        return Cell(SMALL_COUNT if unit == "count" else CONFIDENTIAL, hidden=True)
    return Cell(number_text(value, unit))


def count_cell(value: Any, *, publication: bool) -> Cell:
    """A numerator or denominator: always a count."""
    if publication and is_small(value):
        return Cell(SMALL_COUNT, hidden=True)
    return Cell(number_text(value, "count"))


def secondary_hidden(totals: dict, rows: Sequence[dict], primary: set[int]) -> set[int]:
    """Indexes of breakdown rows to hide as well, so that no hidden row can be worked out by subtraction:
    when the rows add up to the total and exactly one of them is hidden (with the total shown), the
    smallest other non-zero row is hidden too. Counts only; breakdowns whose categories overlap (a family
    in several outcome areas) do not add up to the total and need nothing."""
    total = _number((totals or {}).get("value"))
    values = [_number(row.get("value")) for row in rows]
    if total is None or is_small(total) or any(v is None for v in values):
        return set()
    if abs(sum(v for v in values if v is not None) - total) > 1e-9 or len(primary) != 1:
        return set()
    candidates = [(values[i], i) for i in range(len(rows)) if i not in primary and (values[i] or 0) > 0]
    if not candidates:
        return set()
    return {min(candidates)[1]}


# --- The table ---------------------------------------------------------------------------------


def _words(mapping: dict[str, str], value: str | None) -> str:
    return mapping.get(value or "", "")


def _published_direction(
    current: Cell, previous: Cell, direction: str | None, judgement: str | None
) -> tuple[str, str]:
    if current.hidden or previous.hidden:
        return "", ""
    return _words(DIRECTION_WORDS, direction), _words(JUDGEMENT_WORDS, judgement)


@dataclass
class _Line:
    """One row of the CSV before it is written: which figure of which quarter each cell shows."""

    label: str
    current: dict
    previous: dict
    year_before: dict
    direction: str | None
    judgement: str | None


def _hidden_by_column(
    unit: str, lines: list[_Line], totals: _Line, *, publication: bool
) -> dict[str, set[int]]:
    """Row indexes hidden by secondary suppression, per quarter column (counts only)."""
    hidden: dict[str, set[int]] = {"current": set(), "previous": set(), "year_before": set()}
    if not publication or unit != "count" or not lines:
        return hidden
    for column in hidden:
        figures = [getattr(line, column) or {} for line in lines]
        primary = {i for i, figure in enumerate(figures) if _value_hidden(figure, unit)}
        hidden[column] = secondary_hidden(getattr(totals, column) or {}, figures, primary)
    return hidden


def _line_cells(line: _Line, unit: str, *, publication: bool, secondary: dict[str, bool]) -> list[str]:
    current = value_cell(line.current, unit, publication=publication)
    previous = value_cell(line.previous, unit, publication=publication)
    year_before = value_cell(line.year_before, unit, publication=publication)
    numerator = count_cell((line.current or {}).get("numerator"), publication=publication)
    denominator = count_cell((line.current or {}).get("denominator"), publication=publication)
    if secondary.get("current"):
        current = Cell(CONFIDENTIAL, hidden=True)
        numerator = Cell(CONFIDENTIAL, hidden=True) if unit == "count" else numerator
    if secondary.get("previous"):
        previous = Cell(CONFIDENTIAL, hidden=True)
    if secondary.get("year_before"):
        year_before = Cell(CONFIDENTIAL, hidden=True)
    if publication:
        direction, judgement = _published_direction(current, previous, line.direction, line.judgement)
    else:
        direction = _words(DIRECTION_WORDS, line.direction)
        judgement = _words(JUDGEMENT_WORDS, line.judgement)
    return [
        current.text,
        numerator.text,
        denominator.text,
        previous.text,
        year_before.text,
        direction,
        judgement,
    ]


def _row_line(row: RowComparison) -> _Line:
    return _Line(
        label=row.label,
        current=row.current,
        previous=row.previous,
        year_before=row.year_before,
        direction=row.direction,
        judgement=row.judgement,
    )


def indicator_rows(section: Section, comparison: Comparison, *, publication: bool) -> list[list[str]]:
    """The CSV rows of one indicator: its headline figure ("All"), then one per breakdown row."""
    unit = comparison.indicator.unit
    totals = _Line(
        label=TOTAL_ROW,
        current=comparison.current,
        previous=comparison.previous,
        year_before=comparison.year_before,
        direction=comparison.direction,
        judgement=comparison.judgement,
    )
    lines = [_row_line(row) for row in comparison.rows]
    hidden = _hidden_by_column(unit, lines, totals, publication=publication)
    prefix = [safe_text(section.title), safe_text(comparison.indicator.title)]
    unit_text = UNIT_WORDS.get(unit, unit)
    result = [
        [*prefix, TOTAL_ROW, unit_text, *_line_cells(totals, unit, publication=publication, secondary={})]
    ]
    for index, line in enumerate(lines):
        secondary = {column: index in rows for column, rows in hidden.items()}
        result.append(
            [
                *prefix,
                safe_text(line.label),
                unit_text,
                *_line_cells(line, unit, publication=publication, secondary=secondary),
            ]
        )
    return result


def csv_rows(sections: Iterable[tuple[Section, list[Comparison]]], *, publication: bool) -> list[list[str]]:
    """The header and every indicator row of the given sections, in dashboard order."""
    rows = [list(HEADER)]
    for section, comparisons in sections:
        for comparison in comparisons:
            rows.extend(indicator_rows(section, comparison, publication=publication))
    return rows


def csv_text(rows: list[list[str]]) -> str:
    """RFC 4180 CSV (CRLF line ends, fields quoted when they need it), UTF-8 without a byte order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def scope_slug(*, hub_name: str | None, agency_name: str | None) -> str:
    """ "all-hubs-all-agencies", "north-hub-all-agencies", "all-hubs-riverside-primary-school" ..."""
    hub = (slugify(hub_name)[:50].strip("-") or "hub") if hub_name else "all-hubs"
    agency = (slugify(agency_name)[:50].strip("-") or "agency") if agency_name else "all-agencies"
    return f"{hub}-{agency}"


def export_filename(
    *, table: str, quarter: Quarter, hub_name: str | None, agency_name: str | None, publication: bool
) -> str:
    """The download's name: what, which quarter and whose figures, and whether small numbers are hidden.
    Only letters, digits and hyphens (safe in a Content-Disposition header and on any file system)."""
    what = "all-tables" if table == "all" else slugify(table)
    suffix = "-for-publication" if publication else ""
    scope = scope_slug(hub_name=hub_name, agency_name=agency_name)
    return f"early-help-performance-{what}-{quarter.slug}-{scope}{suffix}.csv"
