"""The HTTP load run's workload (bench/load.py runs it; DESIGN.md §9).

Three kinds of simulated user, weighted roughly 70/20/10 as the partnership's staff are:
    Practitioner  their family list, a family page and its chronology (families picked from their own
                  list), a search by name and date of birth, "My work";
    Coordinator   the hub's queue of requests for support and a request from it;
    Manager       the quarterly dashboard.
and one more, run on its own: Ceiling, which asks for bench/ceiling/ (bench/urls.py), a signed-in page
that goes through every middleware and does nothing else: the most the stack can serve.

Accounts come from the environment (comma-separated usernames; load.py fills them from the database):
EHCASE_LOAD_PRACTITIONERS, EHCASE_LOAD_COORDINATORS, EHCASE_LOAD_MANAGERS; the personas when unset. All
demo accounts share the demo password and the demo authenticator-app secret. The n-th simulated user of
a kind takes the n-th account of that kind, round robin.

Signing in. Each account signs in once per locust process, through the real pages: the password step
(POST with the CSRF token) and the two-factor code step, with the code an authenticator app would show.
django-otp accepts a code only from a time step later than the last one used on that device, so two
sign-ins to one account within 30 seconds cannot both pass: simulated users that share an account (more
simulated coordinators than coordinators, say) share its session, as one person's browser tabs do.
A code that was already used (the same account signed in moments ago by an earlier run) is answered
with the form again; the sign-in then waits for the next time step and tries once more. Codes are only
ever those of the current step, so the device's clock drift is never pushed ahead.

Measuring. Signing in costs a deliberately slow password hash, which is not the workload, so with
EHCASE_LOAD_SECONDS set the statistics are reset once every simulated user has signed in, and the run
stops itself that many seconds later: locust's CSV then covers exactly the measured window. A sign-in
that failed is added back as a failure after the reset, so it is never lost.

Failures: any response that is not 2xx or 3xx, and any redirect to the sign-in or two-factor pages (a
session that stopped working would otherwise look like fast successes).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import re
import time
from base64 import b32decode
from collections import defaultdict
from copy import copy
from http.cookiejar import Cookie

import gevent
from django_otp.oath import TOTP
from gevent.lock import Semaphore
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

DEMO_PASSWORD = "early-help-demo"
# The demo accounts' authenticator-app key (ehcase.demo.DEMO_TOTP_SECRET; docs/two-factor.md). Copied,
# not imported: importing ehcase.demo needs Django set up, which the load generator does not do.
DEMO_TOTP_SECRET = "EARLYHELPDEMOSECRETKEY2345ABCDEF"
TOTP_STEP = 30

CEILING_PATH = "/bench/ceiling/"
SIGNED_OUT_PATHS = ("/accounts/login/", "/accounts/two-factor/")
SIGN_IN_TIMEOUT = float(os.environ.get("EHCASE_LOAD_SIGN_IN_TIMEOUT", "240"))  # seconds, for all of them
# Pause between one simulated user's requests. 0: each user asks again as soon as it has an answer, so a
# level's throughput is what the server manages with that many requests in flight.
WAIT_SECONDS = float(os.environ.get("EHCASE_LOAD_WAIT", "0"))

logger = logging.getLogger(__name__)

_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_FAMILY_RE = re.compile(r'href="/families/(\d+)/"')
_MEMBER_RE = re.compile(
    r'href="/families/\d+/people/\d+/">([^<]+)</a></td>\s*<td[^>]*>[^<]*</td>\s*'
    r"<td[^>]*>(\d{1,2}) (\w{3}) (\d{4})</td>"
)
_QUEUE_RE = re.compile(r"/hubs/(\d+)/queue/")
_REQUEST_RE = re.compile(r'href="/requests/(\d+)/"')
_MONTHS = {m: n for n, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def accounts(variable: str, default: str) -> list[str]:
    return [name.strip() for name in os.environ.get(variable, default).split(",") if name.strip()]


PRACTITIONERS = accounts("EHCASE_LOAD_PRACTITIONERS", "sam.practitioner,hana.healthvisitor")
COORDINATORS = accounts("EHCASE_LOAD_COORDINATORS", "chris.coordinator")
MANAGERS = accounts("EHCASE_LOAD_MANAGERS", "morgan.manager,alex.schoolmanager")


def current_code() -> str:
    """The six digits an authenticator app with the demo secret shows now."""
    generator = TOTP(b32decode(DEMO_TOTP_SECRET), step=TOTP_STEP, t0=0, digits=6, drift=0)
    return f"{generator.token():06d}"


def csrf_token(html: str) -> str:
    match = _CSRF_RE.search(html)
    if not match:
        raise SignInError("no CSRF token on the page")
    return match.group(1)


def member_search(html: str) -> dict[str, str] | None:
    """The search form's fields for one member of the family page: surname and date of birth."""
    match = _MEMBER_RE.search(html)
    if not match:
        return None
    name, day, month, year = match.groups()
    return {
        "q": name.split()[-1],
        "date_of_birth_day": day,
        "date_of_birth_month": str(_MONTHS.get(month, 1)),
        "date_of_birth_year": year,
    }


