"""The pathway's REST API (pathway/api/): who may read and act on an episode, the state machine's
refusals as 400s, versions as 409s, TAF access, audit and query budgets.

The pathway state is built with pathway.services, as the web pages and the API do: Sam starts early
help with the Ashworth family (he is the assessor, Chris coordinates its hub), Hana reads it through
her grant, Alex manages Sam's agency, Morgan and Quinn read everything; Ola (South) and the system
administrator see nothing of it.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from ehcase.models import AuditAction, AuditEvent, Person, Role
from ehcase.permissions import grant_family_access
from hubs.models import HubArea
from pathway import services
from pathway.models import (
    Episode,
    EpisodeStatus,
    IdentifiedNeed,
    LevelOfNeed,
    OutcomeArea,
    TafMeeting,
    TafMember,
)
from tests.factories import FamilyFactory, MembershipFactory, complete_assessment

MANAGERS = {"sam.practitioner", "chris.coordinator"}
READERS = {"hana.healthvisitor", "alex.schoolmanager", "morgan.manager", "quinn.auditor"}
OUTSIDERS = {"ola.outsider", "admin"}
PERSONAS = sorted(MANAGERS | READERS | OUTSIDERS)


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> str:
    return (today() - dt.timedelta(days=n)).isoformat()


def write_status(username: str, success: int) -> int:
    """Managers succeed; readers are refused (403); outsiders are told nothing (404)."""
    if username in MANAGERS:
        return success
    return 403 if username in READERS else 404


@pytest.fixture
def api():
    def _api(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _api


@pytest.fixture
def level3(db):
    return LevelOfNeed.objects.get(code="3")


@pytest.fixture
def areas(db):
    return list(OutcomeArea.objects.order_by("order")[:2])


@pytest.fixture
def kerry(personas):
    return Person.objects.get(first_name="Kerry", last_name="Ashworth")


def start(personas, family=None, *, actor=None, days=30) -> Episode:
    return services.episode_start_directly(
        actor=actor or personas.sam,
        family=family or personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry Ashworth",
        consent_on=today() - dt.timedelta(days=days),
    )


def past_meeting(personas, episode, *, days=20) -> TafMeeting:
    return services.meeting_schedule(
        actor=personas.sam,
        episode=episode,
        starts_at=timezone.now() - dt.timedelta(days=days),
        location="Riverside Primary School",
        online=False,
        invited=list(episode.taf_members.filter(left_on__isnull=True)),
        already_held=True,
    )


def hold_first_meeting(personas, episode) -> TafMeeting:
    if not episode.assessments.filter(status="completed").exists():
        complete_assessment(actor=personas.sam, episode=episode)
    meeting = past_meeting(personas, episode)
    return services.meeting_record(
        actor=personas.sam,
        meeting=meeting,
        attendance={m.pk: "attended" for m in episode.taf_members.filter(left_on__isnull=True)},
        decisions="Sam to lead; weekly check-ins",
        lead=personas.sam,
        family_view="Kerry chose Sam",
    )


@pytest.fixture
def episode(personas, kerry) -> Episode:
    """The Ashworth episode as Sam started it 30 days ago, with Kerry in the team."""
    episode = start(personas)
    services.taf_add_family_member(
        actor=personas.sam,
        episode=episode,
        person=kerry,
        role="Mother",
        joined_on=today() - dt.timedelta(days=29),
    )
    return Episode.objects.get(pk=episode.pk)


@pytest.fixture
def active(personas, episode, areas) -> Episode:
    """The first TAF meeting held (Sam agreed as lead, the plan active) and the baseline recorded."""
    hold_first_meeting(personas, episode)
    services.baseline_record(
        actor=personas.sam,
        episode=episode,
        held_on=today() - dt.timedelta(days=25),
        scores={areas[0]: 3, areas[1]: 5},
    )
    return Episode.objects.get(pk=episode.pk)


def post(client: APIClient, path: str, body) -> object:
    return client.post(path, body, format="json")


# --- Reads: every persona ------------------------------------------------------------------------

READ_PATHS = [
    "/api/episodes/{episode}/",
    "/api/episodes/{episode}/taf-members/",
    "/api/episodes/{episode}/meetings/",
    "/api/episodes/{episode}/needs/",
    "/api/episodes/{episode}/reviews/",
    "/api/episodes/{episode}/distance-travelled/",
    "/api/meetings/{meeting}/",
    "/api/families/{family}/episodes/",
]


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize("username", PERSONAS)
def test_readers_read_and_outsiders_get_404(personas, api, episode, username, path):
    meeting = past_meeting(personas, episode)
    url = path.format(episode=episode.pk, meeting=meeting.pk, family=personas.ashworth.pk)
    before = AuditEvent.objects.filter(action=AuditAction.VIEW).count()
    response = api(personas.all_users()[username]).get(url)
    if username in OUTSIDERS:
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
        # A refused read is not a view: nothing was shown.
        assert AuditEvent.objects.filter(action=AuditAction.VIEW).count() == before
    else:
        assert response.status_code == 200
        event = AuditEvent.objects.filter(action=AuditAction.VIEW).latest("id")
        assert (event.actor, event.family_id) == (personas.all_users()[username], personas.ashworth.pk)


def test_episode_detail_carries_its_history(personas, api, active):
    services.need_add(
        actor=personas.sam, episode=active, area=OutcomeArea.objects.first(), description="Housing"
    )
    body = api(personas.hana).get(f"/api/episodes/{active.pk}/").json()
    assert body["family"] == {"id": personas.ashworth.pk, "reference": "F-DEMOASH", "name": "Ashworth"}
    assert body["status"] == "plan_active"
    assert body["source"] == "direct"
    assert body["closure_reason"] is None
    assert body["assessor"] == {"id": personas.sam.pk, "name": "Sam Patel"}
    assert body["lead_professional"] == {"id": personas.sam.pk, "name": "Sam Patel"}
    assert [(t["from_status"], t["to_status"]) for t in body["transitions"]] == [
        (None, "open"),
        ("open", "assessment"),
        ("assessment", "plan_active"),
    ]
    assert all(t["by"] == {"id": personas.sam.pk, "name": "Sam Patel"} for t in body["transitions"])
    assert [row["level"]["code"] for row in body["level_history"]] == ["3"]
    assert [(lead["user"]["id"], lead["ended_on"]) for lead in body["lead_professionals"]] == [
        (personas.sam.pk, None)
    ]
    assert {(m["kind"], m["name"]) for m in body["taf_members"]} == {
        ("worker", "Sam Patel"),
        ("family_member", "Kerry Ashworth"),
    }
    assert [(n["description"], n["outcome"]) for n in body["needs"]] == [("Housing", None)]
    assert body["can_manage"] is False  # Hana reads only
    assert api(personas.sam).get(f"/api/episodes/{active.pk}/").json()["can_manage"] is True


def test_episode_retrieve_is_audited_like_the_page(personas, api, episode):
    response = api(personas.morgan).get(f"/api/episodes/{episode.pk}/", HTTP_USER_AGENT="ehcase-test")
    assert response.status_code == 200
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.actor, event.family_id, event.summary, event.path) == (
        AuditAction.VIEW,
        personas.morgan,
        personas.ashworth.pk,
        f"Episode {episode.pk}",
        f"/api/episodes/{episode.pk}/",
    )


@pytest.mark.parametrize("pk", ["999999999", "99999999999999999999999", "abc", "-1"])
@pytest.mark.parametrize("collection", ["episodes", "meetings"])
def test_nonsense_ids_are_404(personas, api, collection, pk):
    assert api(personas.morgan).get(f"/api/{collection}/{pk}/").status_code == 404


def test_reference_data_is_readable_by_everyone(personas, api):
    for user in personas.all_users().values():
        levels = api(user).get("/api/levels-of-need/").json()["results"]
        assert [level["code"] for level in levels] == ["1", "2", "3", "4"]
        areas = api(user).get("/api/outcome-areas/").json()["results"]
        assert areas[0] == {"code": "education", "name": "Getting a good education"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/episodes/"),
        ("get", "/api/episodes/{episode}/"),
        ("post", "/api/episodes/{episode}/close/"),
        ("post", "/api/families/{family}/episodes/"),
        ("get", "/api/levels-of-need/"),
    ],
)
def test_signed_out_is_401(personas, api, episode, method, path):
    url = path.format(episode=episode.pk, family=personas.ashworth.pk)
    response = getattr(api(), method)(url, {}, format="json")
    assert response.status_code == 401


# --- Lists -------------------------------------------------------------------------------------

SEES_EPISODES = {
    "sam.practitioner": {"Ashworth"},
    "hana.healthvisitor": {"Ashworth", "Carter"},
    "chris.coordinator": {"Ashworth", "Carter"},
    "alex.schoolmanager": {"Ashworth"},
    "morgan.manager": {"Ashworth", "Carter", "Evans"},
    "quinn.auditor": {"Ashworth", "Carter", "Evans"},
    "ola.outsider": {"Evans"},
    "admin": set(),
}


@pytest.mark.parametrize("username", PERSONAS)
def test_episode_list_shows_only_episodes_of_visible_families(personas, api, episode, username):
    start(personas, personas.carter, actor=personas.hana)
    start(personas, personas.evans, actor=personas.ola)
    response = api(personas.all_users()[username]).get("/api/episodes/")
    assert response.status_code == 200
    assert {row["family"]["name"] for row in response.json()["results"]} == SEES_EPISODES[username]
    assert response.json()["count"] == len(SEES_EPISODES[username])


def test_episode_list_filters(personas, api, episode):
    closed = start(personas, personas.bennett)
    services.episode_close(
        actor=personas.sam, episode=closed, reason="outcomes_achieved", closed_on=today(), need_outcomes={}
    )
    client = api(personas.sam)

    def ids(**params):
        return [row["id"] for row in client.get("/api/episodes/", params).json()["results"]]

    assert ids() == [closed.pk, episode.pk]  # opened the same day: the newer first
    assert ids(open="true") == [episode.pk]
    assert ids(open="false") == [closed.pk]
    assert ids(status="closed") == [closed.pk]
    assert ids(status="assessment") == [episode.pk]
    assert client.get("/api/episodes/", {"status": "shut"}).status_code == 400
    assert client.get("/api/episodes/", {"open": "maybe"}).status_code == 400
    assert client.get("/api/episodes/", {"open": ""}).status_code == 400  # not read as "absent"


def test_family_episode_list_is_the_familys_history(personas, api, episode):
    rows = api(personas.hana).get(f"/api/families/{personas.ashworth.pk}/episodes/").json()["results"]
    assert [row["id"] for row in rows] == [episode.pk]
    assert api(personas.ola).get(f"/api/families/{personas.ashworth.pk}/episodes/").status_code == 404


def _practitioner_with_episodes(count: int):
    user = MembershipFactory(role=Role.PRACTITIONER).user
    area = HubArea.objects.get(name="Morpeth")
    level = LevelOfNeed.objects.get(code="3")
    for _ in range(count):
        family = FamilyFactory(area=area)
        grant_family_access(user=user, family=family, change=True)
        services.episode_start_directly(
            actor=user, family=family, level=level, consent_given_by="Parent", consent_on=today()
        )
    return user


def _queries(client: APIClient, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured), [q["sql"] for q in captured.captured_queries]


def test_episode_list_costs_the_same_for_1_and_20_episodes(personas, api):
    one, twenty = _practitioner_with_episodes(1), _practitioner_with_episodes(20)
    assert api(one).get("/api/episodes/").json()["count"] == 1
    assert api(twenty).get("/api/episodes/").json()["count"] == 20
    few, _ = _queries(api(one), "/api/episodes/")
    many, many_sql = _queries(api(twenty), "/api/episodes/")
    assert few == many, "\n\n".join(many_sql)


def test_episode_list_query_budget(personas, api, django_assert_num_queries):
    client = api(_practitioner_with_episodes(20))
    # 1. the user's memberships, 2. their hubs (ehcase.permissions.roles_for)
    # 3. COUNT(*) of the episodes of visible families (pagination)
    # 4. the page of episodes joined to family, level, assessor and lead professional
    with django_assert_num_queries(4):
        response = client.get("/api/episodes/")
    assert len(response.json()["results"]) == 20


def test_episode_detail_query_budget(personas, api, active, django_assert_num_queries):
    for n in range(5):
        services.need_add(
            actor=personas.sam, episode=active, area=OutcomeArea.objects.first(), description=f"N{n}"
        )
    client = api(personas.sam)
    # 1. the episode's family id (episode_for_user)
    # 2. memberships, 3. their hubs (roles_for)
    # 4. the family, if visible, with hub and area and whether Sam may change it (family_for_user)
    # 5. the episode with level, lead professional and assessor
    # 6. INSERT the audit event
    # 7-11. transitions, level changes, lead professionals, team, needs (each with their people)
    with django_assert_num_queries(11):
        response = client.get(f"/api/episodes/{active.pk}/")
    assert len(response.json()["needs"]) == 5


# --- Writes: who may act -----------------------------------------------------------------------


def _write_cases(personas, episode, kerry):
    """(path, body, success status) for each write on the Ashworth episode, valid for a manager."""
    level2 = LevelOfNeed.objects.get(code="2")
    future = (timezone.now() + dt.timedelta(days=7)).isoformat()
    meeting = past_meeting(personas, episode)
    member = TafMember.objects.get(episode=episode, person=kerry)
    members = TafMember.objects.filter(episode=episode, left_on__isnull=True)
    e = f"/api/episodes/{episode.pk}"
    return {
        "need": (f"{e}/needs/", {"area": "housing", "description": "Damp flat"}, 201),
        "level": (f"{e}/level/", {"level": level2.pk, "changed_on": days_ago(0), "reason": "Better"}, 200),
        "taf-add": (f"{e}/taf-members/", {"user": personas.ola.pk, "joined_on": days_ago(0)}, 201),
        "taf-remove": (f"/api/taf-members/{member.pk}/remove/", {"left_on": days_ago(0)}, 200),
        "meeting": (f"{e}/meetings/", {"starts_at": future, "location": "School"}, 201),
        "record": (
            f"/api/meetings/{meeting.pk}/record/",
            {
                "attendance": [{"member": m.pk, "attendance": "attended"} for m in members],
                "decisions": "Sam leads",
                "lead": personas.sam.pk,
                "family_view": "Kerry chose Sam",
                "version": meeting.version,
            },
            200,
        ),
        "lead": (
            f"{e}/lead-professional/",
            {"user": personas.sam.pk, "family_view": "Kerry chose Sam", "started_on": days_ago(1)},
            201,
        ),
        "baseline": (
            f"{e}/baseline/",
            {"held_on": days_ago(1), "scores": [{"area": "housing", "score": 4}]},
            201,
        ),
        "step-up": (
            f"{e}/step-up/",
            {"reason": "Disclosure", "stepped_up_on": days_ago(0), "version": episode.version},
            200,
        ),
        "close": (
            f"{e}/close/",
            {"reason": "outcomes_achieved", "closed_on": days_ago(0), "version": episode.version},
            200,
        ),
    }


WRITES = [
    "need",
    "level",
    "taf-add",
    "taf-remove",
    "meeting",
    "record",
    "lead",
    "baseline",
    "step-up",
    "close",
]


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("username", PERSONAS)
def test_managers_act_readers_get_403_outsiders_404(personas, api, episode, kerry, username, write):
    path, body, success = _write_cases(personas, episode, kerry)[write]
    writes_before = AuditEvent.objects.exclude(action=AuditAction.VIEW).count()
    response = post(api(personas.all_users()[username]), path, body)
    assert response.status_code == write_status(username, success), response.json()
    if response.status_code >= 400:
        assert AuditEvent.objects.exclude(action=AuditAction.VIEW).count() == writes_before
        if response.status_code == 403:
            assert "lead professional, the assessor or the hub coordinator" in response.json()["detail"]


@pytest.mark.parametrize("username", PERSONAS)
def test_who_may_start_early_help(personas, api, username):
    body = {
        "level": LevelOfNeed.objects.get(code="3").pk,
        "consent_given_by": "Kerry",
        "consent_on": days_ago(0),
    }
    response = post(
        api(personas.all_users()[username]), f"/api/families/{personas.ashworth.pk}/episodes/", body
    )
    assert response.status_code == write_status(username, 201)
    assert Episode.objects.filter(family=personas.ashworth).exists() is (response.status_code == 201)
    if response.status_code == 201:
        created = response.json()
        assert (created["status"], created["source"], created["assessor"]["id"]) == (
            "assessment",
            "direct",
            personas.all_users()[username].pk,
        )


def test_step_down_is_accepted_by_the_hub(personas, api):
    body = {
        "social_care_reference": "SC-123",
        "handover_notes": "Concerns reduced",
        "accepted_on": days_ago(0),
    }
    assert (
        post(api(personas.morgan), f"/api/families/{personas.dixon.pk}/episodes/step-down/", body).status_code
        == 403
    )
    assert (
        post(api(personas.sam), f"/api/families/{personas.dixon.pk}/episodes/step-down/", body).status_code
        == 404
    )
    response = post(api(personas.chris), f"/api/families/{personas.dixon.pk}/episodes/step-down/", body)
    assert response.status_code == 201, response.json()
    assert (response.json()["source"], response.json()["social_care_reference"]) == ("step_down", "SC-123")
    assert response.json()["level"]["band"] == 3


# --- The state machine's refusals as 400s ------------------------------------------------------


def test_close_needs_an_outcome_for_every_need(personas, api, episode):
    need = services.need_add(
        actor=personas.sam, episode=episode, area=OutcomeArea.objects.first(), description="Rent"
    )
    body = {"reason": "outcomes_achieved", "closed_on": days_ago(0), "version": episode.version}
    response = post(api(personas.sam), f"/api/episodes/{episode.pk}/close/", body)
    assert response.status_code == 400
    assert response.json() == {
        "need_outcomes": [f"State the outcome for every identified need: ‘Rent’ (need {need.pk}) has none"]
    }
    assert Episode.objects.get(pk=episode.pk).status == EpisodeStatus.ASSESSMENT
    response = post(
        api(personas.sam),
        f"/api/episodes/{episode.pk}/close/",
        {**body, "need_outcomes": [{"need": need.pk, "outcome": "met"}]},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "closed"
    assert response.json()["needs"][0]["outcome"] == "met"
    assert IdentifiedNeed.objects.get(pk=need.pk).outcome == "met"


def test_close_refuses_needs_of_other_episodes_and_step_up_as_a_reason(personas, api, episode):
    other = start(personas, personas.bennett)
    need = services.need_add(
        actor=personas.sam, episode=other, area=OutcomeArea.objects.first(), description="X"
    )
    client = api(personas.sam)
    body = {"reason": "outcomes_achieved", "closed_on": days_ago(0), "version": episode.version}
    response = post(
        client,
        f"/api/episodes/{episode.pk}/close/",
        {**body, "need_outcomes": [{"need": need.pk, "outcome": "met"}]},
    )
    assert response.status_code == 400
    assert "need_outcomes" in response.json()
    response = post(client, f"/api/episodes/{episode.pk}/close/", {**body, "reason": "step_up"})
    assert response.status_code == 400
    assert "use step-up" in response.json()["reason"][0]
    response = post(client, f"/api/episodes/{episode.pk}/close/", {**body, "reason": "other"})
    assert response.json() == {"note": ["Enter why the episode is closing"]}


def test_review_before_baseline_is_refused(personas, api, episode):
    hold_first_meeting(personas, episode)
    body = {
        "held_on": days_ago(0),
        "scores": [{"area": "education", "score": 5}],
        "decision": "continue",
        "summary": "Going well",
    }
    response = post(api(personas.sam), f"/api/episodes/{episode.pk}/reviews/", body)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Record the baseline scores from the assessment before the first review"]
    }


def test_review_before_the_plan_is_active_is_refused(personas, api, episode, areas):
    services.baseline_record(actor=personas.sam, episode=episode, held_on=today(), scores={areas[0]: 3})
    body = {
        "held_on": days_ago(0),
        "scores": [{"area": areas[0].code, "score": 5}],
        "decision": "continue",
        "summary": "S",
    }
    response = post(api(personas.sam), f"/api/episodes/{episode.pk}/reviews/", body)
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0].startswith("Reviews start once the plan is active")


def test_meeting_in_the_past_cannot_be_merely_scheduled(personas, api, episode):
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    client = api(personas.sam)
    response = post(
        client, f"/api/episodes/{episode.pk}/meetings/", {"starts_at": past, "location": "School"}
    )
    assert response.status_code == 400
    assert response.json()["starts_at"][0].startswith("Date of the meeting must be in the future")
    response = post(
        client,
        f"/api/episodes/{episode.pk}/meetings/",
        {"starts_at": past, "location": "School", "already_held": True},
    )
    assert response.status_code == 201
    assert response.json()["status"] == "scheduled"


def test_step_up_without_a_reason_is_refused(personas, api, episode):
    body = {"reason": "  ", "stepped_up_on": days_ago(0), "version": episode.version}
    response = post(api(personas.sam), f"/api/episodes/{episode.pk}/step-up/", body)
    assert response.status_code == 400
    assert response.json() == {"reason": ["Enter the reason for stepping up to children's social care"]}
    response = post(
        api(personas.sam), f"/api/episodes/{episode.pk}/step-up/", {**body, "reason": "Disclosure"}
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["closure_reason"]) == ("closed", "step_up")


def test_a_closed_episode_can_no_longer_be_changed(personas, api, episode):
    services.episode_close(
        actor=personas.sam, episode=episode, reason="moved_away", closed_on=today(), need_outcomes={}
    )
    response = post(
        api(personas.sam),
        f"/api/episodes/{episode.pk}/needs/",
        {"area": "housing", "description": "Too late"},
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This episode is closed, so it can no longer be changed"]}
    assert api(personas.sam).get(f"/api/episodes/{episode.pk}/").json()["can_manage"] is False


def test_a_second_open_episode_is_refused(personas, api, episode):
    body = {
        "level": LevelOfNeed.objects.get(code="3").pk,
        "consent_given_by": "Kerry",
        "consent_on": days_ago(0),
    }
    response = post(api(personas.sam), f"/api/families/{personas.ashworth.pk}/episodes/", body)
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This family already has an open episode of early help"]}


def test_baseline_is_recorded_once(personas, api, episode):
    body = {"held_on": days_ago(0), "scores": [{"area": "housing", "score": 4}]}
    assert post(api(personas.sam), f"/api/episodes/{episode.pk}/baseline/", body).status_code == 201
    response = post(api(personas.sam), f"/api/episodes/{episode.pk}/baseline/", body)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["The baseline for this episode has already been recorded"]
    }


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("needs/", {"area": "nowhere", "description": "X"}, "area"),
        ("needs/", {"area": 5, "description": "X"}, "area"),
        ("needs/", {"area": "housing", "description": ""}, "description"),
        ("level/", {"level": 999999, "changed_on": "2026-01-01", "reason": "x"}, "level"),
        ("level/", {"level": "3", "changed_on": "2026-01-01", "reason": "x"}, "level"),
        ("level/", {"level": None, "changed_on": "2026-01-01", "reason": "x"}, "level"),
        ("level/", {"level": 3, "changed_on": "2026-13-01", "reason": "x"}, "changed_on"),
        ("baseline/", {"held_on": "2026-01-01", "scores": [{"area": "housing", "score": 11}]}, "scores"),
        ("baseline/", {"held_on": "2026-01-01", "scores": [{"area": "housing", "score": "4"}]}, "scores"),
        ("baseline/", {"held_on": "2026-01-01", "scores": []}, "scores"),
        (
            "baseline/",
            {
                "held_on": "2026-01-01",
                "scores": [{"area": "housing", "score": 4}, {"area": "housing", "score": 5}],
            },
            "scores",
        ),
        ("baseline/", {"held_on": "9999-12-31", "scores": [{"area": "housing", "score": 4}]}, "held_on"),
        ("meetings/", {"starts_at": "0001-01-01T00:00:00+05:00", "location": "x"}, "starts_at"),
        ("meetings/", {"starts_at": "2999-01-01T10:00:00Z", "location": "x", "invited": [999999]}, "invited"),
        ("meetings/", {"starts_at": "2999-01-01T10:00:00Z", "location": "", "online": "yes"}, "online"),
        ("taf-members/", {"joined_on": "2026-01-01"}, "non_field_errors"),
        ("taf-members/", {"user": 999999, "joined_on": "2026-01-01"}, "user"),
        ("step-up/", {"reason": "x", "stepped_up_on": "2026-01-01"}, "version"),
        ("step-up/", {"reason": "x", "stepped_up_on": "1900-01-01", "version": "current"}, "stepped_up_on"),
        ("close/", {"reason": "bored", "closed_on": "2026-01-01", "version": 1}, "reason"),
        ("close/", {"reason": "other", "closed_on": "2026-01-01", "version": 0}, "version"),
        (
            "close/",
            {"reason": "other", "closed_on": "2026-01-01", "version": 1, "need_outcomes": [{"need": 1}]},
            "need_outcomes",
        ),
        ("lead-professional/", {"user": 1, "family_view": "x", "started_on": "2026-01-01"}, "user"),
    ],
)
def test_bad_input_is_a_400_at_the_field(personas, api, episode, path, body, field):
    if body.get("version") == "current":
        body = {**body, "version": episode.version}
    response = post(api(personas.sam), f"/api/episodes/{episode.pk}/{path}", body)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_body_that_is_not_json_is_400(personas, api, episode):
    response = api(personas.sam).generic(
        "POST", f"/api/episodes/{episode.pk}/needs/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    response = post(api(personas.sam), f"/api/episodes/{episode.pk}/needs/", [1, 2])
    assert response.status_code == 400


# --- Versions ----------------------------------------------------------------------------------


def test_two_closes_with_the_same_version_the_second_is_told_it_closed_meanwhile(personas, api, episode):
    body = {"reason": "outcomes_achieved", "closed_on": days_ago(0), "version": episode.version}
    first = post(api(personas.sam), f"/api/episodes/{episode.pk}/close/", body)
    second = post(api(personas.chris), f"/api/episodes/{episode.pk}/close/", {**body, "reason": "moved_away"})
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json() == {
        "detail": "Someone else closed this episode after you opened the page. Nothing was changed."
    }
    assert Episode.objects.get(pk=episode.pk).closure_reason == "outcomes_achieved"


def test_closing_after_someone_else_changed_the_episode_is_a_409(personas, api, episode):
    read = api(personas.chris).get(f"/api/episodes/{episode.pk}/").json()
    services.episode_change_level(
        actor=personas.sam,
        episode=episode,
        level=LevelOfNeed.objects.get(code="2"),
        changed_on=today(),
        reason="x",
    )
    body = {"reason": "moved_away", "closed_on": days_ago(0), "version": read["version"]}
    response = post(api(personas.chris), f"/api/episodes/{episode.pk}/close/", body)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Someone else changed this episode")
    assert Episode.objects.get(pk=episode.pk).is_open


def test_recording_a_meeting_twice_with_the_same_version_is_a_409(personas, api, episode):
    meeting = past_meeting(personas, episode)
    members = TafMember.objects.filter(episode=episode, left_on__isnull=True)
    body = {
        "attendance": [{"member": m.pk, "attendance": "attended"} for m in members],
        "decisions": "Sam leads",
        "lead": personas.sam.pk,
        "family_view": "Kerry chose Sam",
        "version": meeting.version,
    }
    assert post(api(personas.sam), f"/api/meetings/{meeting.pk}/record/", body).status_code == 200
    response = post(api(personas.chris), f"/api/meetings/{meeting.pk}/record/", body)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Someone else recorded this meeting")


# --- Team Around the Family --------------------------------------------------------------------


def test_joining_the_team_grants_access_and_leaving_revokes_it_at_once(personas, api, episode):
    ola = api(personas.ola)
    family_url = f"/api/families/{personas.ashworth.pk}/"
    assert ola.get(family_url).status_code == 404
    response = post(
        api(personas.sam),
        f"/api/episodes/{episode.pk}/taf-members/",
        {"user": personas.ola.pk, "role": "School nurse", "joined_on": days_ago(0)},
    )
    assert response.status_code == 201, response.json()
    member = response.json()
    assert (member["kind"], member["user"]["id"], member["agency"]["id"], member["is_current"]) == (
        "worker",
        personas.ola.pk,
        personas.southfield.pk,
        True,
    )
    assert ola.get(family_url).status_code == 200
    assert ola.get(f"/api/episodes/{episode.pk}/").status_code == 200
    # A member of the team reads but does not manage the episode.
    assert (
        post(ola, f"/api/episodes/{episode.pk}/needs/", {"area": "housing", "description": "X"}).status_code
        == 403
    )

    response = post(api(personas.chris), f"/api/taf-members/{member['id']}/remove/", {"left_on": days_ago(0)})
    assert response.status_code == 200, response.json()
    assert (response.json()["left_on"], response.json()["is_current"]) == (days_ago(0), False)
    assert ola.get(family_url).status_code == 404
    assert ola.get(f"/api/episodes/{episode.pk}/").status_code == 404
    assert post(ola, f"/api/taf-members/{member['id']}/remove/", {"left_on": days_ago(0)}).status_code == 404
    # ... and the team keeps the history.
    team = api(personas.sam).get(f"/api/episodes/{episode.pk}/taf-members/").json()
    assert [m["is_current"] for m in team if m["user"] and m["user"]["id"] == personas.ola.pk] == [False]


def test_family_member_joins_and_leaves_the_team(personas, api, episode):
    jayden = Person.objects.get(first_name="Jayden")
    response = post(
        api(personas.sam),
        f"/api/episodes/{episode.pk}/taf-members/",
        {"person": jayden.pk, "role": "Young person", "joined_on": days_ago(0)},
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["kind"], response.json()["name"]) == ("family_member", "Jayden Ashworth")
    again = post(
        api(personas.sam),
        f"/api/episodes/{episode.pk}/taf-members/",
        {"person": jayden.pk, "joined_on": days_ago(0)},
    )
    assert again.json() == {"person": ["Jayden Ashworth is already in the team"]}
    left = post(
        api(personas.sam), f"/api/taf-members/{response.json()['id']}/remove/", {"left_on": days_ago(0)}
    )
    assert left.status_code == 200
    twice = post(
        api(personas.sam), f"/api/taf-members/{response.json()['id']}/remove/", {"left_on": days_ago(0)}
    )
    assert twice.json() == {"non_field_errors": ["Jayden Ashworth has already left the team"]}


def test_team_rules(personas, api, episode):
    client = api(personas.sam)
    tyler = Person.objects.get(first_name="Tyler")  # a Bennett, not an Ashworth
    response = post(
        client, f"/api/episodes/{episode.pk}/taf-members/", {"person": tyler.pk, "joined_on": days_ago(0)}
    )
    assert response.json() == {"person": ["Select someone from this family"]}
    response = post(
        client,
        f"/api/episodes/{episode.pk}/taf-members/",
        {"person": tyler.pk, "user": personas.ola.pk, "joined_on": days_ago(0)},
    )
    assert response.status_code == 400
    response = post(
        client,
        f"/api/episodes/{episode.pk}/taf-members/",
        {"user": personas.alex.pk, "joined_on": days_ago(0)},
    )
    assert response.json() == {"user": ["Select a practitioner"]}  # Alex manages; he is not a practitioner
    future = (today() + dt.timedelta(days=3)).isoformat()
    response = post(
        client, f"/api/episodes/{episode.pk}/taf-members/", {"user": personas.ola.pk, "joined_on": future}
    )
    assert response.json() == {"joined_on": ["Date they joined must be today or in the past"]}
    sam = TafMember.objects.get(episode=episode, user=personas.sam)
    response = post(client, f"/api/taf-members/{sam.pk}/remove/", {"left_on": days_ago(0)})
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0].startswith("Choose a new lead professional or assessor")


# --- Meetings, lead professional, reviews, distance travelled ----------------------------------


def test_first_meeting_agrees_the_lead_and_activates_the_plan(personas, api, episode, kerry):
    complete_assessment(actor=personas.sam, episode=episode)
    meeting = past_meeting(personas, episode)
    members = list(TafMember.objects.filter(episode=episode, left_on__isnull=True))
    client = api(personas.chris)
    body = {
        "attendance": [{"member": m.pk, "attendance": "attended"} for m in members],
        "decisions": "Sam leads; weekly check-ins",
        "next_meeting_on": (today() + dt.timedelta(days=42)).isoformat(),
        "version": meeting.version,
    }
    response = post(client, f"/api/meetings/{meeting.pk}/record/", body)
    assert response.json() == {"lead": ["Select the lead professional agreed at this first TAF meeting"]}
    response = post(
        client, f"/api/meetings/{meeting.pk}/record/", {**body, "attendance": body["attendance"][:1]}
    )
    assert response.status_code == 400
    assert "attended" in response.json()["attendance"][0]
    response = post(client, f"/api/meetings/{meeting.pk}/record/", {**body, "lead": personas.sam.pk})
    assert response.json() == {
        "family_view": ["Enter what the family said about who should be their lead professional"]
    }
    response = post(
        client,
        f"/api/meetings/{meeting.pk}/record/",
        {**body, "lead": personas.sam.pk, "family_view": "Kerry chose Sam"},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "held"
    assert {(a["name"], a["attendance"]) for a in response.json()["attendance"]} == {
        ("Sam Patel", "attended"),
        ("Kerry Ashworth", "attended"),
    }
    detail = api(personas.hana).get(f"/api/episodes/{episode.pk}/").json()
    assert detail["status"] == "plan_active"
    assert detail["lead_professional"]["id"] == personas.sam.pk
    assert detail["lead_professionals"][0]["agreed_at"] == meeting.pk
    listed = api(personas.hana).get(f"/api/episodes/{episode.pk}/meetings/").json()
    assert [m["id"] for m in listed] == [meeting.pk]


def test_lead_professional_changes_keep_their_history(personas, api, active):
    client = api(personas.sam)
    body = {"user": personas.hana.pk, "family_view": "Kerry asked for Hana", "started_on": days_ago(0)}
    response = post(client, f"/api/episodes/{active.pk}/lead-professional/", body)
    assert response.json() == {"user": ["Select a practitioner from the team"]}  # Hana is not in the TAF yet
    services.taf_add_worker(
        actor=personas.sam, episode=active, user=personas.hana, role="HV", joined_on=today()
    )
    response = post(client, f"/api/episodes/{active.pk}/lead-professional/", body)
    assert response.json() == {"handover_note": ["Enter a handover note for the new lead professional"]}
    response = post(
        client, f"/api/episodes/{active.pk}/lead-professional/", {**body, "handover_note": "Over to you"}
    )
    assert response.status_code == 201, response.json()
    leads = api(personas.morgan).get(f"/api/episodes/{active.pk}/").json()["lead_professionals"]
    assert [(lead["user"]["id"], lead["ended_on"]) for lead in leads] == [
        (personas.sam.pk, days_ago(0)),
        (personas.hana.pk, None),
    ]


def test_reviews_and_distance_travelled(personas, api, active, areas):
    client = api(personas.sam)
    response = post(
        client,
        f"/api/episodes/{active.pk}/reviews/",
        {
            "held_on": days_ago(0),
            "scores": [{"area": areas[0].code, "score": 6}, {"area": areas[1].code, "score": 4}],
            "decision": "continue",
            "summary": "School attendance up",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["decision"] == "continue"
    reviews = api(personas.quinn).get(f"/api/episodes/{active.pk}/reviews/").json()
    assert [(r["is_baseline"], r["decision"]) for r in reviews] == [(True, None), (False, "continue")]
    assert [s["score"] for s in reviews[0]["scores"]] == [3, 5]
    progress = api(personas.quinn).get(f"/api/episodes/{active.pk}/distance-travelled/").json()
    assert progress["dates"] == [days_ago(25), days_ago(0)]
    assert [(a["area"], a["baseline"], a["latest"], a["change"]) for a in progress["areas"]] == [
        (areas[0].code, 3, 6, 3),
        (areas[1].code, 5, 4, -1),
    ]
    assert api(personas.sam).get(f"/api/episodes/{active.pk}/").json()["status"] == "reviewing"


def test_distance_travelled_is_empty_before_the_baseline(personas, api, episode):
    response = api(personas.sam).get(f"/api/episodes/{episode.pk}/distance-travelled/")
    assert response.json() == {"dates": [], "areas": []}


def test_api_root_lists_the_pathway_collections(personas, api):
    root = api(personas.sam).get("/api/").json()
    assert {"episodes", "levels-of-need", "outcome-areas"} <= set(root)


def test_responses_are_json_and_never_cached(personas, api, episode):
    response = api(personas.sam).get(f"/api/episodes/{episode.pk}/")
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    json.loads(response.content)
