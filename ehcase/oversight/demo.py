"""Demo oversight data, written through the services: an emergency access by Ola (South hub) to a
North family, long expired and reviewed by the early help manager, and one access alert (Quinn, the
auditor, opened more families in a day than the alert allows). Safe to run again."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from ehcase.audit import audit_view_family
from ehcase.demo import Personas
from ehcase.models import Family

from . import services
from .models import AccessAlert, BreakGlassAccess

DEMO_REASON = (
    "Called by the police at 18:40 about a child of this family found in our school's catchment out of "
    "hours; I needed the lead professional's contact details and the family's safety plan."
)
DEMO_REVIEW = "Spoke to Ola and to the police: the reason was sound and only the family page was opened."


def seed_oversight(personas: Personas) -> int:
    """Write the demo records that are missing; returns how many (0 on a rerun)."""
    p = personas
    written = 0
    if not BreakGlassAccess.objects.filter(user=p.ola, family=p.dixon).exists():
        p.ola.__dict__.pop("_ehcase_roles", None)
        access = services.break_glass_start(actor=p.ola, reference=p.dixon.reference, reason=DEMO_REASON)
        # Three days ago: the demo shows a use that is long over (its dates moved, as time would).
        three_days = dt.timedelta(days=3)
        BreakGlassAccess.objects.filter(pk=access.pk).update(
            started_at=access.started_at - three_days, expires_at=access.expires_at - three_days
        )
        access.refresh_from_db()
        services.break_glass_review(actor=p.morgan, access=access, note=DEMO_REVIEW, version=access.version)
        p.ola.__dict__.pop("_ehcase_roles", None)
        written += 1
    if not AccessAlert.objects.exists():
        limit = int(getattr(settings, "ACCESS_ALERT_FAMILIES_PER_DAY", 20))
        for family_id in Family.objects.order_by("id").values_list("id", flat=True)[: limit + 1]:
            audit_view_family(actor=p.quinn, family_id=family_id)
        written += len(services.access_alerts_raise(day=timezone.localdate()))
    return written
