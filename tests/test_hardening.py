"""Hardening (docs/hardening.md): production settings, the Content-Security-Policy, no-store, no
personal data in URLs or logs, rate limits in Redis, sessions and API tokens ending with the
password or the account, and uploads."""

from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import resolve, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from assessments.models import ConsentRecord
from assessments.tasks import render_assessment_pdf
from ehcase.models import AuditEvent
from ehcase.security import CONTENT_SECURITY_POLICY, RATELIMIT_CACHE
from tests.test_permission_matrix import ashworth_assessment, ashworth_episode

ROOT = Path(__file__).resolve().parent.parent
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def token_client(user) -> tuple[APIClient, Token]:
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client, token


# --- 1. manage.py check --deploy -----------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "EHCASE_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "early-help.example.gov.uk",
        "CSRF_TRUSTED_ORIGINS": "https://early-help.example.gov.uk",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ehcase"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
    env.pop("DJANGO_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)" in result.stdout


# --- 2. Content-Security-Policy --------------------------------------------------------------------


def test_policy_allows_no_inline_script_or_style():
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "who, path",
    [
        (None, "/accounts/login/"),
        ("sam", "/families/"),
        ("sam", "/families/999999999/"),  # the 404 page
        ("sam", "/api/families/"),
        ("sam", "/api/docs/"),
        ("sam", "/api/docs/?script="),
        ("admin", "/admin/"),
        (None, "/static/js/app.mjs"),
    ],
)
def test_every_response_carries_the_policy(personas, who, path):
    client = signed_in(getattr(personas, who)) if who else Client()
    response = client.get(path)
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path


def test_api_docs_script_is_a_separate_file(personas):
    client = signed_in(personas.sam)
    page = client.get("/api/docs/").content.decode()
    assert re.search(r'<script src="[^"]*\?script=', page)
    assert "<style" not in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* event handler attribute"),
]


def _templates() -> list[Path]:
    found = list((ROOT / "templates").rglob("*.html"))
    for app in ("ehcase", "hubs", "pathway", "assessments", "reporting"):
        found += list((ROOT / app).rglob("templates/**/*.html"))
    return found


def test_no_template_has_inline_script_style_or_event_handlers():
    problems = []
    for path in _templates():
        if path.parent.name == "pdf":
            continue  # rendered by WeasyPrint, never served as a page (pdf_job.html is a page: checked)
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert len(_templates()) > 50
    assert problems == []


def test_charts_use_presentation_attributes_not_style():
    for source in (ROOT / "reporting" / "charts.py", ROOT / "pathway" / "charts.py"):
        text = source.read_text(encoding="utf-8")
        assert "style=" not in text and "<style" not in text, source


def test_htmx_adds_no_inline_style_or_eval(personas):
    page = signed_in(personas.sam).get("/families/").content.decode()
    assert (
        '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, "allowEval": false}\'>' in page
    )


# --- 3. Cache-Control: no-store ----------------------------------------------------------------------


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_signed_in_pages_and_the_login_page_are_not_stored(personas):
    assert _no_store(Client().get("/accounts/login/"))
    client = signed_in(personas.sam)
    for path in ["/families/", f"/families/{personas.ashworth.pk}/", "/notifications/"]:
        response = client.get(path)
        assert response.status_code == 200 and _no_store(response), path


def test_api_responses_are_not_stored_with_a_token_or_a_session(personas):
    api, _ = token_client(personas.sam)
    for response in (
        api.get("/api/families/"),
        api.get(f"/api/families/{personas.ashworth.pk}/"),
        api.post("/api/families/search/", {"q": "Ashworth"}, format="json"),
        signed_in(personas.sam).get("/api/families/"),
    ):
        assert response.status_code == 200 and _no_store(response)


