"""Server-rendered SVG charts for the performance dashboard and board pack.

Like pathway/charts.py: each chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>`
(aria-labelledby), and the page always shows a data table with the same figures beside it: the table is
the accessible version. Every value is printed on its bar, and the series of a grouped chart differ by
pattern as well as colour, so a chart reads in greyscale print. Colours are GOV.UK ones with at least
3:1 contrast on white (graphical objects, WCAG 1.4.11); text is GOV.UK black. Every label is escaped.

No scripts, no external references, no embedded images: WeasyPrint renders them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

TEXT_COLOUR = "#0b0c0c"  # GOV.UK black
GRID_COLOUR = "#b1b4b6"  # GOV.UK mid grey (lines only)
CURRENT_COLOUR = "#1d70b8"  # GOV.UK blue: 5.2:1 on white
PREVIOUS_COLOUR = "#505a5f"  # GOV.UK dark grey: 7:1 on white
YEAR_BEFORE_COLOUR = "#0b0c0c"  # GOV.UK black, drawn as a cross-hatch on white
FONT = "GDS Transport, arial, sans-serif"

LABEL_WIDTH = 230
BAR_WIDTH = 310
VALUE_ROOM = 110
WIDTH = LABEL_WIDTH + BAR_WIDTH + VALUE_ROOM

Row = tuple[str, float | int | None]


def _chart_id(chart_id: str) -> str:
    """An id safe in XML attributes and unique per chart (the caller's, stripped to letters and digits)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", chart_id or "chart") or "chart"


def _short(label: str, limit: int = 34) -> str:
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value, unit: str) -> str:
    from .services import format_value

    return format_value(value, unit)


def _scale(values: Sequence[float | None], unit: str) -> tuple[float, float]:
    numbers = [v for v in (_number(x) for x in values) if v is not None]
    low = min([0.0, *numbers])
    high = max([0.0, *numbers])
    if unit == "percent" and low >= 0 and high <= 100:
        high = 100.0
    if high == low:
        high = low + 1
    return low, high


def _x(value: float, low: float, high: float) -> float:
    return LABEL_WIDTH + (value - low) / (high - low) * BAR_WIDTH


def _open(chart_id: str, height: float, title: str, description: str) -> list[str]:
    description = str(description).strip()
    if description and description[-1] not in ".!?":
        description += "."
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'class="app-chart__svg" font-family="{FONT}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)} The table beside the chart gives the same '
        "figures.</desc>",
    ]


def _bar(
    *, label: str, series: str, value, unit: str, y: float, height: float, low: float, high: float, fill: str
) -> list[str]:
    """One bar with its value printed after it (or "No figure" where there is none)."""
    number = _number(value)
    text = escape(_text(value, unit))
    zero = _x(0.0, low, high)
    if number is None:
        return [
            f'<text x="{zero + 4:.1f}" y="{y + height - 2:.1f}" font-size="12" '
            f'fill="{TEXT_COLOUR}">{text}</text>'
        ]
    end = _x(number, low, high)
    left, width = min(zero, end), max(abs(end - zero), 1.5)
    name = f"{escape(label)}, {escape(series)}: {text}" if series else f"{escape(label)}: {text}"
    return [
        f'<rect x="{left:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{fill}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="0.75"><title>{name}</title></rect>',
        f'<text x="{max(zero, end) + 4:.1f}" y="{y + height - 2:.1f}" font-size="12" '
        f'fill="{TEXT_COLOUR}">{text}</text>',
    ]


def _row_label(label: str, y: float) -> str:
    return (
        f'<text x="{LABEL_WIDTH - 8}" y="{y:.1f}" font-size="13" text-anchor="end" fill="{TEXT_COLOUR}">'
        f"{escape(_short(label))}</text>"
    )


def _zero_line(low: float, high: float, top: float, bottom: float) -> str:
    zero = _x(0.0, low, high)
    return (
        f'<line x1="{zero:.1f}" y1="{top:.1f}" x2="{zero:.1f}" y2="{bottom:.1f}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1"/>'
    )


