"""GET /api/indicators/ (reporting/api.py): the dashboard's figures as JSON, with the same access rules;
validation of the query; the OpenAPI schema."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from pathway.models import Episode, EpisodeStatus, LevelOfNeed
from reporting import services
from reporting.indicators import INDICATORS, Scope
from reporting.models import Snapshot
from reporting.quarters import Quarter

URL = "/api/indicators/"
TODAY = timezone.localdate()
Q = Quarter.default(TODAY)


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def open_episode(family, opened_on, *, lead):
    return Episode.objects.create(
        family=family,
        level=LevelOfNeed.objects.get(code="3"),
        opened_on=opened_on,
        status=EpisodeStatus.PLAN_ACTIVE,
        lead_professional=lead,
    )


@pytest.fixture
def episodes(personas):
    """Two episodes opened in the quarter (Sam's Ashworth, Ola's Evans); one the quarter before (Hana's
    Carter, closed at its end)."""
    open_episode(personas.ashworth, Q.start, lead=personas.sam)
    open_episode(personas.evans, Q.end, lead=personas.ola)
    earlier = open_episode(personas.carter, Q.previous().start, lead=personas.hana)
    Episode.objects.filter(pk=earlier.pk).update(
        status=EpisodeStatus.CLOSED, closed_on=Q.previous().end, closure_reason="outcomes_achieved"
    )


def test_indicators_for_the_partnership(personas, episodes):
    response = api(personas.morgan).get(URL, {"quarter": Q.slug})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["quarter"] == {
        "slug": Q.slug,
        "label": Q.label,
        "start": Q.start.isoformat(),
        "end": Q.end.isoformat(),
        "previous": Q.previous().slug,
        "year_before": Q.year_before().slug,
    }
    assert body["scope"] == {"hub": None, "agency": None}
    snapshot = Snapshot.objects.get(quarter=Q.slug, hub_id=0, agency_id=0)
    assert dt.datetime.fromisoformat(body["computed_at"]) == snapshot.computed_at
    assert list(body["indicators"]) == list(INDICATORS)

    opened = body["indicators"]["episodes_opened"]
    assert opened["title"] == "Episodes opened" and opened["unit"] == "count"
    assert opened["section"] == "episodes" and opened["up_is_good"] is None
    assert opened["definition"] == INDICATORS["episodes_opened"].definition
    assert opened["current"] == {"value": 2, "numerator": 2, "denominator": None, "rows": []}
    assert opened["previous"]["value"] == 1 and opened["year_before"]["value"] == 0
    assert (opened["direction"], opened["judgement"]) == ("up", "neutral")

    closures = body["indicators"]["episodes_closed"]
    assert closures["current"]["value"] == 0 and closures["previous"]["value"] == 1
    assert (closures["direction"], closures["judgement"]) == ("down", "neutral")
    achieved = next(r for r in closures["previous"]["rows"] if r["key"] == "outcomes_achieved")
    assert achieved["label"] == "Outcomes achieved" and achieved["value"] == 1

    # A percentage with no denominator has no figure, and no direction.
    stepped_up = body["indicators"]["closures_stepped_up"]
    assert stepped_up["current"]["value"] is None
    assert (stepped_up["direction"], stepped_up["judgement"]) == (None, None)


def test_the_same_figures_as_the_dashboard(personas, episodes):
    body = api(personas.quinn).get(URL, {"quarter": Q.slug, "hub": personas.north.pk}).json()
    assert body["scope"] == {"hub": {"id": personas.north.pk, "name": "North hub"}, "agency": None}
    comparisons = {
        c.key: c for _, items in services.comparisons(Q, Scope(hub_id=personas.north.pk)) for c in items
    }
    for key, item in body["indicators"].items():
        assert item["current"]["value"] == comparisons[key].value
        assert item["direction"] == comparisons[key].direction
        assert item["judgement"] == comparisons[key].judgement
    assert body["indicators"]["episodes_opened"]["current"]["value"] == 1  # Evans is in the south hub


def test_agency_manager_gets_their_agency(personas, episodes):
    body = api(personas.alex).get(URL, {"quarter": Q.slug}).json()
    assert body["scope"] == {
        "hub": None,
        "agency": {"id": personas.riverside.pk, "name": "Riverside Primary School"},
    }
    assert body["indicators"]["episodes_opened"]["current"]["value"] == 1  # Sam's Ashworth only
    assert api(personas.alex).get(URL, {"agency": personas.council.pk}).status_code == 404
    assert api(personas.alex).get(URL, {"hub": personas.south.pk}).json()["scope"]["agency"]["id"] == (
        personas.riverside.pk
    )


def test_coordinator_gets_their_hub(personas, episodes):
    body = api(personas.chris).get(URL).json()
    assert body["quarter"]["slug"] == Q.slug, "the default is the last quarter that has ended"
    assert body["scope"]["hub"] == {"id": personas.north.pk, "name": "North hub"}
    assert api(personas.chris).get(URL, {"hub": personas.south.pk}).status_code == 404
    assert api(personas.chris).get(URL, {"agency": personas.southfield.pk}).status_code == 200


@pytest.mark.parametrize("username", ["sam.practitioner", "hana.healthvisitor", "ola.outsider", "admin"])
def test_no_reporting_access_is_404_whatever_the_query(personas, username):
    user = personas.all_users()[username]
    for query in ({}, {"quarter": "nonsense"}, {"hub": "abc"}):
        response = api(user).get(URL, query)
        assert response.status_code == 404, query
        assert response.json() == {"detail": "Not found."}
    assert not Snapshot.objects.exists()


def test_signed_out_is_401(personas):
    response = api().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_token_authentication(personas):
    token = Token.objects.create(user=personas.morgan)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"quarter": "nonsense"}, "quarter"),
        ({"quarter": "2026-27-Q2"}, "quarter"),  # the slug is lower case
        ({"quarter": ""}, "quarter"),
        ({"quarter": Quarter.containing(TODAY).next().slug}, "quarter"),  # not started
        ({"hub": "abc"}, "hub"),
        ({"hub": "0"}, "hub"),
        ({"hub": ""}, "hub"),
        ({"agency": "-3"}, "agency"),
        ({"agency": "1.5"}, "agency"),
    ],
)
def test_invalid_queries_are_400(personas, query, field):
    response = api(personas.morgan).get(URL, query)
    assert response.status_code == 400
    assert field in response.json()
    assert not Snapshot.objects.exists()


def test_a_hub_that_does_not_exist_is_404(personas):
    assert api(personas.morgan).get(URL, {"hub": 987654}).status_code == 404
    assert not Snapshot.objects.exists()


def test_post_is_not_allowed(personas):
    assert api(personas.morgan).post(URL, {}, format="json").status_code == 405


def test_schema_documents_the_endpoint(personas):
    schema = api(personas.morgan).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/indicators/"]["get"]
    # 429: the API rate limit (ehcase.api.throttling), documented on every operation.
    assert set(operation["responses"]) == {"200", "400", "401", "404", "429"}
    assert {p["name"] for p in operation["parameters"]} == {"quarter", "hub", "agency"}
    components = schema["components"]["schemas"]
    indicator = components["Indicator"]
    assert {
        "title",
        "unit",
        "up_is_good",
        "current",
        "previous",
        "year_before",
        "direction",
        "judgement",
    } <= set(indicator["properties"])
