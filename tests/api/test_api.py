"""The REST API: who sees and changes what (the same policy as the web pages, see ehcase/demo.py),
validation, optimistic locking, audit, query budgets, tokens and the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ehcase.demo import DEMO_PASSWORD
from ehcase.models import AuditAction, AuditEvent, Family, FamilyMember, Person, Role
from ehcase.permissions import grant_family_access
from hubs.models import HubArea
from pathway import services as pathway_services
from pathway.models import Episode, IdentifiedNeed, LevelOfNeed, TafMeeting, TafMember
from tests.factories import FamilyFactory, FamilyMemberFactory, MembershipFactory, complete_assessment

ANCHORS = ["ashworth", "bennett", "carter", "dixon", "evans"]
# Which anchor families each persona sees (tests/test_access.py holds the same table).
SEES = {
    "sam.practitioner": {"ashworth", "bennett"},
    "hana.healthvisitor": {"ashworth", "carter"},
    "chris.coordinator": {"ashworth", "bennett", "carter", "dixon"},
    "alex.schoolmanager": {"ashworth", "bennett"},
    "morgan.manager": {"ashworth", "bennett", "carter", "dixon", "evans"},
    "quinn.auditor": {"ashworth", "bennett", "carter", "dixon", "evans"},
    "ola.outsider": {"evans"},
    "admin": set(),
}
# Which of them each persona may change (lead professional, creator, hub coordinator).
CHANGES = {
    "sam.practitioner": {"ashworth", "bennett"},
    "hana.healthvisitor": {"carter"},
    "chris.coordinator": {"ashworth", "bennett", "carter", "dixon"},
    "alex.schoolmanager": set(),
    "morgan.manager": set(),
    "quinn.auditor": set(),
    "ola.outsider": {"evans"},
    "admin": set(),
}
CREATES = {"sam.practitioner", "hana.healthvisitor", "chris.coordinator", "ola.outsider"}
REPORTING = {"chris.coordinator", "alex.schoolmanager", "morgan.manager", "quinn.auditor"}
VALID_NHS_NUMBER = "9434765919"  # the NHS's own example number
VALID_UPN = "A123456789012"  # check letter computed below in test_upn_is_validated


def expected_status(username: str, family: str) -> int:
    """The permission matrix: invisible -> 404, visible read-only -> 403, changeable -> 200."""
    if family not in SEES[username]:
        return 404
    return 200 if family in CHANGES[username] else 403


def matrix():
    return [(username, family) for username in SEES for family in ANCHORS]


@pytest.fixture
def api():
    def _api(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _api


def person_payload(**overrides) -> dict:
    return {
        "first_name": "Robin",
        "last_name": "Ashworth",
        "date_of_birth": "2018-04-01",
        "sex": "U",
        **overrides,
    }


def member_payload(**person_overrides) -> dict:
    return {"role": "child", "start_date": "2025-01-06", "person": person_payload(**person_overrides)}


# --- Every route x every persona -------------------------------------------------------------


def _routes(personas) -> dict[tuple[str, str], tuple[str, callable]]:
    """(method, route) -> (concrete path, body factory). Bodies are valid, and versions current,
    so that the status says only whether the persona is allowed."""
    morpeth = HubArea.objects.get(name="Morpeth")
    family = personas.ashworth
    kerry = Person.objects.get(first_name="Kerry", last_name="Ashworth")

    def family_body():
        return {"name": "Ashworth", "area": morpeth.pk, "version": Family.objects.get(pk=family.pk).version}

    def person_body():
        return person_payload(first_name="Kerry", version=Person.objects.get(pk=kerry.pk).version)

    return {
        ("GET", "/api/agencies/"): ("/api/agencies/", None),
        ("GET", "/api/agencies/{id}/"): (f"/api/agencies/{personas.riverside.pk}/", None),
        ("GET", "/api/hubs/"): ("/api/hubs/", None),
        ("GET", "/api/hubs/{id}/"): (f"/api/hubs/{personas.north.pk}/", None),
        ("GET", "/api/families/"): ("/api/families/", None),
        ("POST", "/api/families/"): ("/api/families/", lambda: {"name": "Matrix", "area": morpeth.pk}),
        ("POST", "/api/families/search/"): ("/api/families/search/", lambda: {"q": "Ashworth"}),
        ("GET", "/api/families/{id}/"): (f"/api/families/{family.pk}/", None),
        ("PUT", "/api/families/{id}/"): (f"/api/families/{family.pk}/", family_body),
        ("PATCH", "/api/families/{id}/"): (f"/api/families/{family.pk}/", family_body),
        ("POST", "/api/families/{id}/members/"): (f"/api/families/{family.pk}/members/", member_payload),
        ("GET", "/api/people/"): ("/api/people/", None),
        ("GET", "/api/people/{id}/"): (f"/api/people/{kerry.pk}/", None),
        ("PUT", "/api/people/{id}/"): (f"/api/people/{kerry.pk}/", person_body),
        ("PATCH", "/api/people/{id}/"): (f"/api/people/{kerry.pk}/", person_body),
        ("POST", "/api/token/"): ("/api/token/", lambda: {}),
        ("GET", "/api/indicators/"): ("/api/indicators/", None),
        **_pathway_routes(personas),
        **_request_routes(personas),
        **_assessment_routes(personas),
    }


def _request_routes(personas):
    """A request Sam sent for the Bennett family (North hub), and valid bodies for the writes."""
    from django.utils import timezone

    from hubs import services as hub_services
    from hubs.models import RequestForSupport
    from pathway.models import OutcomeArea

    today = timezone.localdate()
    draft = hub_services.request_save_draft(
        actor=personas.sam,
        family=personas.bennett,
        needs=[OutcomeArea.objects.get(code="education")],
        data={
            "source": "2A",
            "urgency": "routine",
            "reasons": "Attendance",
            "consent_given": True,
            "consent_by": "Lee",
            "consent_on": today,
            "consent_method": "verbal",
        },
    )
    sent = hub_services.request_submit(actor=personas.sam, request=draft)

    def new_request():
        return {
            "family": personas.bennett.pk,
            "source": "2A",
            "urgency": "routine",
            "reasons": "x",
            "needs": ["education"],
            "consent_given": False,
            "no_consent_reason": "Not reachable",
        }

    def decision():
        return {
            "outcome": "nfa",
            "rationale": "Needs met",
            "decided_on": today.isoformat(),
            "version": RequestForSupport.objects.get(pk=sent.pk).version,
        }

    return {
        ("GET", "/api/requests/"): ("/api/requests/", None),
        ("POST", "/api/requests/"): ("/api/requests/", new_request),
        ("GET", "/api/requests/{id}/"): (f"/api/requests/{sent.pk}/", None),
        ("POST", "/api/requests/{id}/decide/"): (f"/api/requests/{sent.pk}/decide/", decision),
    }


def _request_expected(username: str) -> dict[tuple[str, str], int]:
    # Hana and Ola cannot see the Bennett family: a 400 at `family`, as for one that does not exist.
    referrers = {
        "sam.practitioner": 201,
        "chris.coordinator": 201,
        "hana.healthvisitor": 400,
        "ola.outsider": 400,
    }
    readers = {"sam.practitioner", "chris.coordinator", "morgan.manager", "quinn.auditor"}
    return {
        ("GET", "/api/requests/"): 200,
        # Practitioners and coordinators send requests, for families they can see.
        ("POST", "/api/requests/"): referrers.get(username, 403),
        ("GET", "/api/requests/{id}/"): 200 if username in readers else 404,
        # Coordinators of the request's hub decide it; the referrer and partnership-wide roles read.
        ("POST", "/api/requests/{id}/decide/"): 201
        if username == "chris.coordinator"
        else 403
        if username in readers
        else 404,
    }


def _pathway_routes(personas) -> dict[tuple[str, str], tuple[str, callable]]:
    """The pathway's routes on the Ashworth episode (Sam started it; Chris coordinates its hub).

    Writes come in the pathway's order so that each is valid for those allowed to make it: the
    team changes, the first meeting is recorded (Sam agreed as lead, the plan active), the lead
    changes, the baseline and a review, then the closure. Opening uses families without an open
    episode (Carter for a direct start, Dixon for a step down) and the step up uses Bennett's."""
    today = timezone.localdate()
    sam, level3 = personas.sam, LevelOfNeed.objects.get(code="3")

    def started(family):
        return pathway_services.episode_start_directly(
            actor=sam,
            family=family,
            level=level3,
            consent_given_by="Parent",
            consent_on=today - dt.timedelta(30),
        )

    episode, bennett = started(personas.ashworth), started(personas.bennett)
    # The plan becomes active at the first meeting only once the assessment is completed.
    complete_assessment(actor=sam, episode=episode)
    kerry = pathway_services.taf_add_family_member(
        actor=sam,
        episode=episode,
        person=Person.objects.get(first_name="Kerry", last_name="Ashworth"),
        role="Mother",
        joined_on=today - dt.timedelta(29),
    )
    held = pathway_services.meeting_schedule(
        actor=sam,
        episode=episode,
        starts_at=timezone.now() - dt.timedelta(days=20),
        location="School",
        online=False,
        invited=[],
        already_held=True,
    )
    worker = MembershipFactory(role=Role.PRACTITIONER, agency=personas.riverside).user
    on = today.isoformat()
    e = f"/api/episodes/{episode.pk}"

    def version(pk):
        return lambda: Episode.objects.get(pk=pk).version

    def record_body():
        members = TafMember.objects.filter(episode=episode, left_on__isnull=True)
        return {
            "attendance": [{"member": m.pk, "attendance": "attended"} for m in members],
            "decisions": "Sam leads",
            "lead": sam.pk,
            "family_view": "Kerry chose Sam",
            "version": TafMeeting.objects.get(pk=held.pk).version,
        }

    def close_body():
        needs = IdentifiedNeed.objects.filter(episode=episode)
        return {
            "reason": "outcomes_achieved",
            "closed_on": on,
            "need_outcomes": [{"need": n.pk, "outcome": "met"} for n in needs],
            "version": version(episode.pk)(),
        }

    scores = [{"area": "education", "score": 4}]
    return {
        ("GET", "/api/episodes/"): ("/api/episodes/", None),
        ("GET", "/api/episodes/{id}/"): (f"{e}/", None),
        ("GET", "/api/episodes/{id}/taf-members/"): (f"{e}/taf-members/", None),
        ("GET", "/api/episodes/{id}/meetings/"): (f"{e}/meetings/", None),
        ("GET", "/api/episodes/{id}/needs/"): (f"{e}/needs/", None),
        ("GET", "/api/episodes/{id}/reviews/"): (f"{e}/reviews/", None),
        ("GET", "/api/episodes/{id}/distance-travelled/"): (f"{e}/distance-travelled/", None),
        ("GET", "/api/meetings/{id}/"): (f"/api/meetings/{held.pk}/", None),
        ("GET", "/api/families/{id}/episodes/"): (f"/api/families/{personas.ashworth.pk}/episodes/", None),
        ("GET", "/api/levels-of-need/"): ("/api/levels-of-need/", None),
        ("GET", "/api/outcome-areas/"): ("/api/outcome-areas/", None),
        ("POST", "/api/families/{id}/episodes/"): (
            f"/api/families/{personas.carter.pk}/episodes/",
            lambda: {"level": level3.pk, "consent_given_by": "Amy", "consent_on": on},
        ),
        ("POST", "/api/families/{id}/episodes/step-down/"): (
            f"/api/families/{personas.dixon.pk}/episodes/step-down/",
            lambda: {"social_care_reference": "SC-1", "handover_notes": "Notes", "accepted_on": on},
        ),
        ("POST", "/api/episodes/{id}/taf-members/"): (
            f"{e}/taf-members/",
            lambda: {"user": worker.pk, "role": "Teacher", "joined_on": on},
        ),
        ("POST", "/api/taf-members/{id}/remove/"): (
            f"/api/taf-members/{kerry.pk}/remove/",
            lambda: {"left_on": on},
        ),
        ("POST", "/api/episodes/{id}/needs/"): (
            f"{e}/needs/",
            lambda: {"area": "education", "description": "School attendance"},
        ),
        ("POST", "/api/episodes/{id}/level/"): (
            f"{e}/level/",
            lambda: {"level": level3.pk, "changed_on": on, "reason": "Confirmed at assessment"},
        ),
        ("POST", "/api/episodes/{id}/meetings/"): (
            f"{e}/meetings/",
            lambda: {"starts_at": (timezone.now() + dt.timedelta(days=7)).isoformat(), "location": "School"},
        ),
        ("POST", "/api/meetings/{id}/record/"): (f"/api/meetings/{held.pk}/record/", record_body),
        ("POST", "/api/episodes/{id}/lead-professional/"): (
            f"{e}/lead-professional/",
            lambda: {
                "user": worker.pk,
                "family_view": "Agreed",
                "handover_note": "Over to you",
                "started_on": on,
            },
        ),
        ("POST", "/api/episodes/{id}/baseline/"): (
            f"{e}/baseline/",
            lambda: {"held_on": on, "scores": scores},
        ),
        ("POST", "/api/episodes/{id}/reviews/"): (
            f"{e}/reviews/",
            lambda: {"held_on": on, "scores": scores, "decision": "continue", "summary": "Better"},
        ),
        ("POST", "/api/episodes/{id}/step-up/"): (
            f"/api/episodes/{bennett.pk}/step-up/",
            lambda: {"reason": "Disclosure", "stepped_up_on": on, "version": version(bennett.pk)()},
        ),
        ("POST", "/api/episodes/{id}/close/"): (f"{e}/close/", close_body),
    }


