"""Pages for families and people. Thin: access check, form, service, redirect."""

from __future__ import annotations

import copy
import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .audit import audit_view_family
from .forms import (
    FamilyEditForm,
    FamilyForm,
    FamilySearchForm,
    MemberEndForm,
    MemberForm,
    PersonEditForm,
    PersonForm,
    RelationshipForm,
)
from .models import FamilyMember, Person
from .permissions import can_change_family, family_for_user, require_change_family, roles_for
from .security import search_recall, search_remember
from .services import FAMILY_FIELDS, PERSON_FIELDS, ConcurrentEditError, DuplicateIdentifierError

CONFLICT_MESSAGE = (
    "Someone else changed this record after you opened it, so your changes have not been saved. "
    "Check the latest details below; your changes are still in the form. Save again to keep them."
)


def _require_case_worker(request: HttpRequest) -> None:
    if not roles_for(request.user).works_with_families:
        raise Http404


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = roles_for(request.user)
    if roles.works_with_families:
        return redirect("ehcase:family-list")
    if roles.is_system_administrator:
        return redirect("admin:index")
    return render(request, "ehcase/home.html", {})


SEARCH_FIELDS = ("q", "date_of_birth_day", "date_of_birth_month", "date_of_birth_year")


FAMILY_LIST_COLUMNS = ("reference", "name", "postcode", "address_withheld", "area__name", "hub__name")


