"""Two-factor authentication (docs/two-factor.md): required on every page for every role, set-up,
codes, throttling, recovery codes, the administrator's reset, API tokens and the demo secret."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ehcase.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, build_personas, demo_totp_key
from ehcase.demo import ensure_demo_devices_for_demo_password as demo_devices_for_password_users
from ehcase.models import AuditAction, AuditEvent, Membership, Role, User
from ehcase.two_factor import services
from ehcase.two_factor.middleware import EXEMPT_ROUTES
from ehcase.two_factor.paths import safe_next
from tests.test_permission_matrix import MATRIX
from tests.two_factor_support import confirmed_device, current_code, password_only_login

pytestmark = pytest.mark.django_db

VERIFY = "/accounts/two-factor/"


def _code_for(secret_base32: str) -> str:
    from base64 import b32decode

    return f"{totp(b32decode(secret_base32.replace(' ', ''))):06d}"


def _wrong_code(device: TOTPDevice) -> str:
    """A well-formed code that is not one the device accepts now (tolerance: one step either side)."""
    accepted = {f"{totp(device.bin_key, drift=d):06d}" for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


def _through(client) -> bool:
    """Whether the session has passed the second step: a page every verified user may see answers."""
    response = client.get(reverse("two_factor:recovery-codes"))
    assert response.status_code == 200 or response["Location"].startswith((VERIFY, reverse("login")))
    return response.status_code == 200


def _two_factor_events(user: User, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(actor=user, action=action).order_by("id"))


# --- Enforcement: every route, every persona ---------------------------------------------------------

# What the exempt routes answer a signed-in user who has not passed the second step: their own answer,
# never the middleware's redirect or JSON refusal.
EXEMPT_STATUS = {
    "login": {302},  # the sign-in view itself sends them on to the code page
    "logout": {405},  # POST only
    "healthz": {200, 503},  # 503 when no Celery worker runs in the test
    "schema": {200},
    "api-docs": {200},
    "api-token": {405},  # POST only
    "two_factor:verify": {200},
    "two_factor:setup": {302},  # they have a device: on to the code page
    "two_factor:recovery": {200},
}
GET_ROUTES = list({row[0]: row[1] for row in MATRIX}.items())


def test_exempt_routes_are_exactly_the_documented_ones():
    assert set(EXEMPT_STATUS) == set(EXEMPT_ROUTES)
    assert "admin:index" not in EXEMPT_ROUTES and "two_factor:recovery-codes" not in EXEMPT_ROUTES


def _get(client, url):
    savepoint = transaction.savepoint()
    try:
        return client.get(url)
    finally:
        transaction.savepoint_rollback(savepoint)


def _sent_to_second_step(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(VERIFY)


def _refused_as_unverified(response) -> bool:
    return (
        response.status_code == 403
        and response.get("Content-Type", "").startswith("application/json")
        and response.json().get("code") == "two_factor_required"
    )


def _unverified_answer_is_wrong(name: str, url: str, response) -> str | None:
    if name in EXEMPT_STATUS:
        if response.status_code not in EXEMPT_STATUS[name] or _refused_as_unverified(response):
            return f"{response.status_code} from an exempt route"
        if name not in ("login", "two_factor:setup") and _sent_to_second_step(response):
            return "an exempt route was sent to the second step"
        return None
    if url.startswith("/api/"):
        return None if _refused_as_unverified(response) else f"{response.status_code}, expected the JSON 403"
    return (
        None if _sent_to_second_step(response) else f"{response.status_code}, expected a redirect to {VERIFY}"
    )


def test_two_factor_is_enforced_on_every_page_for_every_role(personas):
    """For every persona, signed in with the password only: every route of the permission matrix is a
    redirect to the code page (a JSON 403 on the API), except the exempt routes. The routes' records are
    built once, as the matrix builds them. The other half (verified, no route asks again) is the
    permission matrix itself: it signs every persona in with both steps and expects each route's own
    answer, which a redirect to the code page would fail."""
    urls = [
        (name, reverse(name, kwargs=kwargs_fn(personas) if kwargs_fn else None))
        for name, kwargs_fn in GET_ROUTES
    ]
    wrong = []
    for username, user in personas.all_users().items():
        unverified = Client()
        password_only_login(unverified, user)
        for name, url in urls:
            problem = _unverified_answer_is_wrong(name, url, _get(unverified, url))
            if problem:
                wrong.append(f"{username} unverified GET {url}: {problem}")
    assert len(urls) > 100
    assert not wrong, "\n".join(wrong)


def test_unverified_api_call_is_json_not_a_redirect(client, personas):
    password_only_login(client, personas.sam)
    response = client.get("/api/families/")
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"
    assert "Ashworth" not in response.content.decode()


def test_django_admin_is_not_exempt(client, personas):
    password_only_login(client, personas.admin)
    response = client.get("/admin/ehcase/user/")
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)


def test_the_menu_waits_for_the_second_step(client, personas):
    password_only_login(client, personas.sam)
    page = client.get(reverse("two_factor:verify")).content.decode()
    assert "Sign out" in page and "My work" not in page and "Two-factor authentication</a>" not in page
    client.force_login(personas.sam)
    assert "My work" in client.get(reverse("ehcase:family-list")).content.decode()


# --- next -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/families/12/", "/families/12/"),
        ("/families/?q=Ashworth", "/families/"),  # a search may carry a name: the query is dropped
        ("https://evil.example/", "/"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http://testserver/families/", "/"),
        ("families/", "/"),
        ("/accounts/two-factor/?next=/x/", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_only_ever_a_local_path(value, expected):
    assert safe_next(value) == expected


def test_middleware_keeps_the_page_asked_for_without_its_query(client, personas):
    password_only_login(client, personas.sam)
    response = client.get(f"/families/{personas.ashworth.pk}/?q=Ashworth")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == VERIFY
    assert parse_qs(location.query) == {"next": [f"/families/{personas.ashworth.pk}/"]}
    code = current_code(confirmed_device(personas.sam))
    response = client.post(response["Location"], {"code": code, "next": f"/families/{personas.ashworth.pk}/"})
    assert response["Location"] == f"/families/{personas.ashworth.pk}/"


def test_next_cannot_send_anyone_off_site(client, personas):
    response = client.post(
        reverse("login") + "?next=https://evil.example/",
        {"username": "sam.practitioner", "password": DEMO_PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == VERIFY
    code = current_code(confirmed_device(personas.sam))
    response = client.post(VERIFY + "?next=//evil.example/", {"code": code, "next": "//evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


# --- Set-up -----------------------------------------------------------------------------------------


@pytest.fixture
def newcomer(personas) -> User:
    user = User.objects.create_user(username="new.practitioner", password=DEMO_PASSWORD, first_name="Nia")
    Membership.objects.create(user=user, agency=personas.riverside, role=Role.PRACTITIONER)
    return user


def _secret(page: str) -> str:
    return re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page).group(1)


def test_first_sign_in_sets_up_an_authenticator_app(client, newcomer):
    response = client.post(reverse("login"), {"username": "new.practitioner", "password": DEMO_PASSWORD})
    assert response["Location"] == reverse("two_factor:setup")
    # The code page sends someone without an app to set-up, and so does every other page.
    assert client.get(VERIFY)["Location"] == reverse("two_factor:setup")
    assert client.get("/")["Location"] == reverse("two_factor:setup")

    page = client.get(reverse("two_factor:setup")).content.decode()
    secret = _secret(page)
    assert len(secret.replace(" ", "")) == 32 and secret.count(" ") == 7  # grouped in fours
    assert (
        "<svg" in page and 'role="img"' in page and "<script" not in page.split("<svg")[1].split("</svg>")[0]
    )
    assert _secret(client.get(reverse("two_factor:setup")).content.decode()) == secret  # same on reload

    device = TOTPDevice.objects.get(user=newcomer)
    wrong = client.post(reverse("two_factor:setup"), {"code": _wrong_code(device)})
    assert wrong.status_code == 200
    body = wrong.content.decode()
    assert "That code is not right or has expired" in body and "govuk-error-summary" in body
    assert "Error: Set up two-factor authentication" in body
    assert not TOTPDevice.objects.get(user=newcomer).confirmed

    TOTPDevice.objects.filter(user=newcomer).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    done = client.post(reverse("two_factor:setup"), {"code": _code_for(secret)})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", done.content.decode())
    assert len(codes) == 10 == len(set(codes))
    assert "You will not be shown these codes again" in done.content.decode()
    assert TOTPDevice.objects.get(user=newcomer).confirmed
    assert StaticToken.objects.filter(device__user=newcomer).count() == 10
    assert _through(client)  # verified now
    assert client.get(reverse("two_factor:setup"))["Location"] == "/"  # no second set-up
    [setup_event] = _two_factor_events(newcomer, AuditAction.TWO_FACTOR)
    assert "set up" in setup_event.summary
    [failed] = _two_factor_events(newcomer, AuditAction.TWO_FACTOR_FAILED)
    assert failed.summary == "Wrong authenticator app code during set-up"


def test_session_key_changes_when_the_second_step_is_passed(client, personas):
    password_only_login(client, personas.sam)
    before = client.session.session_key
    client.post(VERIFY, {"code": current_code(confirmed_device(personas.sam))})
    assert client.session.session_key != before
    assert client.session[DEVICE_ID_SESSION_KEY] == confirmed_device(personas.sam).persistent_id


# --- Codes ------------------------------------------------------------------------------------------


def test_a_code_from_the_app_passes_the_second_step(client, personas):
    password_only_login(client, personas.hana)
    assert client.get(reverse("ehcase:family-list")).status_code == 302
    response = client.post(VERIFY, {"code": current_code(confirmed_device(personas.hana))})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(reverse("ehcase:family-list")).status_code == 200
    assert AuditEvent.objects.filter(
        actor=personas.hana, action=AuditAction.LOGIN, summary__contains="authenticator app code"
    ).exists()


def test_the_same_code_cannot_be_used_twice(personas):
    device = confirmed_device(personas.sam)
    code = current_code(device)
    first, second = Client(), Client()
    password_only_login(first, personas.sam)
    password_only_login(second, personas.sam)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    response = second.post(VERIFY, {"code": code})
    assert (
        response.status_code == 200 and "That code is not right or has expired" in response.content.decode()
    )


def test_wrong_code_is_an_error_next_to_the_field_kept_and_audited_without_the_code(client, personas):
    password_only_login(client, personas.sam)
    wrong = _wrong_code(confirmed_device(personas.sam))
    response = client.post(VERIFY, {"code": wrong})
    body = response.content.decode()
    assert response.status_code == 200
    assert '<a href="#id_code">That code is not right or has expired' in body  # error summary
    assert 'id="id_code-error"' in body  # and next to the field
    assert f'value="{wrong}"' in body  # what they typed is kept
    assert not _through(client)  # still not through
    [event] = _two_factor_events(personas.sam, AuditAction.TWO_FACTOR_FAILED)
    assert event.summary == "Wrong authenticator app code"
    assert wrong not in str(event.summary) + str(event.changes)


def test_malformed_code_is_a_form_error_and_not_an_attempt(client, personas):
    password_only_login(client, personas.sam)
    response = client.post(VERIFY, {"code": "12ab"})
    assert "Enter the code as 6 numbers" in response.content.decode()
    assert 'value="12ab"' in response.content.decode()
    response = client.post(VERIFY, {"code": ""})
    assert "Enter the 6-digit code from your authenticator app" in response.content.decode()
    assert confirmed_device(personas.sam).throttling_failure_count == 0
    assert not _two_factor_events(personas.sam, AuditAction.TWO_FACTOR_FAILED)


@override_settings(OTP_TOTP_THROTTLE_FACTOR=60)
def test_after_a_wrong_code_even_the_right_one_waits(client, personas):
    """django-otp's throttling: after n wrong codes the device checks nothing for 60 × 2^(n-1) s."""
    password_only_login(client, personas.sam)
    device = confirmed_device(personas.sam)
    client.post(VERIFY, {"code": _wrong_code(device)})
    response = client.post(VERIFY, {"code": current_code(device)})
    body = response.content.decode()
    assert response.status_code == 200
    assert "You have entered too many wrong codes. Wait" in body
    assert (
        re.search(r"Wait (\d+) seconds", body) and 50 < int(re.search(r"Wait (\d+) seconds", body)[1]) <= 60
    )
    assert not _through(client)
    summaries = [e.summary for e in _two_factor_events(personas.sam, AuditAction.TWO_FACTOR_FAILED)]
    assert summaries == [
        "Wrong authenticator app code",
        "Authenticator app code not checked: too many wrong codes",
    ]


