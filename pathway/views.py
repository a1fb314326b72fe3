"""Pathway pages: thin views (access check, form, service, redirect)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ehcase.audit import audit_view_family
from ehcase.permissions import family_for_user, roles_for

from . import forms, selectors, services
from .models import ChronologyKind, LevelOfNeed, MeetingStatus, OutcomeArea, TafMember
from .permissions import (
    can_add_case_note,
    can_manage_episode,
    episode_for_user,
    meeting_for_user,
    require_case_note,
    require_manage_episode,
    require_open_episode_rights,
)
from .services import PathwayError
from .views_claims import episode_claims_context

GET_POST = require_http_methods(["GET", "POST"])


def _fail(form, error: PathwayError, fields: dict[str, str] | None = None) -> None:
    """Show the service's message at the field it concerns (`fields` maps service names to form names)."""
    field = (fields or {}).get(error.field, error.field)
    form.add_error(field if field in form.fields else None, error.message)


def _page(
    request,
    *,
    title: str,
    form,
    submit: str,
    back: str,
    caption: str = "",
    intro: str = "",
    fields: list[str] | None = None,
    template: str = "pathway/form_page.html",
    **extra,
) -> HttpResponse:
    return render(
        request,
        template,
        {
            "title": title,
            "form": form,
            "submit": submit,
            "back": back,
            "caption": caption,
            "intro": intro,
            "fields": [form[name] for name in (fields or form.fields) if name != "version"],
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "families",
            **extra,
        },
    )


def _episode_url(episode) -> str:
    return reverse("pathway:episode-detail", args=[episode.pk])


def _editable(request, episode_id):
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    require_manage_episode(user=request.user, episode=episode)
    if not episode.is_open:
        raise Http404
    return episode


# --- Opening ----------------------------------------------------------------------------------------


