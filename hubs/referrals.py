"""The referrer's pages: find the family, answer one question at a time, check and send, then follow the
request in "My requests". Thin views: access check, form, service, redirect.

Who may use them (docs in the module's report; hubs.permissions decides what is visible):

- Starting a request: practitioners and hub coordinators (`Roles.can_create_families`); others get 404.
- A request's pages: its referrer only, whoever else may see the request (coordinators decide it on their
  own pages); anyone else gets 404.
- A family the referrer may not see (a hidden match, hubs.matching) is never named or numbered on these
  pages: it is "a family held by the North hub", and its family page stays 404 for them.

Every step saves the draft (hubs.services.request_save_draft); "Save and come back later" keeps what is
valid without requiring an answer, and "My requests" → "Continue" resumes at the first unanswered page.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ehcase import services as case_services
from ehcase.audit import audit_record, audit_view_family
from ehcase.forms import FamilyForm, MemberForm, PersonForm
from ehcase.models import AuditAction, Family, FamilyMember, Membership, User
from ehcase.permissions import can_change_family, families_visible_to, family_for_user, roles_for
from ehcase.services import DuplicateIdentifierError

from . import services
from .matching import (
    ExpiredMatchToken,
    InvalidMatchToken,
    MatchCriteriaError,
    family_from_match_token,
    family_matches,
    normalise_postcode,
)
from .models import (
    ConsentMethod,
    ReferralSource,
    RequestForSupport,
    RequestStatus,
    TriageDecision,
    TriageOutcome,
    Urgency,
)
from .permissions import request_for_user
from .referral_forms import (
    ChooseMatchForm,
    ConsentForm,
    FindFamilyForm,
    NeedsForm,
    SourceForm,
    TriedForm,
    source_for_agency_type,
)
from .services import RequestError

GET_POST = require_http_methods(["GET", "POST"])
GET_ONLY = require_http_methods(["GET"])
SEARCH_KEY = "referral_search"  # the family search in the session: never in a URL (it is personal data)
RETURN_TO_CHECK = "check"


# --- Access -----------------------------------------------------------------------------------------


def _require_referrer(request: HttpRequest) -> None:
    """Practitioners and hub coordinators may start requests for support; for anyone else the pages do
    not exist."""
    if not roles_for(request.user).can_create_families:
        raise Http404


def _own_request(request: HttpRequest, request_id: int | str) -> RequestForSupport:
    """The user's own request (a draft or sent). Someone else's request is a 404 here even when they may
    see it elsewhere: a coordinator reads the hub's copy on the hub's pages."""
    rfs = request_for_user(user=request.user, request_id=request_id)
    if rfs.referrer_id != request.user.pk:
        raise Http404
    return rfs


def _own_draft(request: HttpRequest, request_id: int | str) -> RequestForSupport:
    rfs = _own_request(request, request_id)
    if rfs.status != RequestStatus.DRAFT:
        raise _Sent(rfs)
    return rfs


class _Sent(Exception):
    """A question page was opened for a request that has been sent: show the request instead."""

    def __init__(self, rfs: RequestForSupport):
        self.rfs = rfs


def _draft_page(view):
    """Question pages: a sent request redirects to its page in "My requests" (a second click on "Send"
    or an old bookmark is not an error)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _Sent as sent:
            messages.success(request, "This request has been sent, so it can no longer be changed")
            return redirect("referrals:my-request", request_id=sent.rfs.pk)

    return wrapped


# --- What the referrer may see of the family and the decision --------------------------------------


def _visible_family_ids(user: User, requests: list[RequestForSupport]) -> set[int]:
    ids = {r.family_id for r in requests if r.family_id}
    if not ids:
        return set()
    return set(families_visible_to(user=user).filter(pk__in=ids).values_list("pk", flat=True))


