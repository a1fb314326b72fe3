"""The operations the per-operation benchmark times (bench/measure.py), each done once the way a user
does it.

An operation has a `name`, `prepare()` (builds what it needs, idempotently, in the current database:
bench/fixtures.py, a signed-in client), `call()` (does it once and returns what a user would get: a
response, or the function's result for the two operations that run off the request path: the reminder
scan and the assessment PDF's render), `check(result)`
(raises if the result is not what the operation should produce: a 200, a 302 after a write, a PDF) and
`main_sql()` (the SQL of the queries that fetch what the operation shows, for the SQL floor; None when
the slowest query of a call should be used instead). `notes` says what was measured where it differs
from the name.

Pages go through django.test.Client, so through the whole middleware stack (sessions, CSRF, two-factor,
rate limits, audit), signed in with a session that has passed both sign-in steps exactly as after the
real second step (django_otp.login with the user's confirmed device: the approach of
tests/two_factor_support.py). The client keeps one database connection for all calls, like a web worker
with persistent connections (settings.DB_CONN_MAX_AGE).

Writes: "create a family" adds a "Benchmark" family with 3 members per call, created by
bench.practitioner (see bench/fixtures.py), and "record a review" adds a review (with its scores,
chronology entry and audit event) to F-BENCH002's episode per call. Page reads add audit events ("viewed")
to F-BENCH001, as every read of a family does. The reminder scan's claims are rolled back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ehcase.demo import DEMO_PASSWORD
from ehcase.models import User
from hubs.models import HubArea

from . import fixtures

HOST = "localhost"  # in the default ALLOWED_HOSTS

Sql = list[tuple[str, list | None]]


# --- Signing in ---------------------------------------------------------------------------------------


def confirmed_device(user: User):
    """The user's confirmed authenticator app (personas have one with the demo secret)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    if device is None:
        raise RuntimeError(f"{user.username} has no confirmed authenticator app: run seed_demo")
    return device


