from __future__ import annotations

import uuid

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ehcase.audit import audit_record, audit_view_family
from ehcase.models import AuditAction, HouseholdRole, Person
from pathway.models import OutcomeArea
from pathway.permissions import can_manage_episode, episode_for_user, require_manage_episode
from pathway.services import PathwayError
from pathway.views import _fail, _page

from . import forms, selectors, services
from .models import Assessment, AssessmentStatus, AssessmentVersion
from .permissions import (
    action_for_user,
    assessment_for_user,
    can_edit_assessment,
    can_see_sign_off_queue,
    can_sign_off,
    consent_for_user,
    outcome_for_user,
    require_edit_assessment,
    require_record_consent,
    require_sign_off,
    require_start_assessment,
    require_update_action,
)

GET_POST = require_http_methods(["GET", "POST"])


@login_required
@GET_POST
def action_add(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    require_manage_episode(user=request.user, episode=episode)
    if not episode.is_open:
        raise Http404
    form = forms.ActionForm(request.POST or None, episode=episode)
    back = reverse("pathway:episode-detail", args=[episode.pk]) + "#plan"
    if request.method == "POST" and form.is_valid():
        try:
            services.action_add(
                actor=request.user,
                episode=episode,
                description=form.cleaned_data["description"],
                due_on=form.cleaned_data["due_on"],
                outcome=form.cleaned_data.get("outcome"),
                **form.owner_kwargs(),
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Action added to the plan")
            return redirect(back)
    return _page(
        request,
        title="Add an action to the plan",
        form=form,
        submit="Add action",
        caption=f"{episode.family.name} family",
        back=back,
    )


@login_required
@GET_POST
def action_update(request: HttpRequest, action_id: int) -> HttpResponse:
    action = action_for_user(user=request.user, action_id=action_id)
    require_update_action(user=request.user, action=action)
    if not action.episode.is_open:
        raise Http404
    form = forms.ActionStatusForm(
        request.POST or None, initial={"status": action.status, "version": action.version}
    )
    back = reverse("pathway:episode-detail", args=[action.episode_id]) + "#plan"
    if request.method == "POST" and form.is_valid():
        try:
            services.action_set_status(
                actor=request.user,
                action=action,
                status=form.cleaned_data["status"],
                expected_version=form.cleaned_data["version"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Action updated")
            return redirect(back)
    return _page(
        request,
        title="Update the action",
        form=form,
        submit="Save",
        back=back,
        caption=action.episode.family.name + " family",
        intro=f"{action.description} (due {action.due_on:%-d %B %Y}, {action.owner_name})",
    )


def _episode_url(episode_id: int, anchor: str = "") -> str:
    return reverse("pathway:episode-detail", args=[episode_id]) + (f"#{anchor}" if anchor else "")


def _open_episode(request: HttpRequest, episode_id: int, *, consent: bool = False):
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    if consent:
        require_record_consent(user=request.user, episode=episode)
    else:
        require_manage_episode(user=request.user, episode=episode)
    if not episode.is_open:
        raise Http404
    return episode


# --- Consent ---------------------------------------------------------------------------------------


@login_required
@require_GET
def sign_off_queue(request: HttpRequest) -> HttpResponse:
    """Completed assessments waiting for this manager's sign-off, oldest first (selectors.awaiting_sign_off).
    Agency managers and early help managers; everyone else 404."""
    if not can_see_sign_off_queue(user=request.user):
        raise Http404
    page = Paginator(selectors.awaiting_sign_off(user=request.user), 50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for assessment in page:
        assessment.days_waiting = (today - timezone.localdate(assessment.completed_at)).days
    return render(request, "assessments/sign_off_queue.html", {"page": page, "nav": "sign-off"})


@login_required
@require_GET
def consent_list(request: HttpRequest, episode_id: int) -> HttpResponse:
    """Who has consented to early help, how, and any withdrawal: for everyone who may see the family."""
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    members, records = selectors.consent_overview(episode=episode)
    audit_view_family(
        actor=request.user, family_id=episode.family_id, what=f"Consent records, episode {episode.pk}"
    )
    return render(
        request,
        "assessments/consent_list.html",
        {
            "episode": episode,
            "family": episode.family,
            "members": members,
            "records": records,
            "withdrawn": services.sharing_withdrawn(episode=episode),
            "can_record": episode.is_open and can_manage_episode(user=request.user, episode=episode),
            "nav": "families",
        },
    )


@login_required
@GET_POST
def consent_add(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _open_episode(request, episode_id, consent=True)
    form = forms.ConsentForm(
        request.POST or None,
        request.FILES or None,
        episode=episode,
        initial={
            "given_on": timezone.localdate(),
            "sharing_basis": "consent",
            "person": request.GET.get("person"),
        },
    )
    back = reverse("assessments:consent-list", args=[episode.pk])
    if request.method == "POST" and form.is_valid():
        person, given_by = form.people()
        try:
            services.consent_record(
                actor=request.user,
                episode=episode,
                person=person,
                given_by=given_by,
                own_consent_competent=form.cleaned_data["own_consent_competent"],
                given_on=form.cleaned_data["given_on"],
                method=form.cleaned_data["method"],
                agrees_to_sharing=form.cleaned_data["agrees_to_sharing"] == "yes",
                sharing_basis=form.cleaned_data["sharing_basis"],
                notes=form.cleaned_data["notes"],
                evidence=form.cleaned_data.get("evidence"),
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, f"Consent recorded for {person.full_name}")
            return redirect(back)
    return _page(
        request,
        title="Record consent to early help",
        form=form,
        submit="Record consent",
        caption=f"{episode.family.name} family",
        back=back,
        template="assessments/consent_form.html",
    )


@login_required
@GET_POST
def consent_withdraw(request: HttpRequest, consent_id: int) -> HttpResponse:
    consent = consent_for_user(user=request.user, consent_id=consent_id)
    require_record_consent(user=request.user, episode=consent.episode)
    if not consent.episode.is_open or not consent.is_current:
        raise Http404
    form = forms.ConsentWithdrawForm(request.POST or None, initial={"withdrawn_on": timezone.localdate()})
    back = reverse("assessments:consent-list", args=[consent.episode_id])
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_withdraw(actor=request.user, consent=consent, **form.cleaned_data)
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, f"Withdrawal of consent recorded for {consent.person.full_name}")
            return redirect(back)
    return _page(
        request,
        title=f"Record that {consent.person.full_name} withdrew consent",
        form=form,
        submit="Record withdrawal",
        caption=f"{consent.episode.family.name} family",
        back=back,
        intro="Once consent is withdrawn, nothing more about the family is shared: no one new can join the "
        "team until consent is given again.",
    )


@login_required
@require_GET
def consent_evidence(request: HttpRequest, consent_id: int) -> HttpResponse:
    """The uploaded consent form, for anyone who may see the family; every download is audited."""
    consent = consent_for_user(user=request.user, consent_id=consent_id)
    if not consent.evidence_name:
        raise Http404
    data = type(consent).objects.filter(pk=consent.pk).values_list("evidence", flat=True).get()
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=consent,
        family_id=consent.family_id,
        summary="Consent evidence downloaded",
    )
    response = HttpResponse(bytes(data), content_type=consent.evidence_type)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[consent.evidence_type]
    response["Content-Disposition"] = f'attachment; filename="consent-{consent.pk}.{extension}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- The assessment --------------------------------------------------------------------------------


@login_required
@GET_POST
def assessment_start(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    require_start_assessment(user=request.user, episode=episode)
    if not episode.is_open:
        raise Http404
    in_progress = (
        Assessment.objects.filter(episode=episode).exclude(status=AssessmentStatus.SIGNED_OFF).first()
    )
    if in_progress is not None:
        return redirect("assessments:assessment-detail", in_progress.pk)
    consented = set(services.current_consents(episode=episode))
    form = forms.AssessmentStartForm(
        request.POST or None,
        episode=episode,
        consented=consented,
        initial={"assessment_date": timezone.localdate(), "members": [str(pk) for pk in consented]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.assessment_start(
                actor=request.user,
                episode=episode,
                members=list(Person.objects.filter(pk__in=form.cleaned_data["members"])),
                assessment_date=form.cleaned_data["assessment_date"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            return redirect("assessments:assessment-section", assessment.pk, _sections(assessment)[1][0])
    return _page(
        request,
        title="Start the early help assessment",
        form=form,
        submit="Start the assessment",
        caption=f"{episode.family.name} family",
        back=_episode_url(episode.pk, "assessment"),
        template="assessments/start.html",
        consent_url=reverse("assessments:consent-list", args=[episode.pk]),
        missing=not consented,
    )


def _sections(assessment: Assessment) -> list[tuple[str, str]]:
    """The assessment's pages in order: (slug, title)."""
    return (
        [("members", "Who the assessment covers")]
        + [(f"domain-{d['code']}", d["title"]) for d in assessment.template.domains]
        + [
            ("people", "Strengths and needs of each person"),
            ("views", "The child's voice and the family's view"),
            ("needs", "Identified needs"),
            ("scores", "Baseline scores"),
        ]
    )


def _section_fields(assessment: Assessment, section: str) -> tuple[dict[str, django_forms.Field], dict]:
    """The fields of one page, and their saved values."""
    content = assessment.content or {}
    fields: dict[str, django_forms.Field] = {}
    initial: dict = {}
    if section.startswith("domain-"):
        code = section.removeprefix("domain-")
        domain = next((d for d in assessment.template.domains if d["code"] == code), None)
        if domain is None:
            raise Http404
        for area in domain["areas"]:
            key = f"{code}.{area['code']}"
            fields[f"domains.{key}"] = forms._text(area["title"], area.get("hint", ""))
            initial[f"domains.{key}"] = (content.get("domains") or {}).get(key, "")
    elif section == "people":
        for person, _role in selectors.assessment_members(assessment=assessment):
            saved = (content.get("members") or {}).get(str(person.pk)) or {}
            for part, label in (("strengths", "strengths"), ("needs", "needs")):
                name = f"members.{person.pk}.{part}"
                fields[name] = forms._text(f"{person.full_name}: {label}", rows=4)
                initial[name] = saved.get(part, "")
    elif section == "views":
        for person, role in selectors.assessment_members(assessment=assessment):
            if role == HouseholdRole.CHILD:
                name = f"child_voice.{person.pk}"
                fields[name] = forms._text(
                    f"What {person.first_name} says",
                    "In their own words: what is going well, what worries them, what they would change",
                )
                initial[name] = (content.get("child_voice") or {}).get(str(person.pk), "")
        fields["family_view"] = forms._text(
            "The family's view", "What the family think is going well and what they want to change"
        )
        initial["family_view"] = content.get("family_view", "")
    elif section == "needs":
        areas = [("", "Select an outcome")] + list(
            OutcomeArea.objects.filter(active=True).order_by("order").values_list("code", "name")
        )
        saved = list(content.get("needs") or [])
        for i in range(len(saved) + 3):
            fields[f"needs-{i}-description"] = django_forms.CharField(
                label=f"Need {i + 1}",
                required=False,
                max_length=500,
                widget=django_forms.Textarea(attrs={"rows": 2}),
            )
            fields[f"needs-{i}-area"] = django_forms.ChoiceField(
                label=f"Outcome need {i + 1} is about", required=False, choices=areas
            )
            if i < len(saved):
                initial[f"needs-{i}-description"] = saved[i].get("description", "")
                initial[f"needs-{i}-area"] = saved[i].get("area", "")
    elif section == "scores":
        saved = content.get("scores") or {}
        for area in OutcomeArea.objects.filter(active=True).order_by("order"):
            fields[f"scores.{area.code}"] = forms.score_field(area)
            initial[f"scores.{area.code}"] = saved.get(area.code)
    else:
        raise Http404
    return fields, initial


def _needs_from(form) -> list[dict]:
    needs = []
    i = 0
    while f"needs-{i}-description" in form.fields:
        description = (form.cleaned_data.get(f"needs-{i}-description") or "").strip()
        area = form.cleaned_data.get(f"needs-{i}-area") or ""
        if description and not area:
            form.add_error(f"needs-{i}-area", f"Select the outcome need {i + 1} is about")
        elif area and not description:
            form.add_error(f"needs-{i}-description", f"Describe need {i + 1}")
        elif description:
            needs.append({"area": area, "description": description})
        i += 1
    return needs


SERVICE_FIELD_PREFIXES = ("domains.", "members.", "child_voice.", "scores.", "needs.")


def _service_field(error: PathwayError) -> str | None:
    """The service names fields by content path; needs are numbered rows on the page."""
    field = error.field or ""
    if field.startswith("needs."):
        _, index, part = field.split(".")
        return f"needs-{index}-{part}"
    return field or None


def _save_section(
    request, assessment: Assessment, section: str, form, *, autosave: bool = False
) -> Assessment | None:
    """Validate and save one page; on a problem the form carries the message and None is returned."""
    if not form.is_valid():
        return None
    changes = form.changes()
    if section == "needs":
        needs = _needs_from(form)
        if form.errors:
            return None
        changes["needs"] = needs
    try:
        return services.assessment_save(
            actor=request.user,
            assessment=assessment,
            expected_version=form.cleaned_data["version"],
            changes=changes,
            edit_token=form.cleaned_data.get("edit_token") or "",
            page_done=not autosave,
        )
    except services.AssessmentChangedError:
        raise
    except PathwayError as error:
        field = _service_field(error)
        form.add_error(field if field in form.fields else None, error.message)
        return None


@login_required
@GET_POST
def assessment_section(request: HttpRequest, assessment_id: int, section: str) -> HttpResponse:
    """One page of the assessment. "Save and continue" saves and moves on; the page also saves itself as
    the assessor types (assessment_autosave). A save on a stale version shows what changed instead of
    overwriting it, with the assessor's own answers kept in the form."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    require_edit_assessment(user=request.user, assessment=assessment)
    if not assessment.is_editable or not assessment.episode.is_open:
        return redirect("assessments:assessment-detail", assessment.pk)
    sections = _sections(assessment)
    slugs = [slug for slug, _ in sections]
    if section not in slugs:
        raise Http404
    if section == "members":
        return _members_section(request, assessment, sections)
    fields, initial = _section_fields(assessment, section)
    form = forms.AssessmentForm(
        request.POST or None,
        fields=fields,
        initial={**initial, "version": assessment.version, "edit_token": uuid.uuid4().hex},
    )
    conflict = None
    if request.method == "POST":
        try:
            saved = _save_section(request, assessment, section, form)
        except services.AssessmentChangedError as error:
            conflict = _conflict(
                assessment, form, fields, initial_of=_section_fields, section=section, error=error
            )
            form = conflict["form"]
        else:
            if saved is not None:
                index = slugs.index(section)
                if request.POST.get("next") == "check" or index + 1 == len(slugs):
                    return redirect("assessments:assessment-check", assessment.pk)
                return redirect("assessments:assessment-section", assessment.pk, slugs[index + 1])
    return _section_page(request, assessment, sections, section, form, conflict=conflict)


def _conflict(assessment: Assessment, form, fields, *, initial_of, section: str, error) -> dict:
    """Someone saved since the page was opened: keep what this user typed, show what is saved now beside
    each answer that differs, and let them save again on the current version."""
    current = Assessment.objects.select_related("updated_by", "template").get(pk=assessment.pk)
    current.episode = assessment.episode
    _fields, saved = initial_of(current, section)
    data = form.data.copy()
    data["version"] = str(current.version)
    theirs = {}
    for name in fields:
        mine = data.get(name, "")
        now = saved.get(name)
        now_text = "" if now is None else str(now)
        if str(mine).strip() != now_text.strip():
            theirs[name] = now_text
    rebound = forms.AssessmentForm(data, fields=_fields, initial={"version": current.version})
    rebound.is_valid()
    return {
        "form": rebound,
        "message": error.message,
        "by": current.updated_by.display_name,
        "at": current.updated_at,
        "theirs": theirs,
    }


def _section_page(request, assessment, sections, section, form, *, conflict=None) -> HttpResponse:
    slugs = [slug for slug, _ in sections]
    index = slugs.index(section)
    title = sections[index][1]
    hint = ""
    if section.startswith("domain-"):
        hint = next(d.get("hint", "") for d in assessment.template.domains if d["code"] == section[7:])
    back = (
        reverse("assessments:assessment-section", args=[assessment.pk, slugs[index - 1]])
        if index
        else (reverse("assessments:assessment-detail", args=[assessment.pk]))
    )
    theirs = (conflict or {}).get("theirs", {})
    rows = []
    if section == "needs":
        i = 0
        while f"needs-{i}-description" in form.fields:
            names = (f"needs-{i}-description", f"needs-{i}-area")
            changed = any(name in theirs for name in names)
            rows.append((form[names[0]], form[names[1]], changed))
            i += 1
    return render(
        request,
        "assessments/section.html",
        {
            "assessment": assessment,
            "episode": assessment.episode,
            "family": assessment.episode.family,
            "form": form,
            "title": title,
            "hint": hint,
            "section": section,
            "sections": sections,
            "step": index + 1,
            "back": back,
            "fields": [
                (form[name], theirs.get(name))
                for name in form.fields
                if name not in ("version", "edit_token")
            ],
            "need_rows": rows,
            "conflict": conflict,
            "nav": "families",
        },
    )


def _members_section(request, assessment: Assessment, sections) -> HttpResponse:
    consented = set(services.current_consents(episode=assessment.episode))
    form = forms.AssessmentStartForm(
        request.POST or None,
        episode=assessment.episode,
        consented=consented,
        initial={
            "members": [str(pk) for pk in assessment.members.values_list("pk", flat=True)],
            "assessment_date": assessment.assessment_date,
        },
    )
    form.fields["version"] = django_forms.IntegerField(
        widget=django_forms.HiddenInput, initial=assessment.version
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.assessment_save(
                actor=request.user,
                assessment=assessment,
                expected_version=form.cleaned_data["version"],
                members=list(Person.objects.filter(pk__in=form.cleaned_data["members"])),
                assessment_date=form.cleaned_data["assessment_date"],
            )
        except services.AssessmentChangedError as error:
            conflict = {"message": error.message, "by": "", "at": None, "theirs": {}}
            current = Assessment.objects.select_related("updated_by").get(pk=assessment.pk)
            conflict |= {"by": current.updated_by.display_name, "at": current.updated_at}
            data = form.data.copy()
            data["version"] = str(current.version)
            form = forms.AssessmentStartForm(data, episode=assessment.episode, consented=consented)
            form.fields["version"] = django_forms.IntegerField(widget=django_forms.HiddenInput)
            form.is_valid()
        except PathwayError as error:
            _fail(form, error)
        else:
            if request.POST.get("next") == "check":
                return redirect("assessments:assessment-check", assessment.pk)
            return redirect("assessments:assessment-section", assessment.pk, sections[1][0])
    return _section_page(request, assessment, sections, "members", form, conflict=conflict)


@login_required
@require_POST
def assessment_autosave(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """Saves the page as the assessor types (htmx). Answers only: it never moves the page on. Replies with
    a status line and the new version for the form; on a stale version or a problem, says it has not saved."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    require_edit_assessment(user=request.user, assessment=assessment)
    if not assessment.is_editable or not assessment.episode.is_open:
        return render(
            request, "assessments/_autosave.html", {"error": "This assessment can no longer be changed"}
        )
    section = request.POST.get("section", "")
    if section == "members" or section not in [slug for slug, _ in _sections(assessment)]:
        raise Http404
    fields, _initial = _section_fields(assessment, section)
    form = forms.AssessmentForm(request.POST, fields=fields)
    try:
        saved = _save_section(request, assessment, section, form, autosave=True)
    except services.AssessmentChangedError:
        return render(
            request,
            "assessments/_autosave.html",
            {
                "error": "Not saved: someone else saved this assessment after you opened it. Select "
                "‘Save and continue’ to compare their answers with yours."
            },
        )
    if saved is None:
        first = next(iter(form.errors.values()))[0]
        return render(request, "assessments/_autosave.html", {"error": f"Not saved: {first}"})
    return render(
        request,
        "assessments/_autosave.html",
        {"saved_at": timezone.localtime(saved.updated_at), "version": saved.version},
    )


@login_required
@require_GET
def assessment_detail(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """The assessment as it stands, its kept versions, and what the viewer may do next."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    view = selectors.assessment_view(assessment=assessment)
    audit_view_family(
        actor=request.user,
        family_id=assessment.episode.family_id,
        what=f"Early help assessment {assessment.pk}",
    )
    latest = view.versions[-1] if view.versions else None
    return render(
        request,
        "assessments/detail.html",
        {
            "assessment": assessment,
            "episode": assessment.episode,
            "family": assessment.episode.family,
            "view": view,
            "latest": latest,
            "can_edit": assessment.is_editable
            and assessment.episode.is_open
            and can_edit_assessment(user=request.user, assessment=assessment),
            "can_decide": assessment.status == AssessmentStatus.COMPLETED
            and can_sign_off(user=request.user, assessment=assessment),
            "first_section": _sections(assessment)[1][0],
            "nav": "families",
        },
    )


@login_required
@GET_POST
def assessment_check(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """Check the answers, then complete the assessment (the assessor only). The page says what is missing,
    including any consent, before it can be completed."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    require_edit_assessment(user=request.user, assessment=assessment)
    if not assessment.is_editable or not assessment.episode.is_open:
        return redirect("assessments:assessment-detail", assessment.pk)
    problems = services.completion_problems(assessment=assessment)
    consented = set(services.current_consents(episode=assessment.episode))
    unconsented = [
        p.full_name for p, _ in selectors.assessment_members(assessment=assessment) if p.pk not in consented
    ]
    error = ""
    if request.method == "POST":
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = -1
        try:
            services.assessment_complete(actor=request.user, assessment=assessment, expected_version=version)
        except PathwayError as failure:
            error = failure.message
            assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
        else:
            messages.success(request, "Assessment completed. A manager will now sign it off.")
            return redirect("assessments:assessment-detail", assessment.pk)
    sections = _sections(assessment)
    return render(
        request,
        "assessments/check.html",
        {
            "assessment": assessment,
            "episode": assessment.episode,
            "family": assessment.episode.family,
            "view": selectors.assessment_view(assessment=assessment),
            "sections": sections,
            "problems": problems,
            "unconsented": unconsented,
            "error": error,
            "section_of": {d["code"]: f"domain-{d['code']}" for d in assessment.template.domains},
            "nav": "families",
        },
    )


@login_required
@GET_POST
def assessment_decide(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """A manager of the assessor's agency, or an early help manager, signs off or returns the assessment."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    require_sign_off(user=request.user, assessment=assessment)
    if assessment.status != AssessmentStatus.COMPLETED:
        return redirect("assessments:assessment-detail", assessment.pk)
    form = forms.DecisionForm(request.POST or None, initial={"version": assessment.version})
    back = reverse("assessments:assessment-detail", args=[assessment.pk])
    if request.method == "POST" and form.is_valid():
        sign_off = form.cleaned_data["decision"] == "sign_off"
        try:
            services.assessment_decide(
                actor=request.user,
                assessment=assessment,
                sign_off=sign_off,
                comments=form.cleaned_data["comments"],
                expected_version=form.cleaned_data["version"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(
                request, "Assessment signed off" if sign_off else "Assessment returned to the assessor"
            )
            return redirect(back)
    return _page(
        request,
        title="Sign off the assessment",
        form=form,
        submit="Save decision",
        caption=f"{assessment.episode.family.name} family",
        back=back,
        intro=f"Completed by {assessment.assessor.display_name}. Read it before you decide.",
    )


@login_required
@require_GET
def assessment_version(request: HttpRequest, assessment_id: int, number: int) -> HttpResponse:
    """An earlier completed version, exactly as it was completed."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    version = (
        AssessmentVersion.objects.filter(assessment=assessment, number=number)
        .select_related("template", "completed_by", "decided_by")
        .first()
    )
    if version is None:
        raise Http404
    audit_view_family(
        actor=request.user,
        family_id=assessment.episode.family_id,
        what=f"Early help assessment {assessment.pk}, version {number}",
    )
    return render(
        request,
        "assessments/version.html",
        {
            "assessment": assessment,
            "episode": assessment.episode,
            "family": assessment.episode.family,
            "view": selectors.assessment_view(assessment=assessment, version=version),
            "version": version,
            "nav": "families",
        },
    )


# --- The plan's outcomes ---------------------------------------------------------------------------


@login_required
@GET_POST
def outcome_add(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = _open_episode(request, episode_id)
    form = forms.OutcomeForm(request.POST or None, episode=episode)
    back = _episode_url(episode.pk, "plan")
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_outcome_add(
                actor=request.user,
                episode=episode,
                wording=form.cleaned_data["wording"],
                said_by=form.said_by_person(),
                area=form.cleaned_data["area"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Outcome added to the plan")
            return redirect(back)
    return _page(
        request,
        title="Add an outcome to the plan",
        form=form,
        submit="Add outcome",
        caption=f"{episode.family.name} family",
        back=back,
    )


@login_required
@GET_POST
def outcome_edit(request: HttpRequest, outcome_id: int) -> HttpResponse:
    outcome = outcome_for_user(user=request.user, outcome_id=outcome_id)
    require_manage_episode(user=request.user, episode=outcome.episode)
    if not outcome.episode.is_open:
        raise Http404
    form = forms.OutcomeForm(
        request.POST or None,
        episode=outcome.episode,
        editing=True,
        initial={
            "wording": outcome.wording,
            "said_by": outcome.said_by_id or "",
            "area": outcome.area,
            "achieved": outcome.achieved,
            "version": outcome.version,
        },
    )
    back = _episode_url(outcome.episode_id, "plan")
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_outcome_update(
                actor=request.user,
                outcome=outcome,
                wording=form.cleaned_data["wording"],
                said_by=form.said_by_person(),
                area=form.cleaned_data["area"],
                achieved=form.cleaned_data["achieved"],
                expected_version=form.cleaned_data["version"] or outcome.version,
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Outcome changed")
            return redirect(back)
    return _page(
        request,
        title="Change the outcome",
        form=form,
        submit="Save",
        caption=f"{outcome.episode.family.name} family",
        back=back,
    )
