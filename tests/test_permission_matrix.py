"""Persona × route × method → expected status, for every route the project serves.

`test_every_route_has_a_row` fails when a new route is added without rows here.
Family-scoped routes use the Ashworth family: Sam is its lead professional (change), Hana is in
its TAF (read), Chris coordinates its hub (change), Alex manages Sam's agency (read), Morgan and
Quinn are partnership-wide (read); Ola (another hub) and the system administrator get 404.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ANON = "anonymous"
PERSONAS = [
    "sam.practitioner",
    "hana.healthvisitor",
    "chris.coordinator",
    "alex.schoolmanager",
    "morgan.manager",
    "quinn.auditor",
    "ola.outsider",
    "admin",
    ANON,
]


def _row(**statuses):
    """Expected status per persona; `others` fills the rest."""
    others = statuses.pop("others", None)
    names = {
        "sam": "sam.practitioner",
        "hana": "hana.healthvisitor",
        "chris": "chris.coordinator",
        "alex": "alex.schoolmanager",
        "morgan": "morgan.manager",
        "quinn": "quinn.auditor",
        "ola": "ola.outsider",
        "admin": "admin",
        "anon": ANON,
    }
    expected = {names[k]: v for k, v in statuses.items()}
    for persona in PERSONAS:
        expected.setdefault(persona, others)
    assert None not in expected.values(), f"incomplete row: {expected}"
    return expected


def ashworth(p):
    return {"family_id": p.ashworth.pk}


def ashworth_person(p):
    return {"family_id": p.ashworth.pk, "person_id": p.ashworth.members.order_by("id").first().person_id}


# Readers of the Ashworth record and those who may change it.
FAMILY_READ = _row(
    sam=200, hana=200, chris=200, alex=200, morgan=200, quinn=200, ola=404, admin=404, anon=302
)
FAMILY_CHANGE = _row(
    sam=200, chris=200, hana=403, alex=403, morgan=403, quinn=403, ola=404, admin=404, anon=302
)
CASE_WORKERS = _row(admin=404, anon=302, others=200)
API_SIGNED_IN = _row(anon=401, others=200)
API_FAMILY_READ = {**FAMILY_READ, ANON: 401}
# An empty body is a 400 for those allowed to add a member: the access check comes first.
API_FAMILY_CHANGE = {**FAMILY_CHANGE, ANON: 401, "sam.practitioner": 400, "chris.coordinator": 400}
CREATORS = _row(sam=200, hana=200, chris=200, ola=200, alex=404, morgan=404, quinn=404, admin=404, anon=302)

# (route name, url kwargs, method, form data, expected statuses)
MATRIX = [
    (
        "home",
        None,
        "get",
        None,
        _row(admin=302, anon=302, alex=302, sam=302, hana=302, chris=302, morgan=302, quinn=302, ola=302),
    ),
    ("ehcase:family-list", None, "get", None, CASE_WORKERS),
    ("ehcase:family-create", None, "get", None, CREATORS),
    ("ehcase:family-create", None, "post", {}, CREATORS),
    ("ehcase:family-detail", ashworth, "get", None, FAMILY_READ),
    ("ehcase:family-history", ashworth, "get", None, FAMILY_READ),
    ("ehcase:family-edit", ashworth, "get", None, FAMILY_CHANGE),
    ("ehcase:family-edit", ashworth, "post", {}, FAMILY_CHANGE),
    ("ehcase:member-add", ashworth, "get", None, FAMILY_CHANGE),
    ("ehcase:member-add", ashworth, "post", {}, FAMILY_CHANGE),
    ("ehcase:relationship-add", ashworth, "get", None, FAMILY_CHANGE),
    ("ehcase:relationship-add", ashworth, "post", {}, FAMILY_CHANGE),
    ("ehcase:person-detail", ashworth_person, "get", None, FAMILY_READ),
    ("ehcase:person-edit", ashworth_person, "get", None, FAMILY_CHANGE),
    ("ehcase:person-edit", ashworth_person, "post", {}, FAMILY_CHANGE),
    ("ehcase:member-end", ashworth_person, "get", None, FAMILY_CHANGE),
    ("ehcase:member-end", ashworth_person, "post", {}, FAMILY_CHANGE),
    ("login", None, "get", None, _row(anon=200, others=302)),
    ("logout", None, "post", {}, _row(others=302)),
    ("admin:index", None, "get", None, _row(admin=200, others=302)),
    ("healthz", None, "get", None, _row(others=503)),  # no Celery worker in this test: 503 naming it
    ("schema", None, "get", None, _row(others=200)),
    ("api-docs", None, "get", None, _row(others=200)),
    ("api-token", None, "post", {}, _row(others=400)),
    # The API: reads here for every persona and the signed-out; tests/api/test_api.py adds every
    # write route with valid bodies, so that statuses there say only who is allowed.
    ("api:api-root", None, "get", None, API_SIGNED_IN),
    ("api:agency-list", None, "get", None, API_SIGNED_IN),
    ("api:agency-detail", lambda p: {"pk": p.riverside.pk}, "get", None, API_SIGNED_IN),
    ("api:hub-list", None, "get", None, API_SIGNED_IN),
    ("api:hub-detail", lambda p: {"pk": p.north.pk}, "get", None, API_SIGNED_IN),
    ("api:family-list", None, "get", None, API_SIGNED_IN),
    ("api:family-detail", lambda p: {"pk": p.ashworth.pk}, "get", None, API_FAMILY_READ),
    ("api:family-members", lambda p: {"pk": p.ashworth.pk}, "post", {}, API_FAMILY_CHANGE),
    ("api:person-list", None, "get", None, API_SIGNED_IN),
    ("api:person-detail", lambda p: {"pk": ashworth_person(p)["person_id"]}, "get", None, API_FAMILY_READ),
]


def _route_names(resolver=None, namespace: str = "") -> set[str]:
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_route_has_a_row():
    covered = {row[0] for row in MATRIX}
    # Django admin's own pages are reached only by system administrators (staff): its index stands for them.
    routes = {name for name in _route_names() if not name.startswith("admin:")} | {"admin:index"}
    missing = routes - covered
    assert not missing, f"routes without a permission-matrix row: {sorted(missing)}"


CASES = [
    pytest.param(name, kwargs, method, data, persona, expected[persona], id=f"{name}-{method}-{persona}")
    for name, kwargs, method, data, expected in MATRIX
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "kwargs", "method", "data", "persona", "expected"), CASES)
def test_permission_matrix(client, personas, name, kwargs, method, data, persona, expected):
    if persona != ANON:
        client.force_login(personas.all_users()[persona])
    url = reverse(name, kwargs=kwargs(personas) if kwargs else None)
    if name.startswith("api:"):
        response = getattr(client, method)(url, data or {}, content_type="application/json")
    else:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == expected, f"{persona} {method.upper()} {url}"