def _expected(username: str) -> dict[tuple[str, str], int]:
    sees = 200 if "ashworth" in SEES[username] else 404
    change = expected_status(username, "ashworth")
    return {
        ("GET", "/api/agencies/"): 200,
        ("GET", "/api/agencies/{id}/"): 200,
        ("GET", "/api/hubs/"): 200,
        ("GET", "/api/hubs/{id}/"): 200,
        ("GET", "/api/families/"): 200,
        ("POST", "/api/families/"): 201 if username in CREATES else 403,
        ("POST", "/api/families/search/"): 200,
        ("GET", "/api/families/{id}/"): sees,
        ("PUT", "/api/families/{id}/"): change,
        ("PATCH", "/api/families/{id}/"): change,
        ("POST", "/api/families/{id}/members/"): 201 if change == 200 else change,
        ("GET", "/api/people/"): 200,
        ("GET", "/api/people/{id}/"): sees,
        ("PUT", "/api/people/{id}/"): change,
        ("PATCH", "/api/people/{id}/"): change,
        ("POST", "/api/token/"): 400,  # no credentials in the body, whoever asks
        # Quarterly performance: agency managers, hub coordinators and the partnership-wide roles.
        ("GET", "/api/indicators/"): 200 if username in REPORTING else 404,
        **_pathway_expected(username),
        **_request_expected(username),
        **_assessment_expected(username),
    }