class SignInError(Exception):
    pass


# ---------------------------------------------------------------- signing in, once per account


class SignIns:
    """The signed-in session cookies of each account, for this locust process (one gevent thread, so a
    lock per account is enough to make the second simulated user wait for the first's sign-in)."""

    def __init__(self) -> None:
        self.cookies: dict[str, list[Cookie]] = {}
        self.locks: dict[str, Semaphore] = defaultdict(Semaphore)
        self.finished = 0  # simulated users whose on_start is over, signed in or not
        self.failed: list[str] = []

    def session_for(self, user: FastHttpUser, username: str) -> None:
        with self.locks[username]:
            if username not in self.cookies:
                sign_in(user.client, username)
                self.cookies[username] = list(user.client.cookiejar)
                return
        for cookie in self.cookies[username]:
            user.client.cookiejar.set_cookie(copy(cookie))


SIGN_INS = SignIns()


def _post_form(client, path: str, fields: dict[str, str], name: str):
    return client.post(path, data=fields, allow_redirects=False, name=name)


def sign_in(client, username: str) -> None:
    """The two sign-in steps through the pages, as a browser does them. Raises SignInError."""
    page = client.get("/accounts/login/", name="sign in: password page")
    if page.status_code != 200:
        raise SignInError(f"{username}: password page answered {page.status_code}")
    fields = {"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": csrf_token(page.text)}
    answer = _post_form(client, "/accounts/login/", fields, "sign in: password")
    location = answer.headers.get("Location") or ""
    if answer.status_code != 302 or not location.startswith("/accounts/two-factor/"):
        raise SignInError(f"{username}: password step answered {answer.status_code} {location}".strip())
    for attempt in range(3):
        # The CSRF token changes when the password step signs the user in: take it from the code page.
        page = client.get(location, name="sign in: code page")
        if page.status_code != 200:
            raise SignInError(f"{username}: code page answered {page.status_code}")
        fields = {"code": current_code(), "next": "/", "csrfmiddlewaretoken": csrf_token(page.text)}
        answer = _post_form(client, "/accounts/two-factor/", fields, "sign in: code")
        if answer.status_code == 302:
            return
        if answer.status_code != 200:
            raise SignInError(f"{username}: code step answered {answer.status_code}")
        # Refused: this time step's code was used already. django-otp then refuses any code for
        # 2^(n-1) s after n wrong ones; the next step is always later than that for n <= 3.
        logger.warning("%s: two-factor code refused (used already?), waiting for the next one", username)
        gevent.sleep(TOTP_STEP - time.time() % TOTP_STEP + 1 + attempt)
    raise SignInError(f"{username}: two-factor code refused three times")


# ---------------------------------------------------------------- simulated users


def _check(response) -> None:
    """Fail responses that are not 2xx/3xx, and redirects back to signing in."""
    status = response.status_code
    location = response.headers.get("Location") or ""
    if not 200 <= status < 400:
        response.failure(f"status {status}")
    elif 300 <= status < 400 and any(path in location for path in SIGNED_OUT_PATHS):
        response.failure(f"signed out: redirected to {location}")
    else:
        response.success()


class SignedInUser(FastHttpUser):
    abstract = True
    wait_time = constant(WAIT_SECONDS)
    pool: list[str] = []
    _counters: dict[str, itertools.count] = defaultdict(itertools.count)

    def on_start(self) -> None:
        try:
            number = next(self._counters[type(self).__name__])
            self.username = self.pool[number % len(self.pool)]
            SIGN_INS.session_for(self, self.username)
            self.prepare()
        except SignInError as exc:
            SIGN_INS.failed.append(str(exc))
            logger.error("sign-in failed: %s", exc)
            raise StopUser() from exc
        finally:
            SIGN_INS.finished += 1

    def prepare(self) -> None:
        """What the simulated user looks at first, to know where to go next."""

    def page(self, path: str, name: str | None = None):
        with self.client.get(path, name=name or path, allow_redirects=False, catch_response=True) as response:
            _check(response)
            return response


