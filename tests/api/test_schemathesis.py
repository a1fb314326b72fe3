"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis 4).

Requests go through the real WSGI application (middleware included) inside the test's
database transaction, signed in with a DRF token as a persona. Every response must:
- not be a server error (5xx);
- have a status code, content type, headers and body that the schema documents;
- reject schema-invalid input with a 4xx (negative_data_rejection);
- refuse the request when the token is removed or wrong (ignored_auth).

`positive_data_acceptance` is left out: the schema cannot express NHS and UPN check digits,
"date of birth not in the future", or which area ids exist, so schema-valid bodies are
rightly refused with 400.

To steer generation towards records that exist, about half of the generated ids and areas
are swapped for real ones, so that retrieves, updates (200 / 403 / 409) and creates happen.
The pathway's routes run against an open Ashworth episode (Sam its assessor, Kerry in its team,
a meeting held but not yet recorded), with dates, levels and versions made valid half the time.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ehcase.models import Agency, Family, FamilyMember, Person
from ehcase.wsgi import application
from hubs.models import Hub, HubArea
from pathway import services as pathway_services
from pathway.models import Episode, LevelOfNeed, TafMeeting, TafMember

# Two personas with opposite powers: Sam changes two families and sees no others; Morgan
# reads every family and changes none.
PERSONAS = ["sam.practitioner", "morgan.manager"]


def wsgi_app(environ, start_response):
    """ehcase.wsgi.application, except that it leaves the database connection open.

    Django's handler closes the connection when a request starts and ends
    (close_old_connections); inside the test's transaction that would throw the test data
    away. Django's own test client disconnects it in the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# Generating the schema touches no database, so it can be loaded when the tests are collected.
# (schemathesis.pytest.from_fixture would load it inside the test, but it relies on a pytest
# internal, Node._nodeid, that pytest 9.2 removed.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)

# Ids of real records, filled in per test by the `real_ids` fixture and read by the hooks.
REAL_IDS: dict[str, list[int]] = {}
# One record per collection (the Ashworth family, whom Sam may change and Morgan only read).
TARGETS: dict[str, int] = {}


def _ashworth_episode(personas) -> tuple[Episode, TafMember, TafMeeting]:
    """Sam's open Ashworth episode, with Kerry in the team and a meeting held but not recorded."""
    today = timezone.localdate()
    episode = pathway_services.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry",
        consent_on=today - dt.timedelta(days=30),
    )
    kerry = pathway_services.taf_add_family_member(
        actor=personas.sam,
        episode=episode,
        person=Person.objects.get(first_name="Kerry", last_name="Ashworth"),
        role="Mother",
        joined_on=today - dt.timedelta(days=30),
    )
    meeting = pathway_services.meeting_schedule(
        actor=personas.sam,
        episode=episode,
        starts_at=timezone.now() - dt.timedelta(days=1),
        location="School",
        online=False,
        invited=[],
        already_held=True,
    )
    return episode, kerry, meeting


@pytest.fixture
def real_ids(personas):
    episode, kerry, meeting = _ashworth_episode(personas)
    TARGETS.update(
        {
            "/api/families/": personas.ashworth.pk,
            "/api/people/": FamilyMember.objects.filter(family=personas.ashworth).first().person_id,
            "/api/agencies/": personas.riverside.pk,
            "/api/hubs/": personas.north.pk,
            "/api/episodes/": episode.pk,
            "/api/meetings/": meeting.pk,
            "/api/taf-members/": kerry.pk,
        }
    )
    REAL_IDS.update(
        {
            "/api/families/": list(Family.objects.values_list("pk", flat=True)),
            "/api/people/": list(Person.objects.values_list("pk", flat=True)),
            "/api/agencies/": list(Agency.objects.values_list("pk", flat=True)),
            "/api/hubs/": list(Hub.objects.values_list("pk", flat=True)),
            "/api/episodes/": [episode.pk],
            "/api/meetings/": [meeting.pk],
            "/api/taf-members/": [kerry.pk],
            "area": list(HubArea.objects.values_list("pk", flat=True)),
            "level": list(LevelOfNeed.objects.values_list("pk", flat=True)),
        }
    )
    yield REAL_IDS
    REAL_IDS.clear()
    TARGETS.clear()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@schema.hook("flatmap_path_parameters")
def real_ids_half_the_time(context, path_parameters):
    path = context.operation.path
    ids = next((ids for prefix, ids in REAL_IDS.items() if path.startswith(prefix)), None)
    # Only integers are swapped: a non-integer id is a negative case and must stay invalid.
    if not ids or not _is_int((path_parameters or {}).get("id")):
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters), st.sampled_from(ids).map(lambda pk: {**path_parameters, "id": pk})
    )


