"""Celery tasks for requests for support.

`send_decision_to_referrer` emails the referrer the hub's decision: the outcome, the allocated worker and
agency and the signposting text, which is what "My requests" shows them, and never the family's name or
details (the email leaves the system, and the referrer may not see the family's record at all).

Queue it after the decision commits: `decision_notify_referrer(decision=...)` (hubs.services.triage_decide
is the place, or the coordinator's view right after it).
"""

from __future__ import annotations

import logging
from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from ehcase.audit import audit_record
from ehcase.models import AuditAction, AuditEvent

from .models import TriageDecision

log = logging.getLogger(__name__)

DECISION_EMAILED = "Decision emailed to the referrer"


def decision_notify_referrer(*, decision: TriageDecision) -> None:
    """Queue the email once the surrounding transaction commits (never for a decision rolled back)."""
    decision_id = decision.pk

    def enqueue() -> None:
        try:
            send_decision_to_referrer.delay(decision_id)
        except Exception:  # noqa: BLE001 - a broker outage must not fail the decision already saved
            # The decision stands and My requests shows it; the email is not sent. (Catching up on
            # missed notifications when the broker returns comes with the reminders work.)
            log.exception("Could not queue the decision email for decision %s", decision_id)

    transaction.on_commit(enqueue)


def _already_emailed(decision: TriageDecision) -> bool:
    return AuditEvent.objects.filter(
        object_type=decision._meta.label_lower, object_id=str(decision.pk), summary=DECISION_EMAILED
    ).exists()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
)
def send_decision_to_referrer(decision_id: int) -> bool:
    """Email the referrer the decision, once. Idempotent by decision: the "decision emailed" audit event
    is the marker, checked and written under a lock on the decision row, so a retried or duplicated task
    sends nothing more. A decision superseded before it was emailed is skipped (the newer one is sent).

    Returns whether an email was sent."""
    from .referrals import hub_label, referrer_decisions

    with transaction.atomic():
        decision = (
            TriageDecision.objects.select_for_update(of=("self",))
            .select_related(
                "request__referrer", "request__hub", "request__family__hub", "agency", "allocated_to"
            )
            .filter(pk=decision_id)
            .first()
        )
        if decision is None or _already_emailed(decision):
            return False
        if TriageDecision.objects.filter(supersedes=decision).exists():
            return False
        rfs = decision.request
        referrer = rfs.referrer
        if not referrer.email or not referrer.is_active:
            log.info("Decision %s: referrer has no email address or is inactive", decision.pk)
            return False
        seen = referrer_decisions([decision])[decision.pk]
        site = getattr(settings, "SITE_URL", "").rstrip("/")
        context = {
            "referrer": referrer,
            "rfs": rfs,
            "decision": seen,
            # Not the family's name: even when the referrer may see it, it does not belong in an email.
            "hub": hub_label(rfs, visible=False),
            # An absolute link needs the site's address (SITE_URL); without it the email says where to look.
            "url": (site + reverse("referrals:my-request", args=[rfs.pk])) if site else "",
            "service_name": settings.SERVICE_NAME,
        }
        send_mail(
            subject=f"Decision on your request for support {rfs.pk}",
            message=render_to_string("referrals/decision_email.txt", context),
            from_email=None,
            recipient_list=[referrer.email],
        )
        audit_record(
            actor=None,
            action=AuditAction.EXPORT,
            obj=decision,
            family_id=rfs.family_id,
            summary=DECISION_EMAILED,
            changes={"to": [None, referrer.username], "outcome": [None, decision.outcome]},
        )
    return True
