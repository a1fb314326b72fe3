"""Two-factor sign-in in a real browser: the first sign-in sets up an authenticator app (the key read
from the page, the code computed as an app would), then a sign-in with a code, then one with a
recovery code; every page checked with axe-core."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ehcase.demo import DEMO_PASSWORD
from ehcase.models import Membership, Role, User
from tests.browser.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _password(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url


def test_set_up_then_sign_in_with_a_code_and_with_a_recovery_code(page, personas):
    user = User.objects.create_user(username="new.practitioner", password=DEMO_PASSWORD, first_name="Nia")
    Membership.objects.create(user=user, agency=personas.riverside, role=Role.PRACTITIONER)

    # First sign-in: the set-up page.
    _password(page, "new.practitioner")
    assert "/accounts/two-factor/set-up/" in page.url
    page.get_by_role("heading", name="Set up two-factor authentication").wait_for()
    assert page.get_by_role("img", name="QR code to scan with your authenticator app").is_visible()
    assert page.get_by_role("link", name="Families").count() == 0  # no menu before the second step
    assert_accessible(page)
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")

    # A wrong code first: an error, and what was typed is kept.
    page.get_by_label("Code from your authenticator app").fill("12345")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    page.get_by_role("heading", name="There is a problem").wait_for()
    assert page.get_by_label("Code from your authenticator app").input_value() == "12345"
    assert page.title().startswith("Error:")
    assert_accessible(page)

    page.get_by_label("Code from your authenticator app").fill(f"{totp(b32decode(secret)):06d}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    page.get_by_role("heading", name="Two-factor authentication is set up").wait_for()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert_accessible(page)
    page.get_by_role("link", name="Create new recovery codes").click()
    page.wait_for_load_state()
    page.get_by_role("heading", name="Two-factor authentication").wait_for()
    assert "You have 10 of 10 recovery codes left" in page.locator("#recovery-codes-left").inner_text()
    assert_accessible(page)
    _sign_out(page)

    # Again, with a code. The app would show the next 30-second step's code; rather than wait for it,
    # the step just used is cleared (django-otp refuses a step already used).
    TOTPDevice.objects.filter(user=user).update(last_t=-1)
    _password(page, "new.practitioner")
    page.get_by_role("heading", name="Enter the code from your authenticator app").wait_for()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(f"{totp(b32decode(secret)):06d}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert "/accounts/" not in page.url
    page.get_by_role("link", name="Two-factor authentication").wait_for()
    _sign_out(page)

    # And with a recovery code instead.
    _password(page, "new.practitioner")
    page.get_by_text("Use a recovery code instead").click()
    page.get_by_role("link", name="Use a recovery code").click()
    page.wait_for_load_state()
    page.get_by_role("heading", name="Enter a recovery code").wait_for()
    assert_accessible(page)
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert "You have 9 of 10 recovery codes left" in page.locator("#recovery-codes-left").inner_text()
    assert_accessible(page)
