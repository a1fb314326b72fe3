"""Celery tasks for reporting.

`refresh_snapshots` runs nightly (settings.CELERY_BEAT_SCHEDULE, 02:30): it recalculates the current and
previous quarter's snapshots for every scope already stored, every hub together and each hub, so the
dashboard opens on figures at most a day old without calculating on the request path. It is idempotent
(each snapshot is an upsert under an advisory lock), acknowledged late and redelivered if the worker is
lost; a rerun simply recalculates again.
"""

from __future__ import annotations

from celery import shared_task

from .services import refresh_recent


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def refresh_snapshots() -> int:
    """Recalculate the recent quarters' snapshots; returns how many were recalculated."""
    return refresh_recent()
