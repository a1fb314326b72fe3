"""The Django admin's part in two-factor authentication: one action on users, "Reset two-factor
authentication". django-otp's own device pages are removed from the admin: they would show secrets
and recovery codes to system administrators, who only ever need the reset."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import logout
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.action(description="Reset two-factor authentication", permissions=["change"])
def reset_two_factor(modeladmin, request, queryset) -> None:
    """Removes the selected users' authenticator apps and recovery codes, revokes their API tokens and
    ends their sessions; each sets up again at their next sign-in. Audited per user."""
    users = list(queryset)
    for user in users:
        services.two_factor_reset(actor=request.user, user=user)
    modeladmin.message_user(
        request,
        f"Two-factor authentication reset for {len(users)} user{'s' if len(users) != 1 else ''}. "
        "They are signed out and will set up an authenticator app at their next sign-in.",
    )
    if any(user.pk == request.user.pk for user in users):
        # Their own session row is gone: start a fresh, signed-out one rather than save a deleted one.
        logout(request)
