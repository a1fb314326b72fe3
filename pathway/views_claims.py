"""Supporting Families claim pages: thin views (access check, form, service, redirect).

The two small forms live here rather than in pathway/forms.py so that the claims work stays in files of
its own; they follow the same GOV.UK conventions (ehcase.govuk_forms)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ehcase.govuk_forms import GovukFormMixin
from ehcase.models import User

from . import claims
from .claims_permissions import (
    can_change_claim_status,
    can_draft_claim,
    claim_for_user,
    require_change_claim_status,
    require_draft_claim,
)
from .models import ClaimStatus, Episode, OutcomeArea, SupportingFamiliesClaim
from .permissions import episode_for_user
from .services import PathwayError

GET_POST = require_http_methods(["GET", "POST"])


# --- Forms ------------------------------------------------------------------------------------------


class ClaimForm(GovukFormMixin, forms.Form):
    areas = forms.ModelMultipleChoiceField(
        queryset=OutcomeArea.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Which headline outcomes does the claim evidence?",
        help_text="Select all that apply",
    )
    evidence = forms.CharField(
        label="Evidence of sustained progress",
        widget=forms.Textarea,
        max_length=8000,
        help_text="What changed, since when, and how you know: for example school attendance figures "
        "for the last two terms, or the date the family moved into settled housing",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, claim: SupportingFamiliesClaim | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The active areas, and any the claim already names even if since retired, so an edit never
        # drops an area silently.
        available = Q(active=True)
        if claim is not None:
            available |= Q(pk__in=claim.areas.values("pk"))
        self.fields["areas"].queryset = OutcomeArea.objects.filter(available)
        self.fields["areas"].error_messages["required"] = (
            "Select at least one outcome area the claim evidences"
        )
        self.fields["evidence"].error_messages["required"] = "Enter the evidence of sustained progress"


class _StatusChoiceField(forms.ChoiceField):
    """Offers the moves open now, but accepts any status: a page opened before someone else moved the
    claim then reaches the service, which answers with the conflict message rather than a puzzling
    "select what to do"."""

    def valid_value(self, value) -> bool:
        return value in ClaimStatus.values


class ClaimStatusForm(GovukFormMixin, forms.Form):
    status = _StatusChoiceField(choices=(), widget=forms.RadioSelect, label="What do you want to do?")
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea,
        max_length=claims.REASON_MAX,
        required=False,
        help_text="Needed when you send the claim back to draft or record a rejection: the lead "
        "professional sees it",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, moves: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = moves
        self.fields["status"].error_messages["required"] = "Select what to do with the claim"
        self.fields["status"].error_messages["invalid_choice"] = "Select what to do with the claim"


# --- Helpers ----------------------------------------------------------------------------------------


def _fail(form: forms.Form, error: PathwayError) -> None:
    """Show the service's message at the field it concerns, or at the top of the page."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _episode_claims_url(episode: Episode) -> str:
    return reverse("pathway:episode-detail", args=[episode.pk]) + "#claims"


def _page(request: HttpRequest, template: str, *, form: forms.Form, **context) -> HttpResponse:
    return render(
        request,
        template,
        {
            "form": form,
            "fields": [form[name] for name in form.fields if name != "version"],
            "form_has_errors": form.is_bound and bool(form.errors),
            "nav": "families",
            **context,
        },
    )


def episode_claims_context(*, user: User, episode: Episode) -> dict:
    """What the episode page's claims section needs: one query for the claims (with their areas and
    people); the rights come from the episode and the user's roles, read once per request."""
    return {
        "claims": claims.episode_claims(episode=episode),
        "can_draft_claim": can_draft_claim(user=user, episode=episode),
        "can_change_claim_status": can_change_claim_status(user=user),
    }


# --- Pages ------------------------------------------------------------------------------------------


@login_required
@GET_POST
def claim_new(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    require_draft_claim(user=request.user, episode=episode)
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claims.claim_create(
                actor=request.user,
                episode=episode,
                areas=form.cleaned_data["areas"],
                evidence=form.cleaned_data["evidence"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Claim saved as a draft")
            return redirect(_episode_claims_url(episode))
    return _page(
        request,
        "pathway/claims/claim_form.html",
        form=form,
        title="Start a Supporting Families claim",
        submit="Save as a draft",
        caption=f"{episode.family.name} family",
        back=_episode_claims_url(episode),
        intro="Claim for the headline outcomes in which the family has made significant and sustained "
        "progress. An early help manager verifies the evidence before the claim is submitted.",
    )


@login_required
@GET_POST
def claim_edit(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = claim_for_user(user=request.user, claim_id=claim_id)
    require_draft_claim(user=request.user, episode=claim.episode)
    # Only drafts change. A page opened on a draft that moved on meanwhile is still answered on POST,
    # with the conflict message, so that what the user typed is not lost.
    if request.method == "GET" and claim.status != ClaimStatus.DRAFT:
        raise Http404
    initial = (
        {}
        if request.method == "POST"
        else {
            "areas": [a.pk for a in claim.areas.all()],
            "evidence": claim.evidence,
            "version": claim.version,
        }
    )
    form = ClaimForm(request.POST or None, claim=claim, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            claims.claim_update(
                actor=request.user,
                claim=claim,
                areas=form.cleaned_data["areas"],
                evidence=form.cleaned_data["evidence"],
                version=form.cleaned_data["version"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            messages.success(request, "Claim changed")
            return redirect(_episode_claims_url(claim.episode))
    return _page(
        request,
        "pathway/claims/claim_form.html",
        form=form,
        title="Change the Supporting Families claim",
        submit="Save changes",
        caption=f"{claim.family.name} family",
        back=_episode_claims_url(claim.episode),
        decision=claims.claim_last_decision(claim=claim),
    )


@login_required
@GET_POST
def claim_status(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = claim_for_user(user=request.user, claim_id=claim_id)
    require_change_claim_status(user=request.user)
    form = ClaimStatusForm(
        request.POST or None, moves=claims.allowed_moves(claim=claim), initial={"version": claim.version}
    )
    if request.method == "POST" and form.is_valid():
        before = claim.status
        try:
            claims.claim_set_status(
                actor=request.user,
                claim=claim,
                status=form.cleaned_data["status"],
                version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            )
        except PathwayError as error:
            _fail(form, error)
        else:
            done = claims.MOVE_DONE[(before, form.cleaned_data["status"])]
            messages.success(request, f"Claim {done}")
            return redirect(_episode_claims_url(claim.episode))
    return _page(
        request,
        "pathway/claims/status_form.html",
        form=form,
        claim=claim,
        areas=list(claim.areas.all()),
        decision=claims.claim_last_decision(claim=claim),
        title="Change the status of the claim",
        submit="Confirm",
        caption=f"{claim.family.name} family",
        back=_episode_claims_url(claim.episode),
    )
