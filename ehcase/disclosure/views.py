"""Information sharing and subject access pages: thin views (access check, form, service, redirect)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from assessments.pdf import pdf_render
from ehcase.audit import audit_record, audit_view_family
from ehcase.models import AuditAction, User
from ehcase.permissions import can_change_family, family_for_user

from . import selectors, services
from .forms import InErrorForm, SharingRecordForm, SubjectAccessRequestForm, VersionForm
from .models import SubjectAccessRequest
from .permissions import (
    can_record_sharing,
    person_for_subject_access,
    require_mark_in_error,
    require_record_sharing,
    require_subject_access,
    sharing_record_for_user,
    subject_access_request_for_user,
)
from .subject_access import SECTION_TITLES, build_export, is_redacted

GET_POST = require_http_methods(["GET", "POST"])


def _fail(form, error: services.DisclosureError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- Information sharing ----------------------------------------------------------------------------


@login_required
@require_GET
def sharing_list(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    audit_view_family(actor=request.user, family_id=family.pk, what="Information sharing")
    records = selectors.family_sharing_records(family=family)
    # The rule of permissions.can_mark_in_error, with the family's change right read once, not per row.
    may_change = can_change_family(user=request.user, family=family)
    for record in records:
        record.can_mark_in_error = not record.in_error and (
            may_change or record.recorded_by_id == request.user.pk
        )
    return render(
        request,
        "disclosure/sharing_list.html",
        {
            "family": family,
            "records": records,
            "can_record": can_record_sharing(user=request.user, family=family),
            "nav": "families",
        },
    )


@login_required
@GET_POST
def sharing_new(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    require_record_sharing(user=request.user, family=family)
    form = SharingRecordForm(request.POST or None, family=family)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = services.sharing_record_create(
                actor=request.user,
                family=family,
                decision=data["decision"],
                shared_on=data["shared_on"],
                what=data["what"],
                recipient_agency=data["recipient_agency"],
                recipient=data["recipient"],
                method=data["method"],
                purpose=data["purpose"],
                lawful_basis=data["lawful_basis"],
                consent=data["consent"],
                consent_note=data["consent_note"],
                reason_not_shared=data["reason_not_shared"],
                people=data["people"],
            )
        except services.DisclosureError as error:
            _fail(form, error)
        else:
            messages.success(
                request,
                "Information sharing recorded" if record.is_shared else "Decision not to share recorded",
            )
            return redirect("disclosure:sharing-list", family_id=family.pk)
    return render(
        request,
        "disclosure/sharing_form.html",
        {
            "form": form,
            "family": family,
            "title": "Record information sharing",
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "families",
        },
    )


@login_required
@GET_POST
def sharing_in_error(request: HttpRequest, record_id: int) -> HttpResponse:
    record = sharing_record_for_user(user=request.user, record_id=record_id)
    require_mark_in_error(user=request.user, record=record)
    if request.method == "GET" and record.in_error:
        raise Http404
    form = InErrorForm(request.POST or None, initial={"version": record.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.sharing_record_mark_in_error(
                actor=request.user,
                record=record,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except services.DisclosureError as error:
            _fail(form, error)
        else:
            messages.success(request, "Sharing record marked as recorded in error")
            return redirect("disclosure:sharing-list", family_id=record.family_id)
    return render(
        request,
        "disclosure/in_error_form.html",
        {
            "form": form,
            "record": record,
            "family": record.family,
            "title": "Mark as recorded in error",
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "families",
        },
    )


# --- Subject access ---------------------------------------------------------------------------------


def _audit_sar_read(
    *, actor: User, sar: SubjectAccessRequest, action: str, summary: str, changes=None
) -> None:
    """One event per family of the person, so each family's history shows the read or export."""
    family_ids = selectors.person_family_ids(person=sar.person) or [None]
    for family_id in family_ids:
        audit_record(
            actor=actor, action=action, obj=sar, family_id=family_id, summary=summary, changes=changes
        )


@login_required
@require_GET
def sar_list(request: HttpRequest) -> HttpResponse:
    require_subject_access(user=request.user)
    return render(
        request,
        "disclosure/sar_list.html",
        {"requests": selectors.subject_access_requests(), "nav": "families"},
    )


@login_required
@GET_POST
def sar_new(request: HttpRequest, person_id: int) -> HttpResponse:
    person = person_for_subject_access(user=request.user, person_id=person_id)
    form = SubjectAccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sar = services.subject_access_request_create(
                actor=request.user,
                person=person,
                received_on=form.cleaned_data["received_on"],
                requester=form.cleaned_data["requester"],
                requester_name=form.cleaned_data["requester_name"],
            )
        except services.DisclosureError as error:
            _fail(form, error)
        else:
            messages.success(request, "Subject access request opened")
            return redirect("disclosure:sar-detail", request_id=sar.pk)
    return render(
        request,
        "disclosure/sar_form.html",
        {
            "form": form,
            "person": person,
            "title": "Open a subject access request",
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "families",
        },
    )


def _anchor(key: str) -> str:
    return "item-" + key.replace(":", "-")


