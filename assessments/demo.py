"""Demo consent, Early Help Assessments and family plans for the episode stories of pathway.demo.

An episode story that gets as far as an assessment is played, at the moments the story gives, through
assessments.services: consent recorded for the family members the assessment covers (a parent for a
younger child, everyone else for themself), the assessment started, drafts saved as the practitioner
goes, completed (its needs and scores become the episode's needs and baseline) before the first TAF
meeting, then signed off or returned by a manager of the assessor's agency or an early help manager.
At the first meeting the plan gets outcomes in the family's words, each with actions owned by a
practitioner, an agency or a family member; owners update their actions at the reviews.

The assessment's state is planned from the story's own seed (``plan_assessment``), so the pathway
planner's random stream, and with it every other part of the demo, is unchanged; a story may ask for
a state (``EpisodeStory.eha``). States:

* draft: started and partly written; the episode is still in assessment;
* withdrawn: a draft, and one member's consent has since been withdrawn (it cannot be completed, and
  nobody new joins the team, until consent is recorded again);
* completed: awaiting sign-off;
* returned: returned to the assessor with comments;
* signed_off: signed off;
* resubmitted: returned after the first meeting, revised, completed again (version 2) and signed off.

A closure for "family withdrew consent" withdraws every current consent first; a closure with the
outcomes achieved marks the plan's outcomes achieved.

``EhaRows`` writes the same plans as rows for COPY in the large tier (ehcase.seeding): consent for the
members covered, the assessment with the members it covers, a version for each completion with its
sign-off or return, withdrawals, and the chronology lines assessments.services writes (no audit
events, and no family plans: outcomes and actions are left out of the large tier).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils import timezone

from ehcase.models import FamilyMember, HouseholdRole, Membership, Role
from pathway.demo import EpisodeStory, Facts, moment, weighted
from pathway.models import ChronologyKind, ClosureReason, EpisodeSource, TafMember

from .models import ActionStatus, AssessmentStatus, AssessmentTemplate, ConsentRecord, PlanAction, PlanOutcome

# --------------------------------------------------------------------------------------------
# Words

# Where each outcome area's need is written up in the default form.
AREA_DOMAINS = {
    "education": "child.education",
    "early_years": "child.health",
    "health": "family.history",
    "substance_use": "parenting.safety",
    "family_relationships": "child.relationships",
    "safety": "parenting.safety",
    "crime": "child.emotional",
    "domestic_abuse": "family.history",
    "housing": "family.housing",
    "financial_stability": "family.employment_income",
}
STRENGTHS_IN_AREA = (
    "{parent} is open about what is hard and wants things to change.",
    "{parent} has already made a start and rang the school about it last week.",
    "The family have kept every appointment since the request for support.",
    "{parent} knows what helps and what does not, and says so.",
)
GENERAL_DOMAINS = {
    "parenting.warmth": (
        "{parent} is warm with the children; lots of praise seen during the visit.",
        "The children are clearly loved. {parent} knows their friends, likes and worries.",
    ),
    "family.wider_family": (
        "Grandparents live nearby and help with the school run twice a week.",
        "Little support from wider family since the move; one aunt keeps in touch by phone.",
    ),
    "family.community": (
        "The family use the library and the children's centre; no other groups at present.",
        "{parent} feels isolated on the estate and would like to meet other parents.",
    ),
    "child.identity": (
        "{child} is proud of their football team and their gran's cooking.",
        "{child} talks about wanting to be a vet and loves the family dog.",
    ),
}
PARENT_STRENGTHS = (
    "Loving and honest about what is hard",
    "Keeps the home warm and the children fed despite the money worries",
    "Good at routines when well; asks for help",
    "Determined, funny and close to the children",
)
PARENT_NEEDS = (
    "Support with low mood and with getting to appointments",
    "Help with routines and managing behaviour at bedtime",
    "Someone to help sort out the debts and the benefits",
    "Time for themself and a break from caring",
)
CHILD_STRENGTHS = (
    "Kind to younger brothers and sisters",
    "Loves football and drawing",
    "Chatty and curious; good friends at school",
    "Helpful at home; proud of their reading",
)
CHILD_NEEDS = (
    "Needs to get to school on time every day",
    "Needs help with worries and sleep",
    "Needs calm mornings and a settled bedtime",
    "Needs a safe adult to talk to at school",
)
CHILD_VOICE = (
    "I like it when {parent} is happy and we go to the park.",
    "I don't like the shouting in the mornings. I want to walk to school with my friend.",
    "School is OK. I like art. I get worried about {parent} when I'm there.",
    "I want my own bed and for us to have more room.",
    "I want to see my dad more and for people to stop arguing.",
    "Football makes me feel better. I want to get into the team.",
)
FAMILY_VIEWS = (
    "{parent}: 'We want mornings to be calmer and the kids to get to school on time. I want to feel "
    "like myself again.'",
    "{parent} says the family is 'stuck' and wants help with the money and the flat first, then {child}.",
    "{parent}: 'I know things have slipped. I want someone to help me get back on track, not judge me.'",
    "The family want fewer arguments at home and more time doing things together at weekends.",
)
RETURN_COMMENTS = (
    "Please add {child}'s own words about school and home; the voice of the child section is thin.",
    "The family's view needs more detail: what do they want to change first?",
    "Check the baseline scores with {parent}: housing looks high given the arrears.",
    "Say more about the strengths in the wider family before this is signed off.",
)
REVISIONS = (
    "Updated after talking again with {parent} and {child}: {child} would like the mornings to be calmer "
    "and wants to walk to school with a friend.",
    "{parent} added that the flat and the money worries are what the family want sorted first.",
)
# Outcomes in the family's own words, and who said them ("parent" or "child").
OUTCOMES: dict[str, tuple[tuple[str, str], ...]] = {
    "education": (
        ("I want to go to school every day and not feel worried when I get there", "child"),
        ("{child} gets to school on time and is happy there", "parent"),
    ),
    "early_years": (
        ("{baby} is talking more and we understand what they want", "parent"),
        ("{baby} has a bedtime routine and sleeps through", "parent"),
    ),
    "health": (
        ("I feel well enough to do things with the kids again", "parent"),
        ("I have a doctor I trust and I go to my appointments", "parent"),
    ),
    "substance_use": (("I drink less and the mornings are calmer", "parent"),),
    "family_relationships": (
        ("We argue less and have fun together at weekends", "parent"),
        ("Me and {parent} can talk without shouting", "child"),
    ),
    "safety": (
        ("I'm home safe every night and my family know where I am", "child"),
        ("{child} is safe and we always know where they are", "parent"),
    ),
    "crime": (
        ("I stay out of trouble and have something good to do after school", "child"),
        ("{child} keeps out of trouble and has things to do after school", "parent"),
    ),
    "domestic_abuse": (("We feel safe at home and know who to call if we're not", "parent"),),
    "housing": (("We have a home that's big enough and the rent is paid", "parent"),),
    "financial_stability": (
        ("We have enough money for food and bills every week", "parent"),
        ("I have a job or a course that fits around the kids", "parent"),
    ),
}
# Actions for each area: (what will be done, who owns it): "lead" (the lead professional), "worker"
# (another practitioner in the team), "agency" (that practitioner's agency) or "family" (a parent).
ACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "education": (
        ("Agree an attendance plan with {parent} and check it every two weeks", "agency"),
        ("{parent} to walk {child} to school on Mondays and Tuesdays", "family"),
        ("Meet {child} each week to talk about how school is going", "lead"),
    ),
    "early_years": (
        ("Refer {baby} to speech and language therapy", "worker"),
        ("{parent} to go to the stay-and-play session on Thursdays", "family"),
    ),
    "health": (
        ("{parent} to register with a GP and book a check-up", "family"),
        ("Go with {parent} to the first GP appointment", "lead"),
        ("Refer {parent} to talking therapy", "worker"),
    ),
    "substance_use": (
        ("Refer {parent} to the recovery service", "worker"),
        ("{parent} to keep a drink diary for four weeks", "family"),
    ),
    "family_relationships": (
        ("Six sessions of parenting support at home", "lead"),
        ("{parent} to try the new bedtime routine every night", "family"),
    ),
    "safety": (
        ("Return home interview after any missing episode", "agency"),
        ("Talk with {child} about staying safe online and with older friends", "lead"),
    ),
    "crime": (
        ("Prevention worker to meet {child} weekly", "agency"),
        ("{child} to try the youth club on Wednesday evenings", "family"),
    ),
    "domestic_abuse": (
        ("Make a safety plan with {parent}", "lead"),
        ("Refer {parent} to the domestic abuse outreach service", "worker"),
    ),
    "housing": (
        ("Visit about the rent arrears and the housing register", "agency"),
        ("{parent} to bring the tenancy letters to the next visit", "family"),
    ),
    "financial_stability": (
        ("Benefits check and a referral to debt advice", "lead"),
        ("{parent} to open the post with the family worker each week", "family"),
    ),
}

# States for a story whose first TAF meeting is held (the plan needs a completed assessment) ...
PLAN_STATES = (("signed_off", 70), ("completed", 15), ("resubmitted", 15))
# ... and for one still in assessment: with a baseline planned the assessment has been completed.
COMPLETED_STATES = (("completed", 40), ("signed_off", 30), ("returned", 30))
DRAFT_STATES = (("draft", 75), ("withdrawn", 25))
FINAL_STATUS = {
    "draft": AssessmentStatus.DRAFT,
    "withdrawn": AssessmentStatus.DRAFT,
    "completed": AssessmentStatus.COMPLETED,
    "returned": AssessmentStatus.RETURNED,
    "signed_off": AssessmentStatus.SIGNED_OFF,
    "resubmitted": AssessmentStatus.SIGNED_OFF,
}
STATES = tuple(FINAL_STATUS)


# --------------------------------------------------------------------------------------------
# Planning


@dataclass
class EhaPlan:
    """When each step of one episode's assessment happens."""

    state: str
    decider: str  # "agency" (a manager of the assessor's agency) or "ehm" (an early help manager)
    start: dt.datetime
    saves: list[tuple[dt.datetime, tuple[str, ...]]] = field(default_factory=list)
    complete: dt.datetime | None = None
    steps: list[tuple[dt.datetime, str]] = field(default_factory=list)  # sign_off, return, revise, ...
    withdraw: dt.datetime | None = None

    @property
    def status(self) -> str:
        return FINAL_STATUS[self.state]


