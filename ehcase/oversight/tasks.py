"""The daily access check (settings.CELERY_BEAT_SCHEDULE, early morning). Safe to run again: an alert
is unique per user, day and kind, so a rerun or a redelivered task raises nothing new."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from .services import access_alerts_raise


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def raise_access_alerts(day: str | None = None) -> int:
    """Raise the alerts for `day` (ISO date; yesterday by default). Returns how many were new."""
    return len(access_alerts_raise(day=dt.date.fromisoformat(day) if day else None))
