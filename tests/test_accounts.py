"""Sign in and out, lockout after repeated failures, idle timeout, and audit of each."""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from ehcase.models import AuditEvent
from tests.two_factor_support import confirmed_device, current_code

pytestmark = pytest.mark.django_db


def test_sign_in_with_username_and_password(client, personas):
    response = client.post(reverse("login"), {"username": "sam.practitioner", "password": "early-help-demo"})
    # The password is the first step: then the code from the authenticator app (docs/two-factor.md).
    assert response.status_code == 302 and response["Location"] == reverse("two_factor:verify")
    assert client.get(reverse("ehcase:family-list")).status_code == 302
    assert AuditEvent.objects.filter(action="login", actor=personas.sam).exists()
    code = current_code(confirmed_device(personas.sam))
    response = client.post(reverse("two_factor:verify"), {"code": code})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(reverse("ehcase:family-list")).status_code == 200


def test_wrong_password_is_a_clear_error_and_keeps_the_username(client, personas):
    response = client.post(reverse("login"), {"username": "sam.practitioner", "password": "wrong"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter a correct username and password" in body
    assert 'value="sam.practitioner"' in body
    assert 'value="wrong"' not in body
    assert AuditEvent.objects.filter(action="login_failed", summary__contains="sam.practitioner").exists()


def test_lockout_after_repeated_failures(client, personas):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "hana.healthvisitor", "password": "nope"})
    response = client.post(
        reverse("login"), {"username": "hana.healthvisitor", "password": "early-help-demo"}
    )
    assert response.status_code == 429
    assert "Your account is locked for now" in response.content.decode()
    assert client.get(reverse("ehcase:family-list")).status_code == 302  # still signed out
    # Someone else can still sign in.
    ok = client.post(reverse("login"), {"username": "sam.practitioner", "password": "early-help-demo"})
    assert ok.status_code == 302


def test_sign_out(client, personas):
    client.force_login(personas.sam)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("ehcase:family-list")).status_code == 302
    assert AuditEvent.objects.filter(action="logout", actor=personas.sam).exists()


def test_idle_sessions_expire(client, personas):
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from ehcase.middleware import SESSION_REFRESHED_KEY

    client.force_login(personas.sam)
    client.get(reverse("ehcase:family-list"))
    session = client.session
    row = Session.objects.get(session_key=session.session_key)
    assert settings.SESSION_COOKIE_AGE <= 60 * 60
    age = (row.expire_date - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < age <= settings.SESSION_COOKIE_AGE
    # A request within SESSION_REFRESH_SECONDS of the last refresh writes nothing to the session.
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("ehcase:family-list")).status_code == 200
    assert not [q for q in queries if q["sql"].startswith("UPDATE \"django_session\"")]
    # Once the last refresh is older than that, a request pushes the expiry forward again.
    session[SESSION_REFRESHED_KEY] -= settings.SESSION_REFRESH_SECONDS + 1
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + dt.timedelta(seconds=120)
    )
    assert client.get(reverse("ehcase:family-list")).status_code == 200
    pushed = Session.objects.get(session_key=session.session_key).expire_date
    assert (pushed - timezone.now()).total_seconds() > settings.SESSION_COOKIE_AGE - 60
    # An expired session is a signed-out one.
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now())
    assert client.get(reverse("ehcase:family-list")).status_code == 302


def test_passwords_are_hashed(personas):
    assert personas.sam.password != "early-help-demo"
    assert personas.sam.check_password("early-help-demo")


def test_case_pages_are_never_cached(client, personas):
    client.force_login(personas.sam)
    response = client.get(reverse("ehcase:family-detail", args=[personas.ashworth.pk]))
    assert "no-store" in response["Cache-Control"]