def _rng(story: EpisodeStory) -> random.Random:
    return random.Random(f"eha:{story.seed}")


def _day(on: dt.date, limit: dt.date) -> dt.date:
    return min(on, limit)


def plan_assessment(story: EpisodeStory, today: dt.date) -> EhaPlan | None:
    """The assessment of a story that reaches one, or None. Deterministic for the story."""
    if story.assessment_on is None:
        return None
    rng = _rng(story)
    start_day = story.opened_on if story.source == EpisodeSource.DIRECT else story.assessment_on
    start = moment(start_day, 10, 5) if story.source == EpisodeSource.DIRECT else moment(start_day, 11)
    last_day = story.closure.on if story.closure is not None else today
    limit = moment(last_day, 17)  # the closure is at 17:30
    held = [m for m in story.meetings if m.held]
    if held:
        state = story.eha or weighted(rng, PLAN_STATES)
        if state not in ("completed", "signed_off", "resubmitted"):
            raise ValueError(f"An episode with a plan needs a completed assessment, not {state!r}")
    elif story.eha:
        state = story.eha
        if state == "resubmitted":
            raise ValueError("An assessment is resubmitted after the first TAF meeting: the story has none")
    elif story.baseline_on is not None:
        state = weighted(rng, COMPLETED_STATES)
    else:
        state = "draft" if story.closure is not None else weighted(rng, DRAFT_STATES)
    if state not in STATES:
        raise ValueError(f"Unknown assessment state {state!r}")
    decider = story.eha_by or ("agency" if rng.random() < 0.6 else "ehm")
    plan = EhaPlan(state=state, decider=decider, start=start)

    completing = state not in ("draft", "withdrawn")
    if completing:
        if story.baseline_on is not None:
            complete_day = story.baseline_on
        else:
            after = max(start_day, story.team_on or start_day)
            complete_day = max(start_day, _day(after + dt.timedelta(days=rng.randint(5, 15)), last_day))
        plan.complete = moment(complete_day, 14)
        end_day = complete_day
    else:
        end_day = last_day
    first_day = _day(start_day + dt.timedelta(days=rng.randint(0, 4)), end_day)
    second_day = _day(first_day + dt.timedelta(days=rng.randint(1, 10)), end_day)
    if completing:  # written over a visit or two, finished on the day it is completed
        plan.saves.append((moment(first_day, 12, 45), ("domains", "members", "child_voice")))
        plan.saves.append((moment(end_day, 13, 50), ("family_view", "needs", "scores")))
    else:  # part written
        plan.saves.append((moment(first_day, 12, 45), ("domains", "members")))
        if rng.random() < 0.5:
            plan.saves.append((moment(second_day, 13, 20), ("child_voice", "family_view", "needs")))
    if state == "withdrawn":
        after = max(story.team_on or start_day, start_day)
        span = max(0, (last_day - after).days)
        plan.withdraw = moment(after + dt.timedelta(days=rng.randint(0, span)), 16, 45)

    def decided(after: dt.date, days: int) -> dt.datetime:
        """A manager's decision some days after `after`, and no later than the last day of the story."""
        on = min(after + dt.timedelta(days=days), last_day)
        return moment(on, 10) if on > after else moment(on, 16)

    if state in ("signed_off", "returned"):
        plan.steps.append(
            (decided(complete_day, rng.randint(1, 6)), "sign_off" if state == "signed_off" else "return")
        )
    elif state == "resubmitted":
        # Returned after the first TAF meeting (the plan stays active), revised, completed and signed off.
        returned_day = held[0].held_on + dt.timedelta(days=rng.randint(1, 8))
        revised_day = returned_day + dt.timedelta(days=rng.randint(1, 3))
        signed = moment(revised_day + dt.timedelta(days=rng.randint(1, 4)), 10)
        if signed <= limit:
            plan.steps += [
                (moment(returned_day, 10), "return"),
                (moment(revised_day, 15), "revise"),
                (moment(revised_day, 15, 10), "recomplete"),
                (signed, "sign_off"),
            ]
        else:
            plan.state = "signed_off"
            plan.steps.append((decided(complete_day, rng.randint(1, 6)), "sign_off"))
    return plan