def family_label(rfs: RequestForSupport, visible_ids: set[int]) -> str:
    """How a request's family is named to its referrer: by name only if they may see the family."""
    if rfs.family_id is None:
        return "Family not chosen yet"
    family = rfs.family
    if rfs.family_id in visible_ids:
        return f"{family.name} family"
    return f"Family held by {hub_label(rfs, visible=False)}"


def hub_label(rfs: RequestForSupport, *, visible: bool) -> str:
    """The hub's name, except for a hidden family whose address is withheld for safety: naming its hub
    would say roughly where the family lives (the rule hubs.matching follows)."""
    hub = rfs.hub if rfs.hub_id else (rfs.family.hub if rfs.family_id else None)
    if hub is None or (not visible and rfs.family.address_withheld):
        return "the locality hub"
    return f"the {hub.name}"


@dataclass(frozen=True)
class ReferrerDecision:
    """The part of a triage decision its referrer is told (pages and email): never the rationale, the
    social care reference or the episode."""

    outcome: str
    outcome_label: str
    decided_on: dt.date
    worker: str
    agency: str
    signposting: str
    changed: bool


def referrer_decisions(decisions: list[TriageDecision]) -> dict[int, ReferrerDecision]:
    """By decision id. One query for the agencies of allocated workers, whatever the number of decisions."""
    worker_ids = {d.allocated_to_id for d in decisions if d.allocated_to_id and not d.agency_id}
    agency_of: dict[int, str] = {}
    if worker_ids:
        for user_id, name in (
            Membership.objects.filter(user_id__in=worker_ids)
            .order_by("user_id", "id")
            .values_list("user_id", "agency__name")
        ):
            agency_of.setdefault(user_id, name)
    result = {}
    for d in decisions:
        agency = d.agency.name if d.agency_id else agency_of.get(d.allocated_to_id, "")
        result[d.pk] = ReferrerDecision(
            outcome=d.outcome,
            outcome_label=TriageOutcome(d.outcome).label,
            decided_on=d.decided_on,
            worker=d.allocated_to.display_name if d.allocated_to_id else "",
            agency=agency,
            signposting=d.signposting,
            changed=d.supersedes_id is not None,
        )
    return result


def current_decisions_prefetch() -> Prefetch:
    """The latest decision that no later decision supersedes, with who and which agency."""
    return Prefetch(
        "decisions",
        queryset=TriageDecision.objects.filter(superseded_by__isnull=True)
        .select_related("agency", "allocated_to")
        .order_by("-id"),
        to_attr="current_decisions",
    )


def due_on(rfs: RequestForSupport) -> dt.date | None:
    if rfs.received_on is None or rfs.hub_id is None:
        return None
    return services.triage_due_on(rfs.received_on, rfs.hub.triage_target_working_days)


# --- The family search ------------------------------------------------------------------------------


def _search_state(request: HttpRequest) -> dict:
    return request.session.get(SEARCH_KEY) or {}


def _draft_from_state(request: HttpRequest, state: dict) -> RequestForSupport | None:
    """The draft whose family is being changed ("Change" on the check page), if any."""
    request_id = state.get("request_id")
    return _own_draft(request, request_id) if request_id else None


def _criteria(state: dict) -> dict:
    dob = state.get("date_of_birth")
    return {
        "first_name": state.get("first_name", ""),
        "last_name": state.get("last_name", ""),
        "date_of_birth": dt.date.fromisoformat(dob) if dob else None,
        "postcode": state.get("postcode", ""),
    }


