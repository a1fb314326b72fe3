"""Demo sharing records for the Ashworth family, written through the services (so they are audited):
the assessment printed for a meeting with the school nurse, and a decision not to share with the
housing provider. Safe to run again: nothing is written when the family already has records."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ehcase.demo import Personas

from . import services
from .models import SharingConsent, SharingDecision, SharingMethod, SharingRecord


def seed_disclosure(personas: Personas) -> int:
    """Returns the number of sharing records written (0 when already there)."""
    family = personas.ashworth
    if SharingRecord.objects.filter(family=family).exists():
        return 0
    people = {m.person.first_name: m.person for m in family.members.select_related("person")}
    today = timezone.localdate()
    services.sharing_record_create(
        actor=personas.sam,
        family=family,
        decision=SharingDecision.SHARED,
        shared_on=today - dt.timedelta(days=12),
        what="The early help assessment and family plan",
        recipient_agency=personas.health_visiting,
        recipient="School nurse, at the team around the family meeting",
        method=SharingMethod.PRINTED_MEETING,
        purpose="To agree who supports Jayden's health needs at school",
        lawful_basis="consent",
        consent=SharingConsent.GIVEN,
        people=[p for name, p in people.items() if name in ("Kerry", "Jayden")],
    )
    services.sharing_record_create(
        actor=personas.sam,
        family=family,
        decision=SharingDecision.NOT_SHARED,
        shared_on=today - dt.timedelta(days=5),
        what="The family's address history and the plan",
        recipient="Housing officer, Coquet Housing",
        purpose="The housing provider asked for background on rent arrears",
        consent=SharingConsent.REFUSED,
        reason_not_shared="Kerry did not agree, and the request did not meet a lawful basis without consent",
        people=[people["Kerry"]] if "Kerry" in people else list(people.values())[:1],
    )
    return 2
