"""Where an unverified user is sent, and the `next` they come back to."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ehcase.models import User

from . import services

PREFIX = "/accounts/two-factor/"


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to after the second step, or `default`. Only the path is kept: never
    another site (no scheme, no host, no `//` or `\\` tricks), never the two-factor or sign-in pages
    themselves, and no query string, which may carry a search for a name (no personal data in URLs)."""
    if not value:
        return default
    try:
        parts = urlsplit(value)
    except ValueError:
        return default
    path = "" if parts.scheme or parts.netloc else parts.path
    if (
        not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or not url_has_allowed_host_and_scheme(path, allowed_hosts=None)
        or path.startswith((PREFIX, "/accounts/login/", "/accounts/logout/"))
    ):
        return default
    return path


def with_next(route: str, next_path: str) -> str:
    url = reverse(route)
    return f"{url}?{urlencode({'next': next_path})}" if next_path and next_path != "/" else url


def entry_url(user: User, next_path: str) -> str:
    """The code page for a user with an authenticator app, the set-up page for one without."""
    route = "two_factor:verify" if services.has_app_device(user) else "two_factor:setup"
    return with_next(route, next_path)