# --- Recovery codes ---------------------------------------------------------------------------------


def test_a_recovery_code_works_once(personas):
    codes = services.recovery_codes_replace(actor=personas.sam)
    first, second = Client(), Client()
    password_only_login(first, personas.sam)
    password_only_login(second, personas.sam)
    assert "Use a recovery code instead" in first.get(VERIFY).content.decode()
    response = first.post(reverse("two_factor:recovery"), {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302 and response["Location"] == reverse("two_factor:recovery-codes")
    assert "You have 9 of 10 recovery codes left" in first.get(response["Location"]).content.decode()
    assert _through(first)
    again = second.post(reverse("two_factor:recovery"), {"code": codes[0]})
    assert again.status_code == 200
    assert "That recovery code is not right or has already been used" in again.content.decode()
    assert not _through(second)
    assert AuditEvent.objects.filter(
        actor=personas.sam, action=AuditAction.LOGIN, summary__contains="recovery code (9 left)"
    ).exists()
    failed = _two_factor_events(personas.sam, AuditAction.TWO_FACTOR_FAILED)
    assert [e.summary for e in failed] == ["Wrong recovery code"]
    assert codes[0] not in failed[0].summary and codes[0].replace("-", "") not in str(failed[0].changes)


def test_new_recovery_codes_stop_the_old_ones(client, personas):
    old = services.recovery_codes_replace(actor=personas.morgan)
    client.force_login(personas.morgan)
    page = client.get(reverse("two_factor:recovery-codes")).content.decode()
    assert "You have 10 of 10 recovery codes left" in page
    response = client.post(reverse("two_factor:recovery-codes"))
    new = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert "Your old recovery codes no longer work" in response.content.decode()
    assert AuditEvent.objects.filter(
        actor=personas.morgan, action=AuditAction.TWO_FACTOR, summary__startswith="Recovery codes replaced"
    ).exists()

    fresh = Client()
    password_only_login(fresh, personas.morgan)
    assert fresh.post(reverse("two_factor:recovery"), {"code": old[0]}).status_code == 200
    assert not _through(fresh)
    StaticDevice.objects.filter(user=personas.morgan).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    assert fresh.post(reverse("two_factor:recovery"), {"code": new[0]}).status_code == 302
    assert _through(fresh)


def test_replacing_recovery_codes_needs_the_second_step(client, personas):
    password_only_login(client, personas.sam)
    response = client.post(reverse("two_factor:recovery-codes"))
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert not StaticToken.objects.filter(device__user=personas.sam).exists()


# --- The administrator's reset ----------------------------------------------------------------------


def test_admin_reset_removes_devices_ends_sessions_and_is_audited(personas):
    services.recovery_codes_replace(actor=personas.sam)
    Token.objects.create(user=personas.sam)
    sam, admin = Client(), Client()
    sam.force_login(personas.sam)
    assert sam.get(reverse("ehcase:family-list")).status_code == 200
    admin.force_login(personas.admin)
    response = admin.post(
        reverse("admin:ehcase_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [personas.sam.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=personas.sam).exists()
    assert not StaticDevice.objects.filter(user=personas.sam).exists()
    assert not Token.objects.filter(user=personas.sam).exists()
    response = sam.get(reverse("ehcase:family-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))  # signed out
    assert _through(admin)  # the administrator is still signed in
    [event] = AuditEvent.objects.filter(actor=personas.admin, action=AuditAction.TWO_FACTOR)
    assert event.object_id == str(personas.sam.pk) and "1 session(s) ended" in event.summary
    # At the next sign-in Sam sets up an authenticator app again.
    response = sam.post(reverse("login"), {"username": "sam.practitioner", "password": DEMO_PASSWORD})
    assert response["Location"] == reverse("two_factor:setup")


def test_the_admin_shows_no_device_secrets(client, personas):
    client.force_login(personas.admin)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404


# --- API tokens -------------------------------------------------------------------------------------


def _token(data: dict):
    return APIClient().post("/api/token/", data, format="json")


def test_token_needs_a_current_code(personas):
    credentials = {"username": "sam.practitioner", "password": DEMO_PASSWORD}
    missing = _token(credentials)
    assert missing.status_code == 400 and "otp" in missing.json() and "token" not in missing.json()
    device = confirmed_device(personas.sam)
    wrong = _token({**credentials, "otp": _wrong_code(device)})
    assert wrong.status_code == 400 and wrong.json()["otp"] == [
        "That code is not right, has expired or has already been used"
    ]
    assert not Token.objects.filter(user=personas.sam).exists()
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    ok = _token({**credentials, "otp": current_code(device)})
    assert ok.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert {row["name"] for row in client.get("/api/families/").json()["results"]} == {"Ashworth", "Bennett"}
    assert (
        _two_factor_events(personas.sam, AuditAction.TWO_FACTOR_FAILED)[0].summary
        == "Wrong authenticator app code"
    )


def test_token_with_a_recovery_code_uses_it_up(personas):
    codes = services.recovery_codes_replace(actor=personas.chris)
    credentials = {"username": "chris.coordinator", "password": DEMO_PASSWORD, "otp": codes[3]}
    assert _token(credentials).status_code == 200
    assert services.recovery_codes_left(personas.chris) == 9
    again = _token(credentials)
    assert again.status_code == 400 and "otp" in again.json()


def test_token_wrong_password_says_nothing_about_the_code(personas):
    response = _token({"username": "sam.practitioner", "password": "wrong", "otp": "123456"})
    assert response.status_code == 400 and "otp" not in response.json()
    assert confirmed_device(personas.sam).throttling_failure_count == 0


def test_token_for_someone_without_an_app_asks_them_to_set_one_up(newcomer):
    response = _token({"username": "new.practitioner", "password": DEMO_PASSWORD, "otp": "123456"})
    assert response.status_code == 400
    assert response.json()["otp"] == ["Set up two-factor authentication first: sign in on the website"]


def test_schema_documents_the_code(client, personas):
    schema = client.get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/token/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert "otp" in component["properties"]


# --- Demo data --------------------------------------------------------------------------------------


def test_demo_secret_only_where_demo_data_is_allowed(db):
    with override_settings(DEMO_DATA_ALLOWED=False):
        build_personas()
    assert not TOTPDevice.objects.exists()
    with override_settings(DEMO_DATA_ALLOWED=True):
        personas = build_personas()
    devices = TOTPDevice.objects.filter(confirmed=True)
    assert {d.user_id for d in devices} == {u.pk for u in personas.all_users().values()}
    assert {d.key for d in devices} == {demo_totp_key()}
    assert DEMO_TOTP_SECRET == "EARLYHELPDEMOSECRETKEY2345ABCDEF"
    # The published secret is what an authenticator app would be given.
    client = Client()
    password_only_login(client, personas.quinn)
    TOTPDevice.objects.filter(user=personas.quinn).update(last_t=-1)
    assert client.post(VERIFY, {"code": _code_for(DEMO_TOTP_SECRET)})["Location"] == "/"


def test_seeded_staff_with_the_demo_password_get_the_demo_secret(personas):
    staff = User.objects.create(username="seeded.worker", password=make_password(DEMO_PASSWORD))
    other = User.objects.create(username="real.person", password=make_password("a-private-passphrase"))
    with override_settings(DEMO_DATA_ALLOWED=False):
        assert demo_devices_for_password_users() == 0
    assert demo_devices_for_password_users() == 1
    assert TOTPDevice.objects.get(user=staff).key == demo_totp_key()
    assert not TOTPDevice.objects.filter(user=other).exists()
    assert demo_devices_for_password_users() == 0  # safe to run again


def test_make_run_prints_the_demo_secret_the_personas_have():
    """scripts/run.py runs before Django is set up, so it keeps its own copy of the key: they must agree."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "run.py"
    spec = importlib.util.spec_from_file_location("ehcase_run_script", path)
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    assert f"add the key {DEMO_TOTP_SECRET} to an authenticator app" in run._banner("http://localhost/", True)
