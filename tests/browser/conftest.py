"""Playwright driving Debian's Chromium against pytest-django's live server.

Browser tests skip only when no Chromium exists and CI is unset; under CI a missing browser fails.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing under CI: install Debian's chromium package")
        pytest.skip("no Chromium on this machine (set CHROMIUM_PATH)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Reports every Content-Security-Policy violation in the page to the test (through a Playwright
# binding, which the policy cannot block): installed before any of the page's own scripts run.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolation({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  })
})
"""


@pytest.fixture
def page(browser, live_server):
    """A page with the Content-Security-Policy enforced (never bypass_csp). Any violation on any page
    the test visits fails the test: `page.csp_violations` lists them as they happen."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    violations: list[dict] = []
    context.expose_binding(
        "__cspViolation", lambda source, report: violations.append({"url": source["page"].url, **report})
    )
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    # Chromium also reports a violation on the console (some, like a blocked inline event handler,
    # reach the page's event late or never).
    page.on(
        "console",
        lambda message: (
            violations.append({"url": page.url, "console": message.text})
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.csp_violations = violations
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + json.dumps(violations, indent=2)


def assert_accessible(page) -> None:
    """Run axe-core (from the npm package) on the current page: no serious or critical violations.

    axe is evaluated through the DevTools protocol (page.evaluate), which the page's
    Content-Security-Policy does not govern; a <script> tag (page.add_script_tag) would be an
    inline script, which the policy blocks."""
    loaded = page.evaluate("() => {\n" + _axe_source() + "\n;return typeof window.axe?.run}")
    assert loaded == "function", f"axe-core did not load on {page.url}"
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    assert result["passes"], f"axe-core checked nothing on {page.url}"
    serious = [
        v
        for v in result["violations"]
        if v["impact"] in ("serious", "critical") and not _govuk_conditional_reveal(v)
    ]
    assert not serious, f"axe-core on {page.url}:\n" + json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"][:5]],
            }
            for v in serious
        ],
        indent=2,
    )


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def _govuk_conditional_reveal(violation: dict) -> bool:
    """GOV.UK Frontend puts aria-expanded on radios and checkboxes that reveal a conditional question,
    on purpose (govuk-frontend issue 979); axe-core reports it as aria-allowed-attr. Only that exact
    case is set aside: any other node or rule still fails."""
    return violation["id"] == "aria-allowed-attr" and all(
        "aria-expanded" in node["html"]
        and ("govuk-radios__input" in node["html"] or "govuk-checkboxes__input" in node["html"])
        for node in violation["nodes"]
    )


def sign_in(page, username: str, password: str = "early-help-demo") -> None:
    """Both sign-in steps, as a person would: the password, then the code an authenticator app set up
    with the demo secret shows now (django_otp.oath.totp; docs/two-factor.md). A user without an app is
    given one with the demo secret first. django-otp accepts a code only from a later 30-second step
    than the last one used, so the device's last-used step is cleared in the test database before each
    sign-in: a test may sign the same persona in twice within 30 seconds."""
    from ehcase.models import User
    from tests.two_factor_support import confirmed_device, current_code

    code = current_code(confirmed_device(User.objects.get(username=username)))
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
