"""Emergency access, the audit viewer and access alerts: thin views (access check, form, service,
redirect). Who may use each page is in ehcase.oversight.permissions."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ehcase.audit import audit_record
from ehcase.models import AuditAction

from . import permissions, selectors, services
from .forms import AuditSearchForm, BreakGlassForm, ReviewForm

GET_POST = require_http_methods(["GET", "POST"])
EXPORT_MAX = 50_000


def _fail(form: forms.Form, error: services.OversightError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    form = context.get("form")
    return render(
        request,
        template,
        {
            "nav": "oversight",
            "form_has_errors": bool(form is not None and form.is_bound and form.errors),
            **context,
        },
    )


# --- Emergency access -------------------------------------------------------------------------------


@login_required
@GET_POST
def break_glass_new(request: HttpRequest) -> HttpResponse:
    permissions.require_request_break_glass(user=request.user)
    form = BreakGlassForm(request.POST or None)
    already = None
    if request.method == "POST" and form.is_valid():
        try:
            access = services.break_glass_start(
                actor=request.user,
                reference=form.cleaned_data["reference"],
                reason=form.cleaned_data["reason"],
            )
        except services.AlreadyVisibleError as visible:
            already = visible.family
            form = BreakGlassForm()
        except services.OversightError as error:
            _fail(form, error)
        else:
            until = timezone.localtime(access.expires_at)
            messages.success(request, f"You have emergency access to this record until {until:%H:%M}")
            return redirect("ehcase:family-detail", family_id=access.family_id)
    return _render(
        request,
        "oversight/break_glass_new.html",
        {
            "form": form,
            "already": already,
            "hours": services.break_glass_hours(),
            "live": selectors.own_live_break_glass(user=request.user),
            "can_see_uses": permissions.can_see_break_glass_uses(user=request.user),
        },
    )


@login_required
@require_POST
def break_glass_end(request: HttpRequest, access_id: int) -> HttpResponse:
    access = permissions.own_break_glass(user=request.user, access_id=access_id)
    if services.break_glass_end(actor=request.user, access=access):
        messages.success(request, f"Your emergency access to family {access.family.reference} has ended")
    return redirect("oversight:break-glass-new")


@login_required
@require_GET
def break_glass_list(request: HttpRequest) -> HttpResponse:
    permissions.require_see_break_glass_uses(user=request.user)
    page = _page_number(request)
    rows, has_next = selectors.page_of(selectors.break_glass_review_list(user=request.user), page)
    return _render(
        request,
        "oversight/break_glass_list.html",
        {
            "rows": rows,
            "page": page,
            "has_next": has_next,
            "can_request": permissions.can_request_break_glass(user=request.user),
            "now": timezone.now(),
        },
    )


@login_required
@GET_POST
def break_glass_review(request: HttpRequest, access_id: int) -> HttpResponse:
    access = permissions.break_glass_for_reviewer(user=request.user, access_id=access_id)
    can_review = permissions.can_review_break_glass(user=request.user, access=access)
    if request.method == "POST":
        permissions.require_review_break_glass(user=request.user, access=access)
    form = ReviewForm(request.POST or None, initial={"version": access.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.break_glass_review(
                actor=request.user,
                access=access,
                note=form.cleaned_data["note"],
                version=form.cleaned_data["version"],
            )
        except services.OversightError as error:
            _fail(form, error)
        else:
            messages.success(request, f"Emergency access by {access.user.display_name} marked as reviewed")
            return redirect("oversight:break-glass-list")
    return _render(
        request,
        "oversight/break_glass_review.html",
        {"access": access, "form": form, "can_review": can_review, "now": timezone.now()},
    )


# --- Audit viewer -----------------------------------------------------------------------------------


def _audit_filters(form: AuditSearchForm) -> selectors.AuditFilters:
    data = form.cleaned_data
    return selectors.AuditFilters(
        username=data["user"].strip(),
        reference=services.normalise_reference(data["family"]),
        date_from=data["date_from"],
        date_to=data["date_to"],
        action=data["action"],
    )


@login_required
@require_GET
def audit_search(request: HttpRequest) -> HttpResponse:
    permissions.require_oversee(user=request.user)
    form = AuditSearchForm(request.GET)
    rows, has_next, page, query = [], False, _page_number(request), ""
    if form.is_valid():
        filters = _audit_filters(form)
        audit_record(
            actor=request.user,
            action=AuditAction.VIEW,
            summary="Searched the audit trail",
            changes={"search": [None, {**filters.as_audit(), "page": page}]},
        )
        rows, has_next = selectors.page_of(selectors.audit_search(user=request.user, filters=filters), page)
        params = request.GET.copy()
        params.pop("page", None)
        query = params.urlencode()
    return _render(
        request,
        "oversight/audit_search.html",
        {"form": form, "rows": rows, "has_next": has_next, "page": page, "query": query},
    )


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    permissions.require_oversee(user=request.user)
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return redirect(reverse("oversight:audit-search") + "?" + request.GET.urlencode())
    filters = _audit_filters(form)
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        summary="Exported an audit trail search",
        changes={"search": [None, filters.as_audit()]},
    )
    events = selectors.audit_search(user=request.user, filters=filters)[:EXPORT_MAX]
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(
            ["When", "Who", "Action", "Object type", "Object id", "Summary", "Family", "Address"]
        )
        for e in events.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    _cell(timezone.localtime(e.occurred_at).isoformat(timespec="seconds")),
                    _cell(e.actor_username),
                    _cell(e.get_action_display()),
                    _cell(e.object_type),
                    _cell(e.object_id),
                    _cell(e.summary),
                    _cell(e.family_reference),
                    _cell(e.ip_address),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-trail-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    return response


# --- Access alerts ----------------------------------------------------------------------------------


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    permissions.require_oversee(user=request.user)
    page = _page_number(request)
    rows, has_next = selectors.page_of(selectors.alerts_list(user=request.user), page)
    references = selectors.references_for(i for alert in rows for i in alert.family_ids)
    for alert in rows:
        alert.sentence = services.alert_sentence(alert)
        alert.families = [(i, references.get(i, "")) for i in alert.family_ids]
    return _render(request, "oversight/alert_list.html", {"rows": rows, "page": page, "has_next": has_next})


@login_required
@GET_POST
def alert_review(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = permissions.alert_for_user(user=request.user, alert_id=alert_id)
    if request.method == "POST":
        permissions.require_review_alert(user=request.user)
    form = ReviewForm(request.POST or None, initial={"version": alert.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.alert_review(
                actor=request.user,
                alert=alert,
                note=form.cleaned_data["note"],
                version=form.cleaned_data["version"],
            )
        except services.OversightError as error:
            _fail(form, error)
        else:
            messages.success(request, "Alert marked as reviewed")
            return redirect("oversight:alert-list")
    references = selectors.references_for(alert.family_ids)
    alert.sentence = services.alert_sentence(alert)
    alert.families = [(i, references.get(i, "")) for i in alert.family_ids]
    return _render(
        request,
        "oversight/alert_review.html",
        {"alert": alert, "form": form, "can_review": permissions.is_early_help_manager(user=request.user)},
    )
