"""Exports of the performance figures: CSV for every dashboard table, and the board pack (a page for the
managers' commentary, then the PDF). docs/reporting.md (Exports, Board pack).

Access is the dashboard's (reporting.permissions.request_scope): early help managers and quality auditors
any scope, agency managers their agency's figures, hub coordinators their hub's; everyone else a 404, and a
scope the user may not see is a 404. Writing commentary is for managers: early help managers, and agency
managers and hub coordinators for their own agency's or hub's board pack. Quality auditors read it (403 on
a save). Every download is audited as an export; every saved commentary as a create or change.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from ehcase.audit import audit_record
from ehcase.models import Agency, AuditAction, User
from hubs.models import Hub

from . import exports, services
from .indicators import SECTIONS, Scope
from .models import BoardPackCommentary
from .pdf import board_pack_render, scope_label
from .permissions import may_write_commentary, request_scope, scope_query
from .quarters import Quarter
from .services import CommentaryEdit, board_pack_commentary_save, text_digest

COMMENTARY_MAX_LENGTH = 4000
CONFLICT_MESSAGE = (
    "Someone else saved commentary on {title} after you opened this page, so nothing has been saved. "
    "Their text is below and yours is still in the box. Save again to replace theirs."
)


def _scope_names(scope: Scope) -> tuple[str | None, str | None]:
    """The names of the scope's hub and agency (None for "all"): a query for each one chosen."""
    hub_name = agency_name = None
    if scope.hub_id:
        hub_name = Hub.objects.filter(pk=scope.hub_id).values_list("name", flat=True).first()
    if scope.agency_id:
        agency_name = Agency.objects.filter(pk=scope.agency_id).values_list("name", flat=True).first()
    return hub_name, agency_name


def _scope_audit(quarter: Quarter, scope: Scope) -> dict:
    return {"quarter": quarter.slug, "hub_id": scope.hub_id, "agency_id": scope.agency_id}


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    # Names are built from slugs (letters, digits, hyphens): nothing to quote or escape.
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, no_store=True, private=True)
    return response


# --- CSV ---------------------------------------------------------------------------------------


@login_required
@require_GET
def csv_export(request: HttpRequest, table: str) -> HttpResponse:
    """One dashboard section's table (`table` is the section key) or every section ("all") as CSV, for the
    quarter and scope in the query string. `publication=1` hides small numbers (reporting.exports)."""
    quarter, scope = request_scope(request)
    sections_by_key = {section.key: section for section in SECTIONS}
    if table != "all" and table not in sections_by_key:
        raise Http404
    publication = request.GET.get("publication") == "1"
    _current, sections = services.comparisons_with_figures(quarter, scope)
    chosen = [(section, items) for section, items in sections if table in ("all", section.key)]
    rows = exports.csv_rows(chosen, publication=publication)
    hub_name, agency_name = _scope_names(scope)
    filename = exports.export_filename(
        table=table, quarter=quarter, hub_name=hub_name, agency_name=agency_name, publication=publication
    )
    audit_record(
        actor=request.user,  # type: ignore[arg-type]
        action=AuditAction.EXPORT,
        summary="Performance figures downloaded as CSV" + (" for publication" if publication else ""),
        changes={
            **_scope_audit(quarter, scope),
            "table": table,
            "publication": publication,
            "rows": len(rows) - 1,
        },
    )
    response = HttpResponse(exports.csv_text(rows), content_type="text/csv; charset=utf-8")
    return _attachment(response, filename)


# --- Board pack commentary ---------------------------------------------------------------------


class CommentaryField(forms.CharField):
    """A textarea whose line ends are counted once: browsers send CRLF, the character count counts one."""

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n").replace("\r", "\n")


def _in_sentence(title: str) -> str:
    """A section title inside a sentence: "early help assessments", but "Supporting Families" (a name)."""
    return title if title.startswith("Supporting Families") else title[:1].lower() + title[1:]


class BoardPackForm(forms.Form):
    """One commentary box per dashboard section, each with the version and the fingerprint of the text
    the user started from."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for section in SECTIONS:
            self.fields[section.key] = CommentaryField(
                label=f"Commentary on {_in_sentence(section.title)}",
                required=False,
                max_length=COMMENTARY_MAX_LENGTH,
                widget=forms.Textarea,
                error_messages={
                    "max_length": f"Commentary on {_in_sentence(section.title)} must be "
                    f"{COMMENTARY_MAX_LENGTH:,} characters or fewer"
                },
            )
            self.fields[f"{section.key}-version"] = forms.IntegerField(
                widget=forms.HiddenInput, required=False, min_value=0
            )
            self.fields[f"{section.key}-loaded"] = forms.CharField(
                widget=forms.HiddenInput, required=False, max_length=64
            )

    def error_summary(self) -> list[tuple[str, str]]:
        """(anchor, message) for the GOV.UK error summary: the boxes in page order. The hidden fields only
        fail when the request was not made by this form."""
        items = [(self[s.key].auto_id, e) for s in SECTIONS for e in self[s.key].errors]
        hidden = [name for name, f in self.fields.items() if isinstance(f.widget, forms.HiddenInput)]
        if any(self[name].errors for name in hidden):
            items.append(("", "The page was out of date: open the board pack again"))
        return items


def _edits(request: HttpRequest, form: BoardPackForm) -> list[CommentaryEdit]:
    """The sections the form sent (a box missing from the request is not a request to empty it)."""
    edits = []
    for section in SECTIONS:
        if section.key not in request.POST:
            continue
        edits.append(
            CommentaryEdit(
                section=section.key,
                text=form.cleaned_data[section.key],
                version=form.cleaned_data.get(f"{section.key}-version") or 0,
                loaded_digest=form.cleaned_data.get(f"{section.key}-loaded") or "",
            )
        )
    return edits


def _rebase(request: HttpRequest, conflicts: dict[str, BoardPackCommentary | None]) -> BoardPackForm:
    """The user's typing again, now based on the latest saved versions: saving again is a deliberate
    replacement of the other person's text."""
    data = request.POST.copy()
    for section, row in conflicts.items():
        data[f"{section}-version"] = str(row.version if row else 0)
        data[f"{section}-loaded"] = text_digest(row.text if row else "")
    form = BoardPackForm(data)
    form.is_valid()
    titles = {section.key: section.title for section in SECTIONS}
    for section in conflicts:
        form.add_error(section, CONFLICT_MESSAGE.format(title=_in_sentence(titles[section])))
    return form


