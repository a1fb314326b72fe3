"""Permission-matrix rows for retention rules, legal holds and destruction: early help managers decide,
quality auditors read (403 for decisions), everyone else gets 404 (docs/retention.md)."""

from __future__ import annotations

from tests.matrix_support import _row

READ = _row(morgan=200, quinn=200, anon=302, others=404)
DECIDE = _row(morgan=200, quinn=403, anon=302, others=404)


def _review(p) -> dict:
    """A family closed nine years ago, listed for review by the scan."""
    import datetime as dt

    from django.utils import timezone

    from ehcase.retention.models import DestructionReview
    from ehcase.retention.services import retention_scan
    from tests.retention.conftest import old_family, years_ago

    review = DestructionReview.objects.filter(record_class="family").first()
    if review is None:
        from ehcase.retention.defaults import ensure_default_rules

        ensure_default_rules()
        today = timezone.localdate()
        old_family(p, name="Matrix", closed_on=years_ago(today, 9) - dt.timedelta(days=1))
        retention_scan(today=today)
        review = DestructionReview.objects.get(record_class="family")
    return {"review_id": review.pk}


def _hold(p) -> dict:
    from ehcase.retention.models import LegalHold

    hold = LegalHold.objects.filter(lifted_at__isnull=True).first() or LegalHold.objects.create(
        family=p.ashworth, reason="Court case", placed_by=p.morgan
    )
    return {"hold_id": hold.pk}


def _ashworth(p) -> dict:
    return {"family_id": p.ashworth.pk}


# (route name, url kwargs function of the personas, method, form data, expected statuses)
ROWS: list = [
    ("retention:review-list", None, "get", None, READ),
    ("retention:review-approve", _review, "get", None, DECIDE),
    # An empty form: the manager sees the page again with the error; nothing is approved.
    ("retention:review-approve", _review, "post", {}, DECIDE),
    ("retention:review-defer", _review, "get", None, DECIDE),
    ("retention:review-defer", _review, "post", {}, DECIDE),
    ("retention:hold-list", None, "get", None, READ),
    ("retention:hold-place", _ashworth, "get", None, DECIDE),
    ("retention:hold-place", _ashworth, "post", {}, DECIDE),
    ("retention:hold-lift", _hold, "get", None, DECIDE),
    ("retention:hold-lift", _hold, "post", {}, DECIDE),
    ("retention:log-list", None, "get", None, READ),
]
