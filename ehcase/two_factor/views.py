"""The two-factor pages: set up an authenticator app, enter its code, use a recovery code instead, and
replace the recovery codes. Thin views: form, service (ehcase/two_factor/services.py), redirect.

Set-up, the code page and the recovery code page are open to a signed-in user who has not yet passed
the second step (TwoFactorRequiredMiddleware lets them through); replacing recovery codes is not."""

from __future__ import annotations

import django_otp
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from ehcase.audit import audit_record
from ehcase.models import AuditAction

from . import services
from .forms import AppCodeForm, RecoveryCodeForm, wrong_code_message
from .paths import safe_next, with_next

GET_POST = require_http_methods(["GET", "POST"])


def _next(request: HttpRequest) -> str:
    return safe_next(request.POST.get("next") or request.GET.get("next"))


def _complete(request: HttpRequest, device, summary: str) -> None:
    """The second step passed: remember the device in the session (django-otp's session key, read by
    OTPMiddleware on every request) under a new session key, as on any change of privilege."""
    django_otp.login(request, device)
    request.session.cycle_key()
    audit_record(actor=request.user, action=AuditAction.LOGIN, summary=summary)


def _page(request, template: str, form, **context) -> HttpResponse:
    return render(
        request,
        template,
        {"form": form, "form_has_errors": form.is_bound and bool(form.errors), **context},
    )


@sensitive_post_parameters("code")
@login_required
@GET_POST
def verify(request: HttpRequest) -> HttpResponse:
    """ "Enter the code from your authenticator app": the second step of every sign-in."""
    next_path = _next(request)
    if request.user.is_verified():
        return redirect(next_path)
    device = services.app_device_for(request.user)
    if device is None:
        return redirect(with_next("two_factor:setup", next_path))
    form = AppCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = services.app_code_check(user=request.user, device=device, code=form.cleaned_data["code"])
        if check.ok:
            _complete(request, check.device, "Second step of sign-in: authenticator app code")
            return redirect(next_path)
        form.add_error("code", wrong_code_message(check))
    return _page(request, "registration/two_factor_verify.html", form, next=next_path)


@sensitive_post_parameters("code")
@login_required
@GET_POST
def recovery(request: HttpRequest) -> HttpResponse:
    """ "Use a recovery code instead": each code works once."""
    next_path = _next(request)
    if request.user.is_verified():
        return redirect(next_path)
    if not services.has_app_device(request.user):
        return redirect(with_next("two_factor:setup", next_path))
    form = RecoveryCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = services.recovery_code_check(user=request.user, code=form.cleaned_data["code"])
        if check.ok:
            left = check.remaining_recovery_codes
            _complete(request, check.device, f"Second step of sign-in: recovery code ({left} left)")
            return redirect(with_next("two_factor:recovery-codes", next_path))
        form.add_error("code", wrong_code_message(check, recovery=True))
    return _page(request, "registration/two_factor_recovery.html", form, next=next_path)


@sensitive_post_parameters("code")
@login_required
@GET_POST
def setup(request: HttpRequest) -> HttpResponse:
    """First sign-in: the secret as grouped text and as a QR code, a code to confirm it, then the
    recovery codes, shown once on the response to the confirming request (never stored in the session).
    Someone who already has an authenticator app is sent to the code page: replacing a device is the
    administrator's reset, not a self-service step a stolen password could take."""
    next_path = _next(request)
    if services.has_app_device(request.user):
        return redirect(
            next_path if request.user.is_verified() else with_next("two_factor:verify", next_path)
        )
    device = services.setup_device_for(request.user)
    form = AppCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check, codes = services.two_factor_setup_confirm(
            user=request.user, device=device, code=form.cleaned_data["code"]
        )
        if check.ok:
            _complete(request, check.device, "Second step of sign-in: authenticator app set up")
            return render(
                request,
                "registration/two_factor_codes.html",
                {"codes": codes, "just_set_up": True, "next": next_path},
            )
        form.add_error("code", wrong_code_message(check))
    secret = services.secret_base32(device)
    return _page(
        request,
        "registration/two_factor_setup.html",
        form,
        next=next_path,
        secret=services.grouped(secret),
        qr_code=services.qr_code_svg(device),
    )


@login_required
@GET_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """How many recovery codes are left, and new ones on request (the old ones stop working)."""
    if request.method == "POST":
        codes = services.recovery_codes_replace(actor=request.user)
        return render(request, "registration/two_factor_codes.html", {"codes": codes, "next": _next(request)})
    return render(
        request,
        "registration/two_factor_manage.html",
        {
            "left": services.recovery_codes_left(request.user),
            "count": services.RECOVERY_CODE_COUNT,
            "next": _next(request),
        },
    )