@login_required
@require_http_methods(["GET", "POST"])
def family_list(request: HttpRequest) -> HttpResponse:
    """The families the user may see, and the search. The search form POSTs; what was typed is kept
    in the session under a token and the results are at `?search=<token>` (ehcase.security), so that
    no name, date of birth or postcode is ever in the address."""
    _require_case_worker(request)
    token = None
    if request.method == "POST":
        typed = {name: request.POST.get(name, "") for name in SEARCH_FIELDS}
        form = FamilySearchForm(typed)
        if form.is_valid():
            if not any(value.strip() for value in typed.values()):
                return redirect("ehcase:family-list")
            token = search_remember(request, kind="families", data=typed)
            return redirect(reverse("ehcase:family-list") + f"?search={token}")
    else:
        typed = search_recall(request, kind="families", token=request.GET.get("search"))
        form = FamilySearchForm(typed)
        token = request.GET.get("search") if typed is not None else None
    text, dob = "", None
    valid = form.is_bound and form.is_valid()
    if valid:
        text = form.cleaned_data["q"] or ""
        dob = form.cleaned_data["date_of_birth"]
    families = selectors.family_search(user=request.user, text=text, date_of_birth=dob if valid else None)
    if form.is_bound and not valid:
        families = families.none()
    # What the table shows, no more: building 150 model instances with every column of the family, its
    # area and its hub was a fifth of the page's time.
    families = families.only(*FAMILY_LIST_COLUMNS)
    page = Paginator(families, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "ehcase/family_list.html",
        {
            "form": form,
            "page": page,
            "nav": "families",
            "searched": bool(text or dob),
            "query_string": urlencode({"search": token}) if token else "",
            "can_create": roles_for(request.user).can_create_families,
            "form_has_errors": form.is_bound and not valid,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def family_create(request: HttpRequest) -> HttpResponse:
    if not roles_for(request.user).can_create_families:
        raise Http404
    form = FamilyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        family = services.family_create(actor=request.user, data=form.cleaned_data)
        messages.success(request, f"Family {family.name} created. Now add the people in the household.")
        return redirect("ehcase:member-add", family_id=family.pk)
    return render(
        request,
        "ehcase/family_form.html",
        {
            "form": form,
            "nav": "families",
            "title": "Add a family",
            "form_has_errors": bool(form.errors),
        },
    )


@login_required
def family_detail(request: HttpRequest, family_id: int) -> HttpResponse:
    record = selectors.family_record(user=request.user, family_id=family_id)
    audit_view_family(actor=request.user, family_id=record.family.pk)
    return render(
        request, "ehcase/family_detail.html", {"record": record, "family": record.family, "nav": "families"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def family_edit(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    require_change_family(user=request.user, family=family)
    initial = {"version": family.version}
    form = FamilyEditForm(request.POST or None, instance=family, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.family_update(
                actor=request.user,
                family=family,
                data=form.cleaned_data,
                expected_version=form.cleaned_data["version"],
            )
        except ConcurrentEditError:
            conflict = family_for_user(user=request.user, family_id=family_id)
            form = _keep_typed(FamilyEditForm, request, instance=conflict, version=conflict.version)
            form.add_error(None, CONFLICT_MESSAGE)
        else:
            messages.success(request, "Family details saved")
            return redirect("ehcase:family-detail", family_id=family.pk)
    return render(
        request,
        "ehcase/family_form.html",
        {
            "form": form,
            "family": family,
            "nav": "families",
            "title": "Change family details",
            "conflict": conflict,
            "conflict_fields": FAMILY_FIELDS,
            "form_has_errors": bool(form.errors),
        },
    )


def _keep_typed(form_class, request: HttpRequest, *, instance, version: int):
    """Re-bind what the user typed, pointing at the latest version so that a deliberate re-save wins."""
    data = request.POST.copy()
    data["version"] = str(version)
    # A copy: validating a model form writes the typed values onto its instance, and the
    # original must keep showing the latest saved details.
    form = form_class(data, instance=copy.copy(instance))
    form.is_valid()
    return form


@login_required
def family_history(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    audit_view_family(actor=request.user, family_id=family.pk, what="Record history")
    page = Paginator(selectors.family_audit(user=request.user, family=family), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "ehcase/family_history.html", {"family": family, "page": page, "nav": "families"})


@login_required
@require_http_methods(["GET", "POST"])
def member_add(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    require_change_family(user=request.user, family=family)
    person_form = PersonForm(request.POST or None, prefix="person")
    member_form = MemberForm(
        request.POST or None,
        prefix="member",
        initial={"start_date": dt.date.today()} if request.method == "GET" else None,
    )
    if request.method == "POST":
        person_ok = person_form.is_valid()
        member_ok = member_form.is_valid()
        if person_ok and member_ok:
            try:
                member = services.person_add_to_family(
                    actor=request.user,
                    family=family,
                    person_data=person_form.cleaned_data,
                    role=member_form.cleaned_data["role"],
                    start_date=member_form.cleaned_data["start_date"],
                )
            except DuplicateIdentifierError as exc:
                person_form.add_error(exc.field, exc.message)
            else:
                messages.success(request, f"{member.person.full_name} added to the family")
                return redirect("ehcase:family-detail", family_id=family.pk)
    return render(
        request,
        "ehcase/member_form.html",
        {
            "family": family,
            "person_form": person_form,
            "member_form": member_form,
            "nav": "families",
            "form_has_errors": bool(person_form.errors or member_form.errors),
        },
    )


def _member_for(request: HttpRequest, family_id: int, person_id: int) -> tuple:
    family = family_for_user(user=request.user, family_id=family_id)
    member = (
        FamilyMember.objects.filter(family=family, person_id=person_id)
        .select_related("person")
        .order_by("end_date")
        .first()
    )
    if member is None:
        raise Http404
    return family, member


@login_required
def person_detail(request: HttpRequest, family_id: int, person_id: int) -> HttpResponse:
    family, member = _member_for(request, family_id, person_id)
    audit_view_family(actor=request.user, family_id=family.pk, what=f"Person record {member.person_id}")
    return render(
        request,
        "ehcase/person_detail.html",
        {
            "family": family,
            "member": member,
            "person": member.person,
            "nav": "families",
            "can_change": can_change_family(user=request.user, family=family),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, family_id: int, person_id: int) -> HttpResponse:
    family, member = _member_for(request, family_id, person_id)
    require_change_family(user=request.user, family=family)
    person: Person = member.person
    form = PersonEditForm(request.POST or None, instance=person, initial={"version": person.version})
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(
                actor=request.user,
                person=person,
                data=form.cleaned_data,
                expected_version=form.cleaned_data["version"],
                family_id=family.pk,
            )
        except DuplicateIdentifierError as exc:
            form.add_error(exc.field, exc.message)
        except ConcurrentEditError:
            conflict = Person.objects.get(pk=person.pk)
            form = _keep_typed(PersonEditForm, request, instance=conflict, version=conflict.version)
            form.add_error(None, CONFLICT_MESSAGE)
        else:
            messages.success(request, f"{person.full_name}'s details saved")
            return redirect("ehcase:person-detail", family_id=family.pk, person_id=person.pk)
    return render(
        request,
        "ehcase/person_form.html",
        {
            "family": family,
            "person": person,
            "form": form,
            "nav": "families",
            "conflict": conflict,
            "conflict_fields": PERSON_FIELDS,
            "form_has_errors": bool(form.errors),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_end(request: HttpRequest, family_id: int, person_id: int) -> HttpResponse:
    family, member = _member_for(request, family_id, person_id)
    require_change_family(user=request.user, family=family)
    if not member.is_current:
        raise Http404
    form = MemberEndForm(request.POST or None, start_date=member.start_date)
    if request.method == "POST" and form.is_valid():
        services.member_end(actor=request.user, member=member, end_date=form.cleaned_data["end_date"])
        messages.success(request, f"{member.person.full_name} recorded as having left the household")
        return redirect("ehcase:family-detail", family_id=family.pk)
    return render(
        request,
        "ehcase/member_end.html",
        {
            "family": family,
            "member": member,
            "form": form,
            "nav": "families",
            "form_has_errors": bool(form.errors),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def relationship_add(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    require_change_family(user=request.user, family=family)
    people = Person.objects.filter(memberships__family=family).distinct().order_by("first_name", "last_name")
    form = RelationshipForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        services.relationship_add(actor=request.user, family=family, **form.cleaned_data)
        messages.success(request, "Relationship recorded")
        return redirect(reverse("ehcase:family-detail", kwargs={"family_id": family.pk}) + "#relationships")
    return render(
        request,
        "ehcase/relationship_form.html",
        {
            "family": family,
            "form": form,
            "nav": "families",
            "form_has_errors": bool(form.errors),
        },
    )
