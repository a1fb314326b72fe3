"""The notification centre: a user's own notifications and email choice. Thin views over selectors
and services; everyone signed in has a centre, and another user's notification is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .forms import PreferenceForm


@login_required
@require_http_methods(["GET"])
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page, "nav": "notifications"})


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notification_for_user(user=request.user, notification_id=notification_id)
    services.notification_mark_read(user=request.user, notification=notification)
    if request.headers.get("HX-Request"):
        notification.refresh_from_db()
        return render(request, "notifications/_item.html", {"n": notification, "swapped": True})
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read")
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            services.preference_set(user=request.user, email_frequency=form.cleaned_data["email_frequency"])
            messages.success(request, "Your email choice has been saved")
            return redirect("notifications:list")
    else:
        form = PreferenceForm(initial={"email_frequency": selectors.email_frequency_for(user=request.user)})
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "form_has_errors": form.is_bound and bool(form.errors), "nav": "notifications"},
    )