@login_required
@GET_POST
def episode_start(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    require_open_episode_rights(user=request.user, family=family)
    level3 = LevelOfNeed.objects.filter(band=3).first()
    form = forms.StartForm(
        request.POST or None, initial={"consent_on": timezone.localdate(), "level": level3}
    )
    if request.method == "POST" and form.is_valid():
        try:
            episode = services.episode_start_directly(
                actor=request.user,
                family=family,
                level=form.cleaned_data["level"],
                consent_given_by=form.cleaned_data["consent_given_by"],
                consent_on=form.cleaned_data["consent_on"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Early help started. You are the assessor.")
            return redirect(_episode_url(episode))
    return _page(
        request,
        title="Start early help with this family",
        form=form,
        submit="Start early help",
        caption=f"{family.name} family",
        back=reverse("ehcase:family-detail", args=[family.pk]),
        intro="Use this when the family has agreed to an Early Help Assessment. You will be the assessor. "
        "No request to the hub is needed.",
    )


@login_required
@GET_POST
def step_down_accept(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    require_open_episode_rights(user=request.user, family=family)
    form = forms.StepDownForm(request.POST or None, initial={"accepted_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            episode = services.episode_accept_step_down(
                actor=request.user, family=family, **form.cleaned_data
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Step down accepted: an early help episode is open")
            return redirect(_episode_url(episode))
    return _page(
        request,
        title="Accept a step down from children's social care",
        form=form,
        submit="Accept step down",
        caption=f"{family.name} family",
        back=reverse("ehcase:family-detail", args=[family.pk]),
    )


# --- The episode page -------------------------------------------------------------------------------


@login_required
def episode_detail(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    record = selectors.episode_record(episode=episode)
    audit_view_family(actor=request.user, family_id=episode.family_id, what=f"Episode {episode.pk}")
    from assessments import selectors as assessment_selectors
    from assessments.permissions import can_start_assessment
    from assessments.services import sharing_withdrawn

    consent_members, _records = assessment_selectors.consent_overview(episode=episode)
    return render(
        request,
        "pathway/episode_detail.html",
        {
            "record": record,
            "assessments": assessment_selectors.episode_assessments(episode=episode),
            "consent_members": consent_members,
            "consented": sum(1 for _p, _r, c in consent_members if c),
            "withdrawn": sharing_withdrawn(episode=episode),
            "plan": assessment_selectors.family_plan(episode=episode),
            "can_start_assessment": episode.is_open
            and can_start_assessment(user=request.user, episode=episode),
            "episode": episode,
            "family": episode.family,
            "nav": "families",
            "can_manage": episode.is_open and can_manage_episode(user=request.user, episode=episode),
            "today": timezone.localdate(),
            **episode_claims_context(user=request.user, episode=episode),
        },
    )


@login_required
@GET_POST
def level_change(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    form = forms.LevelForm(
        request.POST or None, initial={"changed_on": timezone.localdate(), "level": episode.level}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.episode_change_level(actor=request.user, episode=episode, **form.cleaned_data)
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Level of need changed")
            return redirect(_episode_url(episode))
    return _page(
        request,
        title="Change the level of need",
        form=form,
        submit="Change level",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
    )


# --- Team Around the Family -------------------------------------------------------------------------


@login_required
@GET_POST
def taf_add(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    kind = request.GET.get("kind") or request.POST.get("kind") or "worker"
    if kind == "family":
        form = forms.TafFamilyMemberForm(
            request.POST or None, family=episode.family, initial={"joined_on": timezone.localdate()}
        )
    else:
        form = forms.TafWorkerForm(request.POST or None, initial={"joined_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if kind == "family":
                services.taf_add_family_member(
                    actor=request.user,
                    episode=episode,
                    person=data["person"],
                    role=data["role"],
                    joined_on=data["joined_on"],
                )
            else:
                services.taf_add_worker(
                    actor=request.user,
                    episode=episode,
                    user=data["user"],
                    role=data["role"],
                    joined_on=data["joined_on"],
                )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Added to the Team Around the Family")
            return redirect(_episode_url(episode) + "#team")
    return _page(
        request,
        title="Add a family member to the team" if kind == "family" else "Add a practitioner to the team",
        form=form,
        submit="Add to the team",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
        hidden={"kind": kind},
    )


@login_required
@GET_POST
def taf_remove(request: HttpRequest, episode_id: int, member_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    member = (
        TafMember.objects.filter(episode=episode, pk=member_id, left_on__isnull=True)
        .select_related("user", "person")
        .first()
    )
    if member is None:
        raise Http404
    form = forms.LeaveForm(request.POST or None, initial={"left_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.taf_remove(actor=request.user, member=member, left_on=form.cleaned_data["left_on"])
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, f"{member.name} has left the team")
            return redirect(_episode_url(episode) + "#team")
    return _page(
        request,
        title=f"Remove {member.name} from the team",
        form=form,
        submit="Remove from the team",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
        intro="A practitioner who leaves the team can no longer see the family's record.",
    )


@login_required
@GET_POST
def lead_change(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    form = forms.LeadForm(
        request.POST or None,
        episode=episode,
        initial={"started_on": timezone.localdate(), "version": episode.version},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.lead_professional_set(
                actor=request.user,
                episode=episode,
                user=data["user"],
                family_view=data["family_view"],
                handover_note=data["handover_note"],
                started_on=data["started_on"],
                expected_version=data["version"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, f"{data['user'].display_name} is now the lead professional")
            return redirect(_episode_url(episode))
    return _page(
        request,
        title="Change the lead professional",
        form=form,
        submit="Change lead professional",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
    )


# --- Meetings ---------------------------------------------------------------------------------------


@login_required
@GET_POST
def meeting_new(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    form = forms.MeetingForm(request.POST or None, episode=episode, initial={"already_held": "no"})
    if request.method == "POST" and form.is_valid():
        held = form.cleaned_data["already_held"] == "yes"
        try:
            meeting = services.meeting_schedule(
                actor=request.user,
                episode=episode,
                starts_at=form.starts_at(),
                location=form.cleaned_data["location"],
                online=form.cleaned_data["online"],
                invited=list(form.cleaned_data["invited"]),
                already_held=held,
            )
        except PathwayError as error:
            _fail(form, error, {"starts_at": "date"})
        else:
            if held:
                return redirect("pathway:meeting-record", meeting_id=meeting.pk)
            messages.success(request, "TAF meeting scheduled")
            return redirect(_episode_url(episode) + "#meetings")
    return _page(
        request,
        title="Schedule a TAF meeting",
        form=form,
        submit="Continue",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
    )


@login_required
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """The printable agenda (before) or minutes (after) of a TAF meeting."""
    meeting = meeting_for_user(user=request.user, meeting_id=meeting_id)
    episode = meeting.episode
    audit_view_family(actor=request.user, family_id=episode.family_id, what=f"TAF meeting {meeting.pk}")
    invited = list(meeting.invited.select_related("user", "person", "agency"))
    attendance = list(meeting.attendance.select_related("member__user", "member__person"))
    return render(
        request,
        "pathway/meeting_detail.html",
        {
            "meeting": meeting,
            "episode": episode,
            "family": episode.family,
            "invited": invited,
            "attendance": attendance,
            "nav": "families",
            "held": meeting.status == MeetingStatus.HELD,
            "can_record": meeting.status == MeetingStatus.SCHEDULED
            and episode.is_open
            and can_manage_episode(user=request.user, episode=episode),
            "needs": list(episode.needs.select_related("area")),
        },
    )


@login_required
@GET_POST
def meeting_record(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_for_user(user=request.user, meeting_id=meeting_id)
    episode = meeting.episode
    require_manage_episode(user=request.user, episode=episode)
    if meeting.status != MeetingStatus.SCHEDULED or not episode.is_open:
        raise Http404
    members = list(
        TafMember.objects.filter(episode=episode, left_on__isnull=True).select_related("user", "person")
    )
    needs_lead = episode.lead_professional_id is None
    form = forms.MeetingRecordForm(
        request.POST or None,
        meeting=meeting,
        members=members,
        needs_lead=needs_lead,
        initial={"version": meeting.version},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.meeting_record(
                actor=request.user,
                meeting=meeting,
                attendance=form.attendance(),
                decisions=data["decisions"],
                plan_changes=data["plan_changes"],
                next_meeting_on=data["next_meeting_on"],
                lead=data.get("lead"),
                family_view=data.get("family_view", ""),
                expected_version=data.get("version"),
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Meeting recorded")
            return redirect("pathway:meeting-detail", meeting_id=meeting.pk)
    return _page(
        request,
        title="Record the TAF meeting",
        form=form,
        submit="Save the minutes",
        caption=f"{episode.family.name} family · {timezone.localtime(meeting.starts_at):%-d %B %Y, %H:%M}",
        back=reverse("pathway:meeting-detail", args=[meeting.pk]),
        intro="The first TAF meeting agrees the lead professional with the family." if needs_lead else "",
    )


@login_required
@GET_POST
def meeting_cancel(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_for_user(user=request.user, meeting_id=meeting_id)
    episode = meeting.episode
    require_manage_episode(user=request.user, episode=episode)
    if meeting.status != MeetingStatus.SCHEDULED or not episode.is_open:
        raise Http404
    form = forms.MeetingCancelForm(request.POST or None)
    back = reverse("pathway:meeting-detail", args=[meeting.pk])
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_cancel(actor=request.user, meeting=meeting, reason=form.cleaned_data["reason"])
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Meeting cancelled")
            return redirect(_episode_url(episode) + "#meetings")
    return _page(
        request,
        title="Cancel the TAF meeting",
        form=form,
        submit="Cancel the meeting",
        back=back,
        caption=f"{episode.family.name} family · {timezone.localtime(meeting.starts_at):%-d %B %Y, %H:%M}",
    )


# --- Needs, baseline, reviews -----------------------------------------------------------------------


@login_required
@GET_POST
def need_add(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    form = forms.NeedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.need_add(actor=request.user, episode=episode, **form.cleaned_data)
        messages.success(request, "Need recorded")
        return redirect(_episode_url(episode) + "#needs")
    return _page(
        request,
        title="Record an identified need",
        form=form,
        submit="Save need",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
    )


def _scores_page(request, episode_id: int, *, baseline: bool) -> HttpResponse:
    episode = _editable(request, episode_id)
    areas = OutcomeArea.objects.filter(active=True)
    form = forms.ScoresForm(
        request.POST or None,
        areas=areas,
        with_decision=not baseline,
        initial={"held_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            if baseline:
                services.baseline_record(
                    actor=request.user,
                    episode=episode,
                    held_on=form.cleaned_data["held_on"],
                    scores=form.scores(),
                )
            else:
                review = services.review_record(
                    actor=request.user,
                    episode=episode,
                    held_on=form.cleaned_data["held_on"],
                    scores=form.scores(),
                    decision=form.cleaned_data["decision"],
                    summary=form.cleaned_data["summary"],
                )
        except PathwayError as error:
            _fail(form, error)
        else:
            if baseline:
                messages.success(request, "Baseline scores recorded")
                return redirect(_episode_url(episode) + "#progress")
            messages.success(request, "Review recorded")
            if review.decision == "step_up":
                return redirect("pathway:episode-step-up", episode_id=episode.pk)
            if review.decision in ("step_down", "close"):
                return redirect("pathway:episode-close", episode_id=episode.pk)
            return redirect(_episode_url(episode) + "#progress")
    return _page(
        request,
        title="Record the baseline scores" if baseline else "Record a review",
        form=form,
        submit="Save scores" if baseline else "Save review",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
        template="pathway/scores_form.html",
        intro="Score each outcome area from 0 (very worried) to 10 (no worries), as the family and the "
        "team see it. Leave an area blank if it does not apply.",
    )


@login_required
@GET_POST
def baseline_record(request: HttpRequest, episode_id: int) -> HttpResponse:
    return _scores_page(request, episode_id, baseline=True)


@login_required
@GET_POST
def review_new(request: HttpRequest, episode_id: int) -> HttpResponse:
    return _scores_page(request, episode_id, baseline=False)


# --- Step up and closure ----------------------------------------------------------------------------


@login_required
@GET_POST
def step_up(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    form = forms.StepUpForm(
        request.POST or None, initial={"stepped_up_on": timezone.localdate(), "version": episode.version}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.episode_step_up(
                actor=request.user,
                episode=episode,
                reason=data["reason"],
                stepped_up_on=data["stepped_up_on"],
                social_care_reference=data["social_care_reference"],
                expected_version=data["version"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Stepped up to children's social care. The episode is closed.")
            return redirect(_episode_url(episode))
    return _page(
        request,
        title="Step up to children's social care",
        form=form,
        submit="Step up",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
        intro="If a child is at immediate risk, contact children's social care or the police now. "
        "Then record the step up here.",
    )


@login_required
@GET_POST
def close(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _editable(request, episode_id)
    needs = list(episode.needs.select_related("area"))
    form = forms.CloseForm(
        request.POST or None,
        needs=needs,
        initial={"closed_on": timezone.localdate(), "version": episode.version},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.episode_close(
                actor=request.user,
                episode=episode,
                reason=data["reason"],
                closed_on=data["closed_on"],
                need_outcomes=form.need_outcomes(),
                note=data["note"],
                expected_version=data["version"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Episode closed")
            return redirect(_episode_url(episode))
    return _page(
        request,
        title="Close the episode",
        form=form,
        submit="Close the episode",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode),
    )


# --- Chronology, case notes, my work, caseloads -----------------------------------------------------


@login_required
def chronology(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    kinds = [k for k in request.GET.getlist("kind") if k in ChronologyKind.values]
    audit_view_family(actor=request.user, family_id=family.pk, what="Chronology")
    page = Paginator(selectors.chronology(family=family, kinds=kinds), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pathway/chronology.html",
        {
            "family": family,
            "page": page,
            "kinds": ChronologyKind.choices,
            "selected": kinds,
            "nav": "families",
            "query_string": query.urlencode(),
            "can_add_note": can_add_case_note(user=request.user, family=family),
        },
    )


@login_required
@GET_POST
def case_note_add(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_for_user(user=request.user, family_id=family_id)
    require_case_note(user=request.user, family=family)
    form = forms.CaseNoteForm(request.POST or None, initial={"occurred_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.case_note_add(actor=request.user, family=family, **form.cleaned_data)
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Case note added")
            return redirect("pathway:chronology", family_id=family.pk)
    return _page(
        request,
        title="Add a case note",
        form=form,
        submit="Save case note",
        caption=f"{family.name} family",
        back=reverse("pathway:chronology", args=[family.pk]),
    )


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    if not roles_for(request.user).is_practitioner:
        raise Http404
    work = selectors.my_work(user=request.user)
    return render(
        request, "pathway/my_work.html", {"work": work, "nav": "my-work", "today": timezone.localdate()}
    )


@login_required
def caseloads(request: HttpRequest) -> HttpResponse:
    roles = roles_for(request.user)
    if not (roles.partnership_wide or roles.coordinated_hub_ids or roles.managed_agency_ids):
        raise Http404
    return render(
        request,
        "pathway/caseloads.html",
        {"rows": selectors.caseloads(user=request.user), "nav": "caseloads"},
    )
