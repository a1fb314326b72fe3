"""Who sees which performance figures (reporting.permissions, docs/reporting.md): early help managers and
quality auditors any scope; agency managers their agency (any hub); hub coordinators their hub (any
agency); practitioners, system administrators and everyone else a 404 on the dashboard, the drill-down,
"Recalculate now" and the API; signed out, the sign-in page (web) or 401 (API)."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework.test import APIClient

from ehcase.models import Role
from reporting.indicators import Scope
from reporting.permissions import ReportingAccess, reporting_access, request_scope, scope_for
from tests.factories import AgencyFactory, MembershipFactory, UserFactory

SEES_ANY_SCOPE = {"morgan.manager", "quinn.auditor"}
NO_DASHBOARDS = {"sam.practitioner", "hana.healthvisitor", "ola.outsider", "admin"}
DASHBOARD = "/reporting/"
DRILLDOWN = "/reporting/families/?indicator=episodes_opened"
API = "/api/indicators/"


def expected(username: str) -> int:
    return 404 if username in NO_DASHBOARDS else 200


PEOPLE = sorted(SEES_ANY_SCOPE | NO_DASHBOARDS | {"chris.coordinator", "alex.schoolmanager"})


# --- Pages and API per persona -------------------------------------------------------------------


@pytest.mark.parametrize("username", PEOPLE)
def test_dashboard_per_persona(personas, client, username):
    client.force_login(personas.all_users()[username])
    assert client.get(DASHBOARD).status_code == expected(username)


@pytest.mark.parametrize("username", PEOPLE)
def test_drilldown_per_persona(personas, client, username):
    client.force_login(personas.all_users()[username])
    assert client.get(DRILLDOWN).status_code == expected(username)


@pytest.mark.parametrize("username", PEOPLE)
def test_recalculate_per_persona(personas, client, username):
    client.force_login(personas.all_users()[username])
    response = client.post(reverse("reporting:recalculate"))
    assert response.status_code == (404 if username in NO_DASHBOARDS else 302)


@pytest.mark.parametrize("username", PEOPLE)
def test_api_per_persona(personas, username):
    api = APIClient()
    api.force_authenticate(personas.all_users()[username])
    response = api.get(API)
    assert response.status_code == expected(username)
    if response.status_code == 404:
        assert response.json() == {"detail": "Not found."}


def test_signed_out(client, personas):
    for url in (DASHBOARD, DRILLDOWN):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.post(reverse("reporting:recalculate")).status_code == 302
    assert APIClient().get(API).status_code == 401


def test_inactive_manager_sees_nothing(personas, client):
    personas.morgan.is_active = False
    personas.morgan.save()
    assert reporting_access(personas.morgan) is None


def test_superuser_flag_grants_nothing(personas, client):
    """The system administrator is a Django superuser: the reporting rules read memberships only."""
    assert personas.admin.is_superuser
    assert reporting_access(personas.admin) is None


# --- Scopes -------------------------------------------------------------------------------------


def test_access_per_role(personas):
    assert reporting_access(personas.morgan) == ReportingAccess(True, True, (), ())
    assert reporting_access(personas.quinn) == ReportingAccess(True, True, (), ())
    assert reporting_access(personas.chris) == ReportingAccess(False, False, (personas.north.pk,), ())
    assert reporting_access(personas.alex) == ReportingAccess(False, False, (), (personas.riverside.pk,))
    for user in (personas.sam, personas.hana, personas.ola, personas.admin):
        assert reporting_access(user) is None


def test_partnership_roles_choose_any_scope(personas):
    north, council = personas.north.pk, personas.council.pk
    for user in (personas.morgan, personas.quinn):
        assert scope_for(user, hub=None, agency=None) == Scope()
        assert scope_for(user, hub=str(north), agency="") == Scope(hub_id=north)
        assert scope_for(user, hub="", agency=council) == Scope(agency_id=council)
        assert scope_for(user, hub=north, agency=council) == Scope(hub_id=north, agency_id=council)


def test_agency_manager_has_their_agency_fixed(personas):
    riverside = personas.riverside.pk
    assert scope_for(personas.alex, hub=None, agency=None) == Scope(agency_id=riverside)
    assert scope_for(personas.alex, hub="", agency=str(riverside)) == Scope(agency_id=riverside)
    # Any hub, with the agency fixed.
    assert scope_for(personas.alex, hub=personas.south.pk, agency=None) == Scope(
        hub_id=personas.south.pk, agency_id=riverside
    )
    for other in (personas.council, personas.southfield, personas.health_visiting):
        with pytest.raises(Http404):
            scope_for(personas.alex, hub=None, agency=other.pk)


def test_coordinator_has_their_hub_fixed(personas):
    north = personas.north.pk
    assert scope_for(personas.chris, hub=None, agency=None) == Scope(hub_id=north)
    assert scope_for(personas.chris, hub=None, agency=personas.southfield.pk) == Scope(
        hub_id=north, agency_id=personas.southfield.pk
    )
    with pytest.raises(Http404):
        scope_for(personas.chris, hub=personas.south.pk, agency=None)
    with pytest.raises(Http404):
        scope_for(personas.chris, hub=personas.south.pk, agency=personas.riverside.pk)


def test_someone_with_both_roles_may_use_either(personas):
    dual = UserFactory()
    MembershipFactory(user=dual, agency=personas.riverside, role=Role.AGENCY_MANAGER)
    coordinator = MembershipFactory(user=dual, agency=personas.council, role=Role.HUB_COORDINATOR)
    coordinator.hubs.add(personas.south)
    riverside, south, north = personas.riverside.pk, personas.south.pk, personas.north.pk
    assert scope_for(dual, hub=None, agency=None) == Scope(agency_id=riverside)
    assert scope_for(dual, hub=north, agency=riverside) == Scope(hub_id=north, agency_id=riverside)
    assert scope_for(dual, hub=south, agency=personas.council.pk) == Scope(
        hub_id=south, agency_id=personas.council.pk
    )
    assert scope_for(dual, hub=south, agency=None) == Scope(hub_id=south)
    assert scope_for(dual, hub=None, agency=personas.council.pk) == Scope(
        hub_id=south, agency_id=personas.council.pk
    )
    with pytest.raises(Http404):  # neither their agency nor their hub
        scope_for(dual, hub=north, agency=personas.council.pk)


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1.5", "1e3", "99999999999999", " 1 2"])
def test_unparseable_ids_are_404(personas, bad):
    with pytest.raises(Http404):
        scope_for(personas.morgan, hub=bad, agency=None)
    with pytest.raises(Http404):
        scope_for(personas.morgan, hub=None, agency=bad)


def test_a_hub_or_agency_that_does_not_exist_is_404(personas):
    gone = AgencyFactory()
    gone_id = gone.pk
    gone.delete()
    with pytest.raises(Http404):
        scope_for(personas.morgan, hub=None, agency=gone_id)
    with pytest.raises(Http404):
        scope_for(personas.alex, hub=gone_id + 1000, agency=None)


def test_request_scope_checks_access_before_the_query(personas, rf):
    request = rf.get("/reporting/", {"quarter": "nonsense"})
    request.user = personas.sam
    with pytest.raises(Http404):
        request_scope(request)
    request.user = personas.morgan
    with pytest.raises(Http404):  # a bad quarter outside the dashboard page is a 404
        request_scope(request)
    request = rf.get("/reporting/", {"quarter": "2025-26-q4", "agency": str(personas.council.pk)})
    request.user = personas.alex
    with pytest.raises(Http404):
        request_scope(request)
    request.user = personas.morgan
    quarter, scope = request_scope(request)
    assert (quarter.slug, scope) == ("2025-26-q4", Scope(agency_id=personas.council.pk))


# --- The same rules on every surface ------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "query", "status"),
    [
        ("alex.schoolmanager", {"agency": "riverside"}, 200),
        ("alex.schoolmanager", {"agency": "council"}, 404),
        ("alex.schoolmanager", {"hub": "south"}, 200),
        ("chris.coordinator", {"hub": "north"}, 200),
        ("chris.coordinator", {"hub": "south"}, 404),
        ("chris.coordinator", {"agency": "southfield"}, 200),
        ("morgan.manager", {"hub": "south", "agency": "southfield"}, 200),
        ("quinn.auditor", {"agency": "council"}, 200),
    ],
)
def test_scopes_on_every_surface(personas, client, username, query, status):
    ids = {key: str(getattr(personas, name).pk) for key, name in query.items()}
    user = personas.all_users()[username]
    client.force_login(user)
    assert client.get(DASHBOARD, ids).status_code == status
    assert client.get("/reporting/families/", {**ids, "indicator": "episodes_opened"}).status_code == status
    recalculate = reverse("reporting:recalculate") + "?" + "&".join(f"{k}={v}" for k, v in ids.items())
    assert client.post(recalculate).status_code == (302 if status == 200 else 404)
    api = APIClient()
    api.force_authenticate(user)
    assert api.get(API, ids).status_code == status