def test_pdf_and_csv_downloads_are_not_stored(personas):
    ids = ashworth_assessment(personas)
    sam = signed_in(personas.sam)
    asked = sam.post(reverse("assessments:assessment-pdf", args=[ids["assessment_id"]]))
    assert asked.status_code == 302
    job_id = resolve(asked["Location"]).kwargs["job_id"]
    page = sam.get(asked["Location"])
    assert page.status_code == 200 and _no_store(page)
    render_assessment_pdf(job_id)
    pdf = sam.get(reverse("assessments:pdf-job-download", args=[job_id]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and _no_store(pdf)
    morgan = signed_in(personas.morgan)
    csv = morgan.get(reverse("reporting:csv", args=["all"]))
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv") and _no_store(csv)


# --- 4. No personal data in URLs or logs ---------------------------------------------------------------

SEARCH = {"q": "Jayden", "date_of_birth_day": "3", "date_of_birth_month": "2", "date_of_birth_year": "2016"}


def test_search_redirects_to_a_token_and_keeps_the_typed_values(personas):
    client = signed_in(personas.sam)
    response = client.post(reverse("ehcase:family-list"), SEARCH)
    assert response.status_code == 302
    location = response["Location"]
    assert re.fullmatch(r"/families/\?search=[A-Za-z0-9_-]{16}", location), location
    page = client.get(location)
    assert [f.name for f in page.context["page"].object_list] == ["Ashworth"]
    body = page.content.decode()
    assert 'value="Jayden"' in body and 'value="2016"' in body  # the form shows what was searched
    assert "1 family found" in body
    # The token means nothing in another session, and an unknown one is the empty form.
    other = signed_in(personas.sam).get(location)
    assert other.context["form"].is_bound is False and other.context["searched"] is False
    assert client.get("/families/?search=made-up").context["searched"] is False


def test_bad_search_shows_errors_and_keeps_what_was_typed(personas):
    client = signed_in(personas.sam)
    response = client.post(
        reverse("ehcase:family-list"),
        {**SEARCH, "date_of_birth_day": "30", "date_of_birth_month": "2"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "govuk-error-summary" in body and "Date of birth of a family member must be a real date" in body
    assert 'value="Jayden"' in body and 'value="30"' in body
    assert list(response.context["page"].object_list) == []


def test_search_results_paginate_with_the_token(personas):
    from ehcase.permissions import grant_family_access
    from hubs.models import HubArea
    from tests.factories import FamilyFactory

    area = HubArea.objects.get(name="Hexham")
    for _ in range(51):
        grant_family_access(user=personas.ola, family=FamilyFactory(area=area, name="Zebedee"))
    client = signed_in(personas.ola)
    location = client.post(reverse("ehcase:family-list"), {"q": "Zebedee"})["Location"]
    first = client.get(location)
    assert first.context["page"].paginator.count == 51
    token = location.split("search=")[1]
    assert f'href="?search={token}&amp;page=2"' in first.content.decode()
    second = client.get(f"{location}&page=2")
    assert len(second.context["page"].object_list) == 1 and second.context["searched"]


def test_no_page_form_sends_personal_data_by_get():
    """GET forms may carry ids, codes and dates of reporting periods only; the search POSTs."""
    found = {}
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r'<form[^>]*method="get"', text, re.I):
            found.setdefault(str(path.relative_to(ROOT)), 0)
            found[str(path.relative_to(ROOT))] += 1
    # Each of these filters by ids and codes only: a hub's localities, urgencies and agencies; the
    # reporting quarter, hub and agency; the chronology's kinds of entry; a family reference (an
    # opaque code, F-7K2Q9ZX4) for legal holds; a staff username, family reference, dates and action
    # in the audit search. None carries a family member's name, date of birth, address or free text.
    assert set(found) <= {
        "templates/hubs/queue.html",
        "templates/reporting/_dash_filters.html",
        "templates/pathway/chronology.html",
        "templates/retention/hold_list.html",
        "templates/oversight/audit_search.html",
    }, found


def test_api_list_refuses_search_terms_in_the_url(personas):
    api, _ = token_client(personas.chris)
    for params in ({"q": "carter"}, {"date_of_birth": "2014-06-09"}):
        response = api.get("/api/families/", params)
        assert response.status_code == 400
        assert "POST /api/families/search/" in response.json()["detail"]


def test_api_search_takes_a_json_body(personas):
    api, _ = token_client(personas.chris)
    response = api.post("/api/families/search/", {"date_of_birth": "2014-06-09"}, format="json")
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Bennett"]
    bad = api.post("/api/families/search/", {"date_of_birth": "2999-01-01"}, format="json")
    assert bad.status_code == 400 and "date_of_birth" in bad.json()
    outsider, _ = token_client(personas.ola)
    assert outsider.post("/api/families/search/", {"q": "Carter"}, format="json").json()["count"] == 0


def test_nothing_logged_for_a_search_names_what_was_searched(personas, caplog):
    client = signed_in(personas.sam)
    api, _ = token_client(personas.sam)
    with caplog.at_level(logging.DEBUG):
        location = client.post(reverse("ehcase:family-list"), {**SEARCH, "q": "Jayden Qwertyson"})["Location"]
        client.get(location)
        api.post("/api/families/search/", {"q": "Qwertyson", "date_of_birth": "2016-02-03"}, format="json")
        api.get("/api/families/", {"q": "Qwertyson"})  # refused, with a 400 (logged as a warning)
        client.post(reverse("ehcase:family-list"), {**SEARCH, "q": "Qwertyson", "date_of_birth_day": "31"})
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "Bad Request: /api/families/" in logged  # the logs were captured
    assert "Qwertyson" not in logged and "2016-02-03" not in logged and "2016" not in logged


def test_access_logs_hold_the_path_without_the_query_string():
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import run
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    run_format = run.ACCESS_LOG_FORMAT
    match = re.search(r"--access-logformat '([^']+)'", (ROOT / "docker" / "entrypoint.sh").read_text())
    assert match and match.group(1) == run_format
    atoms_used = set(re.findall(r"%\(\w\)s", run_format))
    assert "%(U)s" in atoms_used and not {"%(r)s", "%(q)s", "%(f)s"} & atoms_used  # no query, no Referer
    logger = Logger(Config())
    request = SimpleNamespace(
        headers=[("USER-AGENT", "test")],
        method="GET",
        path="/families/",
        query="q=Jayden+Ashworth&date_of_birth=2016-02-03",
        version=(1, 1),
        uri="/families/?q=Jayden+Ashworth&date_of_birth=2016-02-03",
    )
    response = SimpleNamespace(status="200 OK", headers=[], sent=100, response_length=100)
    environ = {
        "REMOTE_ADDR": "10.0.0.1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": request.uri,
        "PATH_INFO": "/families/",
        "QUERY_STRING": request.query,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    import datetime as dt

    atoms = logger.atoms(response, request, environ, dt.timedelta(seconds=0.1))
    line = run_format % atoms
    assert "/families/" in line and "200" in line
    assert "Jayden" not in line and "2016" not in line and "?" not in line


# --- 5. Rate limits --------------------------------------------------------------------------------


@pytest.fixture
def steady_window(monkeypatch):
    """Hold the rate-limit clock 30 s into a window, so a test's attempts cannot straddle two
    fixed windows (at a minute boundary the counter would start again and the limit not trip)."""
    import ehcase.security

    start = (int(time.time()) // 60 + 1) * 60
    monkeypatch.setattr(ehcase.security, "clock", lambda: start + 30.0)


def _login(client: Client, username: str, password: str = "wrong-password-1"):
    return client.post("/accounts/login/", {"username": username, "password": password})


@override_settings(LOGIN_RATE_PER_USERNAME=3, LOGIN_RATE_PER_ADDRESS=100, AXES_FAILURE_LIMIT=100)
def test_sign_in_is_limited_per_username(personas, steady_window):
    client = Client()
    for _ in range(3):
        assert _login(client, "sam.practitioner").status_code == 200
    response = _login(Client(REMOTE_ADDR="10.1.1.1"), "Sam.Practitioner")  # another address, same user
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    body = response.content.decode()
    assert "Too many attempts" in body and "govuk-heading-l" in body
    # The correct password does not get through either, and nothing was audited as a sign-in.
    assert _login(client, "sam.practitioner", "early-help-demo").status_code == 429
    assert not AuditEvent.objects.filter(actor=personas.sam, action="login").exists()
    # Another username is not held up.
    assert _login(client, "hana.healthvisitor").status_code == 200


@override_settings(LOGIN_RATE_PER_USERNAME=100, LOGIN_RATE_PER_ADDRESS=3, AXES_FAILURE_LIMIT=100)
def test_sign_in_is_limited_per_address_in_redis(personas, steady_window):
    client = Client(REMOTE_ADDR="10.2.2.2")
    for name in ("a.one", "b.two", "c.three"):
        assert _login(client, name).status_code == 200
    assert _login(client, "d.four").status_code == 429
    assert _login(Client(REMOTE_ADDR="10.2.2.3"), "d.four").status_code == 200
    # The counters are in the shared Redis (every web worker sees them), not in this process.
    cache = caches[RATELIMIT_CACHE]
    raw = cache._cache.get_client()
    keys = [k.decode() for k in raw.scan_iter(match=cache.make_key("login:address:10.2.2.2:*"))]
    assert len(keys) == 1 and int(raw.get(keys[0])) == 4
    assert 0 < raw.ttl(keys[0]) <= 65


def test_axes_lockout_still_applies_after_repeated_failures(personas, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        _login(client, "hana.healthvisitor")
    response = _login(client, "hana.healthvisitor", "early-help-demo")
    assert "Your account is locked for now" in response.content.decode()


@override_settings(API_THROTTLE_RATES={"user": "3/min", "anon": "2/min"})
def test_api_is_throttled_per_user_with_a_json_429(personas, steady_window):
    api, _ = token_client(personas.sam)
    for _ in range(3):
        assert api.get("/api/agencies/").status_code == 200
    response = api.get("/api/hubs/")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "throttled" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 61
    # Another user has their own allowance.
    other, _ = token_client(personas.hana)
    assert other.get("/api/agencies/").status_code == 200


@override_settings(LOGIN_RATE_PER_USERNAME=2, LOGIN_RATE_PER_ADDRESS=100, AXES_FAILURE_LIMIT=100)
def test_token_exchange_is_limited_like_sign_in(personas, steady_window):
    body = {"username": "hana.healthvisitor", "password": "wrong"}
    assert APIClient().post("/api/token/", body, format="json").status_code == 400
    assert APIClient().post("/api/token/", body, format="json").status_code == 400
    response = APIClient(REMOTE_ADDR="10.3.3.3").post("/api/token/", body, format="json")
    assert response.status_code == 429 and "Too many sign-in attempts" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1


@override_settings(API_THROTTLE_RATES={"user": "1000/min", "anon": "2/min"})
def test_signed_out_api_requests_are_throttled_per_address(personas, steady_window):
    client = APIClient(REMOTE_ADDR="10.3.3.4")
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/schema/").status_code == 429


def test_default_limits_are_generous_and_configurable(settings):
    assert settings.LOGIN_RATE_PER_ADDRESS == int(os.environ.get("LOGIN_RATE_PER_ADDRESS", "20"))
    assert settings.API_THROTTLE_RATES["user"] == os.environ.get("API_RATE_USER", "1200/min")
    assert settings.CACHES[RATELIMIT_CACHE]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


# --- 6. Sessions and tokens end with the password or the account -----------------------------------


def _still_signed_in(client: Client) -> bool:
    return client.get("/notifications/").status_code == 200


def test_password_change_ends_other_sessions_and_api_tokens(personas):
    user = personas.hana
    browser = signed_in(user)
    api, token = token_client(user)
    assert _still_signed_in(browser) and api.get("/api/families/").status_code == 200
    user.set_password("a-new-long-password-2026")
    user.save()
    assert not _still_signed_in(browser)
    assert api.get("/api/families/").status_code == 401
    assert not Token.objects.filter(pk=token.pk).exists()


def test_disabling_an_account_ends_its_sessions_and_api_tokens(personas):
    user = personas.hana
    browser = signed_in(user)
    api, _ = token_client(user)
    user.is_active = False
    user.save()
    assert not _still_signed_in(browser)
    assert api.get("/api/families/").status_code == 401
    assert not Token.objects.filter(user=user).exists()


def test_other_saves_keep_the_token(personas):
    user = personas.hana
    api, token = token_client(user)
    user.job_title = "Senior health visitor"
    user.save()
    from django.utils import timezone

    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert Token.objects.filter(pk=token.pk).exists()
    assert api.get("/api/families/").status_code == 200


def test_admin_password_change_ends_the_users_sessions_and_tokens(personas):
    user = personas.hana
    browser = signed_in(user)
    api, _ = token_client(user)
    admin = signed_in(personas.admin)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = admin.post(
        url,
        {
            "password1": "another-long-password-2026",
            "password2": "another-long-password-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not _still_signed_in(browser)
    assert api.get("/api/families/").status_code == 401


# --- 7. Uploads -------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _consent_form(personas) -> tuple[str, dict]:
    import datetime as dt

    episode_id = ashworth_episode(personas)["episode_id"]
    kerry = personas.ashworth.members.get(person__first_name="Kerry").person
    today = dt.date.today()
    return reverse("assessments:consent-add", args=[episode_id]), {
        "person": kerry.pk,
        "given_by": kerry.pk,
        "method": "written",
        "agrees_to_sharing": "yes",
        "sharing_basis": "consent",
        "given_on_day": str(today.day),
        "given_on_month": str(today.month),
        "given_on_year": str(today.year),
    }


@pytest.mark.parametrize(
    "name, data, content_type, message",
    [
        (
            "big.png",
            PNG + b"\x00" * (5 * 1024 * 1024),
            "image/png",
            "The evidence file must be smaller than 5MB",
        ),
        (
            "page.pdf",
            b"<html><script>alert(1)</script></html>",
            "application/pdf",
            "must be a PDF, JPEG or PNG",
        ),
        ("photo.pdf", PNG, "application/pdf", "must be a PDF, JPEG or PNG"),
        ("page.html", b"<html></html>", "text/html", "must be a PDF, JPEG or PNG"),
    ],
)
def test_evidence_is_checked_by_size_and_content(personas, name, data, content_type, message):
    url, form = _consent_form(personas)
    client = signed_in(personas.sam)
    response = client.post(
        url, {**form, "evidence": SimpleUploadedFile(name, data, content_type=content_type)}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "govuk-error-summary" in body and message in body
    assert 'value="consent"' in body or "checked" in body  # what was chosen is still there
    assert not ConsentRecord.objects.filter(evidence_name=name).exists()


def test_allowed_evidence_is_kept_and_served_only_through_the_checked_view(personas):
    url, form = _consent_form(personas)
    client = signed_in(personas.sam)
    upload = SimpleUploadedFile("signed.png", PNG, content_type="image/png")
    assert client.post(url, {**form, "evidence": upload}).status_code == 302
    consent = ConsentRecord.objects.get(evidence_name="signed.png")
    download = reverse("assessments:consent-evidence", args=[consent.pk])
    assert signed_in(personas.ola).get(download).status_code == 404
    assert not AuditEvent.objects.filter(actor=personas.ola, summary="Consent evidence downloaded").exists()
    response = signed_in(personas.hana).get(download)
    assert response.status_code == 200 and response.content == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'attachment; filename="consent-{consent.pk}.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(
        actor=personas.hana, summary="Consent evidence downloaded", family_id=personas.ashworth.pk
    ).exists()


def test_a_request_over_the_size_limit_gets_a_page_not_a_500(personas, settings):
    url, form = _consent_form(personas)
    client = signed_in(personas.sam)
    huge = SimpleUploadedFile(
        "huge.pdf", b"%PDF" + b"0" * settings.MAX_REQUEST_BYTES, content_type="application/pdf"
    )
    response = client.post(url, {**form, "evidence": huge})
    assert response.status_code == 413
    assert "What you sent is too large" in response.content.decode()
    assert not ConsentRecord.objects.filter(evidence_name="huge.pdf").exists()


def test_form_data_over_the_memory_limit_gets_the_400_page(personas, settings):
    url, form = _consent_form(personas)
    client = signed_in(personas.sam)
    response = client.post(url, {**form, "notes": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Sorry, there is a problem with what was sent" in body and "govuk-heading-l" in body


def test_uploads_stay_in_memory_and_media_is_not_served(personas, settings):
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE >= settings.MAX_REQUEST_BYTES
    assert signed_in(personas.sam).get("/media/consent-1.pdf").status_code == 404


def test_the_sign_in_counters_hold_no_username(db):
    Client().post(reverse("login"), {"username": "Kerry.Ashworth-Login", "password": "wrong-password"})
    cache = caches[RATELIMIT_CACHE]
    keys = [k.decode() for k in cache._cache.get_client().scan_iter(match=cache.make_key("*"))]
    assert any(":login:username:" in k for k in keys), keys
    assert not any("kerry" in k.lower() for k in keys), keys
