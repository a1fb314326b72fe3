"""Signing in on the test client with both steps, through django-otp's own session mechanism.

tests/conftest.py installs `verified_force_login` as django.test.Client.force_login for every test, so
the many `client.force_login(user)` calls (and the `login` fixture) give a session that passed the
second step. `password_only_login` is the explicit way to get a session that has not (the
enforcement tests in tests/test_two_factor.py).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.test import Client
from django.test.client import ClientMixin
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ehcase.demo import demo_totp_key

# Django's own force_login: defined on ClientMixin, which tests/conftest.py leaves alone (it replaces
# the method on Client), so this is the original whatever the import order.
_password_only_force_login = ClientMixin.force_login


def confirmed_device(user) -> TOTPDevice:
    """The user's confirmed authenticator app; one with the demo secret is added if they have none
    (personas have one already, from ehcase.demo)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="Test authenticator app", key=demo_totp_key(), confirmed=True
        )
    return device


def current_code(device: TOTPDevice) -> str:
    """What the authenticator app shows now. The device's last-used time step is cleared first:
    django-otp accepts a code only from a later step than the last one used, and a test that signs the
    same user in twice within 30 seconds would otherwise be refused."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def password_only_login(client: Client, user, backend=None) -> None:
    """Signed in with the password step only: every page sends them to the two-factor step."""
    _password_only_force_login(client, user, backend)


def verified_force_login(client: Client, user, backend=None) -> None:
    """Django's force_login, then django_otp.login with the user's confirmed device on the same
    session: the session holds django-otp's device key exactly as after the real second step."""
    _password_only_force_login(client, user, backend)
    device = confirmed_device(user)
    request = HttpRequest()
    request.session = client.session
    request.user = user
    otp_login(request, device)
    request.session.save()
    assert client.session.get(DEVICE_ID_SESSION_KEY) == device.persistent_id