@schema.hook("flatmap_body")
def real_areas_half_the_time(context, body):
    areas = REAL_IDS.get("area")
    if not areas or not isinstance(body, dict) or not _is_int(body.get("area")):
        return st.just(body)
    return st.one_of(st.just(body), st.sampled_from(areas).map(lambda pk: {**body, "area": pk}))


VALID_PERSON = {
    "nhs_number": None,
    "upn": None,
    "date_of_birth": "2015-05-05",
    "expected_date_of_birth": None,
    "disabilities": [],
}


# Dates the pathway wants on or before today (and after the episode opened).
PATHWAY_DATES = {
    "consent_on",
    "accepted_on",
    "changed_on",
    "stepped_up_on",
    "closed_on",
    "joined_on",
    "left_on",
    "started_on",
    "held_on",
}


def _versioned_model(path: str):
    """The model whose `version` a request to `path` carries."""
    if path.startswith("/api/people/"):
        return Person
    if path.startswith("/api/families/"):
        return Family
    if path.startswith("/api/meetings/"):
        return TafMeeting
    return Episode


def _made_valid(case, pk):
    """The case aimed at a real record with its current version, and with the values the schema
    cannot describe (check digits, postcodes, dates) made valid, so that writes can succeed."""
    path = case.operation.path
    if pk is not None:
        case.path_parameters = {**(case.path_parameters or {}), "id": pk}
    if isinstance(case.body, dict):
        body = dict(case.body)
        if "area" in body and path.startswith("/api/families"):
            body["area"] = REAL_IDS["area"][0]
        if "postcode" in body:
            body["postcode"] = "NE61 1AA"
        if "start_date" in body:
            body["start_date"] = "2024-01-01"
        if isinstance(body.get("person"), dict):
            body["person"] = {**body["person"], **VALID_PERSON}
        if path.startswith("/api/people/"):
            body.update(VALID_PERSON)
        if path.startswith(
            ("/api/episodes/", "/api/meetings/", "/api/taf-members/", "/api/families/{id}/episodes")
        ):
            today = timezone.localdate()
            for name in PATHWAY_DATES & set(body):
                body[name] = today.isoformat()
            if "starts_at" in body:
                body["starts_at"] = (timezone.now() + dt.timedelta(days=7)).isoformat()
            if "level" in body:
                body["level"] = REAL_IDS["level"][-1]
            if "area" in body:
                body["area"] = "education"
            if isinstance(body.get("scores"), list):
                body["scores"] = [{"area": "education", "score": 5}]
        if "version" in body and pk is not None:
            model = _versioned_model(path)
            body["version"] = model.objects.filter(pk=pk).values_list("version", flat=True).first() or 1
        case.body = body
    return case


@schema.hook("flatmap_case")
def valid_writes_half_the_time(context, case):
    if not REAL_IDS or case.meta is None or not case.meta.generation.mode.is_positive:
        return st.just(case)
    path = case.operation.path
    ids = next(
        (ids for prefix, ids in REAL_IDS.items() if "{id}" in path and path.startswith(prefix)), [None]
    )
    return st.one_of(st.just(case), st.sampled_from(ids).map(lambda pk: _made_valid(case, pk)))


def _aim_coverage_case_at_a_real_record(case):
    """The coverage phase changes one part of a request at a time but keeps one made-up id,
    which would stop every variation at 404. Aim them at a real record instead, with its
    current version, so that each variation reaches validation (400) or the permission check."""
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE:
        return
    path = case.operation.path
    target = next((pk for prefix, pk in TARGETS.items() if "{id}" in path and path.startswith(prefix)), None)
    generated = (case.path_parameters or {}).get("id")
    # Coverage cases carry the id as text ("0"); a non-integer one is a negative case: keep it.
    if target is None or not (_is_int(generated) or (isinstance(generated, str) and generated.isdigit())):
        return
    case.path_parameters = {**case.path_parameters, "id": target}
    if isinstance(case.body, dict) and _is_int(case.body.get("version")) and case.body["version"] >= 1:
        model = _versioned_model(path)
        case.body = {**case.body, "version": model.objects.get(pk=target).version}


@pytest.fixture(params=PERSONAS)
def persona_token(request, personas, real_ids) -> str:
    return Token.objects.create(user=personas.all_users()[request.param]).key


@schema.parametrize()
@settings(
    max_examples=20,
    # The same examples every run, so that a red CI is a change, not a draw; what a new draw finds is
    # found when the schema or these settings change.
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api_conforms_to_its_schema(case, persona_token):
    _aim_coverage_case_at_a_real_record(case)
    case.call_and_validate(
        headers={"Authorization": f"Token {persona_token}"},
        excluded_checks=[positive_data_acceptance],
    )
