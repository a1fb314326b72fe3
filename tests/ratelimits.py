"""Helpers for the rate-limit counters kept in Redis (ehcase/security.py)."""

from __future__ import annotations

from django.core.cache import caches

from ehcase.security import RATELIMIT_CACHE


def clear_rate_limits() -> None:
    """Delete every rate-limit counter (keys under the cache's prefix), and nothing else."""
    cache = caches[RATELIMIT_CACHE]
    client = cache._cache.get_client(write=True)
    pattern = cache.make_key("*")
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.delete(*keys)
