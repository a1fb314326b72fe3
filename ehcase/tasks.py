"""Celery tasks of the core. Beat runs them (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task

from .partitions import audit_partitions_ensure

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def ensure_audit_partitions() -> list[str]:
    """Daily: the audit table's partitions for this month and the months ahead, and a partition of its
    own for any month whose events landed in DEFAULT (docs/audit.md). Idempotent."""
    created = audit_partitions_ensure()
    if created:
        log.info("Audit partitions created: %s", ", ".join(created))
    return created
