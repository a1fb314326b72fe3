"""The performance dashboard, its drill-down to families, and "Recalculate now" (docs/reporting.md).

Access (reporting.permissions): early help managers and quality auditors see any scope; agency managers
their agency's figures; hub coordinators their hub's; everyone else gets a 404 on every page here. The
figures come from stored snapshots (reporting.services): the dashboard costs a fixed number of queries
whatever the data. The drill-down lists the families behind a figure that the user may see
(ehcase.permissions.families_visible_to) and says how many others there are, never who.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote_plus

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from ehcase.audit import current_request
from ehcase.govuk_forms import GovukFormMixin
from ehcase.models import Agency, AuditAction, AuditEvent, User
from ehcase.permissions import families_visible_to
from hubs.models import Hub

from . import services
from .charts import breakdown_chart_svg
from .indicators import INDICATORS, SECTIONS, Scope, families_behind
from .permissions import (
    agency_choices,
    hub_choices,
    parse_quarter,
    request_scope,
    require_reporting_access,
    scope_for,
    scope_query,
)
from .quarters import Quarter

DRILLDOWN_PAGE_SIZE = 25
# A breakdown by agency can have hundreds of rows; the page shows the largest ones (this quarter) and
# says how many more there are; the CSV export has every row.
BREAKDOWN_PAGE_ROWS = 25
QUARTER_ERROR = "Select a quarter from the list"


class _AnyQuarter(forms.ChoiceField):
    """A select of quarters whose value is checked by `clean_quarter` (a quarter typed into the address
    that is not in the list, but is a real quarter that has started, is shown as asked)."""

    def valid_value(self, value) -> bool:
        return True


class FilterForm(GovukFormMixin, forms.Form):
    quarter = _AnyQuarter(label="Quarter", required=False)
    hub = forms.ChoiceField(label="Hub", required=False)
    agency = forms.ChoiceField(label="Agency", required=False)

    def __init__(self, *args, quarters: list[Quarter], hubs: list[Hub], agencies: list[Agency], access, **kw):
        super().__init__(*args, **kw)
        self.fields["quarter"].choices = [
            (q.slug, f"{q.label} ({q.start:%b} to {q.end:%b %Y})") for q in quarters
        ]
        self.fields["hub"].choices = ([] if access.hub_fixed else [("", "All hubs")]) + [
            (str(h.pk), h.name) for h in hubs
        ]
        self.fields["agency"].choices = ([] if access.agency_fixed else [("", "All agencies")]) + [
            (str(a.pk), a.name) for a in agencies
        ]

    def clean_quarter(self) -> Quarter:
        try:
            return parse_quarter(self.cleaned_data.get("quarter"))
        except ValueError:
            raise forms.ValidationError(QUARTER_ERROR) from None


@dataclass
class Breakdown:
    """An indicator with rows: its chart and the comparison whose rows make the table beside it."""

    comparison: services.Comparison
    chart: SafeString
    grouped: bool
    rows: list
    more: int  # rows not shown on the page (in the CSV)


def _breakdown(comparison: services.Comparison, quarter: Quarter) -> Breakdown:
    chart, grouped, rows = breakdown_chart_svg(
        comparison, quarter, chart_id=f"chart-{comparison.key}", limit=BREAKDOWN_PAGE_ROWS
    )
    return Breakdown(
        comparison=comparison, chart=chart, grouped=grouped, rows=rows, more=len(comparison.rows) - len(rows)
    )


SECTIONS_CACHE_SECONDS = 60 * 60


def _sections_html(quarter: Quarter, scope: Scope, query: str) -> tuple[dt.datetime, SafeString]:
    """The dashboard's sections (every table and chart) as HTML, and when their figures were calculated.

    They depend only on the three quarters' snapshots and the scope, not on who is looking (the same
    figures, links and charts for everyone allowed to see the scope), and they are the costly part of
    the page: hundreds of rows of comparisons, charts and table cells. So they are rendered once per set
    of snapshots and kept in the web process's cache under the snapshots' calculation times: a
    recalculation changes the key, so the page never shows figures older than the snapshots. One query
    (the three calculation times) when they are cached."""
    quarters = [quarter, quarter.previous(), quarter.year_before()]
    stamps = services.calculated_at(quarters, scope)
    key = None
    if len(stamps) == len(quarters):
        stamp = ",".join(stamps[q.slug].isoformat() for q in quarters)
        key = f"dashboard-sections:{quarter.slug}:{scope.hub_id or 0}:{scope.agency_id or 0}:{stamp}"
        cached = cache.get(key)
        if cached is not None:
            return stamps[quarter.slug], SafeString(cached)
    current, sections = services.comparisons_with_figures(quarter, scope)
    drill = reverse("reporting:drilldown")
    for _section, items in sections:
        for comparison in items:
            # The same query string as scope_query(quarter, scope, indicator=..., row=...), built once per
            # indicator: a breakdown by agency has hundreds of rows.
            base = f"{drill}?{query}&indicator={quote_plus(comparison.key)}"
            comparison.drilldown_url = base if comparison.drillable else ""  # type: ignore[attr-defined]
            for row in comparison.rows:
                row.drilldown_url = (  # type: ignore[attr-defined]
                    f"{base}&row={quote_plus(str(row.key))}" if row.drillable else ""
                )
    html = render_to_string(
        "reporting/_dash_sections.html",
        {
            "quarter": quarter,
            "sections": [
                {
                    "section": section,
                    "comparisons": items,
                    "breakdowns": [_breakdown(c, quarter) for c in items if c.rows],
                    "csv_url": f"{reverse('reporting:csv', kwargs={'table': section.key})}?{query}",
                }
                for section, items in sections
            ],
        },
    )
    if key is not None:
        cache.set(key, str(html), SECTIONS_CACHE_SECONDS)
    return current.computed_at, SafeString(html)


def _scope_names(scope: Scope, hubs: list[Hub], agencies: list[Agency]) -> tuple[str, str]:
    hub = next((h.name for h in hubs if h.pk == scope.hub_id), "") if scope.hub_id else "All hubs"
    agency = (
        next((a.name for a in agencies if a.pk == scope.agency_id), "") if scope.agency_id else "All agencies"
    )
    return hub, agency


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The indicators of a quarter for a hub and agency, beside the previous quarter and the same quarter a
    year before. A quarter that is not in the list is a form error on the page; a hub or agency the user
    may not see is a 404.

    Queries (fixed, whatever the data): session, user, memberships and their hubs (roles_for), hubs and
    agencies for the filters, at most one each to check a free hub or agency exists, one for the three
    snapshots (plus a calculation the first time a quarter is seen), the header's notification count."""
    access = require_reporting_access(request.user)  # type: ignore[arg-type]
    user: User = request.user  # type: ignore[assignment]
    scope = scope_for(user, hub=request.GET.get("hub"), agency=request.GET.get("agency"))
    today = timezone.localdate()
    hubs, agencies = hub_choices(access), agency_choices(access)
    quarters = Quarter.recent(today, 12)
    raw_quarter = request.GET.get("quarter") or ""
    try:
        asked = parse_quarter(raw_quarter, today=today)
    except ValueError:
        asked = None
    if asked is not None and asked not in quarters:
        quarters = [*quarters, asked]
    form = FilterForm(
        {
            "quarter": raw_quarter or Quarter.default(today).slug,
            "hub": str(scope.hub_id or ""),
            "agency": str(scope.agency_id or ""),
        },
        quarters=quarters,
        hubs=hubs,
        agencies=agencies,
        access=access,
    )
    context: dict = {
        "form": form,
        "access": access,
        "scope": scope,
        "hub_fixed_name": "",
        "agency_fixed_name": "",
        "nav": "performance",
        "form_has_errors": False,
    }
    hub_name, agency_name = _scope_names(scope, hubs, agencies)
    context.update(hub_name=hub_name, agency_name=agency_name)
    if access.hub_fixed and len(hubs) == 1:
        context["hub_fixed_name"] = hubs[0].name
    if access.agency_fixed and len(agencies) == 1:
        context["agency_fixed_name"] = agencies[0].name
    if not form.is_valid():
        context["form_has_errors"] = True
        return render(request, "reporting/dashboard.html", context)
    quarter: Quarter = form.cleaned_data["quarter"]
    query = scope_query(quarter, scope)
    computed_at, sections_html = _sections_html(quarter, scope, query)
    context.update(
        quarter=quarter,
        computed_at=computed_at,
        contents=SECTIONS,
        sections_html=sections_html,
        query=query,
        csv_all_url=f"{reverse('reporting:csv', kwargs={'table': 'all'})}?{query}",
        board_pack_url=f"{reverse('reporting:board-pack')}?{query}",
        recalculate_url=f"{reverse('reporting:recalculate')}?{query}",
        is_current_quarter=quarter == Quarter.containing(today),
    )
    return render(request, "reporting/dashboard.html", context)


