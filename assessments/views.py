from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from pathway.permissions import episode_for_user, require_manage_episode
from pathway.services import PathwayError
from pathway.views import _fail, _page

from . import forms, services
from .permissions import action_for_user, require_update_action

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