def current_code(user: User) -> str:
    """The code the user's authenticator app shows now. The device's last used time step is cleared
    first: django-otp accepts a code only from a later step than the last one used."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = confirmed_device(user)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def signed_in_client(username: str) -> Client:
    """A test client whose session passed both sign-in steps (Django's force_login, then django_otp.login
    with the user's confirmed device on the same session)."""
    from django.http import HttpRequest
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp import login as otp_login

    user = User.objects.get(username=username)
    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    request = HttpRequest()
    request.session = client.session
    request.user = user
    otp_login(request, confirmed_device(user))
    request.session.save()
    if client.session.get(DEVICE_ID_SESSION_KEY) is None:
        raise RuntimeError(f"Could not make a two-factor session for {username}")
    return client


def captured_sql(run: Callable[[], Any]) -> Sql:
    """The SELECTs that `run` sends, as executed (values already in the SQL), to run again raw."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return [(q["sql"], None) for q in captured.captured_queries if is_read(q["sql"])]


def is_read(sql: str) -> bool:
    """A SELECT (or a WITH ... SELECT): safe to run again as many times as the floor needs."""
    words = sql.upper().split()
    return bool(words) and (
        words[0] == "SELECT" or (words[0] == "WITH" and not {"INSERT", "UPDATE", "DELETE"} & set(words))
    )


def expect_status(response, status: int) -> None:
    if response.status_code != status:
        raise AssertionError(
            f"expected {status}, got {response.status_code} from {response.request['PATH_INFO']}"
        )


def date_fields(name: str, day: dt.date, prefix: str = "") -> dict[str, str]:
    """A GOV.UK date input's three boxes."""
    p = f"{prefix}-" if prefix else ""
    return {
        f"{p}{name}_day": str(day.day),
        f"{p}{name}_month": str(day.month),
        f"{p}{name}_year": str(day.year),
    }


# --- The operations -----------------------------------------------------------------------------------


class Operation:
    name = ""
    notes = ""
    persona = fixtures.LEAD
    # Some operations are slow enough that the usual number of calls would take minutes: at most this many.
    max_calls: int | None = None

    def __init__(self) -> None:
        self.client: Client | None = None

    def prepare(self) -> None:
        self.client = signed_in_client(self.persona)

    def call(self) -> Any:
        raise NotImplementedError

    def check(self, result) -> None:
        expect_status(result, 200)

    def main_sql(self) -> Sql | None:
        return None

    def user(self) -> User:
        from ehcase.permissions import roles_for

        user = User.objects.get(username=self.persona)
        roles_for(user)  # as in a request, the roles are read once and cached on the user
        return user


def _family_page_sql(user: User, qs) -> Sql:
    """The paginator's two queries (count and the page of 50) of a family list queryset."""
    from django.core.paginator import Paginator

    def run():
        page = Paginator(qs, 50).get_page(1)
        list(page.object_list)

    return captured_sql(run)


class FamilyList(Operation):
    name = "family_list"
    notes = "GET /families/ as sam.practitioner: 50 rows and the count"

    def call(self):
        return self.client.get(reverse("ehcase:family-list"))

    def main_sql(self) -> Sql:
        from ehcase.selectors import family_search

        user = self.user()
        return _family_page_sql(user, family_search(user=user))


class FamilyPage(Operation):
    name = "family_page"
    notes = (
        "GET /families/<id>/ of F-BENCH001 (8 members, 50 case notes) as sam.practitioner; the page "
        "shows members, relationships, episodes and recent activity (case notes are on the chronology)"
    )

    def prepare(self) -> None:
        super().prepare()
        self.family = fixtures.page_family().family

    def call(self):
        return self.client.get(reverse("ehcase:family-detail", args=[self.family.pk]))

    def main_sql(self) -> Sql:
        from ehcase.selectors import family_record

        user = self.user()
        return captured_sql(lambda: family_record(user=user, family_id=self.family.pk))


class FamilySearch(Operation):
    name = "family_search"
    notes = (
        "as sam.practitioner: POST /families/ (surname + date of birth, kept in the session) and the GET "
        "of the results it redirects to, both timed as one search"
    )

    def prepare(self) -> None:
        super().prepare()
        fixtures.page_family()
        self.typed = {"q": "Benchford", **date_fields("date_of_birth", fixtures.SEARCH_DATE_OF_BIRTH)}

    def call(self):
        posted = self.client.post(reverse("ehcase:family-list"), self.typed)
        expect_status(posted, 302)
        return self.client.get(posted["Location"])

    def check(self, result) -> None:
        expect_status(result, 200)
        if b"F-BENCH001" not in result.content:
            raise AssertionError("the search did not find F-BENCH001")

    def main_sql(self) -> Sql:
        from ehcase.selectors import family_search

        user = self.user()
        qs = family_search(user=user, text="Benchford", date_of_birth=fixtures.SEARCH_DATE_OF_BIRTH)
        return _family_page_sql(user, qs)


class DuplicateCheck(Operation):
    name = "duplicate_check"
    notes = (
        "the request for support's duplicate check as sam.practitioner: POST /requests/new/ (first name, "
        "surname, date of birth) and the GET of /requests/new/matches/, timed as one check"
    )

    def prepare(self) -> None:
        super().prepare()
        fixtures.page_family()
        self.typed = {
            "first_name": fixtures.SEARCH_FIRST_NAME,
            "last_name": "Benchford",
            "postcode": "",
            **date_fields("date_of_birth", fixtures.SEARCH_DATE_OF_BIRTH),
        }

    def call(self):
        posted = self.client.post(reverse("referrals:start"), self.typed)
        expect_status(posted, 302)
        return self.client.get(posted["Location"])

    def main_sql(self) -> Sql:
        from hubs.matching import family_matches

        user = self.user()
        return captured_sql(
            lambda: family_matches(
                user=user,
                first_name=fixtures.SEARCH_FIRST_NAME,
                last_name="Benchford",
                date_of_birth=fixtures.SEARCH_DATE_OF_BIRTH,
            )
        )


class HubQueue(Operation):
    name = "hub_queue"
    persona = "chris.coordinator"
    notes = "GET /hubs/<North>/queue/ (new requests, first page) as chris.coordinator"

    def prepare(self) -> None:
        from ehcase.permissions import roles_for

        super().prepare()
        self.hub_id = roles_for(User.objects.get(username=self.persona)).coordinated_hub_ids[0]

    def call(self):
        return self.client.get(reverse("hubs:queue", args=[self.hub_id]))


class MyWork(Operation):
    name = "my_work"
    notes = "GET /my-work/ as sam.practitioner"

    def prepare(self) -> None:
        super().prepare()
        fixtures.page_family()

    def call(self):
        return self.client.get(reverse("pathway:my-work"))

    def main_sql(self) -> Sql:
        from pathway.selectors import my_work

        user = self.user()
        return captured_sql(lambda: my_work(user=user))


class CreateFamily(Operation):
    name = "create_family"
    persona = fixtures.BENCH_CREATOR
    notes = (
        "as bench.practitioner (Sam's agency, so Sam's own list does not grow): POST /families/new/ then 3 "
        "POSTs of the add-a-person form, timed as one; adds a 'Benchmark' family per call"
    )

    def prepare(self) -> None:
        fixtures.bench_creator()
        super().prepare()
        self.area_id = HubArea.objects.get(name=fixtures.AREA).pk
        self.count = 0

    def call(self):
        self.count += 1
        created = self.client.post(
            reverse("ehcase:family-create"),
            {
                "name": fixtures.CREATED_FAMILY_NAME,
                "address_line_1": f"{self.count} Bench Road",
                "town": "Morpeth",
                "postcode": "NE61 2BM",
                "area": self.area_id,
            },
        )
        expect_status(created, 302)
        add_member = created["Location"]
        joined = timezone.localdate() - dt.timedelta(days=30)
        response = None
        for first, born, sex, role in (
            ("Kerry", dt.date(1990, 5, 1), "F", "parent_carer"),
            ("Jayden", dt.date(2014, 7, 9), "M", "child"),
            ("Maisie", dt.date(2019, 2, 17), "F", "child"),
        ):
            response = self.client.post(
                add_member,
                {
                    "person-first_name": first,
                    "person-last_name": fixtures.CREATED_FAMILY_NAME,
                    "person-known_as": "",
                    **date_fields("date_of_birth", born, prefix="person"),
                    "person-sex": sex,
                    "person-ethnicity": "WBRI",
                    "person-language": "English",
                    "member-role": role,
                    **date_fields("start_date", joined, prefix="member"),
                },
            )
            expect_status(response, 302)
        return response

    def check(self, result) -> None:
        expect_status(result, 302)


class RecordReview(Operation):
    name = "record_review"
    notes = (
        "POST /episodes/<id>/reviews/new/ as sam.practitioner on F-BENCH002's episode; adds a review per call"
    )

    def prepare(self) -> None:
        super().prepare()
        self.episode_id = fixtures.review_family().episode_id

    def call(self):
        return self.client.post(
            reverse("pathway:review-new", args=[self.episode_id]),
            {
                **date_fields("held_on", timezone.localdate()),
                "education": "5",
                "family_relationships": "6",
                "financial_stability": "4",
                "decision": "continue",
                "summary": "Attendance is improving; the bedtime routine is in place most nights.",
            },
        )

    def check(self, result) -> None:
        expect_status(result, 302)


class Chronology(Operation):
    name = "chronology"
    notes = "GET /families/<id>/chronology/ of F-BENCH001 (first page of 50) as sam.practitioner"

    def prepare(self) -> None:
        super().prepare()
        self.family = fixtures.page_family().family

    def call(self):
        return self.client.get(reverse("pathway:chronology", args=[self.family.pk]))

    def main_sql(self) -> Sql:
        from pathway.selectors import chronology

        user = self.user()
        return _family_page_sql(user, chronology(family=self.family))


class Dashboard(Operation):
    name = "dashboard"
    persona = "morgan.manager"
    notes = (
        "GET /reporting/ (the current quarter, partnership-wide) as morgan.manager; figures from snapshots"
    )

    def call(self):
        return self.client.get(reverse("reporting:dashboard"))


class ReminderScan(Operation):
    name = "reminder_scan"
    # What people change between two runs at the largest council (800 workers at peak, a run every ten
    # minutes, each worker changing about one case record in that time): rows re-stamped after the
    # previous run, so every call re-checks them.
    CHURN = (
        ("pathway_episode", 300),
        ("assessments_assessment", 200),
        ("hubs_requestforsupport", 200),
        ("assessments_planaction", 100),
    )
    notes = (
        "ehcase.notifications.scans.scan_all() in-process, as the Celery beat task runs it every ten "
        "minutes: prepare() runs it once for real (the day's first, full, run, which claimed what was due), "
        "then re-stamps 800 episodes, assessments, requests and plan actions as changed since (CHURN); each "
        "call is a later run that day, re-checking what changed, in a transaction rolled back afterwards; "
        "the floor is the scans' SELECTs"
    )

    def prepare(self) -> None:
        from django.db import connection

        from ehcase.notifications.scans import scan_all

        scan_all()
        with connection.cursor() as cursor:
            for table, rows in self.CHURN:
                # The trigger of notifications/0003 stamps changed_at; the row's data is left as it was.
                cursor.execute(
                    f"UPDATE {table} SET id = id "  # noqa: S608
                    f"WHERE id IN (SELECT id FROM {table} ORDER BY random() LIMIT %s)",
                    [rows],
                )

    def call(self):
        from django.db import transaction

        from ehcase.notifications.scans import scan_all

        with transaction.atomic():
            claimed = scan_all()
            transaction.set_rollback(True)
        return claimed

    def check(self, result) -> None:
        if not isinstance(result, dict) or not result:
            raise AssertionError(f"the scan returned {result!r}")

    def main_sql(self) -> Sql:
        """The SELECTs a later run makes: each kind's, narrowed as scan_all narrows it (the changed ids,
        or in full)."""
        from ehcase.notifications.models import ScanMark
        from ehcase.notifications.scans import CATALOGUE, Clock, changed_objects, changes_since

        clock = Clock.at()
        marks = {mark.kind: mark for mark in ScanMark.objects.all()}
        statements = []
        for scan in CATALOGUE:
            since = changes_since(scan=scan, mark=marks.get(scan.kind), clock=clock)
            only = None if since is None else changed_objects(scan=scan, since=since)
            if only != []:
                statements.append(scan.build(clock, only))
        return statements


class AssessmentPdfRequest(Operation):
    name = "eha_pdf_request"
    notes = (
        "POST /assessments/<id>/pdf/ of F-BENCH001's assessment as sam.practitioner: the request that asks "
        "for the PDF (access check, a new job, the redirect to 'Preparing your PDF'); the PDF is rendered "
        "by a Celery worker (eha_pdf). Each call is rolled back, so each makes a new job and queues nothing "
        "(the push to Redis on commit, about a millisecond, is not included)"
    )

    def prepare(self) -> None:
        super().prepare()
        self.url = reverse("assessments:assessment-pdf", args=[fixtures.page_family().assessment_id])

    def call(self):
        from django.db import transaction

        with transaction.atomic():
            response = self.client.post(self.url)
            transaction.set_rollback(True)
        return response

    def check(self, result) -> None:
        expect_status(result, 302)
        if "/pdfs/" not in result["Location"]:
            raise AssertionError(f"sent to {result['Location']}, not the job's page")


class AssessmentPdf(Operation):
    name = "eha_pdf"
    max_calls = 20
    notes = (
        "F-BENCH001's Early Help Assessment rendered as the Celery task does it, timed directly: a queued "
        "job for sam.practitioner, then assessments.services.pdf_job_render (access checked again, the "
        "context, the hash of what it prints, WeasyPrint, the file stored); rolled back after each call"
    )

    def prepare(self) -> None:
        self.assessment_id = fixtures.page_family().assessment_id
        self.reader = self.user()

    def call(self):
        from django.db import transaction

        from assessments.models import AssessmentPdfJob
        from assessments.pdf import RenderedPdf
        from assessments.services import pdf_job_render

        now = timezone.now()
        with transaction.atomic():
            job = AssessmentPdfJob.objects.create(
                requested_by=self.reader,
                assessment_id=self.assessment_id,
                requested_at=now,
                expires_at=now + dt.timedelta(hours=1),
            )
            outcome = pdf_job_render(job_id=job.pk)
            job.refresh_from_db()
            transaction.set_rollback(True)
        if outcome != "ready":
            raise AssertionError(f"the render ended {outcome!r}")
        return RenderedPdf(content=bytes(job.content), pages=job.pages)

    def check(self, result) -> None:
        if not result.content.startswith(b"%PDF"):
            raise AssertionError("not a PDF")


class ApiFamilies(Operation):
    name = "api_families"
    notes = (
        "GET /api/families/ with a token as sam.practitioner: the API's fixed page of 50 (no page_size "
        "parameter: DRF PageNumberPagination, PAGE_SIZE 50)"
    )

    def prepare(self) -> None:
        self.client = Client(HTTP_HOST=HOST)
        user = User.objects.get(username=self.persona)
        response = self.client.post(
            reverse("api-token"),
            {"username": user.username, "password": DEMO_PASSWORD, "otp": current_code(user)},
            content_type="application/json",
        )
        expect_status(response, 200)
        self.authorization = f"Token {response.json()['token']}"

    def call(self):
        return self.client.get(reverse("api:family-list"), HTTP_AUTHORIZATION=self.authorization)

    def main_sql(self) -> Sql:
        from ehcase.selectors import family_search

        user = self.user()
        return _family_page_sql(user, family_search(user=user))


# In the order they run: reads first, so that the rows the writes add are not under the reads' feet.
OPERATIONS: list[type[Operation]] = [
    FamilyList,
    FamilyPage,
    FamilySearch,
    DuplicateCheck,
    HubQueue,
    MyWork,
    Chronology,
    Dashboard,
    ApiFamilies,
    ReminderScan,
    AssessmentPdfRequest,
    AssessmentPdf,
    CreateFamily,
    RecordReview,
]


def operations(only: list[str] | None = None) -> list[Operation]:
    """The operations, or those named in `only` (unknown names are an error)."""
    known = {op.name: op for op in OPERATIONS}
    if only:
        unknown = sorted(set(only) - set(known))
        if unknown:
            raise ValueError(f"unknown operations: {', '.join(unknown)} (known: {', '.join(known)})")
        return [known[name]() for name in only]
    return [op() for op in OPERATIONS]