@login_required
@GET_POST
@_draft_page
def start(request: HttpRequest) -> HttpResponse:
    """Find the family first: a request is made against the family's record, not a new copy of it."""
    _require_referrer(request)
    draft = _own_draft(request, request.GET["request"]) if request.GET.get("request") else None
    state = _search_state(request)
    same_search = state.get("request_id") == (draft.pk if draft else None)
    form = FindFamilyForm(request.POST or None, initial=_criteria(state) if same_search and state else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        request.session[SEARCH_KEY] = {
            "first_name": data["first_name"].strip(),
            "last_name": data["last_name"].strip(),
            "date_of_birth": data["date_of_birth"].isoformat() if data["date_of_birth"] else None,
            "postcode": data["postcode"],
            "request_id": draft.pk if draft else None,
        }
        return redirect("referrals:matches")
    return render(
        request,
        "referrals/start.html",
        {
            "form": form,
            "draft": draft,
            "back": reverse("referrals:check", args=[draft.pk])
            if draft
            else reverse("referrals:my-requests"),
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "requests",
        },
    )


@login_required
@GET_POST
@_draft_page
def matches(request: HttpRequest) -> HttpResponse:
    """The possible matches. A match the user may not see shows only its hub and a signed token."""
    _require_referrer(request)
    state = _search_state(request)
    if not state:
        return redirect("referrals:start")
    draft = _draft_from_state(request, state)
    error = ""
    if request.method == "POST":
        form = ChooseMatchForm(request.POST)
        if form.is_valid():
            try:
                family_id = family_from_match_token(form.cleaned_data["token"], user=request.user)
            except ExpiredMatchToken:
                error = "These results are more than 8 hours old. Search again to choose the family"
            except InvalidMatchToken:
                error = "Choose one of the families below, or add a new family"
            else:
                family = Family.objects.filter(pk=family_id).first()
                if family is None:
                    error = "That family's record is no longer available. Search again"
                else:
                    return _family_chosen(request, draft=draft, family=family)
        else:
            error = "Choose one of the families below, or add a new family"
    try:
        results = family_matches(user=request.user, **_criteria(state))
    except MatchCriteriaError:
        return redirect("referrals:start")
    for match in results:
        if match.visible:
            audit_view_family(
                actor=request.user,
                family_id=match.details.family_id,
                what="Shown as a possible match before a request for support",
            )
    return render(
        request,
        "referrals/matches.html",
        {
            "visible": [m for m in results if m.visible],
            "hidden": [m for m in results if not m.visible],
            "draft": draft,
            "errors": [("matches", error)] if error else [],
            "form_has_errors": bool(error),
            "back": reverse("referrals:start") + (f"?request={draft.pk}" if draft else ""),
            "nav": "requests",
        },
    )


def _family_chosen(request: HttpRequest, *, draft: RequestForSupport | None, family: Family) -> HttpResponse:
    visible = families_visible_to(user=request.user).filter(pk=family.pk).exists()
    with transaction.atomic():
        draft = services.request_save_draft(actor=request.user, family=family, data={}, request=draft)
        if not visible:
            # The family's own history shows that a request was started against it by someone who
            # cannot see it (information governance: who learnt that a record exists).
            audit_record(
                actor=request.user,
                action=AuditAction.UPDATE,
                obj=draft,
                family_id=family.pk,
                summary="Request for support started against a possible match the referrer cannot see",
            )
    _forget_search(request, keep_for=None)
    if _draft_has_answers(draft):
        return redirect("referrals:check", request_id=draft.pk)
    return redirect("referrals:needs", request_id=draft.pk)


def _forget_search(request: HttpRequest, keep_for: int | None) -> None:
    if keep_for is None:
        request.session.pop(SEARCH_KEY, None)
    else:
        state = dict(_search_state(request))
        state["request_id"] = keep_for
        request.session[SEARCH_KEY] = state


@login_required
@GET_POST
@_draft_page
def family_new(request: HttpRequest) -> HttpResponse:
    """None of the matches: add the family (ehcase.services.family_create), then the people in it."""
    _require_referrer(request)
    state = _search_state(request)
    draft = _draft_from_state(request, state)
    initial = {"name": state.get("last_name", "")}
    try:
        if normalise_postcode(state.get("postcode", "")).exact:
            initial["postcode"] = state["postcode"]
    except MatchCriteriaError:
        pass
    form = FamilyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            family = case_services.family_create(actor=request.user, data=form.cleaned_data)
            draft = services.request_save_draft(actor=request.user, family=family, data={}, request=draft)
        # The search is kept (without the draft) to fill in the first person's details.
        _forget_search(request, keep_for=draft.pk)
        if not can_change_family(user=request.user, family=family):
            # A coordinator adding a family outside their hubs: the family's hub adds its people.
            messages.success(request, f"{family.name} family added to {family.hub.name}")
            return redirect("referrals:needs", request_id=draft.pk)
        messages.success(request, f"{family.name} family added. Now add the people in the household.")
        return redirect("referrals:people", request_id=draft.pk)
    return render(
        request,
        "referrals/family_new.html",
        {
            "form": form,
            "back": reverse("referrals:matches") if state else reverse("referrals:start"),
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "requests",
        },
    )


@login_required
@GET_POST
@_draft_page
def people(request: HttpRequest, request_id: int) -> HttpResponse:
    """Add the people in a family the referrer has just added (or one they may change)."""
    draft = _own_draft(request, request_id)
    if draft.family_id is None:
        return redirect(reverse("referrals:start") + f"?request={draft.pk}")
    family = family_for_user(user=request.user, family_id=draft.family_id)
    if not can_change_family(user=request.user, family=family):
        raise Http404
    members = list(
        FamilyMember.objects.filter(family=family, end_date__isnull=True)
        .select_related("person")
        .order_by("role", "person__date_of_birth", "id")
    )
    continuing = request.method == "POST" and "continue" in request.POST
    state = _search_state(request)
    person_initial = {}
    if not members and state.get("request_id") == draft.pk:
        criteria = _criteria(state)
        person_initial = {k: criteria[k] for k in ("first_name", "last_name", "date_of_birth")}
    bound = request.POST if request.method == "POST" and not continuing else None
    person_form = PersonForm(bound, prefix="person", initial=person_initial)
    member_form = MemberForm(
        bound, prefix="member", initial={"start_date": timezone.localdate()} if bound is None else None
    )
    continue_error = ""
    if continuing:
        if members:
            return redirect(_next_url(request, draft, "referrals:needs"))
        continue_error = "Add at least one person in the household"
    elif bound is not None and person_form.is_valid() & member_form.is_valid():
        try:
            member = case_services.person_add_to_family(
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
            return redirect("referrals:people", request_id=draft.pk)
    return render(
        request,
        "referrals/people.html",
        {
            "draft": draft,
            "family": family,
            "members": members,
            "person_form": person_form,
            "member_form": member_form,
            "continue_errors": [("continue", continue_error)] if continue_error else [],
            "form_has_errors": bool(continue_error or person_form.errors or member_form.errors),
            "back": reverse("referrals:my-requests"),
            "nav": "requests",
        },
    )


# --- The questions ----------------------------------------------------------------------------------

# Page order; "Continue" goes to the next one (or back to the check page when changing an answer).
PAGES = ["referrals:needs", "referrals:source", "referrals:tried", "referrals:consent", "referrals:check"]


def _next_url(request: HttpRequest, draft: RequestForSupport, default: str) -> str:
    if request.GET.get("return") == RETURN_TO_CHECK:
        return reverse("referrals:check", args=[draft.pk])
    return reverse(default, args=[draft.pk])


def _back_url(request: HttpRequest, draft: RequestForSupport, page: str) -> str:
    if request.GET.get("return") == RETURN_TO_CHECK:
        return reverse("referrals:check", args=[draft.pk])
    index = PAGES.index(page)
    if index == 0:
        return reverse("referrals:my-requests")
    return reverse(PAGES[index - 1], args=[draft.pk])


def _draft_has_answers(draft: RequestForSupport) -> bool:
    return bool(draft.reasons or draft.source or draft.urgency or draft.tried_already) or (
        draft.consent_given is not None
    )


def resume_url(draft: RequestForSupport) -> str:
    """Where "Continue" takes the referrer: the first page with something still to answer."""
    if draft.family_id is None:
        return reverse("referrals:start") + f"?request={draft.pk}"
    needs_given = getattr(draft, "has_needs", None)
    if needs_given is None:
        needs_given = draft.needs.exists()
    if not (needs_given and draft.reasons.strip()):
        page = "referrals:needs"
    elif not (draft.source and draft.urgency):
        page = "referrals:source"
    elif not draft.tried_already.strip():
        page = "referrals:tried"
    elif draft.consent_given is None:
        page = "referrals:consent"
    else:
        page = "referrals:check"
    return reverse(page, args=[draft.pk])


def _question(
    request: HttpRequest,
    draft: RequestForSupport,
    *,
    page: str,
    form,
    data,
    title: str,
    template: str = "referrals/question.html",
    **extra,
) -> HttpResponse:
    """Save a valid answer to the draft and move on; otherwise show the page again with what was typed.

    `data(form)` gives (draft fields, needs or None) for request_save_draft."""
    if request.method == "POST" and form.is_valid():
        fields, need_list = data(form)
        try:
            services.request_save_draft(
                actor=request.user, family=None, data=fields, request=draft, needs=need_list
            )
        except RequestError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if form.partial:
                messages.success(request, "Your draft has been saved. You can continue it from here.")
                return redirect("referrals:my-requests")
            return redirect(_next_url(request, draft, PAGES[PAGES.index(page) + 1]))
    visible_ids = _visible_family_ids(request.user, [draft])
    return render(
        request,
        template,
        {
            "draft": draft,
            "form": form,
            "title": title,
            "family_label": family_label(draft, visible_ids),
            "back": _back_url(request, draft, page),
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "requests",
            **extra,
        },
    )


def _bind(request: HttpRequest, form_class, **kwargs):
    if request.method == "POST":
        return form_class(request.POST, partial="save_later" in request.POST, **kwargs)
    return form_class(**kwargs)


@login_required
@GET_POST
@_draft_page
def needs(request: HttpRequest, request_id: int) -> HttpResponse:
    draft = _own_draft(request, request_id)
    initial = {"needs": list(draft.needs.values_list("pk", flat=True)), "reasons": draft.reasons}
    form = _bind(request, NeedsForm, initial=initial)
    return _question(
        request,
        draft,
        page="referrals:needs",
        form=form,
        data=lambda f: (
            {"reasons": f.cleaned_data.get("reasons") or ""},
            list(f.cleaned_data.get("needs") or []),
        ),
        title="Why the family needs support",
    )


@login_required
@GET_POST
@_draft_page
def source(request: HttpRequest, request_id: int) -> HttpResponse:
    draft = _own_draft(request, request_id)
    guessed = draft.source or source_for_agency_type(
        draft.referrer_agency.type if draft.referrer_agency_id else None
    )
    form = _bind(request, SourceForm, initial={"source": guessed, "urgency": draft.urgency})
    return _question(
        request,
        draft,
        page="referrals:source",
        form=form,
        data=lambda f: (
            {"source": f.cleaned_data.get("source") or "", "urgency": f.cleaned_data.get("urgency") or ""},
            None,
        ),
        title="Where the request comes from and how urgent it is",
    )


@login_required
@GET_POST
@_draft_page
def tried(request: HttpRequest, request_id: int) -> HttpResponse:
    draft = _own_draft(request, request_id)
    form = _bind(request, TriedForm, initial={"tried_already": draft.tried_already})
    return _question(
        request,
        draft,
        page="referrals:tried",
        form=form,
        data=lambda f: ({"tried_already": f.cleaned_data.get("tried_already") or ""}, None),
        title="What has been tried already?",
        template="referrals/tried.html",
    )


@login_required
@GET_POST
@_draft_page
def consent(request: HttpRequest, request_id: int) -> HttpResponse:
    draft = _own_draft(request, request_id)
    form = _bind(request, ConsentForm, initial=ConsentForm.initial_for(draft))
    return _question(
        request,
        draft,
        page="referrals:consent",
        form=form,
        data=lambda f: (f.draft_data(), None),
        title="Has the family agreed to this request?",
        template="referrals/consent.html",
        answer=form["consent_given"].value(),
    )


# --- Check and send ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    value: str | list[str]
    field: str  # the service's field name: where a RequestError is shown
    change_url: str
    change_text: str

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)


def _answer_rows(draft: RequestForSupport, visible_ids: set[int]) -> list[tuple[str, list[Row]]]:
    def url(page: str) -> str:
        return reverse(page, args=[draft.pk]) + f"?return={RETURN_TO_CHECK}"

    blank = "Not answered yet"
    family_rows = [
        Row(
            "Family",
            family_label(draft, visible_ids) if draft.family_id else blank,
            "family",
            reverse("referrals:start") + f"?request={draft.pk}",
            "the family",
        ),
    ]
    needs = [n.name for n in draft.needs.all()]
    request_rows = [
        Row("Areas of need", needs or blank, "needs", url("referrals:needs"), "the areas of need"),
        Row(
            "Why the family needs support",
            draft.reasons or blank,
            "reasons",
            url("referrals:needs"),
            "why the family needs support",
        ),
        Row(
            "Where the request comes from",
            ReferralSource(draft.source).label if draft.source else blank,
            "source",
            url("referrals:source"),
            "where the request comes from",
        ),
        Row(
            "How urgent",
            Urgency(draft.urgency).label if draft.urgency else blank,
            "urgency",
            url("referrals:source"),
            "how urgent it is",
        ),
        Row(
            "What has been tried already",
            draft.tried_already or blank,
            "tried_already",
            url("referrals:tried"),
            "what has been tried already",
        ),
    ]
    consent_url = url("referrals:consent")
    agreed = {True: "Yes", False: "No"}.get(draft.consent_given, blank)
    consent_rows = [
        Row("Has the family agreed?", agreed, "consent_given", consent_url, "whether they agreed")
    ]
    if draft.consent_given:
        consent_rows += [
            Row("Who agreed", draft.consent_by or blank, "consent_by", consent_url, "who agreed"),
            Row(
                "Date they agreed",
                f"{draft.consent_on:%-d %B %Y}" if draft.consent_on else blank,
                "consent_on",
                consent_url,
                "the date they agreed",
            ),
            Row(
                "How they agreed",
                ConsentMethod(draft.consent_method).label if draft.consent_method else blank,
                "consent_method",
                consent_url,
                "how they agreed",
            ),
        ]
    elif draft.consent_given is False:
        consent_rows.append(
            Row(
                "Why consent was not sought",
                draft.no_consent_reason or blank,
                "no_consent_reason",
                consent_url,
                "why consent was not sought",
            )
        )
    return [("The family", family_rows), ("The request", request_rows), ("Consent", consent_rows)]


@login_required
@GET_POST
@_draft_page
def check(request: HttpRequest, request_id: int) -> HttpResponse:
    """Check your answers, then send: request_submit decides whether the request is complete."""
    draft = _own_draft(request, request_id)
    problem: tuple[str, str] | None = None
    if request.method == "POST":
        try:
            services.request_submit(actor=request.user, request=draft)
        except RequestError as error:
            problem = (error.field or "", error.message)
        else:
            return redirect("referrals:sent", request_id=draft.pk)
    visible_ids = _visible_family_ids(request.user, [draft])
    sections = _answer_rows(draft, visible_ids)
    anchors = {row.field for _, rows in sections for row in rows}
    summary = []
    if problem:
        summary = [(f"row-{problem[0]}" if problem[0] in anchors else "", problem[1])]
    return render(
        request,
        "referrals/check.html",
        {
            "draft": draft,
            "sections": sections,
            "problem": problem,
            "errors": summary,
            "family_label": family_label(draft, visible_ids),
            "hub": hub_label(draft, visible=draft.family_id in visible_ids) if draft.family_id else "",
            "form_has_errors": problem is not None,
            "back": reverse("referrals:consent", args=[draft.pk]),
            "nav": "requests",
        },
    )


@login_required
@GET_ONLY
def sent(request: HttpRequest, request_id: int) -> HttpResponse:
    """Confirmation: the request's number and what happens next (the hub's target in working days)."""
    rfs = _own_request(request, request_id)
    if rfs.status == RequestStatus.DRAFT:
        return redirect("referrals:check", request_id=rfs.pk)
    visible_ids = _visible_family_ids(request.user, [rfs])
    return render(
        request,
        "referrals/sent.html",
        {
            "rfs": rfs,
            "hub": hub_label(rfs, visible=rfs.family_id in visible_ids),
            "due_on": due_on(rfs),
            "nav": "requests",
        },
    )


# --- My requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    rfs: RequestForSupport
    family: str
    decision: ReferrerDecision | None
    continue_url: str = ""


@login_required
@GET_ONLY
def my_requests(request: HttpRequest) -> HttpResponse:
    """The referrer's drafts and sent requests with the hub's decision: only that part of the record."""
    _require_referrer(request)
    own = RequestForSupport.objects.filter(referrer=request.user).select_related("family__hub", "hub")
    drafts = list(
        own.filter(status=RequestStatus.DRAFT)
        .prefetch_related(Prefetch("needs", to_attr="need_list"))
        .order_by("-updated_at", "-id")[:50]
    )
    for draft in drafts:
        draft.has_needs = bool(draft.need_list)
    page = Paginator(
        own.exclude(status=RequestStatus.DRAFT)
        .prefetch_related(current_decisions_prefetch())
        .order_by("-received_on", "-id"),
        25,
    ).get_page(request.GET.get("page"))
    sent_requests = list(page.object_list)
    visible_ids = _visible_family_ids(request.user, drafts + sent_requests)
    decisions = referrer_decisions([d for r in sent_requests for d in r.current_decisions[:1]])
    return render(
        request,
        "referrals/my_requests.html",
        {
            "drafts": [Entry(d, family_label(d, visible_ids), None, resume_url(d)) for d in drafts],
            "sent": [
                Entry(
                    r,
                    family_label(r, visible_ids),
                    decisions[r.current_decisions[0].pk] if r.current_decisions else None,
                )
                for r in sent_requests
            ],
            "page": page,
            "can_start": True,
            "nav": "requests",
        },
    )


@login_required
@GET_ONLY
def my_request(request: HttpRequest, request_id: int) -> HttpResponse:
    """One of the referrer's requests and the hub's current decision. 404 for anyone else."""
    rfs = _own_request(request, request_id)
    decision = (
        TriageDecision.objects.filter(request=rfs, superseded_by__isnull=True)
        .select_related("agency", "allocated_to")
        .order_by("-id")
        .first()
    )
    visible_ids = _visible_family_ids(request.user, [rfs])
    if rfs.status != RequestStatus.DRAFT and rfs.family_id:
        audit_record(
            actor=request.user,
            action=AuditAction.VIEW,
            obj=rfs,
            family_id=rfs.family_id,
            summary="Request for support viewed by its referrer",
        )
    return render(
        request,
        "referrals/my_request.html",
        {
            "rfs": rfs,
            "family_label": family_label(rfs, visible_ids),
            "hub": hub_label(rfs, visible=rfs.family_id in visible_ids) if rfs.family_id else "",
            "needs": [n.name for n in rfs.needs.all()],
            "decision": referrer_decisions([decision])[decision.pk] if decision else None,
            "due_on": due_on(rfs),
            "continue_url": resume_url(rfs) if rfs.status == RequestStatus.DRAFT else "",
            "nav": "requests",
        },
    )