def _pathway_expected(username: str) -> dict[tuple[str, str], int]:
    sees = 200 if "ashworth" in SEES[username] else 404
    change = expected_status(username, "ashworth")

    def done(status: int, success: int) -> int:
        return success if status == 200 else status

    return {
        ("GET", "/api/episodes/"): 200,
        ("GET", "/api/episodes/{id}/"): sees,
        ("GET", "/api/episodes/{id}/taf-members/"): sees,
        ("GET", "/api/episodes/{id}/meetings/"): sees,
        ("GET", "/api/episodes/{id}/needs/"): sees,
        ("GET", "/api/episodes/{id}/reviews/"): sees,
        ("GET", "/api/episodes/{id}/distance-travelled/"): sees,
        ("GET", "/api/meetings/{id}/"): sees,
        ("GET", "/api/families/{id}/episodes/"): sees,
        ("GET", "/api/levels-of-need/"): 200,
        ("GET", "/api/outcome-areas/"): 200,
        # Opening: practitioners and coordinators who may change the family (Carter: Hana, Chris).
        ("POST", "/api/families/{id}/episodes/"): done(expected_status(username, "carter"), 201),
        ("POST", "/api/families/{id}/episodes/step-down/"): done(expected_status(username, "dixon"), 201),
        ("POST", "/api/episodes/{id}/taf-members/"): done(change, 201),
        ("POST", "/api/taf-members/{id}/remove/"): change,
        ("POST", "/api/episodes/{id}/needs/"): done(change, 201),
        ("POST", "/api/episodes/{id}/level/"): change,
        ("POST", "/api/episodes/{id}/meetings/"): done(change, 201),
        ("POST", "/api/meetings/{id}/record/"): change,
        ("POST", "/api/episodes/{id}/lead-professional/"): done(change, 201),
        ("POST", "/api/episodes/{id}/baseline/"): done(change, 201),
        ("POST", "/api/episodes/{id}/reviews/"): done(change, 201),
        ("POST", "/api/episodes/{id}/step-up/"): expected_status(username, "bennett"),
        ("POST", "/api/episodes/{id}/close/"): change,
    }