@login_required
@require_http_methods(["GET", "POST"])
def board_pack(request: HttpRequest) -> HttpResponse:
    """The board pack for a quarter and scope: each section's headline figures and a commentary box (read
    only for quality auditors), then the PDF download. POST saves the commentary (POST/redirect/GET)."""
    quarter, scope = request_scope(request)
    user: User = request.user  # type: ignore[assignment]
    can_write = may_write_commentary(user, scope)
    query = scope_query(quarter, scope)
    here = f"{reverse('reporting:board-pack')}?{query}"
    key = {"quarter": quarter.slug, "hub_id": scope.hub_id or 0, "agency_id": scope.agency_id or 0}
    conflicts: dict[str, BoardPackCommentary | None] = {}
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        form = BoardPackForm(request.POST)
        if form.is_valid():
            conflicts = board_pack_commentary_save(
                actor=user, quarter=quarter, scope=scope, edits=_edits(request, form)
            )
            if not conflicts:
                messages.success(request, f"Commentary saved for {quarter.label}")
                return redirect(here)
            form = _rebase(request, conflicts)
    saved = {
        row.section: row for row in BoardPackCommentary.objects.filter(**key).select_related("updated_by")
    }
    if request.method == "GET":
        initial = {}
        for section in SECTIONS:
            row = saved.get(section.key)
            initial[section.key] = row.text if row else ""
            initial[f"{section.key}-version"] = row.version if row else 0
            initial[f"{section.key}-loaded"] = text_digest(row.text if row else "")
        form = BoardPackForm(initial=initial)
    current, comparisons = services.comparisons_with_figures(quarter, scope)
    hub_name, agency_name = _scope_names(scope)
    return render(
        request,
        "reporting/board_pack.html",
        {
            "quarter": quarter,
            "scope_label": scope_label(hub_name=hub_name, agency_name=agency_name),
            "figures": current,
            "can_write": can_write,
            "form": form,
            "max_length": COMMENTARY_MAX_LENGTH,
            "max_length_text": f"{COMMENTARY_MAX_LENGTH:,}",
            "sections": [
                {
                    "section": section,
                    "comparisons": items,
                    "field": form[section.key],
                    "version": form[f"{section.key}-version"],
                    "loaded": form[f"{section.key}-loaded"],
                    "saved": saved.get(section.key),
                    "conflict": section.key in conflicts,
                    "theirs": conflicts.get(section.key),
                }
                for section, items in comparisons
            ],
            "here": here,
            "pdf_url": f"{reverse('reporting:board-pack-pdf')}?{query}",
            "dashboard_url": f"{reverse('reporting:dashboard')}?{query}",
            "nav": "performance",
            "form_has_errors": bool(form.errors),
        },
    )


# --- Board pack PDF ----------------------------------------------------------------------------


@login_required
@require_GET
def board_pack_pdf(request: HttpRequest) -> HttpResponse:
    """The board pack as a PDF: cover, headline table, each section's commentary, charts and tables."""
    quarter, scope = request_scope(request)
    current, sections = services.comparisons_with_figures(quarter, scope)
    commentary = {
        row.section: row
        for row in BoardPackCommentary.objects.filter(
            quarter=quarter.slug, hub_id=scope.hub_id or 0, agency_id=scope.agency_id or 0
        )
    }
    hub_name, agency_name = _scope_names(scope)
    rendered = board_pack_render(
        quarter=quarter,
        figures=current,
        sections=sections,
        commentary=commentary,
        hub_name=hub_name,
        agency_name=agency_name,
    )
    audit_record(
        actor=request.user,  # type: ignore[arg-type]
        action=AuditAction.EXPORT,
        summary="Performance board pack PDF downloaded",
        changes={**_scope_audit(quarter, scope), "pages": rendered.pages},
    )
    scope_part = exports.scope_slug(hub_name=hub_name, agency_name=agency_name)
    response = HttpResponse(rendered.content, content_type="application/pdf")
    return _attachment(response, f"early-help-board-pack-{quarter.slug}-{scope_part}.pdf")
