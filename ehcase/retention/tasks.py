"""Celery tasks for retention. Beat runs the scan nightly (settings.CELERY_BEAT_SCHEDULE); an approval
queues the destruction when it commits. Both are idempotent, acknowledged late and redelivered when
the worker running them is lost: the scan inserts one review per record and due date, and destruction
does nothing unless the review is still approved."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from .models import DestructionReview, ReviewStatus
from .services import destroy_review as destroy_review_service
from .services import retention_scan

log = logging.getLogger(__name__)


def destroy_enqueue(*, review_id: int) -> None:
    """Queue the destruction once the approval commits. A broker outage is logged, not raised: the
    nightly scan queues every approved review again."""

    def enqueue() -> None:
        try:
            destroy_review.delay(review_id)
        except Exception:  # noqa: BLE001 - the broker may be down; the nightly scan catches up
            log.warning("Could not queue destruction of review %s; the nightly scan will", review_id)

    transaction.on_commit(enqueue)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def scan_retention() -> dict[str, int]:
    """List the records due for destruction for review; queue any approved destruction not yet done."""
    result = retention_scan()
    for review_id in DestructionReview.objects.filter(status=ReviewStatus.APPROVED).values_list(
        "pk", flat=True
    ):
        destroy_enqueue(review_id=review_id)
    return result


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def destroy_review(review_id: int) -> str:
    """Carry out one approved destruction (legal hold and due date checked again inside)."""
    return destroy_review_service(review_id=review_id)