def _assessment_routes(personas):
    """Consent, the assessment and the plan (assessments/api/) on three North hub families worked as the
    Ashworths are (Sam starts early help, Hana reads, Chris coordinates the hub, Alex manages Sam's agency):
    A with a draft assessment and a plan, B with consent and no assessment (to start one), C with a
    completed assessment (to decide on, and its version 1). Writes come in an order that keeps each valid
    for those allowed: A's consent to withdraw goes last, after its assessment is completed."""
    from assessments import services as assessment_services
    from assessments.models import Assessment, ConsentRecord, PlanAction, PlanOutcome
    from ehcase.models import HouseholdRole

    today = timezone.localdate()
    sam, on = personas.sam, today.isoformat()
    morpeth = HubArea.objects.get(name="Morpeth")

    def worked_family(name):
        family = FamilyFactory(name=name, area=morpeth)
        parent, child, teen = (
            FamilyMemberFactory(
                family=family,
                role=role,
                person__first_name=first,
                person__last_name=name,
                person__date_of_birth=born,
            ).person
            for first, role, born in (
                ("Dana", HouseholdRole.PARENT_CARER, dt.date(1988, 1, 1)),
                ("Sky", HouseholdRole.CHILD, dt.date(2015, 3, 1)),
                ("Rowan", HouseholdRole.CHILD, today - dt.timedelta(days=17 * 366)),
            )
        )
        grant_family_access(user=sam, family=family, change=True)
        grant_family_access(user=personas.hana, family=family)
        episode = pathway_services.episode_start_directly(
            actor=sam,
            family=family,
            level=LevelOfNeed.objects.get(code="3"),
            consent_given_by="Dana",
            consent_on=today - dt.timedelta(30),
        )
        for person in (parent, child):
            assessment_services.consent_record(
                actor=sam,
                episode=episode,
                person=person,
                given_by=parent,
                given_on=today - dt.timedelta(29),
                method="written",
                agrees_to_sharing=True,
                sharing_basis="consent",
            )
        return episode, parent, child, teen

    def assessed(episode, people):
        assessment = assessment_services.assessment_start(
            actor=sam, episode=episode, members=people, assessment_date=today - dt.timedelta(20)
        )
        return assessment_services.assessment_save(
            actor=sam,
            assessment=assessment,
            expected_version=assessment.version,
            changes={
                "domains": {"child.education": "Misses school"},
                "family_view": "Mornings are hard",
                "needs": [{"area": "education", "description": "Attendance"}],
                "scores": {"education": 3},
            },
        )

    (a, dana, sky, rowan), (b, dana_b, _, _), (c, dana_c, _, _) = (
        worked_family(name) for name in ("Fairley", "Gill", "Hollis")
    )
    draft = assessed(a, [dana, sky])
    done = assessed(c, [dana_c])
    done = assessment_services.assessment_complete(actor=sam, assessment=done, expected_version=done.version)
    outcome = assessment_services.plan_outcome_add(actor=sam, episode=a, wording="Calmer mornings")
    hanas = assessment_services.action_add(
        actor=sam, episode=a, description="Health check", due_on=today, owner_user=personas.hana
    )
    skys_consent = ConsentRecord.objects.get(episode=a, person=sky)

    def current(model, pk):
        return lambda: model.objects.get(pk=pk).version

    draft_version, outcome_version, action_version = (
        current(Assessment, draft.pk),
        current(PlanOutcome, outcome.pk),
        current(PlanAction, hanas.pk),
    )
    ea, asmt = f"/api/episodes/{a.pk}", f"/api/assessments/{draft.pk}"
    return {
        ("GET", "/api/episodes/{id}/consents/"): (f"{ea}/consents/", None),
        ("POST", "/api/episodes/{id}/consents/"): (
            f"{ea}/consents/",
            lambda: {
                "person": rowan.pk,
                "given_by": rowan.pk,
                "given_on": on,
                "method": "verbal",
                "agrees_to_sharing": True,
                "sharing_basis": "consent",
            },
        ),
        ("GET", "/api/consents/{id}/"): (f"/api/consents/{skys_consent.pk}/", None),
        ("GET", "/api/episodes/{id}/assessments/"): (f"{ea}/assessments/", None),
        ("POST", "/api/episodes/{id}/assessments/"): (
            f"/api/episodes/{b.pk}/assessments/",
            lambda: {"members": [dana_b.pk], "assessment_date": on},
        ),
        ("GET", "/api/assessments/{id}/"): (f"{asmt}/", None),
        ("PATCH", "/api/assessments/{id}/"): (
            f"{asmt}/",
            lambda: {"version": draft_version(), "content": {"family_view": "Better mornings"}},
        ),
        ("POST", "/api/assessments/{id}/complete/"): (
            f"{asmt}/complete/",
            lambda: {"version": draft_version()},
        ),
        ("POST", "/api/assessments/{id}/decide/"): (
            f"/api/assessments/{done.pk}/decide/",
            lambda: {"decision": "return", "comments": "Add the school's view"},
        ),
        ("GET", "/api/assessments/{id}/versions/{number}/"): (
            f"/api/assessments/{done.pk}/versions/1/",
            None,
        ),
        ("GET", "/api/episodes/{id}/plan/"): (f"{ea}/plan/", None),
        ("POST", "/api/episodes/{id}/outcomes/"): (
            f"{ea}/outcomes/",
            lambda: {"wording": "Jayden sleeps well"},
        ),
        ("PATCH", "/api/outcomes/{id}/"): (
            f"/api/outcomes/{outcome.pk}/",
            lambda: {"version": outcome_version(), "achieved": True},
        ),
        ("POST", "/api/episodes/{id}/actions/"): (
            f"{ea}/actions/",
            lambda: {"description": "Bedtime routine", "owner": {"person": dana.pk}, "due_on": on},
        ),
        ("PATCH", "/api/actions/{id}/"): (
            f"/api/actions/{hanas.pk}/",
            lambda: {"status": "done", "version": action_version()},
        ),
        ("POST", "/api/consents/{id}/withdraw/"): (
            f"/api/consents/{skys_consent.pk}/withdraw/",
            lambda: {"withdrawn_on": on, "reason": "Dana changed her mind"},
        ),
    }


def _assessment_expected(username: str) -> dict[tuple[str, str], int]:
    # The three families are seen and changed by the same people as the Ashworths.
    sees = 200 if "ashworth" in SEES[username] else 404
    change = expected_status(username, "ashworth")

    def done(status: int, success: int) -> int:
        return success if status == 200 else status

    # Only the assessor (Sam) writes the assessment; Chris manages the episode but is not a practitioner.
    assessor = 200 if username == "sam.practitioner" else 403 if sees == 200 else 404
    # A manager of the assessor's agency (Alex) or an early help manager (Morgan); never the assessor.
    signs_off = 200 if username in {"alex.schoolmanager", "morgan.manager"} else 403 if sees == 200 else 404
    return {
        ("GET", "/api/episodes/{id}/consents/"): sees,
        ("POST", "/api/episodes/{id}/consents/"): done(change, 201),
        ("GET", "/api/consents/{id}/"): sees,
        ("POST", "/api/consents/{id}/withdraw/"): change,
        ("GET", "/api/episodes/{id}/assessments/"): sees,
        ("POST", "/api/episodes/{id}/assessments/"): done(assessor, 201),
        ("GET", "/api/assessments/{id}/"): sees,
        ("PATCH", "/api/assessments/{id}/"): assessor,
        ("POST", "/api/assessments/{id}/complete/"): assessor,
        ("POST", "/api/assessments/{id}/decide/"): signs_off,
        ("GET", "/api/assessments/{id}/versions/{number}/"): sees,
        ("GET", "/api/episodes/{id}/plan/"): sees,
        ("POST", "/api/episodes/{id}/outcomes/"): done(change, 201),
        ("PATCH", "/api/outcomes/{id}/"): change,
        ("POST", "/api/episodes/{id}/actions/"): done(change, 201),
        # Hana owns the action: a member of the team updates her own.
        ("PATCH", "/api/actions/{id}/"): 200 if username == "hana.healthvisitor" else change,
    }


