"""Server-rendered SVG charts. Each chart has a data table beside it in the page (the table is the
accessible version; the SVG is labelled and describes what it shows)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .selectors import DistanceTravelled

BASELINE_COLOUR = "#505a5f"  # GOV.UK dark grey: 7:1 on white
LATEST_COLOUR = "#1d70b8"  # GOV.UK blue: 5:1 on white


def distance_travelled_svg(progress: DistanceTravelled) -> SafeString:
    """Horizontal bars per outcome area: the baseline score above the latest one, out of 10."""
    label_width, bar_width, row, bar = 260, 300, 46, 16
    height = 30 + row * len(progress.areas)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {label_width + bar_width + 60} {height}" '
        'class="app-chart__svg" font-family="GDS Transport, arial, sans-serif" '
        'aria-labelledby="progress-title progress-desc">',
        '<title id="progress-title">Distance travelled from the baseline</title>',
        '<desc id="progress-desc">For each outcome area, a grey bar shows the baseline score and a blue bar '
        "the latest score, out of 10. The table that follows gives the same figures.</desc>",
    ]
    scale = bar_width / 10
    for tick in range(0, 11, 2):
        x = label_width + tick * scale
        parts.append(f'<line x1="{x}" y1="18" x2="{x}" y2="{height}" stroke="#b1b4b6" stroke-width="1"/>')
        parts.append(f'<text x="{x}" y="12" font-size="12" text-anchor="middle" fill="#0b0c0c">{tick}</text>')
    for index, area in enumerate(progress.areas):
        y = 26 + index * row
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar}" font-size="13" text-anchor="end" fill="#0b0c0c">'
            f"{escape(_short(area.area.name))}</text>"
        )
        for offset, value, colour, name in (
            (0, area.baseline, BASELINE_COLOUR, "baseline"),
            (bar + 2, area.latest if progress.has_reviews else None, LATEST_COLOUR, "latest"),
        ):
            if value is None:
                continue
            width = max(value * scale, 2)
            parts.append(
                f'<rect x="{label_width}" y="{y + offset}" width="{width}" height="{bar}" fill="{colour}">'
                f"<title>{escape(area.area.name)}, {name}: {value}</title></rect>"
            )
            parts.append(
                f'<text x="{label_width + width + 4}" y="{y + offset + bar - 3}" font-size="12" '
                f'fill="#0b0c0c">{value}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def _short(name: str, limit: int = 38) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
