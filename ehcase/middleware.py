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