@pytest.mark.parametrize("username", SEES)
def test_permission_matrix_for_every_route(personas, api, username):
    client = api(personas.all_users()[username])
    actual = {}
    for (method, route), (path, body) in _routes(personas).items():
        response = client.generic(method, path, json.dumps(body()) if body else "", "application/json")
        actual[(method, route)] = response.status_code
    assert actual == _expected(username)


def test_every_api_route_has_a_row_in_the_matrix():
    generator = SchemaGenerator()
    paths = generator.get_schema(request=None, public=True)["paths"]
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert routes == set(_expected("admin")), "add the new route to _routes() and _expected()"


# --- Lists -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", SEES)
def test_family_list_shows_what_the_persona_may_see(personas, api, username):
    response = api(personas.all_users()[username]).get("/api/families/")
    assert response.status_code == 200
    names = {row["name"].lower() for row in response.json()["results"]}
    assert names == SEES[username]
    assert response.json()["count"] == len(SEES[username])


@pytest.mark.parametrize("username", SEES)
def test_people_list_shows_members_of_visible_families_only(personas, api, username):
    response = api(personas.all_users()[username]).get("/api/people/")
    assert response.status_code == 200
    surnames = {row["last_name"].lower() for row in response.json()["results"]}
    assert surnames == SEES[username]


def test_family_list_rows_carry_area_hub_and_member_count(personas, api):
    rows = api(personas.sam).get("/api/families/").json()["results"]
    ashworth = next(row for row in rows if row["reference"] == "F-DEMOASH")
    assert ashworth["area_name"] == "Morpeth"
    assert ashworth["hub"] == personas.north.pk
    assert ashworth["hub_name"] == "North hub"
    assert ashworth["member_count"] == 3
    assert ashworth["version"] == 1


SEARCH = "/api/families/search/"  # a POST with a JSON body: no search terms in URLs


def test_family_search_by_name_and_date_of_birth(personas, api):
    client = api(personas.chris)
    by_name = client.post(SEARCH, {"q": "carter"}, format="json").json()["results"]
    assert [row["name"] for row in by_name] == ["Carter"]
    # Tyler Bennett was born on 9 June 2014.
    by_dob = client.post(SEARCH, {"date_of_birth": "2014-06-09"}, format="json").json()["results"]
    assert [row["name"] for row in by_dob] == ["Bennett"]
    by_reference = client.post(SEARCH, {"q": "f-demodix"}, format="json").json()["results"]
    assert [row["name"] for row in by_reference] == ["Dixon"]