def _empty(chart_id: str, title: str, description: str) -> SafeString:
    parts = _open(chart_id, 40, title, description)
    parts.append(f'<text x="0" y="24" font-size="14" fill="{TEXT_COLOUR}">No figures to show.</text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped


def bar_chart_svg(*, title: str, description: str, rows: list[Row], unit: str, chart_id: str) -> SafeString:
    """Horizontal bars, one per row (label, value), in GOV.UK blue, each value printed after its bar.
    Negative values (a fall in an outcome score) go left of the zero line."""
    chart_id = _chart_id(chart_id)
    if not rows:
        return _empty(chart_id, title, description)
    row_height, bar = 30, 18
    low, high = _scale([value for _, value in rows], unit)
    top = 8
    height = top + row_height * len(rows) + 8
    parts = _open(chart_id, height, title, description)
    for index, (label, value) in enumerate(rows):
        y = top + index * row_height
        parts.append(_row_label(label, y + bar - 4))
        parts.extend(
            _bar(
                label=label,
                series="",
                value=value,
                unit=unit,
                y=y,
                height=bar,
                low=low,
                high=high,
                fill=CURRENT_COLOUR,
            )
        )
    parts.append(_zero_line(low, high, top - 4, height - 4))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


SERIES = (
    ("current", "This quarter", CURRENT_COLOUR, None),
    ("previous", "Previous quarter", PREVIOUS_COLOUR, "hatch"),
    ("year_before", "Same quarter a year before", YEAR_BEFORE_COLOUR, "cross"),
)


def _patterns(chart_id: str) -> str:
    """Stripes (previous quarter) and a cross-hatch (a year before): the series differ in greyscale."""
    return (
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/><rect width="3.5" height="6" fill="{PREVIOUS_COLOUR}"/>'
        "</pattern>"
        f'<pattern id="{chart_id}-cross" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="#ffffff"/>'
        f'<path d="M0 0L6 6M6 0L0 6" stroke="{YEAR_BEFORE_COLOUR}" stroke-width="1.2"/>'
        "</pattern>"
        "</defs>"
    )


def _fill(chart_id: str, colour: str, pattern: str | None) -> str:
    return f"url(#{chart_id}-{pattern})" if pattern else colour


def comparison_chart_svg(
    *,
    title: str,
    description: str,
    current: list[Row],
    previous: list[Row],
    year_before: list[Row],
    chart_id: str,
    unit: str = "count",
) -> SafeString:
    """Grouped horizontal bars: for each label (taken from `current`, then any only in the others), this
    quarter (solid blue), the previous quarter (striped grey) and the same quarter a year before
    (cross-hatched), with a legend and every value printed."""
    chart_id = _chart_id(chart_id)
    series_values = [dict(current), dict(previous), dict(year_before)]
    labels: list[str] = []
    for rows in (current, previous, year_before):
        for label, _ in rows:
            if label not in labels:
                labels.append(label)
    if not labels:
        return _empty(chart_id, title, description)
    bar, gap, group_gap = 12, 2, 14
    group = 3 * bar + 2 * gap + group_gap
    legend_height = 26
    top = legend_height + 8
    height = top + group * len(labels)
    low, high = _scale([v for values in series_values for v in values.values()], unit)
    parts = _open(chart_id, height, title, description)
    parts.append(_patterns(chart_id))
    # The legend: a swatch of each series' fill beside its name.
    x = 0.0
    for _, name, colour, pattern in SERIES:
        parts.append(
            f'<rect x="{x:.1f}" y="4" width="16" height="14" fill="{_fill(chart_id, colour, pattern)}" '
            f'stroke="{TEXT_COLOUR}" stroke-width="0.75"/>'
        )
        parts.append(
            f'<text x="{x + 22:.1f}" y="16" font-size="12" fill="{TEXT_COLOUR}">{escape(name)}</text>'
        )
        x += 22 + len(name) * 6.6 + 18
    for index, label in enumerate(labels):
        y = top + index * group
        parts.append(_row_label(label, y + bar + gap + bar - 2))
        for offset, ((_, name, colour, pattern), values) in enumerate(
            zip(SERIES, series_values, strict=True)
        ):
            parts.extend(
                _bar(
                    label=label,
                    series=name,
                    value=values.get(label),
                    unit=unit,
                    y=y + offset * (bar + gap),
                    height=bar,
                    low=low,
                    high=high,
                    fill=_fill(chart_id, colour, pattern),
                )
            )
    parts.append(_zero_line(low, high, top - 4, height - group_gap + 4))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


# Up to this many rows a breakdown is drawn as grouped bars for the three quarters; more would be too tall
# to read, so it is one bar a row for this quarter (the table beside it gives all three).
GROUPED_CHART_MAX_ROWS = 8


def largest_rows(rows: list, limit: int) -> list:
    """The `limit` rows with the largest figure this quarter, in their original order (so the chart and
    the table read the same way down)."""
    if len(rows) <= limit:
        return rows
    keep = {id(r) for r in sorted(rows, key=lambda r: -(r.current.get("value") or 0))[:limit]}
    return [r for r in rows if id(r) in keep]


def breakdown_chart_svg(comparison, quarter, *, chart_id: str, limit: int) -> tuple[SafeString, bool, list]:
    """The chart of one indicator's breakdown (a services.Comparison with rows): grouped bars for a short
    breakdown, otherwise one bar for each of the `limit` largest rows. Returns (svg, grouped, rows drawn)."""
    indicator = comparison.indicator
    rows = largest_rows(comparison.rows, limit)
    if len(rows) <= GROUPED_CHART_MAX_ROWS:
        chart = comparison_chart_svg(
            title=f"{indicator.title}, {quarter.label} compared with earlier quarters",
            description=(
                f"Grouped bars for each category: {quarter.label} (solid), the previous quarter "
                f"({quarter.previous().label}, striped) and the same quarter a year before "
                f"({quarter.year_before().label}, cross-hatched)."
            ),
            current=[(r.label, r.current.get("value")) for r in rows],
            previous=[(r.label, r.previous.get("value")) for r in rows],
            year_before=[(r.label, r.year_before.get("value")) for r in rows],
            chart_id=chart_id,
            unit=indicator.unit,
        )
        return chart, True, rows
    shown = f", the {len(rows)} largest of {len(comparison.rows)}" if len(rows) < len(comparison.rows) else ""
    chart = bar_chart_svg(
        title=f"{indicator.title}, {quarter.label}",
        description=f"One bar for each category in {quarter.label}{shown}.",
        rows=[(r.label, r.current.get("value")) for r in rows],
        unit=indicator.unit,
        chart_id=chart_id,
    )
    return chart, False, rows