@login_required
@require_POST
def recalculate(request: HttpRequest) -> HttpResponse:
    """Recalculate the snapshot of one quarter and scope now (the scope in the query string, with the
    dashboard's access rules), then back to the dashboard (POST/redirect/GET)."""
    quarter, scope = request_scope(request)
    services.figures(quarter, scope, refresh=True)
    messages.success(request, f"Figures for {quarter.label} recalculated")
    return redirect(f"{reverse('reporting:dashboard')}?{scope_query(quarter, scope)}")


def _audit_listed(*, user: User, family_ids: list[int], summary: str) -> None:
    """One audit event per family shown (a read of a list: each family's history shows who saw it listed),
    written in one INSERT so a page of 25 costs one query."""
    if not family_ids:
        return
    context = current_request.get()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=user,
                actor_username=user.username,
                action=AuditAction.VIEW,
                family_id=family_id,
                summary=summary[:255],
                ip_address=context.ip_address,
                user_agent=context.user_agent[:255],
                path=context.path[:255],
            )
            for family_id in family_ids
        ]
    )


@login_required
@require_GET
def drilldown(request: HttpRequest) -> HttpResponse:
    """The families behind a figure that the user may see, 25 a page, and how many there are in all.
    An unknown indicator or row is a 404, as is a scope the user may not see.

    Queries (fixed): session, user, roles, scope checks, the snapshot (to check the row exists and give
    its label), the count of families behind the figure, the count and page of those visible, one audit
    insert, the header's notification count."""
    user: User = request.user  # type: ignore[assignment]
    quarter, scope = request_scope(request)
    indicator = INDICATORS.get(request.GET.get("indicator") or "")
    if indicator is None:
        raise Http404
    row_key = request.GET.get("row") or None
    figure = services.figures(quarter, scope).value(indicator.key)
    row = None
    if row_key is not None:
        row = next((r for r in figure.get("rows") or [] if str(r.get("key")) == row_key), None)
        if row is None:
            raise Http404
    try:
        behind = families_behind(indicator.key, quarter, scope, row_key)
    except ValueError:
        raise Http404 from None
    total = behind.count()
    visible = (families_visible_to(user=user) & behind).select_related("hub").order_by("name", "id")
    page = Paginator(visible, DRILLDOWN_PAGE_SIZE).get_page(request.GET.get("page"))
    what = indicator.title + (f": {row['label']}" if row else "")
    _audit_listed(
        user=user,
        family_ids=[f.pk for f in page.object_list],
        summary=f"Listed in a performance drill-down ({what}, {quarter.label})",
    )
    query = request.GET.copy()
    query.pop("page", None)
    hub_name = agency_name = ""
    if scope.hub_id:
        hub_name = Hub.objects.filter(pk=scope.hub_id).values_list("name", flat=True).first() or ""
    if scope.agency_id:
        agency_name = Agency.objects.filter(pk=scope.agency_id).values_list("name", flat=True).first() or ""
    return render(
        request,
        "reporting/drilldown.html",
        {
            "indicator": indicator,
            "row": row,
            "what": what,
            "quarter": quarter,
            "scope": scope,
            "hub_name": hub_name or "All hubs",
            "agency_name": agency_name or "All agencies",
            "page": page,
            "families": list(page.object_list),
            "total": total,
            "visible_count": page.paginator.count,
            "query_string": query.urlencode(),
            "back_url": f"{reverse('reporting:dashboard')}?{scope_query(quarter, scope)}#{indicator.section}",
            "unit_note": _unit_note(indicator.unit),
            "nav": "performance",
        },
    )


def _unit_note(unit: str) -> str:
    if unit == "percent":
        return "These are the families counted in the percentage's numerator."
    if unit in ("days", "score", "mean"):
        return "These are the families of the records the figure is calculated over."
    return ""
