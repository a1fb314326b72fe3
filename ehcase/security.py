"""Security headers and limits applied to every request (docs/hardening.md).

- ContentSecurityPolicyMiddleware: a Content-Security-Policy on every response, with no inline
  script or style allowed; pages load their JavaScript and CSS from /static/ only.
- LoginRateLimitMiddleware: sign-in attempts counted per client address and per username in Redis
  (the "ratelimit" cache), so that the limits hold across web workers; over the limit, a 429 page.
- RequestSizeLimitMiddleware: a request body larger than MAX_REQUEST_BYTES is refused with a 413
  page before anything reads it (Django's own DATA_UPLOAD_MAX_MEMORY_SIZE covers form fields only,
  never uploaded files).
- bad_request: the 400 page (handler400), for request data too big to parse and other bad requests.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from .middleware import _client_ip

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that does not set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", CONTENT_SECURITY_POLICY)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


# --- Rate limits ----------------------------------------------------------------------------------

RATELIMIT_CACHE = "ratelimit"
WINDOW_SECONDS = 60


def clock() -> float:
    """The time the rate-limit windows are counted by (a seam so tests can hold a window still)."""
    return time.time()


def hit(key: str, *, limit: int, window: int = WINDOW_SECONDS) -> int | None:
    """Count one attempt against `key` in the current fixed window (shared by every worker through
    Redis). Returns None while within `limit`, otherwise the seconds until the window ends."""
    now = clock()
    window_start = int(now // window) * window
    cache = caches[RATELIMIT_CACHE]
    bucket = f"{key}:{window_start}"
    # add() sets the counter only if it is missing, so two workers racing both count.
    cache.add(bucket, 0, timeout=window + 5)
    count = cache.incr(bucket)
    if count > limit:
        return max(1, int(window_start + window - now) + 1)
    return None


def too_many_requests(request, retry_after: int):
    response = render(request, "errors/429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class LoginRateLimitMiddleware:
    """Limits sign-in POSTs per minute, per client address (LOGIN_RATE_PER_ADDRESS) and per
    username (LOGIN_RATE_PER_USERNAME), whether they succeed or fail: on the sign-in page and on
    the API's token exchange (/api/token/, which checks a password too; DRF's view for it has no
    throttling of its own). django-axes still locks an account after repeated failures; this stops
    guessing across many accounts from one address, and slows guessing at one account from many.
    Only a digest of the username is kept, in a counter's key that expires after a minute."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.paths: dict[str, bool] | None = None

    def __call__(self, request):
        if request.method == "POST":
            if self.paths is None:
                self.paths = {reverse("login"): False, reverse("api-token"): True}
            is_api = self.paths.get(request.path)
            if is_api is not None:
                retry_after = self._check(request, self._username(request, is_api))
                if retry_after is not None:
                    if is_api:
                        response = JsonResponse(
                            {"detail": f"Too many sign-in attempts. Try again in {retry_after} seconds."},
                            status=429,
                        )
                        response["Retry-After"] = str(retry_after)
                        return response
                    return too_many_requests(request, retry_after)
        return self.get_response(request)

    @staticmethod
    def _username(request, is_api: bool) -> str:
        if not is_api:
            value = request.POST.get("username", "")
        elif request.content_type == "application/json":
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = {}
            value = body.get("username", "") if isinstance(body, dict) else ""
        else:
            value = request.POST.get("username", "")
        return str(value).strip().lower()[:150]

    @staticmethod
    def _check(request, username: str) -> int | None:
        address = _client_ip(request) or "unknown"
        waits = [hit(f"login:address:{address}", limit=settings.LOGIN_RATE_PER_ADDRESS)]
        if username:
            # A digest, not the name: the key holds no username and only safe characters.
            digest = hashlib.sha256(username.encode()).hexdigest()
            waits.append(hit(f"login:username:{digest}", limit=settings.LOGIN_RATE_PER_USERNAME))
        waits = [w for w in waits if w is not None]
        return max(waits) if waits else None


# --- Request size ---------------------------------------------------------------------------------


class RequestSizeLimitMiddleware:
    """Refuses a request whose declared body is larger than MAX_REQUEST_BYTES, with a 413 page,
    before any of it is read or written to a temporary file."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BYTES:
            return render(
                request,
                "errors/413.html",
                {"limit_mb": settings.MAX_REQUEST_BYTES // (1024 * 1024)},
                status=413,
            )
        return self.get_response(request)


def bad_request(request, exception=None):
    """handler400: GOV.UK page for a request Django could not accept (including form data over
    DATA_UPLOAD_MAX_MEMORY_SIZE or with too many fields)."""
    return render(request, "errors/400.html", status=400)


# --- Search terms out of the address bar ------------------------------------------------------------

SEARCHES_SESSION_KEY = "searches"
SEARCHES_KEPT = 10


def search_remember(request, *, kind: str, data: dict) -> str:
    """Keep what a user searched for in their session under a random token, for a results page at
    `?search=<token>`: names, dates of birth and postcodes never go into a URL, so never into the
    browser history, proxy or access logs, or a Referer header. The latest SEARCHES_KEPT searches
    are kept; they go when the session does (sign-out or the idle timeout)."""
    searches = dict(request.session.get(SEARCHES_SESSION_KEY, {}))
    token = secrets.token_urlsafe(12)
    searches[token] = {"kind": kind, "data": data}
    while len(searches) > SEARCHES_KEPT:
        searches.pop(next(iter(searches)))
    request.session[SEARCHES_SESSION_KEY] = searches
    return token


def search_recall(request, *, kind: str, token: str | None) -> dict | None:
    """The search kept under `token` by search_remember, or None when it is unknown, expired or
    another kind of search (the caller then shows an empty form)."""
    if not token:
        return None
    found = request.session.get(SEARCHES_SESSION_KEY, {}).get(token)
    if not found or found.get("kind") != kind:
        return None
    return found["data"]
