"""The hub's pages: the triage queue, a request as the hub sees it, decisions and hub meetings.

Thin views: access check, form, service, redirect. Who may do what (docs/access.md):
- coordinators of the hub read and act on its queue, requests and meetings;
- early help managers and quality auditors (partnership-wide) read them: acting is a 403;
- everyone else, the referrer included, gets 404 here (the referrer has their own page for their
  request and its outcome).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from ehcase.audit import audit_view_family
from ehcase.permissions import families_visible_to, roles_for
from pathway.views import _fail, _page

from . import forms, services
from .models import (
    Hub,
    HubAgendaItem,
    HubMeeting,
    HubMeetingStatus,
    RequestForSupport,
    RequestStatus,
    TriageDecision,
    TriageOutcome,
)
from .permissions import hub_for_coordinator, hub_for_reader, meeting_for_hub, request_for_hub
from .services import RequestChangedError, RequestError, triage_due_on, working_days_between

GET_POST = require_http_methods(["GET", "POST"])
PAGE_SIZE = 50
TABS = [
    (RequestStatus.NEW, "New"),
    (RequestStatus.AWAITING_DECISION, "Awaiting decision"),
    (RequestStatus.DECIDED, "Decided"),
]


# --- The clock --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """Working days against the hub's target: while undecided, up to today; once decided, up to the
    decision."""

    elapsed: int
    target: int
    due_on: dt.date
    decided: bool

    @property
    def overdue(self) -> bool:
        return self.elapsed > self.target

    @property
    def due_today(self) -> bool:
        return not self.decided and self.elapsed == self.target

    @property
    def text(self) -> str:
        if self.decided:
            unit = "working day" if self.elapsed == 1 else "working days"
            return f"Decided in {self.elapsed} {unit} (target {self.target})"
        return f"{self.elapsed} of {self.target} working days"


def clock_for(request: RequestForSupport, *, target: int, today: dt.date, decided_on=None) -> Clock:
    end = decided_on if decided_on is not None else today
    return Clock(
        elapsed=working_days_between(request.received_on, end),
        target=target,
        due_on=triage_due_on(request.received_on, target),
        decided=decided_on is not None,
    )


def received_by(*, working_days: int, today: dt.date) -> dt.date:
    """The latest received date for a request to have waited more than `working_days` working days
    by today (working_days_between(received, today) > working_days)."""
    day, counted = today, 0
    while True:
        if day.weekday() < 5:
            counted += 1
            if counted == working_days + 1:
                return day - dt.timedelta(days=1)
        day -= dt.timedelta(days=1)


# --- The hubs and their queues ----------------------------------------------------------------------


@login_required
@require_safe
def hub_list(request: HttpRequest) -> HttpResponse:
    """The hubs the user coordinates (straight to the queue when there is one), or every hub for
    partnership-wide roles."""
    roles = roles_for(request.user)
    if roles.partnership_wide:
        hubs = Hub.objects.all()
    elif roles.coordinated_hub_ids:
        if len(roles.coordinated_hub_ids) == 1:
            return redirect("hubs:queue", hub_id=roles.coordinated_hub_ids[0])
        hubs = Hub.objects.filter(pk__in=roles.coordinated_hub_ids)
    else:
        raise Http404
    undecided = [RequestStatus.NEW, RequestStatus.AWAITING_DECISION]
    hubs = hubs.annotate(undecided=Count("requests", filter=Q(requests__status__in=undecided))).order_by(
        "name"
    )
    return render(request, "hubs/hub_list.html", {"hubs": hubs, "nav": "hubs"})


def _current_decision():
    return TriageDecision.objects.filter(request=OuterRef("pk"), superseded_by__isnull=True).order_by("-id")


@login_required
@require_safe
def queue(request: HttpRequest, hub_id: int) -> HttpResponse:
    hub, coordinates = hub_for_reader(request.user, hub_id)
    today = timezone.localdate()
    status = request.GET.get("status")
    if status not in RequestStatus.values or status == RequestStatus.DRAFT:
        status = RequestStatus.NEW
    form = forms.QueueFilterForm(request.GET or None, hub=hub)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}

    requests = RequestForSupport.objects.filter(hub=hub).exclude(status=RequestStatus.DRAFT)
    if filters.get("area"):
        requests = requests.filter(family__area=filters["area"])
    if filters.get("urgency"):
        requests = requests.filter(urgency=filters["urgency"])
    if filters.get("agency"):
        requests = requests.filter(referrer_agency=filters["agency"])
    if filters.get("older_than") is not None:
        requests = requests.filter(
            received_on__lte=received_by(working_days=filters["older_than"], today=today)
        )
    # Past the target applies to requests still waiting; a decided request's clock has stopped.
    late = (
        Q(received_on__lte=received_by(working_days=hub.triage_target_working_days, today=today))
        if filters.get("overdue")
        else Q()
    )
    # COUNT(status), not COUNT(id): status is in the index request_hub_queue (hub, status, received_on),
    # so the counts come from the index alone (an index-only scan), never from the table's rows, of
    # which a hub has hundreds of thousands. status is never null, so the counts are the same.
    counts = requests.aggregate(
        new=Count("status", filter=Q(status=RequestStatus.NEW) & late),
        awaiting=Count("status", filter=Q(status=RequestStatus.AWAITING_DECISION) & late),
        decided=Count("status", filter=Q(status=RequestStatus.DECIDED)),
    )
    rows = requests.filter(status=status).select_related("family", "family__area", "referrer_agency")
    if status == RequestStatus.DECIDED:
        current = _current_decision()
        rows = rows.annotate(
            decision_outcome=Subquery(current.values("outcome")[:1]),
            decision_on=Subquery(current.values("decided_on")[:1]),
        ).order_by("-received_on", "-id")
    else:
        rows = rows.filter(late).order_by("received_on", "id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    outcomes = dict(TriageOutcome.choices)
    for row in page.object_list:
        decided_on = getattr(row, "decision_on", None)
        row.clock = clock_for(row, target=hub.triage_target_working_days, today=today, decided_on=decided_on)
        row.decision_label = outcomes.get(getattr(row, "decision_outcome", None) or "", "")
    query = request.GET.copy()
    query.pop("page", None)
    filter_query = query.copy()
    filter_query.pop("status", None)
    return render(
        request,
        "hubs/queue.html",
        {
            "hub": hub,
            "form": form,
            "page": page,
            "status": status,
            "tabs": [
                (value, label, counts[key])
                for (value, label), key in zip(TABS, ("new", "awaiting", "decided"), strict=True)
            ],
            "status_label": dict(TABS)[status],
            "query_string": query.urlencode(),
            "filter_query": filter_query.urlencode(),
            "filtered": bool(filters and any(v not in (None, "", False) for v in filters.values())),
            "can_act": coordinates,
            "today": today,
            "nav": "hubs",
            "form_has_errors": form.is_bound and not form.is_valid(),
        },
    )


# --- A request as the hub sees it -------------------------------------------------------------------


def _decisions(rfs: RequestForSupport) -> list[TriageDecision]:
    return list(
        TriageDecision.objects.filter(request=rfs)
        .select_related("decided_by", "agency", "allocated_to", "meeting", "episode", "superseded_by")
        .order_by("-created_at", "-id")
    )


def _superseded(decision: TriageDecision) -> bool:
    try:
        return decision.superseded_by is not None
    except TriageDecision.DoesNotExist:
        return False


@login_required
@require_safe
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    rfs, decides = request_for_hub(request.user, request_id)
    family = rfs.family
    audit_view_family(actor=request.user, family_id=family.pk, what=f"Request for support {rfs.pk}")
    decisions = _decisions(rfs)
    for decision in decisions:
        decision.is_superseded = _superseded(decision)
    current = next((d for d in decisions if not d.is_superseded), None)
    today = timezone.localdate()
    target = rfs.hub.triage_target_working_days
    return render(
        request,
        "hubs/request_detail.html",
        {
            "rfs": rfs,
            "family": family,
            "family_visible": families_visible_to(user=request.user).filter(pk=family.pk).exists(),
            "needs": list(rfs.needs.all()),
            "decisions": decisions,
            "current": current,
            "clock": clock_for(
                rfs, target=target, today=today, decided_on=current.decided_on if current else None
            ),
            "meetings": list(rfs.hub_meetings.order_by("-starts_at")),
            "can_decide": decides,
            "nav": "hubs",
        },
    )


def _change_requested(request: HttpRequest) -> bool:
    value = request.POST.get("change_decision") if request.method == "POST" else request.GET.get("change")
    return (value or "").lower() in ("1", "true", "on", "yes")


def _meeting_id(request: HttpRequest) -> int | None:
    value = request.GET.get("meeting") or ""
    return int(value) if value.isdigit() else None


def _decide_again(request: HttpRequest, rfs: RequestForSupport, meeting_id: int | None, message: str):
    """The decision form re-bound to what the user typed, at the request's current version and, when
    it is now decided, as a change of that decision; `message` at the top."""
    rfs.refresh_from_db()
    current = next((d for d in _decisions(rfs) if not _superseded(d)), None)
    data = request.POST.copy()
    data["version"] = str(rfs.version)
    data["change_decision"] = "1" if current is not None else ""
    form = forms.DecisionForm(data, request=rfs, meeting_id=meeting_id)
    form.is_valid()
    form.add_error(None, message)
    return rfs, form, current


@login_required
@GET_POST
def request_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    rfs, decides = request_for_hub(request.user, request_id)
    if not decides:
        raise PermissionDenied("Only the hub's coordinators can decide requests")
    decisions = _decisions(rfs)
    current = next((d for d in decisions if not _superseded(d)), None)
    changing = current is not None and _change_requested(request)
    meeting_id = _meeting_id(request)
    form = forms.DecisionForm(
        request.POST or None,
        request=rfs,
        meeting_id=meeting_id,
        initial={
            "decided_on": timezone.localdate(),
            "version": rfs.version,
            "change_decision": changing,
            "meeting": meeting_id,
        },
    )
    detail_url = reverse("hubs:request-detail", args=[rfs.pk])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            decision = services.triage_decide(
                actor=request.user,
                request=rfs,
                outcome=data["outcome"],
                rationale=data["rationale"],
                decided_on=data["decided_on"],
                expected_version=data["version"],
                meeting=data["meeting"],
                signposting=data["signposting"],
                agency=data["agency"],
                allocated_to=data["allocated_to"],
                social_care_reference=data["social_care_reference"],
                change_decision=bool(data["change_decision"]),
            )
        except RequestChangedError as error:
            # Keep everything typed and show what changed: the next save is a deliberate change of
            # the (now current) decision, against the version the user can now see.
            rfs, form, current = _decide_again(request, rfs, meeting_id, error.message)
            changing = current is not None
        except RequestError as error:
            if current is not None and not changing:
                # Decided already (a form posted without its version): offer the change, typing kept.
                rfs, form, current = _decide_again(request, rfs, meeting_id, error.message)
                changing = True
            else:
                _fail(form, error)
        else:
            label = decision.get_outcome_display().lower()
            messages.success(request, f"Decision {'changed' if changing else 'recorded'}: {label}")
            if decision.meeting_id and decision.meeting_id == meeting_id:
                return redirect("hubs:meeting-detail", meeting_id=decision.meeting_id)
            return redirect(detail_url)
    show_form = current is None or changing or request.method == "POST"
    today = timezone.localdate()
    return _page(
        request,
        title="Change the decision"
        if changing
        else ("Decide the request" if show_form else "This request has already been decided"),
        form=form,
        submit="Change the decision" if changing else "Record the decision",
        caption=f"{rfs.family.name} family · {rfs.family.reference}",
        back=reverse("hubs:meeting-detail", args=[meeting_id]) if meeting_id else detail_url,
        template="hubs/decision_form.html",
        nav="hubs",
        rfs=rfs,
        current=current,
        changing=changing,
        show_form=show_form,
        clock=clock_for(
            rfs,
            target=rfs.hub.triage_target_working_days,
            today=today,
            decided_on=current.decided_on if current else None,
        ),
        decide_url=request.path,
        meeting_query=f"&meeting={meeting_id}" if meeting_id else "",
    )


# --- Hub meetings -----------------------------------------------------------------------------------


@login_required
@require_safe
def meeting_list(request: HttpRequest, hub_id: int) -> HttpResponse:
    hub, coordinates = hub_for_reader(request.user, hub_id)
    meetings = (
        HubMeeting.objects.filter(hub=hub)
        .annotate(agenda_size=Count("items", distinct=True), decided=Count("decisions", distinct=True))
        .order_by("-starts_at", "-id")
    )
    page = Paginator(meetings, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "hubs/meeting_list.html",
        {"hub": hub, "page": page, "can_act": coordinates, "nav": "hubs", "now": timezone.now()},
    )


@login_required
@GET_POST
def meeting_new(request: HttpRequest, hub_id: int) -> HttpResponse:
    hub = hub_for_coordinator(request.user, hub_id)
    form = forms.HubMeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.hub_meeting_schedule(
                actor=request.user,
                hub=hub,
                starts_at=form.starts_at(),
                location=form.cleaned_data["location"],
            )
        except RequestError as error:
            _fail(form, error, {"starts_at": "date"})
        else:
            messages.success(request, "Hub meeting scheduled. Now add requests to its agenda.")
            return redirect("hubs:meeting-detail", meeting_id=meeting.pk)
    return _page(
        request,
        title="Schedule a hub meeting",
        form=form,
        submit="Schedule the meeting",
        caption=hub.name,
        back=reverse("hubs:meeting-list", args=[hub.pk]),
        intro=f"Usual pattern: {hub.meeting_pattern}." if hub.meeting_pattern else "",
        nav="hubs",
    )


@login_required
@GET_POST
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """The meeting's agenda (built from the queue), attendance, and the decision on each item. A POST
    is one of the two forms, named by its button (`action`): `agenda` or `attendance`."""
    meeting, coordinates = meeting_for_hub(request.user, meeting_id)
    if request.method == "POST" and not coordinates:
        raise PermissionDenied("Only the hub's coordinators can change a hub meeting")
    posted = request.method == "POST"
    attendance = posted and request.POST.get("action") == "attendance"
    agenda_form = forms.HubAgendaForm(request.POST if posted and not attendance else None, meeting=meeting)
    attendance_form = forms.HubAttendanceForm(
        request.POST if attendance else None, initial={"attendees": meeting.attendees}
    )
    if posted:
        try:
            if attendance:
                if attendance_form.is_valid():
                    services.hub_meeting_record_attendance(
                        actor=request.user,
                        meeting=meeting,
                        attendees=attendance_form.cleaned_data["attendees"],
                    )
                    messages.success(request, "Attendance recorded")
                    return redirect("hubs:meeting-detail", meeting_id=meeting.pk)
            elif agenda_form.is_valid():
                added = services.hub_meeting_add_to_agenda(
                    actor=request.user,
                    meeting=meeting,
                    requests=list(agenda_form.cleaned_data["requests"]),
                )
                messages.success(request, f"{added} request{'' if added == 1 else 's'} added to the agenda")
                return redirect("hubs:meeting-detail", meeting_id=meeting.pk)
        except RequestError as error:
            _fail(attendance_form if attendance else agenda_form, error)
    items = list(
        HubAgendaItem.objects.filter(meeting=meeting)
        .select_related("request__family", "request__referrer_agency")
        .order_by("order", "id")
    )
    current = {
        d.request_id: d
        for d in TriageDecision.objects.filter(
            request_id__in=[i.request_id for i in items], superseded_by__isnull=True
        ).select_related("decided_by")
    }
    today = timezone.localdate()
    target = meeting.hub.triage_target_working_days
    for item in items:
        item.decision = current.get(item.request_id)
        item.clock = clock_for(
            item.request,
            target=target,
            today=today,
            decided_on=item.decision.decided_on if item.decision else None,
        )
    on_agenda = {i.request_id for i in items}
    other_decisions = [
        d
        for d in TriageDecision.objects.filter(meeting=meeting)
        .select_related("request__family")
        .order_by("created_at", "id")
        if d.request_id not in on_agenda
    ]
    return render(
        request,
        "hubs/meeting_detail.html",
        {
            "meeting": meeting,
            "hub": meeting.hub,
            "items": items,
            "other_decisions": other_decisions,
            "agenda_form": agenda_form,
            "attendance_form": attendance_form,
            "can_act": coordinates,
            "held": meeting.status == HubMeetingStatus.HELD,
            "nav": "hubs",
            "form_has_errors": (agenda_form.is_bound and bool(agenda_form.errors))
            or (attendance_form.is_bound and bool(attendance_form.errors)),
        },
    )
