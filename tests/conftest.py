"""Shared fixtures. `personas` builds the same cast as the demo data (see ehcase/demo.py):
North hub families worked by Sam and Hana, a South hub practitioner (Ola) with none of them."""

import pytest

from ehcase.demo import Personas, build_personas


@pytest.fixture
def personas(db) -> Personas:
    return build_personas()


@pytest.fixture
def login(client):
    """Sign a persona in on the test client: `login(personas.sam)`."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


def pytest_configure(config):
    from django.conf import settings

    # Hashing speed matters for the suite, not for what is tested: logins still check passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
