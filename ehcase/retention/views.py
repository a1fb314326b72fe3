"""Retention pages: thin views (access check, form, service, redirect). Early help managers decide;
quality auditors read; everyone else gets 404 (ehcase.retention.permissions)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ehcase.audit import audit_view_family
from ehcase.permissions import families_visible_to, family_for_user

from . import selectors, services
from .forms import ApproveForm, DeferForm, FamilyReferenceForm, HoldLiftForm, HoldPlaceForm
from .models import RecordClass, ReviewStatus
from .permissions import can_decide_retention, require_decide_retention, require_read_retention

GET_POST = require_http_methods(["GET", "POST"])
NAV = "retention"


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


def _fail(form: forms.Form, error: services.RetentionError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _form_page(request: HttpRequest, template: str, *, form: forms.Form, **context) -> HttpResponse:
    return render(
        request,
        template,
        {
            "form": form,
            "fields": [form[name] for name in form.fields if name != "version"],
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": NAV,
            "back": reverse("retention:review-list"),
            **context,
        },
    )


def _open_review(request: HttpRequest, review_id: int):
    review = selectors.review_get(review_id=review_id)
    if review is None:
        raise Http404
    return review


@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    require_read_retention(user=request.user)
    page = _page_number(request)
    reviews = selectors.reviews_open(page=page)
    return render(
        request,
        "retention/review_list.html",
        {
            "reviews": reviews[: selectors.PAGE_SIZE],
            "page": page,
            "has_next": len(reviews) > selectors.PAGE_SIZE,
            "can_decide": can_decide_retention(user=request.user),
            "nav": NAV,
        },
    )


@login_required
@GET_POST
def review_approve(request: HttpRequest, review_id: int) -> HttpResponse:
    require_decide_retention(user=request.user)
    review = _open_review(request, review_id)
    if request.method == "GET" and review.status not in (ReviewStatus.AWAITING, ReviewStatus.DEFERRED):
        raise Http404
    family = contents = None
    if review.record_class == RecordClass.FAMILY and review.is_open:
        family = family_for_user(user=request.user, family_id=review.object_id)
        contents = selectors.family_contents(family_id=family.pk)
        if request.method == "GET":
            audit_view_family(actor=request.user, family_id=family.pk, what="Destruction review")
    form = ApproveForm(request.POST or None, initial={"version": review.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.review_approve(actor=request.user, review=review, version=form.cleaned_data["version"])
        except services.RetentionError as error:
            _fail(form, error)
        else:
            messages.success(request, f"Destruction approved: {review.what}. It will be carried out shortly.")
            return redirect("retention:review-list")
    return _form_page(
        request,
        "retention/approve.html",
        form=form,
        review=review,
        family=family,
        contents=contents,
        title="Approve destruction",
        submit="Approve destruction",
    )


@login_required
@GET_POST
def review_defer(request: HttpRequest, review_id: int) -> HttpResponse:
    require_decide_retention(user=request.user)
    review = _open_review(request, review_id)
    if request.method == "GET" and not review.is_open:
        raise Http404
    form = DeferForm(request.POST or None, initial={"version": review.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.review_defer(
                actor=request.user,
                review=review,
                version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                until=form.cleaned_data["until"],
            )
        except services.RetentionError as error:
            _fail(form, error)
        else:
            messages.success(request, f"Destruction deferred: {review.what}")
            return redirect("retention:review-list")
    return _form_page(
        request,
        "retention/form.html",
        form=form,
        review=review,
        caption=review.what,
        title="Defer destruction",
        submit="Defer",
        intro="The record comes back to the list on the date you give.",
    )


@login_required
@require_GET
def hold_list(request: HttpRequest) -> HttpResponse:
    require_read_retention(user=request.user)
    # The reference is not personal data, so this small form may use GET (it changes nothing).
    form = FamilyReferenceForm(request.GET if "reference" in request.GET else None)
    if form.is_bound and can_decide_retention(user=request.user) and form.is_valid():
        reference = form.cleaned_data["reference"].strip().upper()
        family = families_visible_to(user=request.user).filter(reference=reference).first()
        if family is not None:
            return redirect("retention:hold-place", family_id=family.pk)
        form.add_error("reference", "No family record has that reference")
    return render(
        request,
        "retention/hold_list.html",
        {
            "form": form,
            "form_has_errors": form.is_bound and bool(form.errors),
            "holds": list(selectors.holds_active()),
            "can_decide": can_decide_retention(user=request.user),
            "nav": NAV,
        },
    )


@login_required
@GET_POST
def hold_place(request: HttpRequest, family_id: int) -> HttpResponse:
    require_decide_retention(user=request.user)
    family = family_for_user(user=request.user, family_id=family_id)
    form = HoldPlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.legal_hold_place(actor=request.user, family=family, reason=form.cleaned_data["reason"])
        except services.RetentionError as error:
            _fail(form, error)
        else:
            messages.success(request, f"Legal hold placed on family record {family.reference}")
            return redirect("retention:hold-list")
    return _form_page(
        request,
        "retention/form.html",
        form=form,
        caption=f"{family.name} family ({family.reference})",
        title="Place a legal hold",
        submit="Place legal hold",
        intro="Nothing of the family's record is destroyed while the hold is in place, whatever the "
        "retention rules say.",
    )


@login_required
@GET_POST
def hold_lift(request: HttpRequest, hold_id: int) -> HttpResponse:
    require_decide_retention(user=request.user)
    hold = selectors.hold_get(hold_id=hold_id)
    if hold is None or (request.method == "GET" and not hold.is_active):
        raise Http404
    form = HoldLiftForm(request.POST or None, initial={"version": hold.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.legal_hold_lift(
                actor=request.user,
                hold=hold,
                version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            )
        except services.RetentionError as error:
            _fail(form, error)
        else:
            messages.success(request, f"Legal hold lifted on family record {hold.family.reference}")
            return redirect("retention:hold-list")
    return _form_page(
        request,
        "retention/form.html",
        form=form,
        hold=hold,
        caption=f"{hold.family.name} family ({hold.family.reference})",
        title="Lift the legal hold",
        submit="Lift legal hold",
        intro="Once lifted, the record is listed for destruction again at the next check if it is due.",
        back=reverse("retention:hold-list"),
    )


@login_required
@require_GET
def log_list(request: HttpRequest) -> HttpResponse:
    require_read_retention(user=request.user)
    page = _page_number(request)
    logs = selectors.destruction_logs(page=page)
    return render(
        request,
        "retention/log_list.html",
        {
            "logs": logs[: selectors.PAGE_SIZE],
            "page": page,
            "has_next": len(logs) > selectors.PAGE_SIZE,
            "nav": NAV,
        },
    )