# --------------------------------------------------------------------------------------------
# Playing


def _age_on(born: dt.date | None, on: dt.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class EhaPlayer:
    """One story's consent, assessment and plan, through assessments.services, for pathway.demo's
    player (which gives the episode, the users, the outcome areas and the replayed clock)."""

    def __init__(self, player):
        self.player = player
        self.story: EpisodeStory = player.story
        self.today = timezone.localtime(player.replay.real_now).date()
        self.plan = plan_assessment(self.story, self.today)
        self.rng = random.Random(f"eha-play:{self.story.seed}")
        self.assessment = None
        # Who the assessment covers and who is who, as at its start (see _members).
        self.covered: list[FamilyMember] = []
        self.children: list[FamilyMember] = []
        self.parent = None
        self.teen = None
        self.names: dict[str, str] = {}

    @property
    def completes(self) -> bool:
        """Whether the episode's needs and baseline come from a completed assessment."""
        return self.plan is not None and self.plan.complete is not None

    def events(self) -> list[tuple[dt.datetime, object]]:
        p, s = self.plan, self.story
        out: list[tuple[dt.datetime, object]] = []
        if p is not None:
            out.append((p.start, self.start))
            out += [(when, lambda parts=parts: self.save(parts)) for when, parts in p.saves]
            if p.complete is not None:
                out.append((p.complete, self.complete))
            out += [(when, lambda step=step: self.step(step)) for when, step in p.steps]
            if p.withdraw is not None:
                out.append((p.withdraw, self.withdraw_one))
        if s.closure is not None and p is not None:
            if s.closure.reason == ClosureReason.CONSENT_WITHDRAWN:
                out.append((moment(s.closure.on, 17, 10), self.withdraw_all))
            if s.closure.reason == ClosureReason.OUTCOMES_ACHIEVED:
                out.append((moment(s.closure.on, 17, 20), self.outcomes_achieved))
        return out

    # -- who --------------------------------------------------------------------------------------

    def _members(self, on: dt.date) -> None:
        rows = list(
            FamilyMember.objects.filter(family=self.player.family, end_date__isnull=True)
            .select_related("person")
            .order_by("id")
        )
        born = [m for m in rows if m.person.date_of_birth and m.person.date_of_birth <= on]
        self.covered = [m for m in born if m.start_date <= on] or born or rows
        parents = [m for m in rows if m.role == HouseholdRole.PARENT_CARER]
        parents.sort(key=lambda m: m not in self.covered)
        self.parent = parents[0].person if parents else None
        children = sorted(
            (m for m in self.covered if m.role == HouseholdRole.CHILD),
            key=lambda m: m.person.date_of_birth or dt.date.max,
        )
        school_age = [m for m in children if 4 <= (_age_on(m.person.date_of_birth, on) or 0) <= 17]
        young = [m for m in children if (_age_on(m.person.date_of_birth, on) or 0) < 5]
        teens = [m for m in children if (_age_on(m.person.date_of_birth, on) or 0) >= 11]
        first = self.parent or self.covered[0].person
        child = (school_age or children or [None])[0]
        baby = (young or [None])[-1]
        self.children = children
        self.teen = teens[0].person if teens else None
        self.names = {
            "parent": first.first_name,
            "child": child.person.first_name if child else "the children",
            "baby": baby.person.first_name if baby else "the baby",
        }

    def words(self, text: str) -> str:
        return text.format(**self.names)

    def _assessor(self):
        return self.player.users[self.story.assessor]

    # -- consent and the assessment ---------------------------------------------------------------

    def start(self) -> None:
        from . import services

        s = self.story
        given_on = self.plan.start.date()
        self._members(given_on)
        rng = self.rng
        for member in self.covered:
            person = member.person
            age = _age_on(person.date_of_birth, given_on)
            young = member.role == HouseholdRole.CHILD and (age is None or age < services.consent_self_age())
            by_parent = young and self.parent is not None
            services.consent_record(
                actor=self._assessor(),
                episode=self.player.episode,
                person=person,
                given_by=self.parent if by_parent else person,
                own_consent_competent=young and not by_parent,
                given_on=given_on,
                method=weighted(rng, (("written", 70), ("verbal", 30))),
                agrees_to_sharing=True,
                sharing_basis=weighted(rng, (("consent", 80), ("public_task", 20))),
                notes="Explained what is shared, with whom and why; leaflet left with the family."
                if rng.random() < 0.3
                else "",
            )
        self.assessment = services.assessment_start(
            actor=self._assessor(),
            episode=self.player.episode,
            members=[m.person for m in self.covered],
            assessment_date=s.assessment_on,
        )

    def _content(self, part: str) -> dict | list | str:
        s, rng = self.story, self.rng
        if part == "domains":
            codes = set(AssessmentTemplate.objects.get(pk=self.assessment.template_id).area_codes())
            answers: dict[str, str] = {}
            for area, description in s.needs:
                code = AREA_DOMAINS.get(area)
                if code in codes:
                    extra = self.words(rng.choice(STRENGTHS_IN_AREA))
                    answers[code] = (answers.get(code, "") + f" {description}. {extra}").strip()
            for code, options in GENERAL_DOMAINS.items():
                if code in codes and rng.random() < 0.6:
                    answers[code] = self.words(rng.choice(options))
            return answers or {sorted(codes)[0]: self.words(FAMILY_VIEWS[0])}
        if part == "members":
            out = {}
            for m in self.covered:
                adult = m.role != HouseholdRole.CHILD
                out[str(m.person_id)] = {
                    "strengths": rng.choice(PARENT_STRENGTHS if adult else CHILD_STRENGTHS),
                    "needs": rng.choice(PARENT_NEEDS if adult else CHILD_NEEDS),
                }
            return out
        if part == "child_voice":
            on = self.plan.start.date()
            talking = [m for m in self.children if (_age_on(m.person.date_of_birth, on) or 0) >= 4]
            voices = rng.sample(CHILD_VOICE, min(len(talking), len(CHILD_VOICE)))
            return {str(m.person_id): self.words(v) for m, v in zip(talking, voices, strict=False)}
        if part == "family_view":
            return self.words(rng.choice(FAMILY_VIEWS))
        if part == "needs":
            needs = s.needs or [("family_relationships", "The family want help with routines at home")]
            return [{"area": area, "description": description} for area, description in needs]
        if part == "scores":
            if s.baseline:
                return dict(s.baseline)
            # As the pathway planner scores a baseline: every area that applies to the family.
            on = self.plan.start.date()
            ages = [_age_on(m.person.date_of_birth, on) or 0 for m in self.children]
            need_areas = {a for a, _ in s.needs}
            return {
                a: rng.randint(1, 4) if a in need_areas else rng.randint(4, 8)
                for a in sorted(self.player.areas)
                if not (a == "early_years" and not any(age < 5 for age in ages))
                and not (a == "education" and not any(4 <= age <= 17 for age in ages))
            }
        raise ValueError(part)

    def save(self, parts: tuple[str, ...], **extra) -> None:
        from . import services

        self.assessment = services.assessment_save(
            actor=self._assessor(),
            assessment=self.assessment,
            expected_version=self.assessment.version,
            changes={part: self._content(part) for part in parts},
            **extra,
        )

    def complete(self) -> None:
        from . import services

        self.assessment = services.assessment_complete(
            actor=self._assessor(), assessment=self.assessment, expected_version=self.assessment.version
        )

    def _decider(self):
        assessor = self.story.assessor
        agencies = Membership.objects.filter(user_id=assessor, role=Role.PRACTITIONER).values("agency_id")
        managers = list(
            Membership.objects.filter(agency_id__in=agencies, role=Role.AGENCY_MANAGER)
            .exclude(user_id=assessor)
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )
        ehms = list(
            Membership.objects.filter(role=Role.EARLY_HELP_MANAGER)
            .exclude(user_id=assessor)
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )
        order = managers + ehms if self.plan.decider == "agency" else ehms + managers
        return self.player.users[order[0]] if order else None

    def step(self, step: str) -> None:
        from . import services

        if step in ("sign_off", "return"):
            decider = self._decider()
            if decider is None:
                return
            comments = "" if step == "sign_off" else self.words(self.rng.choice(RETURN_COMMENTS))
            if step == "sign_off" and self.rng.random() < 0.3:
                comments = "A clear, whole-family assessment. The family's voice comes through well."
            self.assessment = services.assessment_decide(
                actor=decider,
                assessment=self.assessment,
                sign_off=step == "sign_off",
                comments=comments,
                expected_version=self.assessment.version,
            )
        elif step == "revise":
            view = self.assessment.content.get("family_view", "")
            revised = f"{view} {self.words(self.rng.choice(REVISIONS))}".strip()
            self.assessment = services.assessment_save(
                actor=self._assessor(),
                assessment=self.assessment,
                expected_version=self.assessment.version,
                changes={"family_view": revised[: services.ANSWER_MAX_LENGTH]},
            )
        elif step == "recomplete":
            self.complete()
        else:  # pragma: no cover - a programming error
            raise ValueError(step)

    # -- withdrawal ---------------------------------------------------------------------------------

    def withdraw_one(self) -> None:
        """A member's consent is withdrawn while the assessment is in draft: a child's if there is one."""
        from . import services

        consents = list(
            ConsentRecord.objects.filter(episode=self.player.episode, withdrawn_on__isnull=True)
            .select_related("person")
            .order_by("id")
        )
        if not consents:
            return
        child_ids = {m.person_id for m in self.children}
        consent = next((c for c in reversed(consents) if c.person_id in child_ids), consents[-1])
        services.consent_withdraw(
            actor=self._assessor(),
            consent=consent,
            withdrawn_on=timezone.localtime(self.player.replay.now()).date(),
            reason=f"{self.names['parent']} asked that {consent.person.first_name} is left out of the "
            "assessment for now and nothing more about them is shared.",
        )

    def withdraw_all(self) -> None:
        from . import services

        actor = self.player.actor()
        for consent in ConsentRecord.objects.filter(episode=self.player.episode, withdrawn_on__isnull=True):
            services.consent_withdraw(
                actor=actor,
                consent=consent,
                withdrawn_on=self.story.closure.on,
                reason=f"{self.names.get('parent', 'The family')} said the family no longer want early help.",
            )

    # -- the plan -----------------------------------------------------------------------------------

    def plan_agreed(self, meeting_plan) -> None:
        """At the first TAF meeting: outcomes in the family's words (up to three), each with actions."""
        from . import services

        if not self.names:
            self._members(meeting_plan.held_on)
        rng = self.rng
        self.player.replay.at(meeting_plan.recorded_at + dt.timedelta(minutes=3))
        actor = self.player.actor()
        episode = self.player.episode
        workers = list(
            TafMember.objects.filter(episode=episode, user__isnull=False, left_on__isnull=True)
            .exclude(user=actor)
            .select_related("user", "agency")
            .order_by("id")
        )
        needs = list(dict.fromkeys(area for area, _ in self.story.needs if area in OUTCOMES))[:3]
        for n, area in enumerate(needs):
            options = [o for o in OUTCOMES[area] if self.teen is not None or o[1] == "parent"]
            wording, speaker = rng.choice(options or OUTCOMES["family_relationships"][:1])
            said_by = self.teen if speaker == "child" else self.parent
            outcome = services.plan_outcome_add(
                actor=actor,
                episode=episode,
                wording=self.words(wording),
                said_by=said_by,
                area=self.player.areas.get(area),
            )
            for description, owner in rng.sample(ACTIONS[area], 2 if n == 0 else 1):
                owners: dict = {"owner_user": actor}
                worker = rng.choice(workers) if workers else None
                if owner == "worker" and worker is not None:
                    owners = {"owner_user": worker.user}
                elif owner == "agency" and worker is not None and worker.agency_id:
                    owners = {"owner_agency": worker.agency}
                elif owner == "family" and self.parent is not None:
                    owners = {"owner_person": self.parent}
                services.action_add(
                    actor=actor,
                    episode=episode,
                    description=self.words(description),
                    due_on=meeting_plan.held_on + dt.timedelta(days=rng.randint(14, 56)),
                    outcome=outcome,
                    **owners,
                )

    def review_actions(self, meeting_plan, *, last: bool) -> None:
        """At a review, owners update the actions that have fallen due (the lead updates the rest)."""
        from . import services

        rng = self.rng
        self.player.replay.at(meeting_plan.recorded_at + dt.timedelta(minutes=4))
        lead = self.player.actor()
        team = set(
            TafMember.objects.filter(
                episode=self.player.episode, user__isnull=False, left_on__isnull=True
            ).values_list("user_id", flat=True)
        )
        closing = last and self.story.closure is not None
        due = PlanAction.objects.filter(
            episode=self.player.episode,
            status__in=[ActionStatus.NOT_STARTED, ActionStatus.IN_PROGRESS],
            due_on__lte=meeting_plan.held_on,
        ).select_related("owner_user")
        for action in due:
            if closing:
                status = weighted(rng, ((ActionStatus.DONE, 80), (ActionStatus.DROPPED, 20)))
            else:
                status = weighted(
                    rng,
                    (
                        (ActionStatus.DONE, 60),
                        (ActionStatus.IN_PROGRESS, 25),
                        (ActionStatus.DROPPED, 5),
                        (None, 10),
                    ),
                )
            if status is None or status == action.status:
                continue
            actor = action.owner_user if action.owner_user_id in team else lead
            services.action_set_status(
                actor=actor, action=action, status=status, expected_version=action.version
            )

    def outcomes_achieved(self) -> None:
        from . import services

        actor = self.player.actor()
        for outcome in PlanOutcome.objects.filter(episode=self.player.episode):
            services.plan_outcome_update(
                actor=actor,
                outcome=outcome,
                wording=outcome.wording,
                said_by=outcome.said_by,
                area=outcome.area,
                achieved=True,
                expected_version=outcome.version,
            )


# --------------------------------------------------------------------------------------------
# The large tier: rows for COPY

CONSENT_FIELDS = (
    "family",
    "episode",
    "person",
    "given_by",
    "own_consent_competent",
    "given_on",
    "method",
    "agrees_to_sharing",
    "sharing_basis",
    "notes",
    "evidence_name",
    "evidence_type",
    "recorded_by",
    "recorded_at",
    "withdrawn_on",
    "withdrawal_reason",
    "withdrawal_recorded_by",
)
ASSESSMENT_FIELDS = (
    "id",
    "episode",
    "template",
    "assessor",
    "status",
    "started_on",
    "assessment_date",
    "content",
    "completed_at",
    "signed_off_at",
    "signed_off_by",
    "updated_at",
    "updated_by",
    "version",
    "last_edit_token",
)
ASSESSMENT_MEMBER_FIELDS = ("assessment", "person")
VERSION_FIELDS = (
    "assessment",
    "number",
    "template",
    "assessment_date",
    "member_ids",
    "content",
    "completed_by",
    "completed_at",
    "outcome",
    "decided_by",
    "decided_at",
    "comments",
)
CONSENT_NOTE = "Explained what is shared, with whom and why; leaflet left with the family."
SIGN_OFF_COMMENT = "A clear, whole-family assessment. The family's voice comes through well."
CONSENT_SELF_AGE = 16  # assessments.services.consent_self_age() at its default


class Someone(NamedTuple):
    """A family member as EhaRows needs to know them."""

    person_id: int
    full_name: str
    role: str  # HouseholdRole value
    date_of_birth: dt.date | None
    start_date: dt.date | None
    end_date: dt.date | None


class EhaRows:
    """Consent, assessments, their members and versions, and their chronology lines, for the stories
    of large-tier families, following plan_assessment (so the states are those of the default tier).
    ``decider(assessor, kind)`` gives who signs off or returns an assessment: for ``"agency"`` a manager
    of the assessor's agency before an early help manager, for ``"ehm"`` the other way round, never the
    assessor; None when there is nobody."""

    def __init__(
        self,
        *,
        today: dt.date,
        now: dt.datetime,
        template_id: int,
        decider: Callable[[int, str], int | None],
    ):
        self.today = today
        self.now = now
        self.template_id = template_id
        self.decider = decider
        self.rows: dict[str, list[tuple]] = {
            key: [] for key in ("consents", "assessments", "assessment_members", "versions", "chronology")
        }

    def add(
        self,
        *,
        family_id: int,
        people: Sequence[Someone],
        facts: Facts,
        stories: Sequence[EpisodeStory],
        episode_ids: Sequence[int],
        ids: Iterator[int],
    ) -> None:
        for story, episode_id in zip(stories, episode_ids, strict=True):
            plan = plan_assessment(story, self.today)
            if plan is not None:
                self._assessment(family_id, people, facts, story, episode_id, plan, next(ids))

    def _at(self, when: dt.datetime) -> dt.datetime:
        return min(when, self.now)

    def _line(self, family_id, episode_id, on, title, author, when, detail="", significant=False) -> None:
        self.rows["chronology"].append(
            (
                family_id,
                episode_id,
                ChronologyKind.ASSESSMENT,
                on,
                title,
                detail,
                author,
                significant,
                self._at(when),
            )
        )

    def _assessment(
        self, family_id, people, facts: Facts, s: EpisodeStory, episode_id, plan: EhaPlan, assessment_id
    ) -> None:
        rng = random.Random(f"eha-rows:{s.seed}")
        r = self.rows
        started = plan.start
        on = started.date()
        # Who it covers (as EhaPlayer._members): the household on the day it starts.
        current = [p for p in people if p.end_date is None]
        born = [p for p in current if p.date_of_birth and p.date_of_birth <= on]
        covered = [p for p in born if p.start_date is None or p.start_date <= on] or born or current
        parents = sorted(
            (p for p in current if p.role == HouseholdRole.PARENT_CARER), key=lambda p: p not in covered
        )
        parent = parents[0] if parents else None
        children = [p for p in covered if p.role == HouseholdRole.CHILD]
        consents: list[list] = []
        for p in covered:
            age = _age_on(p.date_of_birth, on)
            young = p.role == HouseholdRole.CHILD and (age is None or age < CONSENT_SELF_AGE)
            by_parent = young and parent is not None
            consents.append(
                [
                    family_id,
                    episode_id,
                    p.person_id,
                    parent.person_id if by_parent else p.person_id,
                    young and not by_parent,
                    on,
                    weighted(rng, (("written", 70), ("verbal", 30))),
                    True,
                    weighted(rng, (("consent", 80), ("public_task", 20))),
                    CONSENT_NOTE if rng.random() < 0.3 else "",
                    "",
                    "",
                    s.assessor,
                    self._at(started),
                    None,
                    "",
                    None,
                ]
            )
            self._line(
                family_id,
                episode_id,
                on,
                f"Consent to early help given for {p.full_name}",
                s.assessor,
                started,
            )
        self._line(
            family_id, episode_id, s.assessment_on, "Early help assessment started", s.assessor, started
        )
        if plan.withdraw is not None and consents:
            child_ids = {p.person_id for p in children}
            row = next((c for c in reversed(consents) if c[2] in child_ids), consents[-1])
            self._withdraw(row, plan.withdraw, s.assessor, rng, facts, people)
        if s.closure is not None and s.closure.reason == ClosureReason.CONSENT_WITHDRAWN:
            actor = s.final_lead or s.assessor
            for row in consents:
                if row[14] is None:
                    self._withdraw(row, moment(s.closure.on, 17, 10), actor, rng, facts, people, closing=True)
        r["consents"].extend(map(tuple, consents))
        member_ids = sorted(p.person_id for p in covered)
        r["assessment_members"].extend((assessment_id, pid) for pid in member_ids)

        # The answers, completions and decisions.
        view = facts.words(rng.choice(FAMILY_VIEWS), rng)
        needs = s.needs or [("family_relationships", "The family want help with routines at home")]
        content = json.dumps({"family_view": view})
        if plan.complete is not None:
            content = json.dumps(
                {
                    "family_view": view,
                    "needs": [{"area": a, "description": d} for a, d in needs],
                    "scores": dict(s.baseline),
                }
            )
        version = 1 + len(plan.saves)
        updated = plan.saves[-1][0] if plan.saves else started
        status = plan.status
        completed_at = signed_off_at = signed_off_by = None
        versions: list[list] = []

        def complete(when: dt.datetime) -> None:
            nonlocal completed_at, version
            completed_at = self._at(when)
            version += 1
            versions.append(
                [
                    assessment_id,
                    len(versions) + 1,
                    self.template_id,
                    s.assessment_on,
                    json.dumps(member_ids),
                    content,
                    s.assessor,
                    completed_at,
                    "",
                    None,
                    None,
                    "",
                ]
            )
            self._line(
                family_id,
                episode_id,
                when.date(),
                "Early help assessment completed",
                s.assessor,
                when,
                significant=True,
            )

        if plan.complete is not None:
            complete(plan.complete)
        decider = self.decider(s.assessor, plan.decider) if plan.steps else None
        if plan.steps and decider is None:
            status = "completed"  # nobody to sign it off: it waits
        for when, step in plan.steps if decider is not None else ():
            if step in ("sign_off", "return"):
                sign_off = step == "sign_off"
                if sign_off:
                    comments = SIGN_OFF_COMMENT if rng.random() < 0.3 else ""
                    signed_off_at, signed_off_by = self._at(when), decider
                else:
                    comments = facts.words(rng.choice(RETURN_COMMENTS), rng)
                versions[-1][8:12] = [
                    "signed_off" if sign_off else "returned",
                    decider,
                    self._at(when),
                    comments,
                ]
                version += 1
                title = "Early help assessment " + ("signed off" if sign_off else "returned for changes")
                self._line(family_id, episode_id, when.date(), title, decider, when, comments)
            elif step == "revise":
                version += 1
                updated = when
            elif step == "recomplete":
                complete(when)
        r["versions"].extend(map(tuple, versions))
        r["assessments"].append(
            (
                assessment_id,
                episode_id,
                self.template_id,
                s.assessor,
                status,
                on,
                s.assessment_on,
                content,
                completed_at,
                signed_off_at,
                signed_off_by,
                self._at(updated),
                s.assessor,
                version,
                "",
            )
        )

    def _withdraw(
        self, row: list, when: dt.datetime, actor: int, rng, facts: Facts, people, closing=False
    ) -> None:
        on = min(max(when.date(), row[5]), self.today)
        name = next(p.full_name for p in people if p.person_id == row[2])
        if closing:
            reason = f"{facts.parent} said the family no longer want early help."
        else:
            reason = (
                f"{facts.parent} asked that {name.split()[0]} is left out of the assessment for now and "
                "nothing more about them is shared."
            )
        row[14:17] = [on, reason, actor]
        self._line(
            row[0],
            row[1],
            on,
            f"Consent to early help withdrawn for {name}",
            actor,
            when,
            reason,
            significant=True,
        )
