import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.utils.cache import add_never_cache_headers

from .audit import RequestContext, current_request


def _client_ip(request) -> str | None:
    # Behind the production proxy the address is in X-Forwarded-For (first hop we trust).
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Makes the request's address, browser and path available to audit_record."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(
            RequestContext(
                ip_address=_client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                path=request.path,
            )
        )
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


class NoStoreForAuthenticatedMiddleware:
    """Pages shown to a signed-in user hold case data: never keep them in a shared or browser cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/static/"):
            add_never_cache_headers(response)
        return response


SESSION_REFRESHED_KEY = "_refreshed_at"


def mark_session_refreshed(session) -> None:
    """Note in the session when its idle expiry was last pushed forward (it is saved with it)."""
    session[SESSION_REFRESHED_KEY] = int(time.time())


class IdleTimeoutMiddleware:
    """The idle timeout without a database write on every request.

    A session row's expiry is pushed SESSION_COOKIE_AGE into the future whenever the session is
    saved. Rather than saving it on every request (three statements each time, on every page), a
    signed-in session is saved when it changes anyway or when it was last saved more than
    SESSION_REFRESH_SECONDS ago. A session therefore ends between SESSION_COOKIE_AGE minus
    SESSION_REFRESH_SECONDS and SESSION_COOKIE_AGE after the user's last request. Sits inside
    SessionMiddleware, which does the saving."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a signed-in session: an API call with a token has none, and must not get one.
        if session is None or session.session_key is None or AUTH_SESSION_KEY not in session:
            return response
        last = session.get(SESSION_REFRESHED_KEY)
        if session.modified or last is None or time.time() - last >= settings.SESSION_REFRESH_SECONDS:
            mark_session_refreshed(session)
        return response
