"""Demo histories on the early help pathway (DESIGN.md §2) for ``manage.py seed_demo``.

A *story* is one episode's history planned as dates: how it was opened (hub triage, a practitioner
starting an assessment with consent, or a step down from children's social care), the assessment,
the Team Around the Family, the needs and baseline scores, the first TAF meeting where the lead
professional is agreed, reviews every six weeks or so showing distance travelled, a change of lead
or level, case notes, and how it ended (a closure with an outcome per need, or a step up), or the
next meeting in the diary if it is still open.

* ``StoryPlanner`` makes stories from a seeded random generator, so a seed gives the same histories
  (dates are relative to the day the demo is built).
* ``play_family`` replays a family's stories through ``pathway.services`` (the default tier): every
  transition, level, lead professional, TAF membership and the access it grants, meeting with its
  attendance, baseline, review, closure and chronology line is written by the code the application
  uses, and a story the services refuse fails loudly. Consent, the Early Help Assessment (completed
  before the first TAF meeting; its needs and scores become the episode's needs and baseline) and the
  family plan go through ``assessments.services`` the same way (assessments.demo).
* ``StoryRows`` turns the same stories into rows for COPY (the large tier), following what the
  pathway services would have written (the baseline and needs are written as if recorded directly;
  the requests for support and triage decisions come from hubs.demo.RequestRows, consent and the
  assessments from assessments.demo.EhaRows, and there are no family plans). ``ClaimRows`` adds
  Supporting Families claims for a share of the episodes closed with their outcomes achieved.
* ``seed_county_claims`` makes a few claims in the demo county through pathway.claims.

The services stamp transitions, chronology lines and audit events with the time they run, and refuse
dates after "today". ``Replay`` runs each call at the moment the story says it happened (it stands in
for ``django.utils.timezone.now`` while a history is written, and never runs ahead of the real clock),
so an episode opened two years ago has its transitions and audit trail dated two years ago.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from .models import (
    Attendance,
    ChronologyKind,
    ClosureReason,
    EpisodeSource,
    EpisodeStatus,
    NeedOutcome,
    ReviewDecision,
)

REVIEW_DAYS = 42  # pathway.services.review_interval() at its default of six weeks
OPEN_LEVEL = "3"
STEP_DOWN_LEVEL = "2"
S = EpisodeStatus

# --------------------------------------------------------------------------------------------
# Words


NEEDS: dict[str, tuple[str, ...]] = {
    "education": (
        "{child}'s school attendance has fallen to {pct}% this year",
        "{child} has had two fixed-term suspensions this term",
        "{child} is often late and struggling to settle in class",
    ),
    "early_years": (
        "{baby} is not yet using single words; waiting for speech and language therapy",
        "{baby} has missed two development reviews",
        "Sleep and mealtime routines for {baby} are not settled",
    ),
    "health": (
        "{parent} has low mood and anxiety and is not registered with a GP",
        "{child}'s asthma is poorly controlled and appointments are missed",
        "{parent} is on the waiting list for talking therapy",
    ),
    "substance_use": (
        "{parent}'s drinking is affecting morning routines",
        "{parent} uses cannabis most evenings and wants to cut down",
    ),
    "family_relationships": (
        "Frequent arguments between {parent} and {child}",
        "{parent} finds {child}'s behaviour hard to manage and wants help with boundaries",
        "{child} is angry about losing contact with their dad",
    ),
    "safety": (
        "{child} has gone missing overnight twice; worries about older friends",
        "{child} has been sharing images online with people they have not met",
    ),
    "crime": (
        "{child} was involved in antisocial behaviour in the town centre",
        "{child} received a community resolution for shoplifting",
    ),
    "domestic_abuse": (
        "History of domestic abuse from a former partner; {parent} wants a safety plan",
        "Police attended two incidents at home this year",
    ),
    "housing": (
        "Overcrowded two-bedroom flat; the family is on the housing register",
        "Rent arrears and a notice seeking possession",
    ),
    "financial_stability": (
        "Debt and gaps in Universal Credit payments",
        "The family has used the food bank three times since the summer",
        "{parent} wants help into work or training",
    ),
}
ACTIONS: dict[str, str] = {
    "education": "school to agree an attendance plan with {parent}",
    "early_years": "health visitor to refer {baby} to speech and language therapy",
    "health": "{parent} to register with a GP; support to attend the first appointment",
    "substance_use": "referral to the recovery service for {parent}",
    "family_relationships": "six sessions of parenting support at home",
    "safety": "return home interviews and an exploitation screening for {child}",
    "crime": "prevention worker to meet {child} weekly",
    "domestic_abuse": "safety plan with {parent}; referral to the outreach service",
    "housing": "housing officer to visit about the arrears and the register",
    "financial_stability": "benefits check and a referral to debt advice",
}
REQUESTS = (
    "School concerned about attendance and {parent}'s low mood",
    "Health visitor asks for support with routines and housing",
    "{parent} asked the school for help with {child}'s behaviour at home",
    "Police notification after an incident at home; family agreed to a referral",
    "GP concerned about {parent}'s mental health and the children's care",
    "Housing officer reports arrears and an overcrowded home",
)
NOTES = (
    (
        "Home visit",
        "Visited {parent} at home. Talked through the plan and what has changed since the meeting.",
    ),
    (
        "Home visit",
        "Visited after school. {child} showed me their reading book; {parent} tired but positive.",
    ),
    (
        "Telephone call with {parent}",
        "{parent} rang to say the week had been hard; agreed to visit on Thursday.",
    ),
    ("Telephone call with {parent}", "Checked in by phone. {parent} has the appointment letter and a lift."),
    ("School update", "Spoke to {child}'s class teacher: attendance {pct}% this half term, settling better."),
    ("School update", "Pastoral lead says {child} has had a good fortnight; one late mark."),
    (
        "Joint visit",
        "Joint visit with the health visitor. Home conditions fine; {baby} well and gaining weight.",
    ),
    ("Health visitor contact", "{baby}'s review done at home; referral to the speech and language drop-in."),
    ("Visit not completed", "No answer at the planned visit. Left a card and texted {parent}."),
    ("Session with {child}", "One-to-one session with {child} on feelings and worries. Engaged well."),
    ("Session with {child}", "Walk and talk with {child}: friendships, sleep, what helps at home."),
    ("Appointment attended", "Went with {parent} to the appointment; next one booked."),
    ("Message from {parent}", "{parent} texted to say the benefits payment has come through."),
    ("Contact with housing", "Housing officer confirmed the repayment plan for the arrears is in place."),
    (
        "Strengths noticed",
        "{parent} has kept to the bedtime routine all week; {child} calmer in the mornings.",
    ),
    (
        "Parenting session",
        "Third parenting session with {parent}: praise and routines. Homework: a reward chart.",
    ),
    ("Food bank referral", "Voucher given for the food bank; {parent} also referred for a benefits check."),
    ("Professionals' discussion", "Spoke to the GP practice about {parent}'s review; they will write to me."),
)
AREA_WORDS = {
    "education": "education",
    "early_years": "early years",
    "health": "health",
    "substance_use": "substance use",
    "family_relationships": "family relationships",
    "safety": "safety",
    "crime": "crime",
    "domestic_abuse": "domestic abuse",
    "housing": "housing",
    "financial_stability": "money",
}
LOCATIONS = (
    ("Family home", False),
    ("{school}", False),
    ("Children's centre", False),
    ("Online (Microsoft Teams)", True),
    ("Family hub, meeting room 2", False),
)
STEP_UP_REASONS = (
    "{child} disclosed at school being hit at home; strategy discussion held the same day",
    "Escalating domestic abuse with the children present; police and school share new concerns",
    "{child} missing for three days; exploitation concerns and a strategy meeting",
    "Neglect is getting worse despite the plan: no food in the house and {baby} not seen by health",
)
OTHER_CLOSURES = (
    "Family now supported under the Youth Justice Service's order; early help no longer needed",
    "The family asked to carry on with the school's pastoral support only",
    "Case transferred to the family's new local authority's early help team",
)
HANDOVERS = (
    "Child in need plan closed after {months} months. {parent} engaged well and home conditions improved. "
    "Still to do: school attendance, routines, support for {parent}'s mental health.",
    "Child protection plan ended; child in need plan stepped down. Safety plan in place; {parent} works "
    "with the outreach service. Ongoing worries: {child}'s behaviour and the family's debts.",
)
FAMILY_VIEWS = (
    "{parent} was happy for {lead} to lead as they already know the family well",
    "{parent} chose {lead}: 'they listen and get things done'",
    "{parent} agreed to {lead} leading; the family see them every week",
)
NEED_OUTCOMES = {
    ClosureReason.OUTCOMES_ACHIEVED: ((NeedOutcome.MET, 70), (NeedOutcome.PARTLY_MET, 30)),
    ClosureReason.STEP_DOWN: (
        (NeedOutcome.MET, 50),
        (NeedOutcome.PARTLY_MET, 40),
        (NeedOutcome.TRANSFERRED, 10),
    ),
    ClosureReason.CONSENT_WITHDRAWN: (
        (NeedOutcome.NOT_MET, 50),
        (NeedOutcome.PARTLY_MET, 40),
        (NeedOutcome.MET, 10),
    ),
    ClosureReason.MOVED_AWAY: (
        (NeedOutcome.TRANSFERRED, 50),
        (NeedOutcome.NOT_MET, 30),
        (NeedOutcome.PARTLY_MET, 20),
    ),
    ClosureReason.OTHER: (
        (NeedOutcome.PARTLY_MET, 40),
        (NeedOutcome.TRANSFERRED, 30),
        (NeedOutcome.NOT_MET, 20),
        (NeedOutcome.MET, 10),
    ),
}
CLOSURE_REASONS = (
    (ClosureReason.OUTCOMES_ACHIEVED, 45),
    (ClosureReason.STEP_DOWN, 20),
    (ClosureReason.STEP_UP, 9),
    (ClosureReason.CONSENT_WITHDRAWN, 10),
    (ClosureReason.MOVED_AWAY, 9),
    (ClosureReason.OTHER, 7),
)
# What a family with a worker has been through. "none": single-agency work, no episode.
KINDS = (
    ("none", 28),
    ("open", 4),
    ("assessment", 9),
    ("plan_active", 10),
    ("reviewing", 14),
    ("closed", 20),
    ("step_down_open", 4),
    ("re_referral", 5),
    ("returned", 3),
    ("up_then_down", 3),
)
# Every kind, every closure reason and both routes into an assessment appear in the default tier.
COVERAGE: tuple[tuple[str, dict], ...] = (
    *((("closed", {"reason": r}) for r, _ in CLOSURE_REASONS)),
    *((("closed", {"reason": r}) for r, _ in CLOSURE_REASONS)),
    ("open", {}),
    ("assessment", {"source": EpisodeSource.DIRECT, "eha": "withdrawn"}),
    ("assessment", {"source": EpisodeSource.TRIAGE, "next_meeting": 6, "eha": "returned"}),
    ("plan_active", {"due": "soon"}),
    ("plan_active", {"due": "overdue"}),
    ("reviewing", {"due": "overdue", "reviews": 2}),
    ("reviewing", {"due": "soon", "next_meeting": "tomorrow"}),
    ("reviewing", {"due": "later", "reviews": 4}),
    ("reviewing", {"reviews": 3, "lead_change": True}),
    ("step_down_open", {}),
    ("step_down_open", {"stage": "review"}),
    ("re_referral", {}),
    ("re_referral", {}),
    ("returned", {}),
    ("up_then_down", {}),
)
DUE = (("soon", 35), ("overdue", 25), ("later", 40))


def weighted(rng: random.Random, pairs: Sequence[tuple]):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _back_to_weekday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


def _on_to_weekday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 if day.weekday() > 4 else 0)


_TZ = ZoneInfo(settings.TIME_ZONE)


def moment(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=_TZ)


# --------------------------------------------------------------------------------------------
# Stories


@dataclass(frozen=True)
class Member:
    """Someone in the household, as the planner needs to know them."""

    index: int
    first_name: str
    last_name: str
    role: str  # HouseholdRole value
    age: int | None  # None: not yet born
    current: bool = True


@dataclass
class Facts:
    """What the planner knows about a family."""

    members: list[Member]
    school: str = "School"

    def __post_init__(self):
        current = [m for m in self.members if m.current]
        parents = [m for m in current if m.role == "parent_carer"]
        children = sorted((m for m in current if m.role == "child"), key=lambda m: -(m.age or -1))
        self.parents = parents
        self.children = children
        self.young = [m for m in children if m.age is None or m.age < 5]
        self.school_age = [m for m in children if m.age is not None and 4 <= m.age <= 17]
        self.teens = [m for m in children if m.age is not None and 11 <= m.age <= 17]
        first = parents[0] if parents else (children[0] if children else current[0] if current else None)
        self.parent = first.first_name if first else "the parent"
        kid = self.school_age[0] if self.school_age else (children[0] if children else None)
        self.child = kid.first_name if kid and kid.age is not None else "the child"
        baby = self.young[-1] if self.young else None
        self.baby = baby.first_name if baby and baby.age is not None else "the baby"
        if parents:
            self.consent_from = f"{parents[0].first_name} {parents[0].last_name} (parent)"
        elif first is not None:
            self.consent_from = f"{first.first_name} {first.last_name} (for themself)"
        else:
            self.consent_from = "the family"

    def fits(self, text: str) -> bool:
        """Whether a text's placeholders make sense for this family (a baby, a child)."""
        return ("{baby}" not in text or bool(self.young)) and ("{child}" not in text or bool(self.children))

    def choose(self, rng: random.Random, options: Sequence, count: int = 1) -> list:
        """``count`` of the options that fit the family, without repeats while they last."""
        fitting = [o for o in options if self.fits(o if isinstance(o, str) else "".join(o))] or list(options)
        out: list = []
        while len(out) < count:
            out += rng.sample(fitting, min(len(fitting), count - len(out)))
        return out

    def words(self, text: str, rng: random.Random, **extra) -> str:
        return text.format(
            parent=self.parent,
            child=self.child,
            baby=self.baby,
            school=self.school,
            pct=rng.randint(72, 89),
            **extra,
        )


