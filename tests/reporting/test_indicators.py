"""Each indicator of docs/indicators.md against a small dataset built here, with the expected figures
worked out by hand in the comments. The quarter under test is 2026-27 Q2: 1 July to 30 September 2026."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.models import Assessment, AssessmentStatus, AssessmentTemplate, AssessmentVersion
from ehcase.models import AgencyType, HouseholdRole, Role
from hubs.models import RequestForSupport, RequestStatus, TriageDecision
from pathway.models import (
    Episode,
    EpisodeStatus,
    IdentifiedNeed,
    LevelOfNeed,
    OutcomeArea,
    OutcomeScore,
    Review,
    SupportingFamiliesClaim,
)
from reporting.indicators import INDICATORS, SECTIONS, UNITS, Scope, compute, families_behind
from reporting.quarters import Quarter
from tests.factories import (
    AgencyFactory,
    FamilyFactory,
    FamilyMemberFactory,
    HubAreaFactory,
    HubFactory,
    MembershipFactory,
    PersonFactory,
    UserFactory,
)

Q1, Q2, Q3 = Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3)
ALL = Scope()
D = dt.date


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# --- The cast -------------------------------------------------------------------------------------------


@pytest.fixture
def w(db):
    """Two hubs; three agencies created in id order school < council < health; practitioners:
    sam (school), cara (council), hana (health); dual (agency manager at the school, practitioner at
    health: health, the practitioner membership wins), twin (practitioner at council and health: council,
    the lower id), boss (agency manager at council and health, no practitioner membership: council, the
    lower id), nobody (no membership: no agency)."""
    north, south = HubFactory(name="North"), HubFactory(name="South")
    school = AgencyFactory(name="Aln School", type=AgencyType.SCHOOL)
    council = AgencyFactory(name="Council Family Support", type=AgencyType.FAMILY_SUPPORT)
    health = AgencyFactory(name="Health Visiting", type=AgencyType.HEALTH_VISITING)
    assert school.id < council.id < health.id

    def practitioner(*agencies, role=Role.PRACTITIONER):
        user = UserFactory()
        for agency in agencies:
            MembershipFactory(user=user, agency=agency, role=role)
        return user

    dual = practitioner(health)
    MembershipFactory(user=dual, agency=school, role=Role.AGENCY_MANAGER)
    return SimpleNamespace(
        north=north,
        south=south,
        areas={"north": HubAreaFactory(hub=north), "south": HubAreaFactory(hub=south)},
        school=school,
        council=council,
        health=health,
        sam=practitioner(school),
        cara=practitioner(council),
        hana=practitioner(health),
        dual=dual,
        twin=practitioner(council, health),
        boss=practitioner(council, health, role=Role.AGENCY_MANAGER),
        nobody=UserFactory(),
        level=LevelOfNeed.objects.get(code="3"),
        template=AssessmentTemplate.objects.filter(published=True).order_by("-version").first(),
        areas_by_code={a.code: a for a in OutcomeArea.objects.all()},
    )


def family(w, hub="north"):
    return FamilyFactory(area=w.areas[hub], hub=w.areas[hub].hub)


def request(w, received_on, agency, *, hub="north", status=RequestStatus.NEW, re_referral=False):
    return RequestForSupport.objects.create(
        family=family(w, hub),
        hub=w.areas[hub].hub,
        referrer=w.sam,
        referrer_agency=agency,
        status=status,
        consent_given=True,
        received_on=received_on,
        is_re_referral=re_referral,
    )


def decide(w, req, decided_on, outcome):
    """As hubs.services.request_decide records it: a change of mind supersedes the decision before."""
    previous = req.decisions.filter(superseded_by__isnull=True).order_by("-id").first()
    return TriageDecision.objects.create(
        request=req,
        outcome=outcome,
        rationale="Discussed",
        decided_on=decided_on,
        decided_by=w.sam,
        supersedes=previous,
    )


def episode(w, opened_on, *, hub="north", lead=None, assessor=None, closed_on=None, reason="", **more):
    return Episode.objects.create(
        family=more.get("fam") or family(w, hub),
        level=w.level,
        opened_on=opened_on,
        closed_on=closed_on,
        status=EpisodeStatus.CLOSED if closed_on else EpisodeStatus.PLAN_ACTIVE,
        closure_reason=reason,
        source=more.get("source", "triage"),
        lead_professional=lead,
        assessor=assessor,
    )


def review(w, ep, held_on, *, baseline=False, **scores):
    r = Review.objects.create(episode=ep, held_on=held_on, is_baseline=baseline, recorded_by=w.sam)
    for code, score in scores.items():
        OutcomeScore.objects.create(review=r, area=w.areas_by_code[code], score=score)
    return r


def families(key, quarter=Q2, scope=ALL, row=None) -> set[int]:
    return set(families_behind(key, quarter, scope, row).values_list("id", flat=True))


def rows(figure) -> dict[str, tuple]:
    return {row["key"]: (row["value"], row["numerator"], row["denominator"]) for row in figure["rows"]}


def brief(figure) -> tuple:
    return figure["value"], figure["numerator"], figure["denominator"]


# --- Requests for support and triage --------------------------------------------------------------------


def test_requests_received_by_agency_and_hub_with_quarter_boundaries(w):
    r1 = request(w, D(2026, 6, 30), w.school)  # the last day of Q1: Q1 only
    r2 = request(w, D(2026, 7, 1), w.school)  # the first day of Q2
    r3 = request(w, D(2026, 9, 30), w.health, hub="south", re_referral=True)  # the last day of Q2
    r4 = request(w, D(2026, 8, 15), w.school, hub="south")
    r5 = request(w, D(2026, 10, 1), w.health)  # the first day of Q3: not Q2
    request(w, D(2026, 8, 1), w.school, status=RequestStatus.DRAFT)  # a draft: never counted
    r7 = request(w, D(2026, 8, 20), None)  # no referrer agency recorded

    q2 = compute(Q2, ALL)
    # Q2: r2, r3, r4, r7. By agency: school r2 + r4, health r3, none r7 (last).
    assert brief(q2["requests_received"]) == (4, 4, None)
    assert [row["key"] for row in q2["requests_received"]["rows"]] == [
        str(w.school.id),
        str(w.health.id),
        "none",
    ]
    assert rows(q2["requests_received"]) == {
        str(w.school.id): (2, 2, 4),
        str(w.health.id): (1, 1, 4),
        "none": (1, 1, 4),
    }
    assert q2["requests_received"]["rows"][-1]["label"] == "No agency recorded"
    # By hub: north r2 + r7, south r3 + r4.
    assert rows(q2["requests_by_hub"]) == {str(w.north.id): (2, 2, 4), str(w.south.id): (2, 2, 4)}
    assert [row["label"] for row in q2["requests_by_hub"]["rows"]] == ["North", "South"]
    # Re-referrals: r3 of the four = 25%.
    assert brief(q2["re_referrals"]) == (25.0, 1, 4)

    assert compute(Q1, ALL)["requests_received"]["value"] == 1  # r1
    assert compute(Q3, ALL)["requests_received"]["value"] == 1  # r5
    assert families("requests_received", Q1) == {r1.family_id}
    assert families("requests_received", Q3) == {r5.family_id}

    # Scope: the north hub has r2 and r7; the school r2 and r4; the school in the south only r4.
    assert compute(Q2, Scope(hub_id=w.north.id))["requests_received"]["value"] == 2
    assert compute(Q2, Scope(agency_id=w.school.id))["requests_received"]["value"] == 2
    both = compute(Q2, Scope(hub_id=w.south.id, agency_id=w.school.id))
    assert both["requests_received"]["value"] == 1
    assert brief(both["re_referrals"]) == (0.0, 0, 1)

    # The families behind the figures are exactly those counted.
    assert families("requests_received") == {r.family_id for r in (r2, r3, r4, r7)}
    assert families("requests_received", row=str(w.school.id)) == {r2.family_id, r4.family_id}
    assert families("requests_received", row="none") == {r7.family_id}
    assert families("requests_by_hub", row=str(w.south.id)) == {r3.family_id, r4.family_id}
    assert families("re_referrals") == {r3.family_id}
    assert families("requests_received", scope=Scope(hub_id=w.south.id, agency_id=w.school.id)) == {
        r4.family_id
    }


def test_triage_outcomes_median_days_and_step_up_rate_count_first_decisions(w):
    a = request(w, D(2026, 6, 20), w.school)
    decide(w, a, D(2026, 6, 25), "nfa")  # a's first decision, in Q1
    decide(w, a, D(2026, 7, 10), "early_help")  # supersedes it in Q2: not a first decision
    b = request(w, D(2026, 6, 28), w.school)
    decide(w, b, D(2026, 7, 2), "signposting")  # 4 days
    c = request(w, D(2026, 7, 1), w.school)
    decide(w, c, D(2026, 7, 1), "step_up")  # 0 days
    d = request(w, D(2026, 9, 20), w.school)
    decide(w, d, D(2026, 9, 30), "early_help")  # 10 days, on the last day of Q2
    decide(w, d, D(2026, 9, 30), "step_up")  # a second decision the same day: not the first
    e = request(w, D(2026, 9, 25), w.school)
    decide(w, e, D(2026, 10, 1), "step_up")  # Q3
    f = request(w, D(2026, 8, 1), w.health, hub="south")
    decide(w, f, D(2026, 8, 21), "step_up")  # 20 days

    q2 = compute(Q2, ALL)
    # First decisions in Q2: b, c, d, f.
    assert brief(q2["triage_outcomes"]) == (4, 4, None)
    assert [row["key"] for row in q2["triage_outcomes"]["rows"]] == [
        "nfa",
        "signposting",
        "single_agency",
        "early_help",
        "step_up",
    ]
    assert {k: v[0] for k, v in rows(q2["triage_outcomes"]).items()} == {
        "nfa": 0,
        "signposting": 1,
        "single_agency": 0,
        "early_help": 1,
        "step_up": 2,
    }
    # Median of 0, 4, 10, 20 = (4 + 10) / 2 = 7.
    assert brief(q2["median_days_to_decision"]) == (7.0, None, 4)
    # Step up: c and f of four = 50%.
    assert brief(q2["hub_step_up_rate"]) == (50.0, 2, 4)

    q1 = compute(Q1, ALL)
    assert rows(q1["triage_outcomes"])["nfa"][0] == 1  # a, as first decided
    assert rows(q1["triage_outcomes"])["early_help"][0] == 0
    assert brief(compute(Q3, ALL)["triage_outcomes"])[0] == 1  # e

    # The health visitors' request f only: 20 days, 100%.
    health = compute(Q2, Scope(agency_id=w.health.id))
    assert health["median_days_to_decision"]["value"] == 20.0
    assert brief(health["hub_step_up_rate"]) == (100.0, 1, 1)
    # North: b, c, d → median 4, one step up of three = 33.3%.
    north = compute(Q2, Scope(hub_id=w.north.id))
    assert north["median_days_to_decision"]["value"] == 4.0
    assert brief(north["hub_step_up_rate"]) == (33.3, 1, 3)

    assert families("triage_outcomes") == {b.family_id, c.family_id, d.family_id, f.family_id}
    assert families("triage_outcomes", row="step_up") == {c.family_id, f.family_id}
    assert families("triage_outcomes", row="nfa") == set()
    assert families("hub_step_up_rate") == {c.family_id, f.family_id}
    assert families("median_days_to_decision") == {b.family_id, c.family_id, d.family_id, f.family_id}


# --- Early help assessments ------------------------------------------------------------------------------


def assessment(w, assessor, started_on, *, hub="north", completions=(), signed_off_at=None):
    ep = episode(w, started_on, hub=hub, assessor=assessor)
    a = Assessment.objects.create(
        episode=ep,
        template=w.template,
        assessor=assessor,
        status=AssessmentStatus.SIGNED_OFF if signed_off_at else AssessmentStatus.DRAFT,
        started_on=started_on,
        assessment_date=started_on,
        signed_off_at=signed_off_at,
        updated_by=assessor,
    )
    for number, completed_at in enumerate(completions, start=1):
        AssessmentVersion.objects.create(
            assessment=a,
            number=number,
            template=w.template,
            assessment_date=started_on,
            member_ids=[],
            content={},
            completed_by=assessor,
            completed_at=completed_at,
        )
    return a


def test_assessments_started_completed_signed_off_by_lead_agency(w):
    a1 = assessment(
        w,
        w.sam,
        D(2026, 7, 1),
        completions=[utc(2026, 6, 30, 23, 30)],  # 00:30 on 1 July in London (BST): Q2
        signed_off_at=utc(2026, 9, 30, 22, 30),  # 23:30 on 30 September in London: Q2
    )
    a2 = assessment(
        w,
        w.cara,
        D(2026, 6, 30),  # started in Q1
        completions=[utc(2026, 6, 30, 22, 30), utc(2026, 7, 15, 9)],  # first completed 23:30 on 30 June: Q1
        signed_off_at=utc(2026, 9, 30, 23, 30),  # 00:30 on 1 October in London: Q3
    )
    a3 = assessment(w, w.hana, D(2026, 9, 30), hub="south")  # started on the last day, a draft
    a4 = assessment(
        w, w.cara, D(2026, 8, 10), completions=[utc(2026, 8, 20, 10)], signed_off_at=utc(2026, 8, 25, 10)
    )
    a5 = assessment(w, w.nobody, D(2026, 8, 11))  # an assessor with no agency
    family_of = {a.pk: a.episode.family_id for a in (a1, a2, a3, a4, a5)}

    q2 = compute(Q2, ALL)
    assert brief(q2["ehas_started"]) == (4, 4, None)  # a1, a3, a4, a5
    assert brief(q2["ehas_completed"]) == (2, 2, None)  # a1, a4 (a2's second completion does not count)
    assert brief(q2["ehas_signed_off"]) == (2, 2, None)  # a1, a4
    assert rows(q2["ehas_by_lead_agency"]) == {
        str(w.school.id): (1, 1, 4),
        str(w.council.id): (1, 1, 4),
        str(w.health.id): (1, 1, 4),
        "none": (1, 1, 4),
    }
    # Led by partners: the school's a1 and health's a3 of four = 50% (council and no agency are not).
    assert brief(q2["ehas_led_by_partners"]) == (50.0, 2, 4)

    q1, q3 = compute(Q1, ALL), compute(Q3, ALL)
    assert (q1["ehas_started"]["value"], q1["ehas_completed"]["value"]) == (1, 1)  # a2, a2
    assert q3["ehas_signed_off"]["value"] == 1  # a2
    assert q3["ehas_completed"]["value"] == 0

    council = compute(Q2, Scope(agency_id=w.council.id))
    assert [council[k]["value"] for k in ("ehas_started", "ehas_completed", "ehas_signed_off")] == [1, 1, 1]
    assert brief(council["ehas_led_by_partners"]) == (0.0, 0, 1)
    assert compute(Q2, Scope(hub_id=w.south.id))["ehas_started"]["value"] == 1  # a3

    assert families("ehas_started") == {family_of[a.pk] for a in (a1, a3, a4, a5)}
    assert families("ehas_completed") == {family_of[a1.pk], family_of[a4.pk]}
    assert families("ehas_signed_off") == {family_of[a1.pk], family_of[a4.pk]}
    assert families("ehas_completed", Q1) == {family_of[a2.pk]}
    assert families("ehas_by_lead_agency", row=str(w.council.id)) == {family_of[a4.pk]}
    assert families("ehas_led_by_partners") == {family_of[a1.pk], family_of[a3.pk]}


def test_user_agency_attribution(w):
    """A user's agency: their practitioner membership at the lowest agency id, else any membership at the
    lowest agency id, else none."""
    for assessor in (w.sam, w.dual, w.twin, w.boss, w.nobody):
        assessment(w, assessor, D(2026, 8, 1))
    # sam → school; dual → health (practitioner beats the school manager role); twin → council (lower id
    # than health); boss → council (no practitioner membership: lowest id); nobody → none.
    assert rows(compute(Q2, ALL)["ehas_by_lead_agency"]) == {
        str(w.school.id): (1, 1, 5),
        str(w.council.id): (2, 2, 5),
        str(w.health.id): (1, 1, 5),
        "none": (1, 1, 5),
    }


# --- Episodes --------------------------------------------------------------------------------------------


def test_episodes_opened_open_closed_step_downs_and_drift(w):
    e1 = episode(w, D(2025, 9, 29), lead=w.sam)  # open, more than 12 months before 30 Sep 2026: drift
    e2 = episode(w, D(2025, 9, 30), hub="south", lead=w.hana)  # exactly 12 months: not drift
    e3 = episode(w, D(2026, 7, 1), assessor=w.cara, source="step_down")  # no lead: the assessor's agency
    e4 = episode(w, D(2026, 6, 30), lead=w.sam, closed_on=D(2026, 9, 30), reason="step_up")
    e5 = episode(
        w, D(2026, 8, 1), hub="south", lead=w.hana, closed_on=D(2026, 8, 31), reason="outcomes_achieved"
    )
    e6 = episode(w, D(2026, 9, 30), lead=w.sam, closed_on=D(2026, 10, 1), reason="moved_away")
    episode(w, D(2026, 10, 1), lead=w.sam)  # Q3
    e8 = episode(w, D(2026, 5, 1), closed_on=D(2026, 7, 15), reason="step_up")  # no lead, no assessor

    q2 = compute(Q2, ALL)
    assert q2["episodes_opened"]["value"] == 3  # e3, e5, e6 (e4 opened on the last day of Q1)
    assert q2["episodes_open_at_end"]["value"] == 4  # e1, e2, e3, e6 (e4 closed on the last day)
    assert q2["episodes_closed"]["value"] == 3  # e4, e5, e8
    assert {k: v[0] for k, v in rows(q2["episodes_closed"]).items()} == {
        "outcomes_achieved": 1,
        "step_down": 0,
        "step_up": 2,
        "consent_withdrawn": 0,
        "moved_away": 0,
        "other": 0,
    }
    assert brief(q2["closures_stepped_up"]) == (66.7, 2, 3)  # e4, e8 of three
    assert q2["step_downs_received"]["value"] == 1  # e3
    assert q2["drift"]["value"] == 1  # e1

    q3 = compute(Q3, ALL)
    assert rows(q3["episodes_closed"])["moved_away"][0] == 1  # e6
    assert q3["episodes_opened"]["value"] == 1
    assert compute(Q1, ALL)["episodes_opened"]["value"] == 2  # e4, e8

    school = compute(Q2, Scope(agency_id=w.school.id))
    assert [school[k]["value"] for k in ("episodes_opened", "episodes_open_at_end", "episodes_closed")] == [
        1,  # e6
        2,  # e1, e6
        1,  # e4
    ]
    assert brief(school["closures_stepped_up"]) == (100.0, 1, 1)
    assert school["drift"]["value"] == 1
    council = compute(Q2, Scope(agency_id=w.council.id))
    assert (council["episodes_opened"]["value"], council["step_downs_received"]["value"]) == (1, 1)  # e3
    south = compute(Q2, Scope(hub_id=w.south.id))
    assert [south[k]["value"] for k in ("episodes_opened", "episodes_open_at_end", "episodes_closed")] == [
        1,
        1,
        1,
    ]
    assert brief(south["closures_stepped_up"]) == (0.0, 0, 1)

    assert families("episodes_opened") == {e3.family_id, e5.family_id, e6.family_id}
    assert families("episodes_open_at_end") == {e.family_id for e in (e1, e2, e3, e6)}
    assert families("episodes_closed", row="step_up") == {e4.family_id, e8.family_id}
    assert families("closures_stepped_up") == {e4.family_id, e8.family_id}
    assert families("step_downs_received") == {e3.family_id}
    assert families("drift") == {e1.family_id}


def test_a_closure_without_a_reason_is_a_row_of_its_own(w):
    blank = episode(w, D(2026, 4, 1), lead=w.sam, closed_on=D(2026, 8, 1))
    q2 = compute(Q2, ALL)
    assert q2["episodes_closed"]["rows"][-1] == {
        "key": "none",
        "label": "Not recorded",
        "value": 1,
        "numerator": 1,
        "denominator": 1,
    }
    assert families("episodes_closed", row="none") == {blank.family_id}


def test_agency_and_hub_scope_on_everything_measured_on_episodes(w):
    """The same family-level records twice, once led by Sam (school, north) and once by Hana (health,
    south): each scope sees exactly its own half, and the drill-down agrees."""
    mine = {}
    for lead, hub in ((w.sam, "north"), (w.hana, "south")):
        f = family(w, hub)
        FamilyMemberFactory(family=f, person=PersonFactory(sex="F"), start_date=D(2020, 1, 1))
        ep = episode(w, D(2026, 7, 1), lead=lead, fam=f)
        review(w, ep, D(2026, 7, 2), baseline=True, education=2)
        review(w, ep, D(2026, 7, 20), education=5 if lead == w.sam else 3)
        need(w, ep, "education")
        claim(w, ep, "verified", D(2026, 9, 1))
        mine[lead.pk] = f.id
    for scope, lead, change in (
        (Scope(agency_id=w.school.id), w.sam, 3.0),
        (Scope(hub_id=w.north.id), w.sam, 3.0),
        (Scope(agency_id=w.health.id), w.hana, 1.0),
        (Scope(hub_id=w.south.id, agency_id=w.health.id), w.hana, 1.0),
    ):
        figures = compute(Q2, scope)
        assert figures["episodes_opened"]["value"] == 1
        assert figures["reviews_on_time"]["value"] == 100.0
        assert figures["reviews_overdue"]["value"] == 1  # the review of 20 July is 72 days before the end
        assert figures["distance_travelled"]["value"] == change
        assert figures["sf_families_by_outcome"]["value"] == 1
        assert figures["sf_claims_by_status"]["value"] == 1
        assert figures["equality_sex"]["value"] == 1
        for key in ("episodes_opened", "reviews_overdue", "distance_travelled", "equality_sex"):
            assert families(key, scope=scope) == {mine[lead.pk]}, key
    nobody = compute(Q2, Scope(hub_id=w.north.id, agency_id=w.health.id))
    assert (nobody["episodes_opened"]["value"], nobody["distance_travelled"]["value"]) == (0, None)
    assert families("sf_families_by_outcome", scope=Scope(hub_id=w.north.id, agency_id=w.health.id)) == set()


# --- Reviews and distance travelled ----------------------------------------------------------------------


@pytest.fixture
def reviewed(w):
    """Reviews around Q2 with the default interval of 6 weeks (42 days)."""
    r1 = episode(w, D(2026, 5, 1), lead=w.sam)
    review(w, r1, D(2026, 6, 1), baseline=True)
    review(w, r1, D(2026, 7, 13))  # 42 days after the baseline: on time
    review(w, r1, D(2026, 9, 1))  # 50 days after: late. Latest by 30 Sep: 29 days before, not overdue.
    r2 = episode(w, D(2026, 6, 1), hub="south", lead=w.hana)
    review(w, r2, D(2026, 7, 1), baseline=True)
    review(w, r2, D(2026, 8, 13))  # 43 days: late. 48 days before the end: overdue.
    r3 = episode(w, D(2026, 8, 1), lead=w.sam)
    review(w, r3, D(2026, 8, 19), baseline=True)  # exactly 42 days before the end: not overdue
    r4 = episode(w, D(2026, 8, 1), lead=w.sam)
    review(w, r4, D(2026, 8, 18), baseline=True)  # 43 days before the end: overdue
    r5 = episode(w, D(2026, 1, 1), lead=w.sam)  # no baseline: never overdue
    review(w, r5, D(2026, 9, 10))  # a review with nothing before it: counted, not on time
    r6 = episode(
        w, D(2025, 12, 1), lead=w.sam, closed_on=D(2026, 9, 15), reason="other"
    )  # closed: not overdue
    review(w, r6, D(2026, 1, 1), baseline=True)
    review(w, r6, D(2026, 7, 5))  # 185 days: late
    r7 = episode(w, D(2026, 7, 1), lead=w.sam)
    review(w, r7, D(2026, 8, 1), baseline=True)  # 60 days before the end: overdue
    review(w, r7, D(2026, 10, 2))  # after the quarter end: neither counted nor the latest by the end
    return SimpleNamespace(r1=r1, r2=r2, r3=r3, r4=r4, r5=r5, r6=r6, r7=r7)


def test_reviews_on_time_and_overdue(w, reviewed):
    q2 = compute(Q2, ALL)
    # Reviews held in Q2: r1 13 Jul (on time), r1 1 Sep, r2 13 Aug, r5 10 Sep, r6 5 Jul: 1 of 5 = 20%.
    assert brief(q2["reviews_on_time"]) == (20.0, 1, 5)
    assert q2["reviews_overdue"]["value"] == 3  # r2, r4, r7
    south = compute(Q2, Scope(hub_id=w.south.id))
    assert brief(south["reviews_on_time"]) == (0.0, 0, 1)
    assert south["reviews_overdue"]["value"] == 1
    assert families("reviews_on_time") == {reviewed.r1.family_id}
    assert families("reviews_overdue") == {
        reviewed.r2.family_id,
        reviewed.r4.family_id,
        reviewed.r7.family_id,
    }


def test_review_interval_comes_from_settings(w, reviewed, settings):
    settings.REVIEW_INTERVAL_WEEKS = 7  # 49 days
    q2 = compute(Q2, ALL)
    # On time now: r1 13 Jul (42 days) and r2 13 Aug (43 days): 2 of 5 = 40%.
    assert brief(q2["reviews_on_time"]) == (40.0, 2, 5)
    # Overdue: r2 (48 days) and r4 (43) are not any more; r7 (60) still is.
    assert q2["reviews_overdue"]["value"] == 1


def test_distance_travelled_from_baseline_to_the_latest_review_in_the_quarter(w):
    d1 = episode(w, D(2026, 5, 1), lead=w.sam)
    review(w, d1, D(2026, 6, 1), baseline=True, education=3, early_years=5)
    review(w, d1, D(2026, 7, 20), education=4, early_years=6)  # not the latest in Q2
    review(w, d1, D(2026, 9, 20), education=6, early_years=4)  # education +3, early years -1
    d2 = episode(w, D(2026, 5, 1), hub="south", lead=w.hana)
    review(w, d2, D(2026, 6, 1), baseline=True, education=2, health=7)
    review(w, d2, D(2026, 8, 1), education=2, health=10, early_years=5)  # +0, +3; early years: no baseline
    d3 = episode(w, D(2026, 5, 1), lead=w.sam)
    review(w, d3, D(2026, 6, 1), baseline=True, education=5)
    review(w, d3, D(2026, 10, 5), education=9)  # Q3
    d4 = episode(w, D(2026, 5, 1), lead=w.sam)
    review(w, d4, D(2026, 8, 1), education=5)  # no baseline: no distance

    q2 = compute(Q2, ALL)
    # Pairs +3, -1, +0, +3 over two episodes: mean 5 / 4 = 1.25.
    assert brief(q2["distance_travelled"]) == (1.25, None, 2)
    by_area = rows(q2["distance_travelled"])
    assert by_area["education"] == (1.5, None, 2)  # (+3 + 0) / 2
    assert by_area["early_years"] == (-1.0, None, 1)
    assert by_area["health"] == (3.0, None, 1)
    assert by_area["housing"] == (None, None, 0)  # every active area is listed
    assert list(by_area) == list(OutcomeArea.objects.filter(active=True).values_list("code", flat=True))
    # South: d2 alone, (0 + 3) / 2.
    assert compute(Q2, Scope(hub_id=w.south.id))["distance_travelled"]["value"] == 1.5
    assert compute(Q3, ALL)["distance_travelled"]["value"] == 4.0  # d3
    assert families("distance_travelled") == {d1.family_id, d2.family_id}
    assert families("distance_travelled", row="early_years") == {d1.family_id}


# --- Lead professionals and caseloads --------------------------------------------------------------------


def test_lead_professionals_by_agency_and_mean_caseload(w):
    w1 = episode(w, D(2026, 1, 1), lead=w.sam)
    w2 = episode(w, D(2026, 2, 1), lead=w.sam)
    w3 = episode(w, D(2026, 3, 1), hub="south", lead=w.sam)
    w4 = episode(w, D(2026, 4, 1), lead=w.hana)
    episode(w, D(2026, 5, 1), assessor=w.cara)  # open, no lead professional: not counted
    w6 = episode(w, D(2026, 6, 1), lead=w.twin)  # council
    w7 = episode(w, D(2026, 7, 1), lead=w.dual)  # health
    episode(w, D(2026, 7, 1), lead=w.hana, closed_on=D(2026, 9, 30), reason="other")  # not open at the end

    q2 = compute(Q2, ALL)
    # sam, hana, twin, dual: school 1, council 1, health 2.
    assert brief(q2["lead_professionals_by_agency"]) == (4, 4, None)
    assert rows(q2["lead_professionals_by_agency"]) == {
        str(w.school.id): (1, 1, 4),
        str(w.council.id): (1, 1, 4),
        str(w.health.id): (2, 2, 4),
    }
    # Six open episodes with a lead (w1, w2, w3, w4, w6, w7) over four leads.
    assert brief(q2["caseload_mean"]) == (1.5, 6, 4)
    north = compute(Q2, Scope(hub_id=w.north.id))  # all four lead in the north, five episodes
    assert brief(north["caseload_mean"]) == (1.25, 5, 4)
    school = compute(Q2, Scope(agency_id=w.school.id))
    assert brief(school["caseload_mean"]) == (3.0, 3, 1)
    health = compute(Q2, Scope(agency_id=w.health.id))
    assert brief(health["lead_professionals_by_agency"]) == (2, 2, None)
    assert brief(health["caseload_mean"]) == (1.0, 2, 2)
    # At the end of Q1: w1, w2, w3 (sam), w4 (hana), w6 (twin): 5 / 3.
    assert brief(compute(Q1, ALL)["caseload_mean"]) == (1.67, 5, 3)
    everyone = {e.family_id for e in (w1, w2, w3, w4, w6, w7)}
    assert families("lead_professionals_by_agency") == everyone
    assert families("caseload_mean") == everyone
    assert families("lead_professionals_by_agency", row=str(w.school.id)) == {
        w1.family_id,
        w2.family_id,
        w3.family_id,
    }


# --- Supporting Families ---------------------------------------------------------------------------------


def need(w, ep, code):
    IdentifiedNeed.objects.create(episode=ep, area=w.areas_by_code[code], description="A need")


def claim(w, ep, status, changed_on):
    return SupportingFamiliesClaim.objects.create(
        episode=ep,
        family_id=ep.family_id,
        evidence="Sustained progress",
        status=status,
        status_changed_on=changed_on,
        created_by=w.sam,
        updated_by=w.sam,
    )


def test_supporting_families_by_outcome_and_claims_by_status(w):
    s1 = episode(w, D(2026, 1, 1), lead=w.sam)
    need(w, s1, "education")
    need(w, s1, "health")
    earlier = episode(w, D(2026, 4, 1), lead=w.sam, closed_on=D(2026, 7, 2), reason="other", fam=s1.family)
    need(w, earlier, "education")  # the same family again: counted once
    s2 = episode(w, D(2026, 3, 1), hub="south", lead=w.hana, closed_on=D(2026, 7, 1), reason="other")
    need(w, s2, "education")  # closed on the first day of Q2: open at some time in it
    s3 = episode(w, D(2026, 1, 1), lead=w.sam, closed_on=D(2026, 6, 30), reason="other")
    need(w, s3, "education")  # closed before Q2
    s4 = episode(w, D(2026, 10, 1), lead=w.sam)
    need(w, s4, "housing")  # opened after Q2

    q2 = compute(Q2, ALL)
    assert brief(q2["sf_families_by_outcome"]) == (2, 2, None)  # s1's family and s2's
    by_area = rows(q2["sf_families_by_outcome"])
    assert (by_area["education"][0], by_area["health"][0], by_area["housing"][0]) == (2, 1, 0)
    assert len(by_area) == OutcomeArea.objects.filter(active=True).count()
    assert compute(Q2, Scope(hub_id=w.south.id))["sf_families_by_outcome"]["value"] == 1
    assert families("sf_families_by_outcome", row="health") == {s1.family_id}
    assert families("sf_families_by_outcome") == {s1.family_id, s2.family_id}

    claim(w, s1, "draft", D(2026, 7, 1))
    claim(w, s1, "submitted", D(2026, 9, 30))
    claim(w, s3, "verified", D(2026, 6, 30))  # Q1
    claim(w, s3, "rejected", D(2026, 10, 1))  # Q3
    claim(w, s2, "submitted", D(2026, 8, 1))
    q2 = compute(Q2, ALL)
    assert brief(q2["sf_claims_by_status"]) == (3, 3, None)
    assert {k: v[0] for k, v in rows(q2["sf_claims_by_status"]).items()} == {
        "draft": 1,
        "verified": 0,
        "submitted": 2,
        "rejected": 0,
    }
    assert compute(Q2, Scope(hub_id=w.south.id))["sf_claims_by_status"]["value"] == 1
    assert compute(Q1, ALL)["sf_claims_by_status"]["value"] == 1
    assert families("sf_claims_by_status", row="submitted") == {s1.family_id, s2.family_id}


# --- Equality --------------------------------------------------------------------------------------------


def test_equality_breakdowns_of_children_in_families_whose_episode_opened(w):
    f = family(w)

    def child(fam, start=D(2020, 1, 1), end=None, role=HouseholdRole.CHILD, **person):
        p = PersonFactory(**{"date_of_birth": None, **person})
        FamilyMemberFactory(family=fam, person=p, role=role, start_date=start, end_date=end)
        return p

    child(f, date_of_birth=D(2022, 8, 2), sex="F", ethnicity="WBRI")  # 3 on 1 Aug: 0-4; not recorded
    child(f, date_of_birth=D(2016, 8, 1), sex="M", ethnicity="AIND", disabilities=["NONE"])  # 10 that day
    child(f, expected_date_of_birth=D(2026, 12, 1), sex="U", ethnicity="NOBT", disabilities=["AUT"])  # unborn
    child(f, date_of_birth=D(2010, 8, 1), sex="F", ethnicity="WBRI", disabilities=["NONE", "LD"])  # 16
    child(f, date_of_birth=D(2012, 1, 1), end=D(2026, 8, 1))  # left the household on the day: not counted
    child(f, date_of_birth=D(2012, 1, 1), start=D(2026, 8, 2))  # joined after: not counted
    child(f, date_of_birth=D(1990, 1, 1), role=HouseholdRole.PARENT_CARER)  # an adult: not counted
    episode(w, D(2026, 8, 1), lead=w.sam, fam=f)
    g = family(w, "south")
    child(g, date_of_birth=D(2008, 9, 30), sex="M", ethnicity="WBRI")  # 18 on 30 Sep
    child(g)  # nothing recorded: sex U, ethnicity NOBT, no date of birth
    episode(w, D(2026, 9, 30), hub="south", lead=w.hana, fam=g)
    h = family(w)
    child(h, date_of_birth=D(2015, 1, 1))
    episode(w, D(2026, 10, 1), lead=w.sam, fam=h)  # Q3

    q2 = compute(Q2, ALL)
    for key in ("equality_ethnicity", "equality_sex", "equality_disability", "equality_age"):
        assert q2[key]["value"] == 6, key
    ethnicity = {k: v[0] for k, v in rows(q2["equality_ethnicity"]).items() if v[0]}
    assert ethnicity == {"WBRI": 3, "AIND": 1, "NOBT": 2}
    assert len(q2["equality_ethnicity"]["rows"]) == 20  # every census code is listed
    assert {k: v[0] for k, v in rows(q2["equality_sex"]).items()} == {"F": 2, "M": 2, "U": 2}
    assert {k: v[0] for k, v in rows(q2["equality_disability"]).items()} == {
        "disabled": 2,
        "none": 1,
        "not_recorded": 3,
    }
    assert {k: v[0] for k, v in rows(q2["equality_age"]).items()} == {
        "unborn": 1,
        "0-4": 1,
        "5-9": 0,
        "10-15": 1,
        "16-17": 1,
        "18+": 1,
        "not_recorded": 1,
    }
    assert rows(q2["equality_sex"])["F"] == (2, 2, 6)
    assert compute(Q2, Scope(hub_id=w.south.id))["equality_sex"]["value"] == 2
    assert compute(Q3, ALL)["equality_age"]["value"] == 1
    assert families("equality_age", row="18+") == {g.id}
    assert families("equality_age") == {f.id, g.id}


# --- The interface ---------------------------------------------------------------------------------------


def test_definitions_are_complete_and_documented():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "indicators.md").read_text()
    documented = set(re.findall(r"^### (\w+) ", docs, flags=re.MULTILINE))
    assert documented == set(INDICATORS)
    assert [k for s in SECTIONS for k in s.indicators] == list(INDICATORS)
    for indicator in INDICATORS.values():
        assert indicator.unit in UNITS
        assert indicator.up_is_good in (True, False, None)
        assert indicator.title and indicator.definition


def test_compute_returns_every_indicator_as_json(w):
    figures = compute(Q2, ALL)
    assert list(figures) == list(INDICATORS)
    assert json.loads(json.dumps(figures)) == figures
    for figure in figures.values():
        assert set(figure) == {"value", "numerator", "denominator", "rows"}
        for row in figure["rows"]:
            assert set(row) == {"key", "label", "value", "numerator", "denominator"}
            assert isinstance(row["key"], str)


def test_families_behind_refuses_unknown_indicators_and_rows(w):
    with pytest.raises(ValueError):
        families_behind("nonsense", Q2, ALL)
    with pytest.raises(ValueError):
        families_behind("drift", Q2, ALL, row="x")


def add_everything(w, n: int) -> None:
    """n of each kind of record, all in Q2."""
    for i in range(n):
        r = request(w, D(2026, 7, 1 + i), w.school)
        decide(w, r, D(2026, 7, 2 + i), "early_help")
        ep = episode(w, D(2025, 1, 1 + i), lead=w.sam)
        review(w, ep, D(2025, 2, 1), baseline=True, education=3)
        review(w, ep, D(2026, 8, 1 + i), education=5)
        need(w, ep, "education")
        claim(w, ep, "draft", D(2026, 8, 1))
        assessment(
            w, w.hana, D(2026, 8, 1 + i), completions=[utc(2026, 8, 2, 10)], signed_off_at=utc(2026, 8, 3)
        )
        FamilyMemberFactory(family=ep.family, person=PersonFactory())
        episode(w, D(2026, 9, 1 + i), lead=w.cara, closed_on=D(2026, 9, 20), reason="step_up")


def test_compute_costs_the_same_queries_whatever_the_data(w):
    """SET LOCAL jit = off, the names of agencies, hubs and outcome areas, then one query per section:
    requests, assessments, episodes, reviews, workforce, Supporting Families, equality; all in a
    transaction (here, inside the test's, a savepoint and its release; elsewhere BEGIN and COMMIT)."""
    add_everything(w, 1)
    scope = Scope(hub_id=w.north.id, agency_id=w.school.id)
    with CaptureQueriesContext(connection) as one:
        small = compute(Q2, scope)
    add_everything(w, 10)
    with CaptureQueriesContext(connection) as eleven:
        large = compute(Q2, scope)
    statements = [q["sql"].split()[0] for q in eleven.captured_queries]
    assert statements == ["SAVEPOINT", "SET", "SELECT"] + ["WITH"] * len(SECTIONS) + ["RELEASE"]
    assert len(one) == len(eleven) == 11
    assert large["requests_received"]["value"] == 11 > small["requests_received"]["value"]


def test_compute_query_budget(w, django_assert_max_num_queries):
    add_everything(w, 3)
    with django_assert_max_num_queries(11):
        compute(Q2, ALL)