def test_search_never_reaches_beyond_what_the_persona_sees(personas, api):
    # Ola works in the South: the North's Carter family is not found however it is searched for.
    assert api(personas.ola).post(SEARCH, {"q": "Carter"}, format="json").json()["count"] == 0
    assert api(personas.ola).post(SEARCH, {"q": "F-DEMOCAR"}, format="json").json()["count"] == 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"date_of_birth": "not-a-date"}, "date_of_birth"),
        ({"date_of_birth": "2014-02-30"}, "date_of_birth"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"q": "x" * 101}, "q"),
        ({"q": "\x85" + "x" * 100}, "q"),  # too long as sent, though not once its whitespace is trimmed
        ({"q": "nul\x00byte"}, "q"),
    ],
)
def test_bad_search_is_a_400_naming_the_parameter(personas, api, params, field):
    response = api(personas.sam).post(SEARCH, params, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("params", [{"q": "carter"}, {"date_of_birth": "2014-06-09"}])
def test_search_terms_in_the_list_url_are_refused(personas, api, params):
    response = api(personas.sam).get("/api/families/", params)
    assert response.status_code == 400
    assert "POST /api/families/search/" in response.json()["detail"]


def test_bad_page_is_a_404(personas, api):
    assert api(personas.sam).get("/api/families/", {"page": "9"}).status_code == 404


@pytest.mark.parametrize("path", ["/api/agencies/", "/api/hubs/"])
@pytest.mark.parametrize("username", SEES)
def test_reference_data_is_readable_by_every_signed_in_user(personas, api, username, path):
    response = api(personas.all_users()[username]).get(path)
    assert response.status_code == 200
    assert response.json()["count"] > 0


def test_hubs_come_with_their_areas(personas, api):
    response = api(personas.ola).get(f"/api/hubs/{personas.north.pk}/")
    assert response.status_code == 200
    assert {area["name"] for area in response.json()["areas"]} == {"Morpeth", "Ashington", "Blyth"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/families/"),
        ("get", "/api/families/{ashworth}/"),
        ("patch", "/api/families/{ashworth}/"),
        ("post", "/api/families/"),
        ("post", "/api/families/{ashworth}/members/"),
        ("get", "/api/people/"),
        ("get", "/api/agencies/"),
        ("get", "/api/hubs/"),
    ],
)
def test_signed_out_is_401(personas, api, method, path):
    response = getattr(api(), method)(path.format(ashworth=personas.ashworth.pk), {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_api_root_lists_the_collections(personas, api):
    response = api(personas.admin).get("/api/")
    assert response.status_code == 200
    assert set(response.json()) == {
        "agencies",
        "hubs",
        "families",
        "people",
        "episodes",
        "levels-of-need",
        "outcome-areas",
        "requests",
    }
    assert api().get("/api/").status_code == 401


def test_unknown_api_path_is_a_json_404(personas, api):
    response = api(personas.sam).post("/api/families", {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    # An id no route accepts (a dot, control characters) falls through to the site's 404 handler, which
    # answers JSON under /api/ too.
    response = api(personas.sam).patch("/api/families/%0A%07./", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_api_responses_are_never_cached(personas, api):
    response = api(personas.sam).get(f"/api/families/{personas.ashworth.pk}/")
    assert "no-store" in response["Cache-Control"]


# --- Retrieve ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username, family", matrix())
def test_family_retrieve_is_404_for_outsiders(personas, api, username, family):
    pk = getattr(personas, family).pk
    response = api(personas.all_users()[username]).get(f"/api/families/{pk}/")
    if family in SEES[username]:
        assert response.status_code == 200
        assert response.json()["reference"] == getattr(personas, family).reference
        assert response.json()["can_change"] is (family in CHANGES[username])
    else:
        assert response.status_code == 404
        # The same boring answer whatever the reason: nothing about the family leaks.
        assert response.json() == {"detail": "Not found."}


def test_family_retrieve_lists_current_members_only(personas, api):
    ended = FamilyMember.objects.get(family=personas.bennett, person__first_name="Lee")
    ended.end_date = dt.date(2025, 3, 1)
    ended.save()
    body = api(personas.sam).get(f"/api/families/{personas.bennett.pk}/").json()
    assert [m["person"]["first_name"] for m in body["members"]] == ["Tyler"]
    assert body["member_count"] == 1


@pytest.mark.parametrize("pk", ["999999999", "99999999999999999999999", "abc", "-1"])
def test_family_retrieve_of_nonsense_ids_is_404(personas, api, pk):
    assert api(personas.morgan).get(f"/api/families/{pk}/").status_code == 404


def test_family_retrieve_is_audited_like_the_web_page(personas, api):
    before = AuditEvent.objects.count()
    response = api(personas.hana).get(f"/api/families/{personas.carter.pk}/", HTTP_USER_AGENT="ehcase-test")
    assert response.status_code == 200
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event.action == AuditAction.VIEW
    assert event.actor == personas.hana
    assert event.family_id == personas.carter.pk
    assert event.summary == "Family record"
    assert event.path == f"/api/families/{personas.carter.pk}/"
    assert event.user_agent == "ehcase-test"


def test_refused_retrieve_is_not_audited_as_a_view(personas, api):
    before = AuditEvent.objects.filter(action=AuditAction.VIEW).count()
    assert api(personas.ola).get(f"/api/families/{personas.carter.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.VIEW).count() == before


def test_family_list_is_not_audited(personas, api):
    before = AuditEvent.objects.count()
    api(personas.morgan).get("/api/families/")
    assert AuditEvent.objects.count() == before


def test_person_retrieve_is_404_for_outsiders_and_audited_for_insiders(personas, api):
    rhian = Person.objects.get(first_name="Rhian", last_name="Evans")
    assert api(personas.sam).get(f"/api/people/{rhian.pk}/").status_code == 404
    response = api(personas.ola).get(f"/api/people/{rhian.pk}/")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Rhian"
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.actor, event.family_id, event.summary) == (
        personas.ola,
        personas.evans.pk,
        f"Person record {rhian.pk}",
    )


# --- Update (families) -------------------------------------------------------------------------


@pytest.mark.parametrize("username, family", matrix())
def test_family_update_permission_matrix(personas, api, username, family):
    target = getattr(personas, family)
    response = api(personas.all_users()[username]).patch(
        f"/api/families/{target.pk}/", {"name": "Renamed", "version": target.version}, format="json"
    )
    assert response.status_code == expected_status(username, family)
    target.refresh_from_db()
    assert (target.name == "Renamed") is (response.status_code == 200)


def test_full_update_changes_the_family_and_moves_hub_with_area(personas, api):
    hexham = HubArea.objects.get(name="Hexham")
    response = api(personas.sam).put(
        f"/api/families/{personas.bennett.pk}/",
        {
            "name": "Bennett-Hall",
            "address_line_1": "2 New Road",
            "town": "Hexham",
            "postcode": "ne46 1ab",
            "area": hexham.pk,
            "version": 1,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 2
    assert body["postcode"] == "NE46 1AB"
    assert body["hub"] == hexham.hub_id == personas.south.pk
    assert (body["area_name"], body["hub_name"]) == ("Hexham", "South hub")
    family = Family.objects.get(pk=personas.bennett.pk)
    assert (family.name, family.hub_id, family.version) == ("Bennett-Hall", personas.south.pk, 2)
    change = AuditEvent.objects.filter(family_id=family.pk, action=AuditAction.UPDATE).get()
    assert change.changes["name"] == ["Bennett", "Bennett-Hall"]


def test_reference_hub_version_and_id_are_read_only(personas, api):
    response = api(personas.sam).patch(
        f"/api/families/{personas.ashworth.pk}/",
        {
            "version": 1,
            "reference": "F-HACKED1",
            "hub": personas.south.pk,
            "id": 999,
            "created_at": "2000-01-01",
        },
        format="json",
    )
    assert response.status_code == 200
    family = Family.objects.get(pk=personas.ashworth.pk)
    assert (family.reference, family.hub_id, family.version) == ("F-DEMOASH", personas.north.pk, 2)


def test_stale_version_is_409_and_saves_nothing(personas, api):
    client = api(personas.sam)
    url = f"/api/families/{personas.ashworth.pk}/"
    assert client.patch(url, {"town": "Morpeth", "version": 1}, format="json").status_code == 200
    # A second client still holding version 1 must not overwrite the first client's change.
    response = client.patch(url, {"name": "Overwritten", "version": 1}, format="json")
    assert response.status_code == 409
    assert "changed this record after you read it" in response.json()["detail"]
    family = Family.objects.get(pk=personas.ashworth.pk)
    assert (family.name, family.version) == ("Ashworth", 2)
    assert client.patch(url, {"name": "Ashworth-Lee", "version": 2}, format="json").status_code == 200


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_without_version_is_400(personas, api, method):
    response = getattr(api(personas.sam), method)(
        f"/api/families/{personas.ashworth.pk}/",
        {"name": "No version", "area": personas.ashworth.area_id},
        format="json",
    )
    assert response.status_code == 400
    assert "version" in response.json()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"postcode": "NOT A POSTCODE"}, "postcode"),
        ({"name": ""}, "name"),
        ({"area": 99999999}, "area"),
        ({"area": "1"}, "area"),
        ({"area": True}, "area"),
        ({"version": 0}, "version"),
        ({"version": "one"}, "version"),
    ],
)
def test_bad_family_data_is_400_on_the_field(personas, api, payload, field):
    response = api(personas.sam).patch(
        f"/api/families/{personas.ashworth.pk}/", {"version": 1, **payload}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()


def test_body_that_is_not_an_object_is_400(personas, api):
    client = api(personas.sam)
    response = client.patch(f"/api/families/{personas.ashworth.pk}/", [1, 2], format="json")
    assert response.status_code == 400
    response = client.generic(
        "PATCH", f"/api/families/{personas.ashworth.pk}/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


# --- Create (families) -------------------------------------------------------------------------


@pytest.mark.parametrize("username", SEES)
def test_who_may_create_a_family(personas, api, username):
    morpeth = HubArea.objects.get(name="Morpeth")
    response = api(personas.all_users()[username]).post(
        "/api/families/", {"name": "Newcombe", "area": morpeth.pk, "postcode": "NE61 2BB"}, format="json"
    )
    assert response.status_code == (201 if username in CREATES else 403)
    assert Family.objects.filter(name="Newcombe").exists() is (username in CREATES)


def test_practitioner_sees_and_changes_the_family_they_create(personas, api):
    client = api(personas.sam)
    morpeth = HubArea.objects.get(name="Morpeth")
    response = client.post(
        "/api/families/",
        {"name": "Newcombe", "area": morpeth.pk, "reference": "F-CHOSEN1", "hub": personas.south.pk},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("F-") and body["reference"] != "F-CHOSEN1"
    assert (body["hub"], body["version"], body["can_change"], body["members"]) == (
        personas.north.pk,
        1,
        True,
        [],
    )
    listed = {row["id"] for row in client.get("/api/families/").json()["results"]}
    assert body["id"] in listed
    assert client.get(f"/api/families/{body['id']}/").status_code == 200
    # ... and nobody else in the South can.
    assert api(personas.ola).get(f"/api/families/{body['id']}/").status_code == 404
    assert AuditEvent.objects.filter(family_id=body["id"], action=AuditAction.CREATE).exists()


def test_create_needs_name_and_area(personas, api):
    response = api(personas.sam).post("/api/families/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "area"}


# --- People ------------------------------------------------------------------------------------


@pytest.mark.parametrize("username, family", matrix())
def test_person_update_permission_matrix(personas, api, username, family):
    member = FamilyMember.objects.filter(family=getattr(personas, family)).select_related("person").first()
    person = member.person
    response = api(personas.all_users()[username]).patch(
        f"/api/people/{person.pk}/", {"known_as": "Nickname", "version": person.version}, format="json"
    )
    assert response.status_code == expected_status(username, family)
    person.refresh_from_db()
    assert (person.known_as == "Nickname") is (response.status_code == 200)


def test_person_update_is_audited_on_the_family_and_versioned(personas, api):
    kerry = Person.objects.get(first_name="Kerry")
    client = api(personas.sam)
    response = client.patch(
        f"/api/people/{kerry.pk}/", {"nhs_number": "943 476 5919", "version": 1}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["nhs_number"] == VALID_NHS_NUMBER
    assert response.json()["version"] == 2
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(kerry.pk)).get()
    assert event.family_id == personas.ashworth.pk
    response = client.patch(f"/api/people/{kerry.pk}/", {"known_as": "Kez", "version": 1}, format="json")
    assert response.status_code == 409
    assert Person.objects.get(pk=kerry.pk).known_as == ""


def test_person_full_update(personas, api):
    mia = Person.objects.get(first_name="Mia")
    response = api(personas.sam).put(
        f"/api/people/{mia.pk}/",
        person_payload(first_name="Mia", last_name="Ashworth-Lee", disabilities=["LD", "LD"], version=1),
        format="json",
    )
    assert response.status_code == 200, response.json()
    mia.refresh_from_db()
    assert (mia.last_name, mia.disabilities, mia.date_of_birth) == (
        "Ashworth-Lee",
        ["LD"],
        dt.date(2018, 4, 1),
    )


@pytest.mark.parametrize("username, family", matrix())
def test_add_member_permission_matrix(personas, api, username, family):
    target = getattr(personas, family)
    before = FamilyMember.objects.filter(family=target).count()
    response = api(personas.all_users()[username]).post(
        f"/api/families/{target.pk}/members/", member_payload(), format="json"
    )
    status = expected_status(username, family)
    assert response.status_code == (201 if status == 200 else status)
    assert FamilyMember.objects.filter(family=target).count() == before + (status == 200)


def test_added_member_appears_on_the_family(personas, api):
    client = api(personas.sam)
    response = client.post(
        f"/api/families/{personas.bennett.pk}/members/",
        member_payload(first_name="Ava", nhs_number="943-476-5919", upn=VALID_UPN.lower()),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["person"]["nhs_number"] == VALID_NHS_NUMBER
    assert response.json()["person"]["upn"] == VALID_UPN
    names = [
        m["person"]["first_name"]
        for m in client.get(f"/api/families/{personas.bennett.pk}/").json()["members"]
    ]
    assert "Ava" in names


def test_upn_fixture_is_valid():
    from ehcase.validators import upn_check_letter

    assert upn_check_letter(VALID_UPN[1:]) == VALID_UPN[0]


TODAY = dt.date.today()


@pytest.mark.parametrize(
    "person, field",
    [
        ({"nhs_number": "1234567890"}, "nhs_number"),  # wrong check digit
        ({"nhs_number": "12345"}, "nhs_number"),
        ({"nhs_number": "94347659190"}, "nhs_number"),  # too long
        ({"upn": "A12345678901"}, "upn"),
        ({"upn": "B123456789012"}, "upn"),  # wrong check letter
        ({"date_of_birth": (TODAY + dt.timedelta(days=1)).isoformat()}, "date_of_birth"),
        ({"date_of_birth": None}, "date_of_birth"),  # neither date of birth nor expected date
        (
            {"date_of_birth": "2025-03-01", "expected_date_of_birth": "2025-01-01"},
            "date_of_birth",
        ),  # born 2 months after expected
        ({"date_of_birth": "2020-01-01", "expected_date_of_birth": "9999-12-31"}, None),  # allowed: early
        ({"date_of_birth": None, "expected_date_of_birth": "9999-12-31"}, "expected_date_of_birth"),
        ({"date_of_birth": "0001-01-01", "expected_date_of_birth": "9999-12-31"}, None),
        ({"disabilities": ["NONE", "LD"]}, "disabilities"),
        ({"disabilities": ["XXX"]}, "disabilities"),
        ({"sex": "Q"}, "sex"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": "a\x00b"}, "first_name"),
    ],
)
def test_person_validation_mirrors_the_web_form(personas, api, person, field):
    response = api(personas.sam).post(
        f"/api/families/{personas.bennett.pk}/members/", member_payload(**person), format="json"
    )
    if field is None:
        assert response.status_code == 201, response.json()
    else:
        assert response.status_code == 400
        assert field in response.json()["person"], response.json()


@pytest.mark.parametrize("field, value", [("nhs_number", VALID_NHS_NUMBER), ("upn", VALID_UPN)])
def test_duplicate_identifier_is_400_on_that_field(personas, api, field, value):
    Person.objects.filter(first_name="Kerry").update(**{field: value})
    client = api(personas.sam)
    response = client.post(
        f"/api/families/{personas.bennett.pk}/members/", member_payload(**{field: value}), format="json"
    )
    assert response.status_code == 400
    assert "already recorded for another person" in response.json()["person"][field][0]
    # Saving a person with their own identifier is not a duplicate.
    kerry = Person.objects.get(first_name="Kerry")
    response = client.patch(f"/api/people/{kerry.pk}/", {field: value, "version": 1}, format="json")
    assert response.status_code == 200
    # ... but taking someone else's is.
    jayden = Person.objects.get(first_name="Jayden")
    response = client.patch(f"/api/people/{jayden.pk}/", {field: value, "version": 1}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_member_start_date_cannot_be_in_the_future(personas, api):
    payload = {**member_payload(), "start_date": (TODAY + dt.timedelta(days=2)).isoformat()}
    response = api(personas.sam).post(f"/api/families/{personas.bennett.pk}/members/", payload, format="json")
    assert response.status_code == 400
    assert "start_date" in response.json()


def test_partial_person_update_is_checked_against_the_whole_record(personas, api):
    # Jayden was born in 2016: an expected date of birth in 2010 would put his birth 6 years late.
    jayden = Person.objects.get(first_name="Jayden")
    response = api(personas.sam).patch(
        f"/api/people/{jayden.pk}/", {"expected_date_of_birth": "2010-01-01", "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert "date_of_birth" in response.json()


# --- Query budgets -----------------------------------------------------------------------------


def _practitioner_with_families(count: int):
    user = MembershipFactory(role=Role.PRACTITIONER).user
    area = HubArea.objects.get(name="Morpeth")
    for _ in range(count):
        family = FamilyFactory(area=area)
        FamilyMemberFactory.create_batch(2, family=family)
        grant_family_access(user=user, family=family)
    return user


def _count_queries(client: APIClient, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("path", ["/api/families/", "/api/people/"])
def test_list_costs_the_same_for_1_and_50_rows(personas, api, path):
    one = _practitioner_with_families(1)
    fifty = _practitioner_with_families(50)
    assert api(one).get(path).json()["count"] in (1, 2)
    assert len(api(fifty).get(path).json()["results"]) == 50
    few, few_sql = _count_queries(api(one), path)
    many, many_sql = _count_queries(api(fifty), path)
    assert few == many, "\n\n".join(many_sql)


def test_family_list_query_budget(personas, api, django_assert_num_queries):
    user = _practitioner_with_families(50)
    client = api(user)
    # 1. the user's memberships (ehcase.permissions.roles_for)
    # 2. the hubs of those memberships (prefetch; coordinators' hubs)
    # 3. COUNT(*) of the visible families matching the search (pagination)
    # 4. the page of families, joined to area and hub, with the current-member count annotated
    with django_assert_num_queries(4):
        response = client.get("/api/families/")
    assert len(response.json()["results"]) == 50


def test_family_retrieve_query_budget(personas, api, django_assert_num_queries):
    client = api(personas.sam)
    # 1. memberships, 2. their hubs (roles_for)
    # 3. the family, if visible, with hub and area and whether Sam may change it (family_for_user)
    # 4. INSERT the audit event
    # 5. the current members with their people
    with django_assert_num_queries(5):
        response = client.get(f"/api/families/{personas.ashworth.pk}/")
    assert len(response.json()["members"]) == 3


# --- Tokens ------------------------------------------------------------------------------------


def test_token_from_password_works_on_the_api(personas):
    from tests.two_factor_support import confirmed_device, current_code

    client = APIClient()
    # With a current code from the authenticator app too (docs/two-factor.md; tests/test_two_factor.py).
    code = current_code(confirmed_device(personas.sam))
    response = client.post(
        "/api/token/",
        {"username": "sam.practitioner", "password": DEMO_PASSWORD, "otp": code},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=personas.sam).key == token
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    names = {row["name"] for row in client.get("/api/families/").json()["results"]}
    assert names == {"Ashworth", "Bennett"}


def test_wrong_password_is_400_and_gives_no_token(personas):
    response = APIClient().post(
        "/api/token/", {"username": "sam.practitioner", "password": "not-the-password"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.filter(user=personas.sam).exists()


def test_token_endpoint_locks_out_after_repeated_failures(personas):
    client = APIClient()
    for _ in range(5):  # AXES_FAILURE_LIMIT
        client.post("/api/token/", {"username": "sam.practitioner", "password": "guess"}, format="json")
    response = client.post(
        "/api/token/", {"username": "sam.practitioner", "password": DEMO_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert not Token.objects.filter(user=personas.sam).exists()


def test_bad_token_is_401(personas):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/families/").status_code == 401


def test_token_of_inactive_user_is_refused(personas):
    token = Token.objects.create(user=personas.sam)
    personas.sam.is_active = False
    personas.sam.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/families/").status_code == 401


# --- Schema ------------------------------------------------------------------------------------


def test_openapi_schema_is_valid_without_warnings():
    out, err = io.StringIO(), io.StringIO()
    # --fail-on-warn raises if drf-spectacular emitted any warning or error.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)
    assert "paths:" in out.getvalue()
    assert "/api/families/{id}/members/" in out.getvalue()
    assert err.getvalue() == ""


def test_schema_and_docs_are_served(personas, api):
    schema = api(personas.sam).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    family_update = schema.json()["paths"]["/api/families/{id}/"]["patch"]
    assert {"200", "400", "403", "404", "409"} <= set(family_update["responses"])
    docs = api(personas.sam).get("/api/docs/")
    assert docs.status_code == 200
