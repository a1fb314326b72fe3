"""Demo requests for support.

* ``seed_requests``: every hub of the demo county gets a realistic queue (drafts, new, on a meeting's
  agenda, overdue, and decided with every outcome), written through hubs.services. Idempotent.
* ``RequestRows``: the large tier's requests and triage decisions as rows for COPY (ehcase.seeding),
  as hubs.services would have written them (without their audit events): a request before each
  episode the hub opened (decided "open an early help episode" the day the episode opened), and
  requests that ended without an episode (no further action, signposting, single-agency support, step
  up to children's social care, or still waiting for a decision when sent in the last few days).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence

from django.db import transaction
from django.utils import timezone

from ehcase.models import Family, Membership, Role, User
from pathway.demo import REQUESTS, EpisodeStory, Facts, moment, weighted
from pathway.models import ChronologyKind, Episode, EpisodeSource, EpisodeStatus, OutcomeArea

from . import services
from .models import Hub, RequestForSupport, RequestStatus, TriageOutcome, Urgency

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


# --------------------------------------------------------------------------------------------
# The large tier: rows for COPY

REQUEST_FIELDS = (
    "id",
    "family",
    "hub",
    "referrer",
    "referrer_agency",
    "status",
    "source",
    "urgency",
    "reasons",
    "tried_already",
    "consent_given",
    "consent_by",
    "consent_on",
    "consent_method",
    "no_consent_reason",
    "received_on",
    "is_re_referral",
    "created_at",
    "updated_at",
    "version",
)
REQUEST_NEED_FIELDS = ("requestforsupport", "outcomearea")
DECISION_FIELDS = (
    "request",
    "outcome",
    "rationale",
    "decided_on",
    "decided_by",
    "signposting",
    "agency",
    "allocated_to",
    "social_care_reference",
    "episode",
    "created_at",
)
# Requests that end without an episode, a year a family is known (before those overlapping an episode
# are left out), and how the hub decides them.
REQUESTS_A_YEAR = 0.55
OTHER_OUTCOMES = (
    (TriageOutcome.NO_FURTHER_ACTION, 22),
    (TriageOutcome.SIGNPOSTING, 30),
    (TriageOutcome.SINGLE_AGENCY, 38),
    (TriageOutcome.STEP_UP, 10),
)
RATIONALES = {
    TriageOutcome.NO_FURTHER_ACTION: (
        "Needs are met by universal services; the referrer was told why and how to ask again.",
        "The family declined further support when the hub spoke with them.",
    ),
    TriageOutcome.SIGNPOSTING: (
        "Information and advice is enough for now; the family know how to come back.",
        "A single worry the family can sort out with the right information.",
    ),
    TriageOutcome.SINGLE_AGENCY: (
        "The referring agency can meet the needs with its own support; no multi-agency plan needed.",
        "One service is enough: the hub agreed support from the agency that knows the family.",
    ),
    TriageOutcome.STEP_UP: (
        "Threshold for children's social care met: passed to the front door the same day.",
        "New information about harm to a child: referred to children's social care.",
    ),
    TriageOutcome.EARLY_HELP: (
        "Needs across the family at level 3: early help assessment agreed with the family.",
        "Several services involved and worries growing: an early help assessment and a team around "
        "the family.",
    ),
}
SIGNPOSTS = (
    "The family hub's drop-in on Thursdays, and the online parenting course.",
    "Citizens Advice debt line, the local food bank and the benefits calculator.",
    "The school nurse drop-in and the Kooth online counselling service for young people.",
    "The children's centre stay-and-play sessions and the health visiting advice line.",
)
TRIED = (
    "Conversations with the family; school support plan.",
    "Pastoral support in school and a meeting with the parents.",
    "Health visitor contacts and advice on routines.",
    "Advice by phone; the family have been referred to the food bank.",
)
NO_CONSENT = (
    "The parent could not be reached; concerns are growing.",
    "Information shared under public task: the family were not told yet to keep a child safe.",
)
OTHER_NEEDS = (
    "family_relationships",
    "health",
    "financial_stability",
    "housing",
    "education",
    "domestic_abuse",
)
RE_REFERRAL_DAYS = services.RE_REFERRAL_WINDOW.days
_OUTCOME_LABEL = {o.value: o.label.lower() for o in TriageOutcome}


class RequestRows:
    """Requests for support, their needs, triage decisions and chronology lines for the large tier.
    ``agency_of`` gives a worker's agency id, ``source_of`` the referral source of an agency id,
    ``area_ids`` outcome area ids by code; ``ids`` (to ``add``) gives request ids."""

    def __init__(
        self,
        *,
        rng: random.Random,
        today: dt.date,
        now: dt.datetime,
        area_ids: dict[str, int],
        agency_of: Callable[[int], int | None],
        source_of: Callable[[int | None], str],
    ):
        self.rng = rng
        self.today = today
        self.now = now
        self.area_ids = area_ids
        self.agency_of = agency_of
        self.source_of = source_of
        self.rows: dict[str, list[tuple]] = {
            "requests": [],
            "request_needs": [],
            "decisions": [],
            "chronology": [],
        }

    def add(
        self,
        *,
        family_id: int,
        hub_id: int,
        coordinator: int | None,
        workers: Sequence[int],
        known_since: dt.date,
        facts: Facts,
        stories: Sequence[EpisodeStory],
        episode_ids: Sequence[int],
        ids: Iterator[int],
    ) -> None:
        if not workers:
            return
        closures = sorted(s.closure.on for s in stories if s.closure is not None)
        busy = [
            (s.first_day - dt.timedelta(days=21), s.closure.on if s.closure else self.today) for s in stories
        ]
        for story, episode_id in zip(stories, episode_ids, strict=True):
            if story.source == EpisodeSource.TRIAGE and story.requested_on is not None:
                self._episode_request(family_id, hub_id, facts, story, episode_id, closures, ids)
        self._other_requests(family_id, hub_id, coordinator, workers, known_since, facts, busy, closures, ids)

    # -- parts ---------------------------------------------------------------------------------

    def _request(
        self,
        *,
        family_id: int,
        hub_id: int,
        referrer: int,
        facts: Facts,
        received: dt.date,
        reasons: str,
        needs: Sequence[str],
        closures: Sequence[dt.date],
        decided: dt.datetime | None,
        ids: Iterator[int],
    ) -> tuple[int, bool]:
        rng = self.rng
        request_id = next(ids)
        agency = self.agency_of(referrer)
        urgent = rng.random() < 0.12
        re_referral = any(0 <= (received - on).days <= RE_REFERRAL_DAYS for on in closures if on <= received)
        consent = rng.random() < 0.93
        submitted = moment(received, 9, 30)
        self.rows["requests"].append(
            (
                request_id,
                family_id,
                hub_id,
                referrer,
                agency,
                RequestStatus.DECIDED if decided else RequestStatus.NEW,
                self.source_of(agency),
                Urgency.URGENT if urgent else Urgency.ROUTINE,
                reasons,
                rng.choice(TRIED),
                consent,
                facts.consent_from if consent else "",
                received - dt.timedelta(days=rng.randint(0, 3)) if consent else None,
                weighted(rng, (("verbal", 55), ("written", 45))) if consent else "",
                "" if consent else rng.choice(NO_CONSENT),
                received,
                re_referral,
                submitted - dt.timedelta(minutes=rng.randint(10, 600)),
                min(decided or submitted, self.now),
                3 if decided else 2,
            )
        )
        codes = [c for c in dict.fromkeys(needs) if c in self.area_ids] or [rng.choice(OTHER_NEEDS)]
        self.rows["request_needs"].extend((request_id, self.area_ids[c]) for c in codes[:3])
        self.rows["chronology"].append(
            (
                family_id,
                None,
                ChronologyKind.REQUEST,
                received,
                "Request for support" + (" (re-referral)" if re_referral else ""),
                reasons,
                referrer,
                urgent,
                submitted,
            )
        )
        return request_id, urgent

    def _episode_request(
        self, family_id, hub_id, facts, story: EpisodeStory, episode_id, closures, ids
    ) -> None:
        """The request the hub decided by opening the episode (the episode's own rows already have its
        chronology lines)."""
        decided = moment(story.opened_on, 10)
        request_id, _ = self._request(
            family_id=family_id,
            hub_id=hub_id,
            referrer=story.referrer or story.assessor,
            facts=facts,
            received=story.requested_on,
            reasons=story.request,
            needs=[code for code, _ in story.needs],
            closures=closures,
            decided=decided,
            ids=ids,
        )
        self.rows["chronology"].pop()  # StoryRows wrote the request's line
        self.rows["decisions"].append(
            (
                request_id,
                TriageOutcome.EARLY_HELP,
                self.rng.choice(RATIONALES[TriageOutcome.EARLY_HELP]),
                story.opened_on,
                story.coordinator or story.assessor,
                "",
                None,
                story.assessor,
                "",
                episode_id,
                decided,
            )
        )

    def _other_requests(
        self, family_id, hub_id, coordinator, workers, known_since, facts, busy, closures, ids
    ):
        rng = self.rng
        today = self.today
        span = (today - known_since).days
        if span < 7:
            return
        expected = REQUESTS_A_YEAR * span / 365.25
        count = int(expected) + (rng.random() < expected - int(expected))
        days = sorted(known_since + dt.timedelta(days=rng.randint(0, span)) for _ in range(count))
        for received in days:
            received = received - dt.timedelta(days=max(0, received.weekday() - 4))  # a weekday
            lag = weighted(rng, (((0, 2), 20), ((3, 7), 40), ((8, 14), 25), ((15, 35), 15)))
            decided_on = received + dt.timedelta(days=rng.randint(*lag))
            pending = False
            if decided_on > today:  # sent in the last few days: some still wait for the hub
                pending = (today - received).days <= 4 and rng.random() < 0.6
                decided_on = today
            end = today if pending else decided_on
            if received < known_since or any(start <= end and received <= stop for start, stop in busy):
                continue
            busy.append((received, end))
            referrer = rng.choice(workers)
            outcome = weighted(rng, OTHER_OUTCOMES)
            decided = None if pending else min(moment(decided_on, 11), self.now)
            request_id, urgent = self._request(
                family_id=family_id,
                hub_id=hub_id,
                referrer=referrer,
                facts=facts,
                received=received,
                reasons=facts.words(facts.choose(rng, REQUESTS)[0], rng),
                needs=rng.sample(OTHER_NEEDS, rng.choice((1, 1, 2, 2, 3))),
                closures=closures,
                decided=decided,
                ids=ids,
            )
            if pending:
                continue
            rationale = rng.choice(RATIONALES[outcome])
            step_up = outcome == TriageOutcome.STEP_UP
            by = coordinator or referrer
            self.rows["decisions"].append(
                (
                    request_id,
                    outcome,
                    rationale,
                    decided_on,
                    by,
                    rng.choice(SIGNPOSTS) if outcome == TriageOutcome.SIGNPOSTING else "",
                    self.agency_of(referrer) if outcome == TriageOutcome.SINGLE_AGENCY else None,
                    None,
                    f"CSC-{rng.randint(100000, 999999)}" if step_up else "",
                    None,
                    decided,
                )
            )
            self.rows["chronology"].append(
                (
                    family_id,
                    None,
                    ChronologyKind.TRIAGE,
                    decided_on,
                    f"Hub decision: {_OUTCOME_LABEL[outcome]}",
                    rationale,
                    by,
                    step_up,
                    decided,
                )
            )