class Practitioner(SignedInUser):
    weight = 7
    pool = PRACTITIONERS

    def prepare(self) -> None:
        listing = self.page("/families/", name="family list")
        self.family_ids = list(dict.fromkeys(_FAMILY_RE.findall(listing.text or "")))
        self.search_fields = None
        for family_id in self.family_ids[:5]:
            found = member_search(self.page(f"/families/{family_id}/", name="family page").text or "")
            if found:
                self.search_fields = found
                break

    def _family(self) -> str | None:
        return random.choice(self.family_ids) if self.family_ids else None

    @task(3)
    def family_list(self) -> None:
        self.page("/families/", name="family list")

    # A task with nothing to ask for asks for the list instead: with no pause between tasks, one that
    # sent nothing would spin the load generator's CPU.

    @task(4)
    def family_page(self) -> None:
        family_id = self._family()
        self.page(f"/families/{family_id}/" if family_id else "/families/", name="family page")

    @task(2)
    def chronology(self) -> None:
        family_id = self._family()
        self.page(f"/families/{family_id}/chronology/" if family_id else "/families/", name="chronology")

    @task(2)
    def my_work(self) -> None:
        self.page("/my-work/", name="my work")

    @task(2)
    def search(self) -> None:
        """The search form on the family list POSTs and is redirected to its results (no names in
        addresses). The form's CSRF token is the cookie's, as Django accepts, so the list is not asked
        for again before each search."""
        if not self.search_fields:
            self.family_list()
            return
        token = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        fields = {**self.search_fields, "csrfmiddlewaretoken": token}
        with self.client.post(
            "/families/", data=fields, allow_redirects=False, catch_response=True, name="search (form)"
        ) as response:
            _check(response)
            results = response.headers.get("Location") or ""
        if "?search=" in results:
            self.page(results, name="search (results)")


class Coordinator(SignedInUser):
    weight = 2
    pool = COORDINATORS

    def prepare(self) -> None:
        hubs = self.page("/hubs/", name="hubs")
        found = _QUEUE_RE.findall((hubs.headers.get("Location") or "") + (hubs.text or ""))
        self.queue = f"/hubs/{found[0]}/queue/" if found else None
        self.request_ids = []
        if self.queue:
            self.request_ids = list(
                dict.fromkeys(_REQUEST_RE.findall(self.page(self.queue, "hub queue").text))
            )

    @task(3)
    def hub_queue(self) -> None:
        self.page(self.queue or "/hubs/", name="hub queue")

    @task(2)
    def request_detail(self) -> None:
        if self.request_ids:
            self.page(f"/requests/{random.choice(self.request_ids)}/", name="request")
        else:
            self.hub_queue()


class Manager(SignedInUser):
    weight = 1
    pool = MANAGERS

    @task
    def dashboard(self) -> None:
        self.page("/reporting/", name="dashboard")


class Ceiling(SignedInUser):
    """Run on its own (`locust ... Ceiling`): the signed-in page that does nothing. A few accounts are
    enough (the page reads the session and writes nothing), and each costs a password hash to sign in."""

    weight = 1
    pool = PRACTITIONERS[:4]

    @task
    def ceiling(self) -> None:
        self.page(CEILING_PATH, name="ceiling")


# ---------------------------------------------------------------- the measured window


def _measure(environment, seconds: float) -> None:
    runner = environment.runner
    deadline = time.monotonic() + SIGN_IN_TIMEOUT
    while SIGN_INS.finished < max(1, runner.target_user_count) and time.monotonic() < deadline:
        gevent.sleep(0.2)
    if SIGN_INS.finished < runner.target_user_count:
        SIGN_INS.failed.append(f"{runner.target_user_count - SIGN_INS.finished} users still signing in")
    environment.stats.reset_all()
    for reason in SIGN_INS.failed:
        environment.events.request.fire(
            request_type="SIGN-IN",
            name="sign in (before the measured window)",
            response_time=0,
            response_length=0,
            exception=SignInError(reason),
            context={},
        )
    logger.info("measuring for %ss (%s users signed in)", seconds, SIGN_INS.finished)
    gevent.sleep(seconds)
    runner.quit()


@events.test_start.add_listener
def _start_measuring(environment, **_kwargs) -> None:
    seconds = float(os.environ.get("EHCASE_LOAD_SECONDS") or 0)
    if seconds > 0 and environment.runner is not None:
        gevent.spawn(_measure, environment, seconds)
