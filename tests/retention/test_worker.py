"""The retention job through a real Celery worker on the test database: the nightly task lists the
record, and an approval queues a destruction that the worker carries out."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ehcase.demo import build_personas
from ehcase.models import Family
from ehcase.retention import services
from ehcase.retention.models import DestructionLog, DestructionReview, ReviewStatus
from ehcase.retention.tasks import scan_retention
from tests.notifications.conftest import redis_clean, wait_for, workers  # noqa: F401

from .conftest import old_family, years_ago


@pytest.mark.django_db(transaction=True)
def test_the_job_runs_through_a_real_worker_and_honours_legal_hold(workers):  # noqa: F811
    personas = build_personas()
    today = timezone.localdate()
    due = old_family(personas, name="Workerdue", closed_on=years_ago(today, 8))
    held = old_family(personas, name="Workerheld", closed_on=years_ago(today, 8))
    services.legal_hold_place(actor=personas.morgan, family=held, reason="Court case")
    workers.start()

    scan_retention.delay()
    review = wait_for(
        lambda: DestructionReview.objects.filter(object_id=due.pk, status=ReviewStatus.AWAITING).first(),
        what="the review listed by the worker",
    )
    assert not DestructionReview.objects.filter(object_id=held.pk).exists()

    services.review_approve(actor=personas.morgan, review=review, version=review.version)  # commits
    wait_for(lambda: DestructionLog.objects.filter(review=review).exists(), what="the destruction")
    assert not Family.objects.filter(pk=due.pk).exists()
    assert Family.objects.filter(pk=held.pk).exists()

    # Running the job again lists nothing new.
    scan_retention.delay()
    wait_for(lambda: True)
    before = DestructionReview.objects.count()
    result = scan_retention.apply().get()
    assert result["families"] == 0
    assert DestructionReview.objects.count() == before
