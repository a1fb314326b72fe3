"""Celery tasks for reminders. Beat runs the scan every few minutes and delivery every minute
(settings.CELERY_BEAT_SCHEDULE); both are idempotent, acknowledged late and rejected (so redelivered)
when the worker running them is lost. Nothing is lost when the broker is down: the scan finds what is
due from the database, claims live in PostgreSQL, and the next run after the broker returns sends them.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from . import scans
from .services import reminders_deliver

log = logging.getLogger(__name__)


def delivery_enqueue() -> None:
    """Queue a delivery run once the surrounding transaction commits. A broker outage is logged, not
    raised: the claims wait in the database for the next run."""

    def enqueue() -> None:
        try:
            deliver_reminders.delay()
        except Exception:  # noqa: BLE001 - the broker may be down; beat's next delivery run catches up
            log.warning("Could not queue reminder delivery; the next scheduled run will send them")

    transaction.on_commit(enqueue)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def scan_due_reminders(kinds: list[str] | None = None) -> dict[str, int]:
    """Claim every reminder that is due (the whole catalogue, or some kinds), then queue delivery."""
    claimed = scans.scan_all(kinds=kinds)
    if any(claimed.values()):
        delivery_enqueue()
    return claimed


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def scan_daily_emails() -> dict[str, int]:
    """The morning's daily emails: one per user with notifications waiting for it."""
    return scan_due_reminders(kinds=[scans.K.DAILY_EMAIL])


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_reminders(limit: int = 2000) -> dict[str, int]:
    """Send pending reminders, up to `limit` per run (a long backlog continues in a new task, so no task
    runs for long)."""
    result = reminders_deliver(limit=limit)
    if sum(vars(result).values()) >= limit:
        delivery_enqueue()
    return vars(result)