def _review_rows(export, *, choices: dict, posted=None) -> list[dict]:
    """Each section with its items and what the page shows for each: whether it is redacted now (from
    what was posted, else the saved choices) and the reason typed."""
    rows = []
    for section, items in export.sections():
        entries = []
        for item in items:
            anchor = _anchor(item.key)
            if posted is not None:
                ticked = posted.get(f"choice-{item.key}") == "on"
                reason = posted.get(f"reason-{item.key}", "")
            else:
                saved = choices.get(item.key) or {}
                ticked = bool(saved)
                reason = saved.get("reason", "")
            entries.append(
                {
                    "item": item,
                    "anchor": anchor,
                    "ticked": ticked,
                    "reason": reason,
                    "redacted": (not ticked) if item.third_party else ticked,
                    "error": "",
                }
            )
        rows.append({"section": section, "entries": entries})
    return rows


@login_required
@GET_POST
def sar_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    """The request, and (while it is being prepared) the redaction step: every item by section, with a
    tick box to release an item about other people (with a reason) or to withhold one about the person."""
    sar = subject_access_request_for_user(user=request.user, request_id=request_id)
    if sar.is_released:
        if request.method == "POST":
            raise Http404
        return render(request, "disclosure/sar_released.html", {"sar": sar, "nav": "families"})
    export = build_export(person=sar.person)
    errors: list[tuple[str, str]] = []
    posted = request.POST if request.method == "POST" else None
    rows = _review_rows(export, choices=sar.choices, posted=posted)
    version = sar.version
    if posted is not None:
        try:
            version = int(posted.get("version", ""))
        except ValueError:
            version = None
        choices = {}
        for row in rows:
            for entry in row["entries"]:
                item = entry["item"]
                if entry["ticked"]:
                    choices[item.key] = {
                        "action": "release" if item.third_party else "redact",
                        "reason": entry["reason"],
                    }
                    if item.third_party and not entry["reason"].strip():
                        entry["error"] = "Enter why this item can be released"
                        errors.append(
                            (f"{entry['anchor']}-reason", f"{item.title}: enter why it can be released")
                        )
        if not errors:
            try:
                services.subject_access_save_choices(
                    actor=request.user, sar=sar, choices=choices, version=version
                )
            except services.DisclosureError as error:
                errors.append(("", error.message))
            else:
                messages.success(request, "Redactions saved")
                return redirect("disclosure:sar-detail", request_id=sar.pk)
    else:
        _audit_sar_read(
            actor=request.user, sar=sar, action=AuditAction.VIEW, summary="Subject access export prepared"
        )
    return render(
        request,
        "disclosure/sar_detail.html",
        {
            "sar": sar,
            "person": sar.person,
            "rows": rows,
            "errors": errors,
            "version": version if version is not None else "",
            "form_has_errors": bool(errors),
            "withheld": sum(1 for row in rows for e in row["entries"] if e["redacted"]),
            "total": len(export.items),
            "nav": "families",
        },
    )


@login_required
@GET_POST
def sar_release(request: HttpRequest, request_id: int) -> HttpResponse:
    sar = subject_access_request_for_user(user=request.user, request_id=request_id)
    if sar.is_released:
        raise Http404
    form = VersionForm(request.POST or None, initial={"version": sar.version})
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.subject_access_release(actor=request.user, sar=sar, version=form.cleaned_data["version"])
        except services.DisclosureError as exc:
            error = exc.message
        else:
            messages.success(request, "Released: the PDF and JSON are ready to download")
            return redirect("disclosure:sar-detail", request_id=sar.pk)
    export = build_export(person=sar.person)
    withheld = [i for i in export.items if is_redacted(i, sar.choices)]
    return render(
        request,
        "disclosure/sar_release.html",
        {
            "sar": sar,
            "form": form,
            "error": error,
            "form_has_errors": bool(error),
            "total": len(export.items),
            "withheld": len(withheld),
            "released_third_party": [
                (SECTION_TITLES[i.section], i.title, sar.choices[i.key]["reason"])
                for i in export.items
                if i.third_party and not is_redacted(i, sar.choices)
            ],
            "nav": "families",
        },
    )


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, no_store=True, private=True)
    return response


def _released(request: HttpRequest, request_id: int) -> SubjectAccessRequest:
    sar = subject_access_request_for_user(user=request.user, request_id=request_id)
    if not sar.is_released:
        raise Http404
    return sar


@login_required
@require_GET
def sar_pdf(request: HttpRequest, request_id: int) -> HttpResponse:
    sar = _released(request, request_id)
    rendered = pdf_render(
        template_name="disclosure/pdf/subject_access.html",
        context={"sar": sar, "content": sar.released_content},
    )
    _audit_sar_read(
        actor=request.user,
        sar=sar,
        action=AuditAction.EXPORT,
        summary="Subject access export downloaded as PDF",
        changes={"pages": rendered.pages},
    )
    return _download(
        rendered.content, content_type="application/pdf", filename=f"subject-access-request-{sar.pk}.pdf"
    )


@login_required
@require_GET
def sar_json(request: HttpRequest, request_id: int) -> HttpResponse:
    sar = _released(request, request_id)
    _audit_sar_read(
        actor=request.user,
        sar=sar,
        action=AuditAction.EXPORT,
        summary="Subject access export downloaded as JSON",
    )
    body = json.dumps(sar.released_content, indent=2, ensure_ascii=False).encode()
    return _download(body, content_type="application/json", filename=f"subject-access-request-{sar.pk}.json")
