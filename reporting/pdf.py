"""The board pack: a PDF of one quarter's performance figures for a scope, with the managers' commentary.

Rendered by WeasyPrint through `assessments.pdf` (its static-only URL fetcher, its render lock and its
tagged-PDF settings): nothing here fetches anything, and the template names only our own stylesheet.
What the pack holds and why: docs/reporting.md (Board pack).

Everything in it is an aggregate (counts, percentages, medians and means, by hub, agency or category) or
commentary a manager typed; no family, person or practitioner is named. The caller has checked the user
may see the scope (reporting.permissions.request_scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.safestring import SafeString

from assessments.pdf import RenderedPdf, pdf_render

from .charts import breakdown_chart_svg
from .indicators import Section
from .models import BoardPackCommentary
from .quarters import Quarter
from .services import Comparison, Figures

TEMPLATE = "reporting/pdf/board_pack.html"
CHART_MAX_ROWS = 20


def scope_label(*, hub_name: str | None, agency_name: str | None) -> str:
    """ "All hubs, all agencies", "North hub, all agencies", "All hubs, Riverside Primary School"."""
    return f"{hub_name or 'All hubs'}, {agency_name or 'all agencies'}"


@dataclass
class Breakdown:
    """One indicator's breakdown: its chart and the comparison whose rows make the table beside it."""

    comparison: Comparison
    chart: SafeString
    grouped: bool
    charted_rows: int  # how many of the rows the chart shows (the largest, when there are many)


@dataclass
class SectionPages:
    section: Section
    comparisons: list[Comparison]
    breakdowns: list[Breakdown] = field(default_factory=list)
    commentary: BoardPackCommentary | None = None


def _breakdown(comparison: Comparison, quarter: Quarter) -> Breakdown:
    chart, grouped, rows = breakdown_chart_svg(
        comparison, quarter, chart_id=f"pack-{comparison.indicator.key}", limit=CHART_MAX_ROWS
    )
    return Breakdown(comparison=comparison, chart=chart, grouped=grouped, charted_rows=len(rows))


def board_pack_context(
    *,
    quarter: Quarter,
    figures: Figures,
    sections: list[tuple[Section, list[Comparison]]],
    commentary: dict[str, BoardPackCommentary],
    hub_name: str | None,
    agency_name: str | None,
) -> dict:
    """What the board pack template shows. `figures` is the chosen quarter's snapshot (for "calculated at"),
    `sections` the comparisons of reporting.services, `commentary` the saved texts by section key."""
    return {
        "partnership_name": getattr(settings, "PARTNERSHIP_NAME", "") or "",
        "service_name": settings.SERVICE_NAME,
        "quarter": quarter,
        "scope_label": scope_label(hub_name=hub_name, agency_name=agency_name),
        "computed_at": timezone.localtime(figures.computed_at),
        "printed_at": timezone.localtime(),
        "sections": [
            SectionPages(
                section=section,
                comparisons=items,
                breakdowns=[_breakdown(c, quarter) for c in items if c.rows],
                commentary=commentary.get(section.key),
            )
            for section, items in sections
        ],
    }


def board_pack_render(**context_args) -> RenderedPdf:
    """The board pack as a PDF (arguments as board_pack_context). Callers have checked access."""
    return pdf_render(template_name=TEMPLATE, context=board_pack_context(**context_args))
