"""Two-factor authentication on every page: a signed-in user who has not passed the second step is sent
to it (or, on the API, answered with JSON). Runs after django_otp.middleware.OTPMiddleware, which sets
request.user.is_verified() from the device remembered in the session."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve

from .paths import PREFIX, entry_url, safe_next

# Routes an unverified user may reach (docs/two-factor.md): the two-factor steps themselves, signing in
# and out, the health check, and the API's schema, docs and token exchange, which hold no case data
# (the token exchange asks for a code of its own). Django admin pages are not among them.
EXEMPT_ROUTES = frozenset(
    {
        "login",
        "logout",
        "healthz",
        "schema",
        "api-docs",
        "api-token",
        "two_factor:verify",
        "two_factor:setup",
        "two_factor:recovery",
    }
)
# Static files and GOV.UK Frontend's fonts and images (WhiteNoise serves them before us in production).
EXEMPT_PREFIXES = ("/static/", "/assets/")
API_PREFIX = "/api/"


def is_exempt(path: str) -> bool:
    if path.startswith(EXEMPT_PREFIXES):
        return True
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.view_name in EXEMPT_ROUTES


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_exempt(request.path_info):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse(
                {
                    "detail": "Two-factor authentication is required. Finish signing in on the website "
                    f"({PREFIX}), or use a token from /api/token/ obtained with a code.",
                    "code": "two_factor_required",
                },
                status=403,
            )
        next_path = safe_next(request.get_full_path()) if request.method in ("GET", "HEAD") else "/"
        return HttpResponseRedirect(entry_url(user, next_path))
