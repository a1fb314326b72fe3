"""API rate limits (docs/hardening.md): requests per user (token or session) and, for the few
operations open to the signed-out (the token exchange, the schema), per client address.

Counted in Redis through ehcase.security.hit, one counter per caller per window, so that the limits
hold across gunicorn workers and containers. DRF's own SimpleRateThrottle keeps a list of request
times per caller, read and rewritten on every request: at the rates the API is meant to carry that
list is large, and two workers writing it at once lose counts. The rates are read from
settings.API_THROTTLE_RATES on every request, so they follow the environment and override_settings.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from ehcase.middleware import _client_ip
from ehcase.security import hit

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'1200/min' → (1200, 60)."""
    number, period = rate.split("/")
    return int(number), PERIODS[period.strip()[0]]


class ApiRateThrottle(BaseThrottle):
    """One limit for signed-in callers (by user id), another for the signed-out (by address)."""

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            scope, ident = "user", str(user.pk)
        else:
            scope, ident = "anon", _client_ip(request._request) or "unknown"
        rate = settings.API_THROTTLE_RATES.get(scope)
        if not rate:
            return True
        limit, window = parse_rate(rate)
        self.retry_after = hit(f"api:{scope}:{ident}", limit=limit, window=window)
        return self.retry_after is None

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)
