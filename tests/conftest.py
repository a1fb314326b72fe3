"""Shared fixtures. `personas` builds the same cast as the demo data (see ehcase/demo.py):
North hub families worked by Sam and Hana, a South hub practitioner (Ola) with none of them."""

import pytest

from ehcase.demo import Personas, build_personas


@pytest.fixture
def personas(db) -> Personas:
    return build_personas()


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """Two-factor authentication is required on every page (docs/two-factor.md). For every test,
    django.test.Client.force_login (and so APIClient's, and the `login` fixture) is wrapped to sign in
    AND pass the second step through django-otp's own session key, with a real confirmed device
    (tests/two_factor_support.py). For a password-only session use
    tests.two_factor_support.password_only_login."""
    from django.test import Client

    from tests.two_factor_support import verified_force_login

    monkeypatch.setattr(Client, "force_login", verified_force_login)


@pytest.fixture
def login(client):
    """Sign a persona in on the test client, both steps: `login(personas.sam)`."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


def pytest_configure(config):
    from django.conf import settings

    # Hashing speed matters for the suite, not for what is tested: logins still check passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # WhiteNoise indexes every static file (GOV.UK Frontend's included) when its middleware is built,
    # and the test client builds the middleware afresh for every Client: ~0.7 s a test. Looking files
    # up when they are asked for serves the same files with the same headers.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no sign-in or API requests counted (ehcase/security.py): the limits are
    counted in the real Redis, which outlives a test. Only the rate-limit keys are deleted, never the
    whole database (the Celery broker may share it)."""
    from tests.ratelimits import clear_rate_limits

    clear_rate_limits()
    yield
