"""Helpers for the oversight tests: emergency access started through the service, and moved in time by
changing its dates (never by sleeping)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ehcase.oversight import services
from ehcase.oversight.models import BreakGlassAccess
from tests.notifications.conftest import redis_clean, workers  # noqa: F401 - real Celery workers

REASON = "Police called out of hours about Jayden; I need the school contact and the plan."


def forget_roles(*users) -> None:
    """Drop the per-request role cache, as a new request would."""
    for user in users:
        user.__dict__.pop("_ehcase_roles", None)


def start(user, family, reason: str = REASON) -> BreakGlassAccess:
    forget_roles(user)
    access = services.break_glass_start(actor=user, reference=family.reference, reason=reason)
    forget_roles(user)
    return access


def shift(access: BreakGlassAccess, *, hours: float) -> BreakGlassAccess:
    """Move the access `hours` into the past (both ends, so it stays the same length)."""
    access.refresh_from_db()
    delta = dt.timedelta(hours=hours)
    BreakGlassAccess.objects.filter(pk=access.pk).update(
        started_at=access.started_at - delta, expires_at=access.expires_at - delta
    )
    access.refresh_from_db()
    return access


def expire(access: BreakGlassAccess) -> BreakGlassAccess:
    """Move the access into the past so that it ended a second ago."""
    access.refresh_from_db()
    return shift(access, hours=(access.expires_at - timezone.now()).total_seconds() / 3600 + 1 / 3600)
