"""Personas and the row helper of the permission matrix, shared by tests/test_permission_matrix.py and
the row modules of each area (tests/matrix_rows_*.py)."""

from __future__ import annotations

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