@dataclass
class ReviewPlan:
    scores: dict[str, int]
    decision: str
    summary: str


@dataclass
class MeetingPlan:
    starts_at: dt.datetime
    scheduled_at: dt.datetime | None  # None: entered after it had taken place
    location: str
    online: bool
    held: bool = True
    first: bool = False
    decisions: str = ""
    plan_changes: str = ""
    next_on: dt.date | None = None
    review: ReviewPlan | None = None

    @property
    def held_on(self) -> dt.date:
        return self.starts_at.date()

    @property
    def recorded_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(hours=2)


@dataclass
class Closure:
    on: dt.date
    reason: str  # a ClosureReason, step_up included
    note: str = ""
    outcomes: list[str] = field(default_factory=list)  # per need; empty for a step up
    step_up_reason: str = ""
    social_care_reference: str = ""


@dataclass
class EpisodeStory:
    seed: int
    source: str
    opened_on: dt.date
    assessor: int
    coordinator: int | None
    opening_reason: str
    requested_on: dt.date | None = None
    referrer: int | None = None
    request: str = ""
    social_care_reference: str = ""
    handover_notes: str = ""
    assessment_on: dt.date | None = None
    consent_from: str = ""
    team_on: dt.date | None = None
    workers: list[tuple[int, str]] = field(default_factory=list)  # (user id, role), besides the assessor
    family: list[tuple[int, str]] = field(default_factory=list)  # (member index, role)
    needs: list[tuple[str, str]] = field(default_factory=list)  # (area code, description)
    baseline_on: dt.date | None = None
    baseline: dict[str, int] = field(default_factory=dict)
    lead: int | None = None  # agreed at the first TAF meeting
    lead_view: str = ""
    meetings: list[MeetingPlan] = field(default_factory=list)
    lead_change: tuple[dt.date, int, str, str] | None = None  # (on, new lead, family view, handover)
    level_changes: list[tuple[dt.date, str, str]] = field(default_factory=list)
    notes: list[tuple[dt.date, int, str, str]] = field(default_factory=list)  # (on, author, title, detail)
    closure: Closure | None = None
    eha: str = ""  # the assessment's state, if the story asks for one (assessments.demo.STATES)
    eha_by: str = ""  # who signs it off: "agency" (the assessor's manager) or "ehm"

    @property
    def first_day(self) -> dt.date:
        return self.requested_on or self.opened_on

    @property
    def status(self) -> str:
        if self.closure is not None:
            return S.CLOSED
        if any(m.review for m in self.meetings if m.held):
            return S.REVIEWING
        if any(m.held for m in self.meetings):
            return S.PLAN_ACTIVE
        if self.assessment_on is not None:
            return S.ASSESSMENT
        return S.OPEN

    @property
    def final_lead(self) -> int | None:
        if self.lead_change is not None:
            return self.lead_change[1]
        return self.lead if any(m.held for m in self.meetings) else None

    @property
    def next_review_due(self) -> dt.date | None:
        if self.closure is not None:
            return None
        held = [m for m in self.meetings if m.held]
        if not held:
            return None
        return held[-1].held_on + dt.timedelta(days=REVIEW_DAYS)

    def workers_in_team(self) -> set[int]:
        out = {self.assessor}
        if self.team_on is not None:
            out.update(uid for uid, _ in self.workers)
        if self.final_lead is not None:
            out.add(self.final_lead)
        return out


