"""Shared fixtures. `personas` builds the same cast as the demo data (see ehcase/demo.py):
North hub families worked by Sam and Hana, a South hub practitioner (Ola) with none of them."""

import pytest

from ehcase.demo import Personas, build_personas


@pytest.fixture
def personas(db) -> Personas:
    return build_personas()


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """Two-factor authentication is required on every page (docs/two-factor.md). For every test,
    django.test.Client.force_login (and so APIClient's, and the `login` fixture) is wrapped to sign in
    AND pass the second step through django-otp's own session key, with a real confirmed device
    (tests/two_factor_support.py). For a password-only session use
    tests.two_factor_support.password_only_login."""
    from django.test import Client

    from tests.two_factor_support import verified_force_login

    monkeypatch.setattr(Client, "force_login", verified_force_login)


@pytest.fixture
def login(client):
    """Sign a persona in on the test client, both steps: `login(personas.sam)`."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


def _redis_url_for_worker(url: str, worker: str) -> str:
    """The Redis database of one pytest-xdist worker: gw0 the one after REDIS_URL's, gw1 the next."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = base + 1 + int(worker.removeprefix("gw"))
    if number > 15:
        raise RuntimeError(f"no Redis database {number} for xdist worker {worker} (REDIS_URL {url})")
    return urlunsplit(parts._replace(path=f"/{number}"))


def _isolate_xdist_worker(settings) -> None:
    """Under pytest-xdist (`-n 2`) each worker gets its own test database (pytest-django names it
    test_<name>_gw0, ...) and here its own Redis database: the Celery broker queue, the workers'
    broadcasts (kombu prefixes them with the database number), the recording email backend's lists,
    the rate-limit counters and every FLUSHDB of the tests. Subprocesses (Celery workers, manage.py,
    the bench tiers) are given the same URL through the environment."""
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    shared = settings.REDIS_URL
    own = _redis_url_for_worker(shared, worker)
    os.environ["REDIS_URL"] = own
    settings.REDIS_URL = own
    settings.CELERY_BROKER_URL = own
    ratelimit = settings.CACHES["ratelimit"]
    if ratelimit["LOCATION"] == shared:
        ratelimit["LOCATION"] = own
    else:  # a Redis of its own (RATELIMIT_REDIS_URL): the workers' counters apart by prefix
        ratelimit["KEY_PREFIX"] = f"{ratelimit.get('KEY_PREFIX', '')}-{worker}"

    from ehcase.celery import app

    app.conf.broker_url = own


def pytest_configure(config):
    from django.conf import settings

    _isolate_xdist_worker(settings)

    # Hashing speed matters for the suite, not for what is tested: logins still check passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # WhiteNoise indexes every static file (GOV.UK Frontend's included) when its middleware is built,
    # and the test client builds the middleware afresh for every Client: ~0.7 s a test. Looking files
    # up when they are asked for serves the same files with the same headers.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no sign-in or API requests counted (ehcase/security.py): the limits are
    counted in the real Redis, which outlives a test. Only the rate-limit keys are deleted, never the
    whole database (the Celery broker may share it)."""
    from tests.ratelimits import clear_rate_limits

    clear_rate_limits()
    yield


# The modules of the tests marked `system` (scripts/run.py with its own PostgreSQL, Redis, gunicorn and
# Celery) and `bench` (a tier database built by migrate and seed_demo in subprocesses): under
# `--dist loadgroup` (make test) they run one after another on one worker, never two at once on the
# two cores, and the tier's module-scoped fixture is built once.
SUBPROCESS_MODULES = ("tests/test_run_script.py", "tests/bench/test_tiers.py")


def pytest_collection_modifyitems(config, items):
    stray = [
        item.nodeid
        for item in items
        if (item.get_closest_marker("system") or item.get_closest_marker("bench"))
        and item.nodeid.split("::")[0] not in SUBPROCESS_MODULES
    ]
    if stray:
        raise pytest.UsageError(f"add their modules to SUBPROCESS_MODULES in tests/conftest.py: {stray}")


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup`, with the groups decided here from the test ids: pytest-xdist 3.8 marks its
    xdist_group tests by rewriting Item._nodeid, which pytest 9.2 no longer reads, so its own groups
    are never formed. A group's tests go to one worker, biggest groups first; every other test is
    handed out on its own, as with `--dist load`:
    - the tests of a class, which may share a class-scoped fixture (test_seed_demo.py's county);
    - the SUBPROCESS_MODULES."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if "@" in nodeid:  # an xdist_group mark, should xdist manage to apply one
                return nodeid.rsplit("@", 1)[-1]
            path, _, rest = nodeid.partition("::")
            if path in SUBPROCESS_MODULES:
                return "subprocesses"
            name = rest.split("[", 1)[0]
            if "::" in name:
                return f"{path}::{name.split('::', 1)[0]}"
            return nodeid

    return Scheduling(config, log)
