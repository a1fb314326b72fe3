"""Demo requests for support: every hub gets a realistic queue (drafts, new, on a meeting's agenda,
overdue, and decided with every outcome), written through hubs.services. Idempotent."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from ehcase.models import Family, Membership, Role, User
from pathway.models import Episode, EpisodeStatus, OutcomeArea

from . import services
from .models import Hub, RequestForSupport, TriageOutcome

MARKER = "Demo request: "
REASONS = [
    "Attendance has fallen to 78% this term and the children often arrive late and hungry.",
    "Mum has told the health visitor she is struggling with low mood since the baby was born.",
    "Repeated police call-outs for arguments at home; the children were present.",
    "The family has rent arrears and has been served notice; the children are anxious.",
    "Behaviour at school has changed sharply; older sibling is a young carer for dad.",
    "Dad is in recovery from alcohol use and asks for support with routines.",
]
NEEDS = ["education", "health", "domestic_abuse", "housing", "family_relationships", "substance_use"]


def _referrer_for(hub: Hub, rng: random.Random) -> User | None:
    users = list(
        User.objects.filter(memberships__role=Role.PRACTITIONER, memberships__agency__hubs=hub)
        .distinct()
        .order_by("id")[:20]
    )
    return rng.choice(users) if users else None


def _coordinator_for(hub: Hub) -> User | None:
    membership = Membership.objects.filter(role=Role.HUB_COORDINATOR, hubs=hub).order_by("id").first()
    return membership.user if membership else None


def _draft(actor: User, family: Family, rng: random.Random, *, consent: bool = True) -> RequestForSupport:
    today = timezone.localdate()
    index = rng.randrange(len(REASONS))
    data = {
        "source": rng.choice(["2A", "3B", "3A", "6", "4"]),
        "urgency": rng.choice(["routine"] * 4 + ["urgent"]),
        "reasons": MARKER + REASONS[index],
        "tried_already": "Conversations with the family; school support plan.",
        "consent_given": consent,
    }
    if consent:
        data.update(
            consent_by="Parent",
            consent_on=today - dt.timedelta(days=rng.randint(0, 3)),
            consent_method=rng.choice(["verbal", "written"]),
        )
    else:
        data["no_consent_reason"] = "The parent could not be reached; concerns are growing."
    needs = list(OutcomeArea.objects.filter(code__in={NEEDS[index], rng.choice(NEEDS)}))
    return services.request_save_draft(actor=actor, family=family, data=data, needs=needs)


@transaction.atomic
def seed_requests(*, seed: int = 7) -> int:
    """Build each hub's queue once; returns the number of requests written (0 when already there)."""
    if RequestForSupport.objects.filter(reasons__startswith=MARKER).exists():
        return 0
    rng = random.Random(seed)
    written = 0
    today = timezone.localdate()
    for hub in Hub.objects.order_by("id"):
        coordinator = _coordinator_for(hub)
        # Families without an open episode, so that "open early help" decisions can succeed.
        open_families = Episode.objects.exclude(status=EpisodeStatus.CLOSED).values("family_id")
        families = list(
            Family.objects.filter(hub=hub)
            .exclude(id__in=open_families)
            .exclude(reference__startswith="F-DEMO")
            .order_by("id")[:12]
        )
        referrer = _referrer_for(hub, rng)
        if coordinator is None or referrer is None or len(families) < 10:
            continue
        meeting = services.hub_meeting_schedule(
            actor=coordinator,
            hub=hub,
            starts_at=timezone.now() + dt.timedelta(days=2),
            location=f"{hub} office",
        )
        sent = []
        for family in families[:9]:
            request = services.request_submit(
                actor=referrer, request=_draft(referrer, family, rng, consent=rng.random() > 0.15)
            )
            # Received on different days, some past the hub's target.
            received = today - dt.timedelta(days=rng.choice([0, 1, 3, 6, 9, 12]))
            RequestForSupport.objects.filter(pk=request.pk).update(received_on=received)
            request.refresh_from_db()
            sent.append(request)
        _draft(referrer, families[9], rng)  # a draft the referrer has not sent yet
        services.hub_meeting_add_to_agenda(actor=coordinator, meeting=meeting, requests=sent[:2])
        outcomes = [
            (TriageOutcome.NO_FURTHER_ACTION, {}),
            (TriageOutcome.SIGNPOSTING, {"signposting": "The family hub's drop-in on Thursdays can help."}),
            (TriageOutcome.SINGLE_AGENCY, {"agency": referrer.memberships.first().agency}),
            (TriageOutcome.EARLY_HELP, {"allocated_to": referrer}),
            (TriageOutcome.STEP_UP, {"social_care_reference": f"CSC-{rng.randint(100000, 999999)}"}),
        ]
        for request, (outcome, extra) in zip(sent[4:], outcomes, strict=True):
            services.triage_decide(
                actor=coordinator,
                request=request,
                outcome=outcome,
                rationale="Discussed with the hub partners.",
                decided_on=today,
                expected_version=request.version,
                **extra,
            )
        written += len(sent) + 1
    return written