class StoryPlanner:
    """Plans stories. ``name`` gives a worker's display name, ``role`` their role in a team.
    ``areas`` are the outcome area codes in order; ``all_areas`` scores every relevant area at each
    review (the default tier), otherwise the needs' areas and two more (the large tier)."""

    def __init__(
        self,
        rng: random.Random,
        today: dt.date,
        areas: Sequence[str],
        *,
        name: Callable[[int], str],
        role: Callable[[int], str],
        all_areas: bool = True,
    ):
        self.rng = rng
        self.today = today
        self.areas = list(areas)
        self.name = name
        self.role = role
        self.all_areas = all_areas

    # -- families ------------------------------------------------------------------------------

    def pick_kind(self) -> tuple[str, dict]:
        return weighted(self.rng, KINDS), {}

    def family(
        self,
        kind: str,
        facts: Facts,
        *,
        lead: int,
        others: Sequence[int],
        coordinator: int | None,
        earliest: dt.date,
        options: dict | None = None,
    ) -> list[EpisodeStory] | None:
        """The family's episodes, oldest first, or None when the kind does not fit the time the family
        has been known (the caller picks another)."""
        rng = self.rng
        options = dict(options or {})
        if options.get("lead_change") and not [uid for uid in others if uid != lead]:
            return None  # nobody to hand over from
        common = {"facts": facts, "lead": lead, "others": list(others), "coordinator": coordinator}
        stories: list[EpisodeStory]
        if kind == "none":
            return []
        if kind == "open":
            stories = [self.episode(**common, source=EpisodeSource.TRIAGE, stage="open")]
        elif kind in ("assessment", "plan_active", "reviewing"):
            stage = {"assessment": "assessment", "plan_active": "plan", "reviewing": "review"}[kind]
            source = options.pop("source", None) or (
                EpisodeSource.DIRECT if rng.random() < 0.3 else EpisodeSource.TRIAGE
            )
            stories = [self.episode(**common, source=source, stage=stage, **options)]
        elif kind == "closed":
            reason = options.pop("reason", None) or weighted(rng, CLOSURE_REASONS)
            end_on = self.today - dt.timedelta(days=rng.randint(14, 700))
            stories = [self.closed(common, reason, end_on)]
        elif kind == "step_down_open":
            stage = options.pop("stage", None) or rng.choice(("assessment", "plan", "review", "review"))
            stories = [self.episode(**common, source=EpisodeSource.STEP_DOWN, stage=stage, **options)]
        elif kind in ("re_referral", "returned", "up_then_down"):
            stage = options.pop("stage", None) or rng.choice(
                ("open", "assessment", "plan", "review", "review")
            )
            if kind == "up_then_down":
                later = self.episode(**common, source=EpisodeSource.STEP_DOWN, stage=stage, **options)
                gap, reason = rng.randint(90, 300), ClosureReason.STEP_UP
            else:
                source = EpisodeSource.TRIAGE if rng.random() < 0.8 else EpisodeSource.DIRECT
                if stage == "open":
                    source = EpisodeSource.TRIAGE
                later = self.episode(**common, source=source, stage=stage, **options)
                gap = rng.randint(30, 330) if kind == "re_referral" else rng.randint(400, 900)
                reason = rng.choice(
                    (
                        ClosureReason.OUTCOMES_ACHIEVED,
                        ClosureReason.OUTCOMES_ACHIEVED,
                        ClosureReason.STEP_DOWN,
                        ClosureReason.CONSENT_WITHDRAWN,
                        ClosureReason.OTHER,
                    )
                )
            earlier = self.closed(common, reason, later.first_day - dt.timedelta(days=gap))
            if kind == "up_then_down":
                later.social_care_reference = earlier.closure.social_care_reference
                later.opening_reason = (
                    f"Stepped down from children's social care ({later.social_care_reference})"
                )
            stories = [earlier, later]
        else:  # pragma: no cover - a programming error
            raise ValueError(f"Unknown story kind {kind!r}")
        if any(s.first_day < earliest for s in stories):
            return None
        return stories

    def closed(self, common: dict, reason: str, end_on: dt.date) -> EpisodeStory:
        rng = self.rng
        if reason in (ClosureReason.OUTCOMES_ACHIEVED,):
            stage, reviews = "review", rng.randint(2, 4)
        elif reason == ClosureReason.STEP_DOWN:
            stage, reviews = "review", rng.randint(1, 3)
        else:
            stage = weighted(rng, (("open", 15), ("assessment", 30), ("plan", 25), ("review", 30)))
            reviews = rng.randint(1, 3) if stage == "review" else 0
        source = EpisodeSource.DIRECT if rng.random() < 0.25 and stage != "open" else EpisodeSource.TRIAGE
        return self.episode(
            **common, source=source, stage=stage, reviews=reviews, closure=reason, end_on=end_on
        )

    # -- one episode ---------------------------------------------------------------------------

    def episode(
        self,
        *,
        facts: Facts,
        lead: int,
        others: list[int],
        coordinator: int | None,
        source: str,
        stage: str,  # how far it got: open, assessment, plan (first TAF held), review
        reviews: int | None = None,
        closure: str | None = None,
        end_on: dt.date | None = None,
        due: str | None = None,
        next_meeting: int | str | None = None,
        baseline: bool | None = None,
        lead_change: bool | None = None,
        assessor: int | None = None,
        eha: str = "",
        eha_by: str = "",
    ) -> EpisodeStory:
        rng = self.rng
        today = self.today
        if stage == "review" and not reviews:
            reviews = weighted(rng, ((1, 35), (2, 30), (3, 20), (4, 15)))
        reviews = reviews if stage == "review" else 0
        if source == EpisodeSource.DIRECT:
            assessor = lead
        elif assessor is None:
            assessor = lead if not others or rng.random() < 0.75 else rng.choice(others)
        if lead_change is None:
            lead_change = stage == "review" and reviews >= 2 and bool(others) and rng.random() < 0.2
        first_lead = rng.choice(others) if lead_change and others else lead
        lead_change = lead_change and first_lead != lead

        # Offsets in days from the opening.
        request = -rng.randint(2, 12) if source != EpisodeSource.DIRECT else None
        assess = team = base = first = None
        review_days: list[int] = []
        if stage != "open":
            assess = 0 if source == EpisodeSource.DIRECT else rng.randint(2, 10)
            team = assess + rng.randint(2, 9)
            if stage in ("plan", "review") or (baseline if baseline is not None else rng.random() < 0.4):
                base = assess + rng.randint(14, 35)
        if stage in ("plan", "review"):
            first = base + rng.randint(5, 20)
            previous = first
            for _ in range(reviews):
                previous += rng.randint(38, 52)
                review_days.append(previous)
        last = max(x for x in (0, assess, team, base, first, *review_days) if x is not None)

        decision = ""
        if closure is not None:
            planned = closure in (ClosureReason.OUTCOMES_ACHIEVED, ClosureReason.STEP_DOWN) or (
                closure == ClosureReason.STEP_UP and review_days and rng.random() < 0.5
            )
            if planned and review_days:
                decision = {
                    ClosureReason.OUTCOMES_ACHIEVED: ReviewDecision.CLOSE,
                    ClosureReason.STEP_DOWN: ReviewDecision.STEP_DOWN,
                    ClosureReason.STEP_UP: ReviewDecision.STEP_UP,
                }[closure]
                close_at = last + rng.randint(0, 5)
            else:
                close_at = last + rng.randint(5, 30) if stage != "open" else rng.randint(3, 20)
            base_day = end_on - dt.timedelta(days=close_at)
        else:
            if stage == "open":
                lag = rng.randint(1, 12)
            elif stage == "assessment":
                lag = rng.randint(1, 20)
            else:
                due = due or weighted(rng, DUE)
                lag = {"soon": (28, 41), "overdue": (44, 100), "later": (3, 27)}[due]
                lag = rng.randint(*lag)
            base_day = today - dt.timedelta(days=lag + last)

        def day(offset: int | None, weekday: bool = False) -> dt.date | None:
            if offset is None:
                return None
            d = base_day + dt.timedelta(days=offset)
            return _back_to_weekday(d) if weekday else d

        opened_on = day(0, weekday=source != EpisodeSource.DIRECT)
        story = EpisodeStory(
            seed=rng.randrange(1 << 30),
            source=source,
            opened_on=opened_on,
            assessor=assessor,
            coordinator=coordinator,
            opening_reason="",
            requested_on=day(request, weekday=True),
            referrer=rng.choice([lead, *others]) if source == EpisodeSource.TRIAGE else None,
            assessment_on=day(assess),
            consent_from=facts.consent_from,
            team_on=day(team),
            eha=eha,
            eha_by=eha_by,
        )
        if story.requested_on is not None and story.requested_on > opened_on:
            story.requested_on = opened_on
        if story.assessment_on is not None and story.assessment_on < opened_on:
            story.assessment_on = opened_on
        if story.team_on is not None and story.team_on < (story.assessment_on or opened_on):
            story.team_on = story.assessment_on
        if source == EpisodeSource.TRIAGE:
            story.request = facts.words(facts.choose(rng, REQUESTS)[0], rng)
            story.opening_reason = f"Hub triage: early help assessment at level 3. {story.request}"
        elif source == EpisodeSource.STEP_DOWN:
            story.social_care_reference = f"CSC-{rng.randint(100000, 999999)}"
            story.handover_notes = facts.words(
                facts.choose(rng, HANDOVERS)[0], rng, months=rng.randint(4, 14)
            )
            story.opening_reason = f"Stepped down from children's social care ({story.social_care_reference})"
            story.request = "Step-down request from children's social care with the child in need plan"

        # The team: the other workers, the parents, and young people old enough to take part.
        if team is not None:
            # The lead to be joins before the first meeting, so that they are invited to it.
            story.workers = [
                (uid, self.role(uid)) for uid in dict.fromkeys([lead, *others]) if uid != assessor
            ]
            for m in facts.parents[:2]:
                story.family.append((m.index, "Parent or carer"))
            for m in facts.teens:
                if rng.random() < 0.5:
                    story.family.append((m.index, "Young person"))
            story.needs = self._needs(facts)

        # Scores: the baseline, then each review.
        areas = self._scored_areas(facts, [a for a, _ in story.needs])
        need_areas = {a for a, _ in story.needs}
        if base is not None:
            story.baseline_on = day(base)
            story.baseline = {a: rng.randint(1, 4) if a in need_areas else rng.randint(4, 8) for a in areas}
        # Meetings.
        if first is not None:
            story.lead = first_lead
            story.lead_view = facts.words(rng.choice(FAMILY_VIEWS), rng, lead=self.name(first_lead))
            scores = dict(story.baseline)
            days = [first, *review_days]
            anchor = moment(story.baseline_on, 14, 10)
            for k, offset in enumerate(days):
                held_on = day(offset, weekday=True)
                if k and held_on <= story.meetings[-1].held_on:
                    held_on = story.meetings[-1].held_on + dt.timedelta(days=1)
                if k == 0 and held_on <= story.baseline_on:
                    held_on = story.baseline_on + dt.timedelta(days=1)
                starts = moment(held_on, rng.choice((9, 10, 11, 13, 14)), rng.choice((0, 0, 30)))
                location, online = rng.choice(LOCATIONS)
                meeting = MeetingPlan(
                    starts_at=starts,
                    scheduled_at=anchor if rng.random() < 0.75 else None,
                    location=facts.words(location, rng),
                    online=online,
                    first=k == 0,
                )
                if k:
                    last_review = k == len(days) - 1
                    scores = self._progress(scores, need_areas, closure if last_review else None)
                    meeting.review = ReviewPlan(
                        scores=dict(scores),
                        decision=decision if last_review and decision else ReviewDecision.CONTINUE,
                        summary=self._summary(story.baseline, scores, [a for a, _ in story.needs]),
                    )
                meeting.decisions = self._decisions(facts, story, meeting)
                if k and rng.random() < 0.4:
                    meeting.plan_changes = facts.words(
                        ACTIONS[rng.choice(sorted(need_areas))], rng
                    ).capitalize()
                story.meetings.append(meeting)
                anchor = meeting.recorded_at + dt.timedelta(minutes=10)
            for before, after in zip(story.meetings, story.meetings[1:], strict=False):
                before.next_on = after.held_on
            if lead_change:
                k = rng.randint(1, len(story.meetings) - 1)
                on = story.meetings[k - 1].held_on + dt.timedelta(days=rng.randint(1, 20))
                on = min(on, story.meetings[k].held_on)
                story.lead_change = (
                    on,
                    lead,
                    facts.words(
                        "{parent} asked for {lead}, who sees {child} every day", rng, lead=self.name(lead)
                    ),
                    f"Handing over to {self.name(lead)}: plan and actions up to date; "
                    + facts.words("{parent} prefers texts to calls.", rng),
                )

        # The end, or the next meeting in the diary.
        if closure is not None:
            story.closure = self._closure(facts, story, closure, end_on)
            if closure == ClosureReason.STEP_DOWN and story.meetings and rng.random() < 0.6:
                story.level_changes.append(
                    (story.meetings[-1].held_on, STEP_DOWN_LEVEL, "Needs now met by a single agency")
                )
        elif stage in ("plan", "review", "assessment") and team is not None:
            self._next_meeting(facts, story, stage, due, next_meeting)
        self._notes(facts, story)
        return story

    # -- parts ---------------------------------------------------------------------------------

    def _needs(self, facts: Facts) -> list[tuple[str, str]]:
        rng = self.rng
        weights = {
            "education": 3 if facts.school_age else 0,
            "early_years": 3 if facts.young else 0,
            "health": 3,
            "substance_use": 1,
            "family_relationships": 3,
            "safety": 1.5 if facts.teens else 0,
            "crime": 1 if facts.teens else 0,
            "domestic_abuse": 1.5,
            "housing": 1.5,
            "financial_stability": 2,
        }
        codes = [a for a in self.areas if weights.get(a, 0)]
        chosen: list[str] = []
        for _ in range(rng.choice((2, 2, 3, 3, 4))):
            pool = [a for a in codes if a not in chosen]
            if not pool:
                break
            chosen.append(rng.choices(pool, weights=[weights[a] for a in pool])[0])
        return [(a, facts.words(rng.choice(NEEDS[a]), rng)) for a in chosen]

    def _scored_areas(self, facts: Facts, needs: list[str]) -> list[str]:
        relevant = [
            a
            for a in self.areas
            if not (a == "early_years" and not facts.young)
            and not (a == "education" and not facts.school_age)
        ]
        if self.all_areas:
            return relevant
        others = [a for a in relevant if a not in needs]
        extra = self.rng.sample(others, min(2, len(others)))
        return [a for a in self.areas if a in needs or a in extra]

    def _progress(self, scores: dict[str, int], needs: set[str], closure: str | None) -> dict[str, int]:
        rng = self.rng
        out = {}
        for area, score in scores.items():
            if area in needs:
                step = rng.choice((-1, 0, 1, 1, 2, 2))
            else:
                step = rng.choice((-1, 0, 0, 0, 0, 0, 1))
            out[area] = max(0, min(10, score + step))
        if closure in (ClosureReason.OUTCOMES_ACHIEVED, ClosureReason.STEP_DOWN):
            for area in needs & set(out):
                out[area] = max(out[area], rng.randint(6, 8))
        elif closure == ClosureReason.STEP_UP:
            worry = next((a for a in ("safety", "domestic_abuse", "family_relationships") if a in out), None)
            if worry:
                out[worry] = max(0, out[worry] - rng.randint(2, 3))
        return out

    @staticmethod
    def _summary(baseline: dict[str, int], scores: dict[str, int], needs: Sequence[str]) -> str:
        moved = ", ".join(
            f"{AREA_WORDS.get(a, a)} {baseline[a]} to {scores[a]}" for a in needs if a in scores
        )
        others = [a for a in scores if a not in needs]
        up = sum(1 for a in others if scores[a] > baseline[a])
        down = sum(1 for a in others if scores[a] < baseline[a])
        if not up and not down:
            rest = "other areas steady"
        else:
            rest = f"other areas: {up} up, {down} down"
        return f"Since the baseline: {moved}; {rest}."

    def _decisions(self, facts: Facts, story: EpisodeStory, meeting: MeetingPlan) -> str:
        rng = self.rng
        actions = "; ".join(
            facts.words(ACTIONS[a], rng) for a, _ in rng.sample(story.needs, min(3, len(story.needs)))
        )
        if meeting.first:
            return (
                f"Family plan agreed with {facts.parent}. {self.name(story.lead)} agreed as lead "
                f"professional. Actions: {actions}."
            )
        decision = ReviewDecision(meeting.review.decision).label
        return (
            f"Plan reviewed with the family. {meeting.review.summary} Decision: {decision.lower()}. "
            f"Next: {actions}."
        )

    def _closure(self, facts: Facts, story: EpisodeStory, reason: str, end_on: dt.date) -> Closure:
        rng = self.rng
        closure = Closure(on=end_on, reason=reason)
        if reason == ClosureReason.STEP_UP:
            closure.step_up_reason = facts.words(facts.choose(rng, STEP_UP_REASONS)[0], rng)
            closure.social_care_reference = f"CSC-{rng.randint(100000, 999999)}"
            return closure
        if reason == ClosureReason.OTHER:
            closure.note = rng.choice(OTHER_CLOSURES)
        elif rng.random() < 0.5:
            closure.note = {
                ClosureReason.OUTCOMES_ACHIEVED: "Family plan completed; the family know how to come back.",
                ClosureReason.STEP_DOWN: "School and health visiting carry on as single agencies.",
                ClosureReason.CONSENT_WITHDRAWN: f"{facts.parent} no longer wants support.",
                ClosureReason.MOVED_AWAY: "The family moved out of the county; records passed on.",
            }[reason]
        closure.outcomes = [weighted(rng, NEED_OUTCOMES[reason]) for _ in story.needs]
        return closure

    def _next_meeting(self, facts: Facts, story: EpisodeStory, stage: str, due: str | None, when) -> None:
        rng = self.rng
        today = self.today
        if when is None:
            chance = {"soon": 0.85, "later": 0.7, "overdue": 0.2}.get(due or "", 0.5)
            if rng.random() >= chance:
                return
            if stage == "assessment" or due in ("soon", "overdue"):
                when = rng.randint(1, 14)
            else:
                held = [m for m in story.meetings if m.held]
                target = held[-1].held_on + dt.timedelta(days=REVIEW_DAYS + rng.randint(-3, 3))
                when = max(1, (target - today).days)
        on = today + dt.timedelta(days=1 if when == "tomorrow" else when)
        if when != "tomorrow":
            on = _on_to_weekday(on)
        held = [m for m in story.meetings if m.held]
        if held:
            anchor = held[-1].recorded_at + dt.timedelta(minutes=10)
            held[-1].next_on = on
        else:
            last = max(d for d in (story.team_on, story.baseline_on) if d is not None)
            anchor = moment(last, 14, 20)
        location, online = rng.choice(LOCATIONS)
        story.meetings.append(
            MeetingPlan(
                starts_at=moment(on, rng.choice((9, 10, 11, 13, 14)), rng.choice((0, 30))),
                scheduled_at=anchor,
                location=facts.words(location, rng),
                online=online,
                held=False,
                first=not held,
            )
        )

    def loose_notes(self, facts: Facts, author: int, since: dt.date) -> list[tuple[dt.date, int, str, str]]:
        """Case notes of a worker's single-agency contact with a family that has no episode."""
        rng = self.rng
        span = (self.today - since).days - 1
        if span < 1:
            return []
        out = []
        for title, detail in facts.choose(rng, NOTES, rng.randint(1, 3)):
            on = since + dt.timedelta(days=rng.randint(1, span))
            out.append((on, author, facts.words(title, rng), facts.words(detail, rng)))
        return sorted(out, key=lambda n: n[0])

    def _notes(self, facts: Facts, story: EpisodeStory) -> None:
        rng = self.rng
        start = story.opened_on + dt.timedelta(days=1)
        end = (story.closure.on if story.closure else self.today) - dt.timedelta(days=1)
        span = (end - start).days
        if span < 1:
            return
        count = min(8, max(1, span // 35)) + rng.randint(0, 2)
        writers = [story.assessor]
        if story.final_lead:
            writers += [story.final_lead, story.final_lead]
        for title, detail in facts.choose(rng, NOTES, count):
            on = start + dt.timedelta(days=rng.randint(0, span))
            team = story.team_on is not None and on >= story.team_on
            author = rng.choice(writers + [uid for uid, _ in story.workers]) if team else story.assessor
            story.notes.append((on, author, facts.words(title, rng), facts.words(detail, rng)))
        story.notes.sort(key=lambda n: n[0])


# --------------------------------------------------------------------------------------------
# Playing stories through the services (default tier)


class Replay:
    """Runs code as if at a given moment: ``django.utils.timezone.now`` answers with it (never later
    than the real time) until the block ends."""

    def __init__(self):
        self.real_now = timezone.now()
        self.moment = self.real_now

    def at(self, when: dt.datetime) -> None:
        self.moment = min(when, self.real_now)

    def now(self) -> dt.datetime:
        return self.moment

    @contextmanager
    def running(self) -> Iterator[Replay]:
        original = timezone.now
        timezone.now = self.now
        try:
            yield self
        finally:
            timezone.now = original


class _Player:
    """One episode's story, through pathway.services, in the order it happened."""

    def __init__(self, story: EpisodeStory, *, family, people, users, areas, levels, replay: Replay):
        self.story = story
        self.family = family
        self.people = people
        self.users = users
        self.areas = areas
        self.levels = levels
        self.replay = replay
        self.rng = random.Random(story.seed)
        self.episode = None
        self.lead = None  # the current lead professional's user id
        self.meetings: dict[int, object] = {}
        from assessments.demo import EhaPlayer

        self.eha = EhaPlayer(self)  # consent, the assessment and the family plan

    def actor(self):
        return self.users[self.lead or self.story.assessor]

    def events(self) -> list[tuple[dt.datetime, int, Callable[[], None]]]:
        s = self.story
        out: list[tuple[dt.datetime, int, Callable[[], None]]] = []

        def add(when: dt.datetime, fn: Callable[[], None]) -> None:
            out.append((when, len(out), fn))

        if s.requested_on is not None:
            add(moment(s.requested_on, 9, 30), self.request)
        add(moment(s.opened_on, 10), self.open)
        for when, fn in self.eha.events():  # consent, the assessment, withdrawals
            add(when, fn)
        if s.team_on is not None:
            add(moment(s.team_on, 12), self.team)
        if s.baseline_on is not None and self.eha.plan is None:
            # Otherwise the baseline comes from the assessment's scores when it is completed.
            add(moment(s.baseline_on, 14), self.baseline)
        for k, m in enumerate(s.meetings):
            add(m.scheduled_at or m.recorded_at, lambda k=k: self.schedule(k))
            if m.held:
                add(m.recorded_at + dt.timedelta(minutes=1), lambda k=k: self.record(k))
        if s.lead_change is not None:
            add(moment(s.lead_change[0], 15), self.change_lead)
        for on, code, reason in s.level_changes:
            add(
                moment(on, 15, 30),
                lambda code=code, on=on, reason=reason: self.change_level(code, on, reason),
            )
        for on, author, title, detail in s.notes:
            add(moment(on, 16, 30), lambda a=(on, author, title, detail): self.note(*a))
        if s.closure is not None:
            add(moment(s.closure.on, 17, 30), self.close)  # after a review held that day
        return sorted(out, key=lambda e: (e[0], e[1]))

    def play(self) -> None:
        for when, _, fn in self.events():
            self.replay.at(when)
            fn()

    # -- events --------------------------------------------------------------------------------

    def request(self) -> None:
        from . import services

        s = self.story
        services.chronology_add(
            family_id=self.family.pk,
            kind=ChronologyKind.REQUEST,
            occurred_on=s.requested_on,
            title="Request for support" if s.source == EpisodeSource.TRIAGE else "Step-down request",
            detail=s.request,
            author=self.users.get(s.referrer or s.coordinator),
        )

    def open(self) -> None:
        from . import services

        s = self.story
        level = self.levels[OPEN_LEVEL]
        if s.source == EpisodeSource.DIRECT:
            self.episode = services.episode_start_directly(
                actor=self.users[s.assessor],
                family=self.family,
                level=level,
                consent_given_by=s.consent_from,
                consent_on=s.opened_on,
            )
            return
        coordinator = self.users.get(s.coordinator) or self.users[s.assessor]
        if s.source == EpisodeSource.STEP_DOWN:
            self.episode = services.episode_accept_step_down(
                actor=coordinator,
                family=self.family,
                social_care_reference=s.social_care_reference,
                handover_notes=s.handover_notes,
                accepted_on=s.opened_on,
                assessor=self.users[s.assessor],
            )
            return
        services.chronology_add(
            family_id=self.family.pk,
            kind=ChronologyKind.TRIAGE,
            occurred_on=s.opened_on,
            title="Hub triage: early help assessment (level 3)",
            detail=s.request,
            author=coordinator,
        )
        self.episode = services.episode_open(
            actor=coordinator,
            family=self.family,
            source=EpisodeSource.TRIAGE,
            level=level,
            opened_on=s.opened_on,
            reason=s.opening_reason,
            assessor=self.users[s.assessor],
        )

    def team(self) -> None:
        from . import services

        s = self.story
        actor = self.users[s.assessor]
        for index, role in s.family:
            services.taf_add_family_member(
                actor=actor, episode=self.episode, person=self.people[index], role=role, joined_on=s.team_on
            )
        for uid, role in s.workers:
            services.taf_add_worker(
                actor=actor, episode=self.episode, user=self.users[uid], role=role, joined_on=s.team_on
            )
        if not self.eha.completes:  # otherwise the needs come from the completed assessment
            for code, description in s.needs:
                services.need_add(
                    actor=actor, episode=self.episode, area=self.areas[code], description=description
                )

    def baseline(self) -> None:
        from . import services

        s = self.story
        services.baseline_record(
            actor=self.users[s.assessor],
            episode=self.episode,
            held_on=s.baseline_on,
            scores={self.areas[a]: v for a, v in s.baseline.items()},
        )

    def schedule(self, k: int) -> None:
        from . import services
        from .models import TafMember

        m = self.story.meetings[k]
        invited = list(TafMember.objects.filter(episode=self.episode, left_on__isnull=True))
        self.meetings[k] = services.meeting_schedule(
            actor=self.actor(),
            episode=self.episode,
            starts_at=m.starts_at,
            location=m.location,
            online=m.online,
            invited=invited,
            already_held=m.scheduled_at is None,
        )

    def record(self, k: int) -> None:
        from . import services

        s = self.story
        m = s.meetings[k]
        meeting = self.meetings[k]
        rng = self.rng
        attendance = {}
        for member in meeting.invited.all():
            if member.user_id in (self.lead, s.assessor) or (m.first and member.user_id == s.lead):
                value = Attendance.ATTENDED
            elif member.person_id:
                value = weighted(
                    rng, ((Attendance.ATTENDED, 85), (Attendance.APOLOGIES, 5), (Attendance.ABSENT, 10))
                )
            else:
                value = weighted(
                    rng, ((Attendance.ATTENDED, 75), (Attendance.APOLOGIES, 20), (Attendance.ABSENT, 5))
                )
            attendance[member.pk] = value
        actor = self.actor()
        services.meeting_record(
            actor=actor,
            meeting=meeting,
            attendance=attendance,
            decisions=m.decisions,
            plan_changes=m.plan_changes,
            next_meeting_on=m.next_on,
            lead=self.users[s.lead] if m.first else None,
            family_view=s.lead_view if m.first else "",
        )
        if m.first:
            self.lead = s.lead
            self.eha.plan_agreed(m)
        if m.review is not None:
            self.replay.at(m.recorded_at + dt.timedelta(minutes=2))
            services.review_record(
                actor=self.actor(),
                episode=self.episode,
                held_on=m.held_on,
                scores={self.areas[a]: v for a, v in m.review.scores.items()},
                decision=m.review.decision,
                summary=m.review.summary,
                meeting=meeting,
            )
            self.eha.review_actions(m, last=k == max(i for i, x in enumerate(s.meetings) if x.held))

    def change_lead(self) -> None:
        from . import services

        on, uid, view, handover = self.story.lead_change
        services.lead_professional_set(
            actor=self.actor(),
            episode=self.episode,
            user=self.users[uid],
            family_view=view,
            started_on=on,
            handover_note=handover,
        )
        self.lead = uid

    def change_level(self, code: str, on: dt.date, reason: str) -> None:
        from . import services

        self.episode = services.episode_change_level(
            actor=self.actor(), episode=self.episode, level=self.levels[code], changed_on=on, reason=reason
        )

    def note(self, on: dt.date, author: int, title: str, detail: str) -> None:
        from . import services

        services.case_note_add(
            actor=self.users[author], family=self.family, occurred_on=on, title=title, detail=detail
        )

    def close(self) -> None:
        from . import services
        from .models import IdentifiedNeed

        c = self.story.closure
        if c.reason == ClosureReason.STEP_UP:
            services.episode_step_up(
                actor=self.actor(),
                episode=self.episode,
                reason=c.step_up_reason,
                stepped_up_on=c.on,
                social_care_reference=c.social_care_reference,
            )
            return
        services.episode_close(
            actor=self.actor(),
            episode=self.episode,
            reason=c.reason,
            closed_on=c.on,
            need_outcomes={
                need.pk: outcome
                for need, outcome in zip(
                    IdentifiedNeed.objects.filter(episode=self.episode).order_by("id"),
                    c.outcomes,
                    strict=True,
                )
            },
            note=c.note,
        )


def play_family(
    stories: Sequence[EpisodeStory], *, family, people, users, areas, levels, replay: Replay
) -> None:
    """Write a family's stories through pathway.services, oldest first. ``people`` are the family's
    Person rows by member index, ``users`` Users by id, ``areas`` OutcomeAreas by code and ``levels``
    LevelOfNeed by code. Runs inside ``replay.running()``."""
    for story in stories:
        _Player(
            story, family=family, people=people, users=users, areas=areas, levels=levels, replay=replay
        ).play()


# --------------------------------------------------------------------------------------------
# The same stories as rows for COPY (large tier)

EPISODE_FIELDS = (
    "id",
    "family",
    "status",
    "level",
    "opened_on",
    "closed_on",
    "closure_reason",
    "closure_note",
    "social_care_reference",
    "source",
    "handover_notes",
    "is_re_referral",
    "step_up_reason",
    "next_review_due",
    "assessor",
    "lead_professional",
    "created_at",
    "version",
)
TRANSITION_FIELDS = ("episode", "from_status", "to_status", "occurred_at", "by", "reason")
LEVEL_FIELDS = ("episode", "level", "changed_on", "by", "reason", "created_at")
MEMBER_FIELDS = ("episode", "user", "agency", "person", "role", "joined_on", "left_on")
LEAD_FIELDS = (
    "episode",
    "user",
    "started_on",
    "ended_on",
    "family_view",
    "handover_note",
    "agreed_at",
    "recorded_by",
)
MEETING_FIELDS = (
    "id",
    "episode",
    "starts_at",
    "location",
    "online",
    "status",
    "decisions",
    "plan_changes",
    "next_meeting_on",
    "created_by",
    "created_at",
    "version",
)
REVIEW_FIELDS = (
    "id",
    "episode",
    "held_on",
    "is_baseline",
    "meeting",
    "decision",
    "summary",
    "recorded_by",
    "created_at",
)
SCORE_FIELDS = ("review", "area", "score")
NEED_FIELDS = ("episode", "area", "description", "outcome", "created_at")
CHRONOLOGY_FIELDS = (
    "family",
    "episode",
    "kind",
    "occurred_on",
    "title",
    "detail",
    "author",
    "significant",
    "created_at",
)
_STATUS_LABEL = {s.value: s.label.lower() for s in EpisodeStatus}


class StoryRows:
    """Rows for the pathway tables from stories, as pathway.services would have written them (without
    their audit events). ``ids`` reserves primary keys: ``ids(model_name, count)``; ``agency_of`` gives
    a worker's agency id and ``name`` their display name."""

    def __init__(
        self,
        *,
        area_ids: dict[str, int],
        level_ids: dict[str, int],
        level_names: dict[str, str],
        agency_of: Callable[[int], int | None],
        name: Callable[[int], str],
    ):
        self.area_ids = area_ids
        self.level_ids = level_ids
        self.level_names = level_names
        self.agency_of = agency_of
        self.name = name
        self.rows: dict[str, list[tuple]] = {
            key: []
            for key in (
                "episodes",
                "transitions",
                "levels",
                "members",
                "leads",
                "meetings",
                "reviews",
                "scores",
                "needs",
                "chronology",
            )
        }

    def loose_notes(self, family_id: int, notes: Sequence[tuple[dt.date, int, str, str]]) -> None:
        self.rows["chronology"].extend(
            (family_id, None, ChronologyKind.NOTE, on, title, detail, author, False, moment(on, 16, 30))
            for on, author, title, detail in notes
        )

    @staticmethod
    def counts(stories: Sequence[EpisodeStory]) -> dict[str, int]:
        """How many ids ``add`` takes for these stories."""
        return {
            "episodes": len(stories),
            "meetings": sum(len(s.meetings) for s in stories),
            "reviews": sum(
                (s.baseline_on is not None) + sum(1 for m in s.meetings if m.review is not None)
                for s in stories
            ),
        }

    def add(
        self,
        family_id: int,
        person_ids: Sequence[int],
        stories: Sequence[EpisodeStory],
        ids: dict[str, Iterator[int]],
    ) -> list[int]:
        """Rows for the family's stories (oldest first); returns their episodes' ids in that order."""
        last_closed: dt.date | None = None
        out = []
        for story in stories:
            out.append(self._episode(family_id, person_ids, story, ids, last_closed))
            if story.closure is not None:
                last_closed = story.closure.on
        return out

    def _episode(self, family_id, person_ids, s: EpisodeStory, ids, last_closed) -> int:
        r = self.rows
        chronology = r["chronology"]
        episode_id = next(ids["episodes"])
        opened_at = moment(s.opened_on, 10)
        opener = s.assessor if s.source == EpisodeSource.DIRECT else (s.coordinator or s.assessor)
        # As pathway.services.episode_open: a step down from social care is not a re-referral.
        re_referral = (
            s.source != EpisodeSource.STEP_DOWN
            and last_closed is not None
            and (s.opened_on - last_closed).days <= 365
        )

        def note(kind, on, title, detail="", author=None, significant=False, when=None):
            chronology.append(
                (family_id, episode_id, kind, on, title, detail, author, significant, when or moment(on, 12))
            )

        status = S.OPEN
        version = 1

        def transition(to: str, when: dt.datetime, by: int | None, reason: str) -> None:
            nonlocal status, version
            r["transitions"].append((episode_id, status, to, when, by, reason[:500]))
            version += 1
            note(
                ChronologyKind.TRANSITION, when.date(), f"Episode: {_STATUS_LABEL[to]}", reason, by, when=when
            )
            status = to

        # Opening: the request, the triage decision or the step down, the assessor in the team.
        if s.requested_on is not None:
            chronology.append(
                (
                    family_id,
                    None,
                    ChronologyKind.REQUEST,
                    s.requested_on,
                    "Request for support" if s.source == EpisodeSource.TRIAGE else "Step-down request",
                    s.request,
                    s.referrer or s.coordinator,
                    False,
                    moment(s.requested_on, 9, 30),
                )
            )
        if s.source == EpisodeSource.TRIAGE:
            chronology.append(
                (
                    family_id,
                    None,
                    ChronologyKind.TRIAGE,
                    s.opened_on,
                    "Hub triage: early help assessment (level 3)",
                    s.request,
                    s.coordinator,
                    False,
                    opened_at,
                )
            )
        reason = s.opening_reason or f"Assessment started with consent from {s.consent_from}"
        r["transitions"].append((episode_id, "", S.OPEN, opened_at, opener, reason[:500]))
        r["levels"].append((episode_id, self.level_ids[OPEN_LEVEL], s.opened_on, opener, "Opened", opened_at))
        title = "Early help episode opened" + (" (re-referral within 12 months)" if re_referral else "")
        note(ChronologyKind.TRANSITION, s.opened_on, title, reason, opener, True, opened_at)
        r["members"].append(
            (episode_id, s.assessor, self.agency_of(s.assessor), None, "Assessor", s.opened_on, None)
        )
        if s.assessment_on is not None:
            when = opened_at if s.source == EpisodeSource.DIRECT else moment(s.assessment_on, 11)
            transition(
                S.ASSESSMENT,
                when,
                s.assessor,
                f"Early Help Assessment started; consent from {s.consent_from}",
            )
        # The team and the needs.
        need_rows = []
        if s.team_on is not None:
            joined = moment(s.team_on, 12)
            for index, role in s.family:
                r["members"].append((episode_id, None, None, person_ids[index], role, s.team_on, None))
            for uid, role in s.workers:
                r["members"].append((episode_id, uid, self.agency_of(uid), None, role, s.team_on, None))
            for code, description in s.needs:
                need_rows.append([episode_id, self.area_ids[code], description, "", joined])
        # Baseline.
        if s.baseline_on is not None:
            review_id = next(ids["reviews"])
            when = moment(s.baseline_on, 14)
            r["reviews"].append(
                (
                    review_id,
                    episode_id,
                    s.baseline_on,
                    True,
                    None,
                    "",
                    "Baseline from the assessment",
                    s.assessor,
                    when,
                )
            )
            r["scores"].extend((review_id, self.area_ids[a], v) for a, v in s.baseline.items())
            note(
                ChronologyKind.ASSESSMENT,
                s.baseline_on,
                "Baseline outcome scores recorded",
                "",
                s.assessor,
                when=when,
            )
        # Meetings, the lead professional and reviews.
        lead = None
        lead_rows: list[list] = []
        next_review_due = None
        change = s.lead_change
        for m in s.meetings:
            meeting_id = next(ids["meetings"])
            if change is not None and lead is not None and change[0] <= m.held_on and lead != change[1]:
                lead = self._change_lead(family_id, episode_id, lead_rows, change, lead)
            actor = lead or s.assessor
            scheduled = m.scheduled_at or m.recorded_at
            r["meetings"].append(
                (
                    meeting_id,
                    episode_id,
                    m.starts_at,
                    m.location,
                    m.online,
                    "held" if m.held else "scheduled",
                    m.decisions if m.held else "",
                    m.plan_changes if m.held else "",
                    m.next_on if m.held else None,
                    actor,
                    scheduled,
                    2 if m.held else 1,
                )
            )
            note(
                ChronologyKind.MEETING, m.held_on, "TAF meeting scheduled", m.location, actor, when=scheduled
            )
            if not m.held:
                continue
            recorded = m.recorded_at
            if m.first:
                lead = s.lead
                lead_rows.append([episode_id, lead, m.held_on, None, s.lead_view, "", meeting_id, actor])
                note(
                    ChronologyKind.TRANSITION,
                    m.held_on,
                    f"Lead professional: {self.name(lead)}",
                    s.lead_view,
                    actor,
                    True,
                    recorded,
                )
                transition(
                    S.PLAN_ACTIVE, recorded, actor, "First TAF meeting held and lead professional agreed"
                )
                next_review_due = m.held_on + dt.timedelta(days=REVIEW_DAYS)
            note(ChronologyKind.MEETING, m.held_on, "TAF meeting held", m.decisions, actor, m.first, recorded)
            if m.review is not None:
                review_id = next(ids["reviews"])
                when = recorded + dt.timedelta(minutes=2)
                r["reviews"].append(
                    (
                        review_id,
                        episode_id,
                        m.held_on,
                        False,
                        meeting_id,
                        m.review.decision,
                        m.review.summary,
                        lead,
                        when,
                    )
                )
                r["scores"].extend((review_id, self.area_ids[a], v) for a, v in m.review.scores.items())
                if status == S.PLAN_ACTIVE:
                    transition(S.REVIEWING, when, lead, "First review held")
                label = ReviewDecision(m.review.decision).label.lower()
                note(ChronologyKind.REVIEW, m.held_on, f"Review: {label}", m.review.summary, lead, when=when)
                next_review_due = m.held_on + dt.timedelta(days=REVIEW_DAYS)
        if change is not None and lead is not None and lead != change[1]:
            lead = self._change_lead(family_id, episode_id, lead_rows, change, lead)
        level = OPEN_LEVEL
        for on, code, why in s.level_changes:
            when = moment(on, 15, 30)
            r["levels"].append((episode_id, self.level_ids[code], on, lead, why, when))
            note(
                ChronologyKind.TRANSITION,
                on,
                f"Level of need: {self.level_names[code]}",
                why,
                lead,
                when=when,
            )
            level = code
        for on, author, title, detail in s.notes:
            note(ChronologyKind.NOTE, on, title, detail, author, when=moment(on, 16, 30))
        # The end.
        c = s.closure
        closure = ("", "", "", None)
        reference = s.social_care_reference
        if c is not None:
            when = moment(c.on, 17, 30)
            actor = lead or s.assessor
            if c.reason == ClosureReason.STEP_UP:
                transition(S.CLOSED, when, actor, f"Stepped up: {c.step_up_reason}")
                note(
                    ChronologyKind.TRANSITION, c.on, "Stepped up to children's social care", c.step_up_reason,
                    actor, True, when,
                )  # fmt: skip
                outcomes = [NeedOutcome.TRANSFERRED] * len(need_rows)
                reference = c.social_care_reference
            else:
                transition(S.CLOSED, when, actor, f"Closed: {ClosureReason(c.reason).label}")
                outcomes = c.outcomes
            for row, outcome in zip(need_rows, outcomes, strict=True):
                row[3] = outcome
            for row in lead_rows:
                if row[3] is None:
                    row[3] = c.on
            closure = (c.reason, c.note, c.step_up_reason, c.on)
            next_review_due = None
        r["needs"].extend(map(tuple, need_rows))
        r["leads"].extend(map(tuple, lead_rows))
        r["episodes"].append(
            (
                episode_id,
                family_id,
                status,
                self.level_ids[level],
                s.opened_on,
                closure[3],
                closure[0],
                closure[1],
                reference,
                s.source,
                s.handover_notes,
                re_referral,
                closure[2],
                next_review_due,
                s.assessor,
                lead,
                opened_at,
                version,
            )
        )
        return episode_id

    def _change_lead(
        self, family_id: int, episode_id: int, lead_rows: list[list], change, previous: int
    ) -> int:
        on, uid, view, handover = change
        lead_rows[-1][3] = on
        lead_rows.append([episode_id, uid, on, None, view, handover, None, previous])
        title = f"Lead professional: {self.name(uid)}"
        row = (
            family_id,
            episode_id,
            ChronologyKind.TRANSITION,
            on,
            title,
            handover,
            previous,
            True,
            moment(on, 15),
        )
        self.rows["chronology"].append(row)
        return uid


# --------------------------------------------------------------------------------------------
# Supporting Families claims: the large tier's rows, and a few through pathway.claims in the county

CLAIM_FIELDS = (
    "id",
    "episode",
    "family",
    "evidence",
    "status",
    "status_changed_on",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "version",
)
CLAIM_AREA_FIELDS = ("supportingfamiliesclaim", "outcomearea")
CLAIM_SHARE = 0.65  # of the episodes closed with outcomes achieved and at least one need met
CLAIM_ORDER = ("draft", "verified", "submitted", "rejected")
EVIDENCE = {
    "education": "school attendance above 90% for the last three terms (school register)",
    "early_years": "development review on track and speech and language therapy finished",
    "health": "registered with a GP and attending appointments; the GP confirms the improvement",
    "substance_use": "recovery programme completed and six months without a relapse",
    "family_relationships": "parenting programme completed; no new concerns from school or health",
    "safety": "no missing episodes for six months and the exploitation screening closed",
    "crime": "no offending or antisocial behaviour for six months (police check)",
    "domestic_abuse": "no police call-outs for six months; the safety plan is in place",
    "housing": "arrears cleared under a repayment plan and the tenancy is secure",
    "financial_stability": "debts consolidated, benefits paid on time and a parent in work",
}
REJECTIONS = (
    "The programme asked for attendance figures for a full school year",
    "Progress was not yet sustained for six months when the claim was made",
)


def claim_evidence(areas: Sequence[str]) -> str:
    text = "; ".join(EVIDENCE.get(a, AREA_WORDS.get(a, a)) for a in areas)
    return f"{text[0].upper()}{text[1:]}. Progress sustained since the episode closed."


def claim_path(
    rng: random.Random, closed_on: dt.date, today: dt.date, target: str | None = None
) -> list[tuple[str, dt.date]] | None:
    """The statuses a claim for an episode closed on ``closed_on`` has been through and when, oldest
    first (draft, then verified, submitted, rejected as far as it got), or None when it closed too
    recently for a claim. Older closures have got further: most are submitted."""
    age = (today - closed_on).days
    if age < 1:
        return None
    if target is None:
        if age < 45:
            weights = (("draft", 85), ("verified", 15))
        elif age < 180:
            weights = (("draft", 30), ("verified", 35), ("submitted", 30), ("rejected", 5))
        else:
            weights = (("draft", 5), ("verified", 10), ("submitted", 72), ("rejected", 13))
        target = weighted(rng, weights)
    statuses = CLAIM_ORDER[: CLAIM_ORDER.index(target) + 1]
    gaps = (rng.randint(1, 60), rng.randint(7, 40), rng.randint(10, 60), rng.randint(20, 90))
    offsets, total = [], 0
    for gap in gaps[: len(statuses)]:
        total += gap
        offsets.append(total)
    if offsets[-1] > age:  # squeeze the steps into the time there has been
        offsets = [max(1, o * age // offsets[-1]) for o in offsets]
    return [(s, closed_on + dt.timedelta(days=o)) for s, o in zip(statuses, offsets, strict=True)]


def claim_areas(story: EpisodeStory) -> list[str]:
    """The outcome areas of the needs met when the story's episode closed with its outcomes achieved."""
    c = story.closure
    if c is None or c.reason != ClosureReason.OUTCOMES_ACHIEVED:
        return []
    met = [
        code for (code, _), outcome in zip(story.needs, c.outcomes, strict=True) if outcome == NeedOutcome.MET
    ]
    return list(dict.fromkeys(met))


class ClaimRows:
    """Supporting Families claims for the large tier, as pathway.claims would have left them: drafted by
    the lead professional after the episode closed with its outcomes achieved, for the areas of the
    needs met, then moved on by an early help manager (``managers``). ``ids`` gives claim ids."""

    def __init__(
        self,
        *,
        rng: random.Random,
        today: dt.date,
        now: dt.datetime,
        area_ids: dict[str, int],
        managers: Sequence[int],
    ):
        self.rng = rng
        self.today = today
        self.now = now
        self.area_ids = area_ids
        self.managers = list(managers)
        self.rows: dict[str, list[tuple]] = {"claims": [], "claim_areas": []}

    def add(
        self,
        family_id: int,
        stories: Sequence[EpisodeStory],
        episode_ids: Sequence[int],
        ids: Iterator[int],
    ) -> None:
        rng = self.rng
        for story, episode_id in zip(stories, episode_ids, strict=True):
            areas = [a for a in claim_areas(story) if a in self.area_ids]
            if not areas or rng.random() >= CLAIM_SHARE:
                continue
            path = claim_path(rng, story.closure.on, self.today)
            if path is None:
                continue
            claim_id = next(ids)
            lead = story.final_lead or story.assessor
            mover = rng.choice(self.managers) if self.managers and len(path) > 1 else lead
            status, on = path[-1]
            self.rows["claims"].append(
                (
                    claim_id,
                    episode_id,
                    family_id,
                    claim_evidence(areas),
                    status,
                    on,
                    lead,
                    min(moment(path[0][1], 11), self.now),
                    mover,
                    min(moment(on, 11, 30), self.now),
                    len(path),
                )
            )
            self.rows["claim_areas"].extend((claim_id, self.area_ids[a]) for a in areas)


COUNTY_CLAIM_TARGETS = ("submitted", "draft", "verified", "rejected", "submitted", "verified", "draft")


def seed_county_claims(*, families, seed: int, limit: int = 10) -> int:
    """A few Supporting Families claims for ``families`` (the county's), through pathway.claims at the
    time each step happened: drafted by the lead professional, moved on by an early help manager, with
    every status represented. Written once: returns 0 when these families already have claims."""
    from ehcase.models import Membership, Role, User

    from . import claims
    from .models import Episode, IdentifiedNeed, OutcomeArea, SupportingFamiliesClaim

    if SupportingFamiliesClaim.objects.filter(family__in=families).exists():
        return 0
    manager = (
        Membership.objects.filter(role=Role.EARLY_HELP_MANAGER)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    ).first()
    if manager is None:
        return 0
    met = IdentifiedNeed.objects.filter(outcome=NeedOutcome.MET)
    episodes = list(
        Episode.objects.filter(
            family__in=families, closure_reason=ClosureReason.OUTCOMES_ACHIEVED, needs__in=met
        )
        .distinct()
        .order_by("closed_on", "id")[:limit]
    )
    rng = random.Random(f"{seed}:county-claims")
    today = timezone.localdate()
    users = User.objects.in_bulk([manager, *(e.lead_professional_id or e.assessor_id for e in episodes)])
    replay = Replay()
    written = 0
    with replay.running():
        for n, episode in enumerate(episodes):
            path = claim_path(
                rng, episode.closed_on, today, COUNTY_CLAIM_TARGETS[n % len(COUNTY_CLAIM_TARGETS)]
            )
            if path is None:
                continue
            codes = list(
                dict.fromkeys(met.filter(episode=episode).order_by("id").values_list("area__code", flat=True))
            )
            areas = list(OutcomeArea.objects.filter(code__in=codes).order_by("order", "name"))
            replay.at(moment(path[0][1], 11))
            claim = claims.claim_create(
                actor=users[episode.lead_professional_id or episode.assessor_id],
                episode=episode,
                areas=areas,
                evidence=claim_evidence(codes),
            )
            for status, on in path[1:]:
                replay.at(moment(on, 11, 30))
                claim = claims.claim_set_status(
                    actor=users[manager],
                    claim=claim,
                    status=status,
                    version=claim.version,
                    reason=rng.choice(REJECTIONS) if status == "rejected" else "",
                )
            written += 1
    return written
