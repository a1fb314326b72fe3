"""The performance dashboard, its drill-down to families and "Recalculate now" (reporting/views.py).

The quarter under test is the last one that has ended (the dashboard's default). Families and episodes
are real rows; the drill-down is checked against the family access rules with families some viewers
may not see."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ehcase.models import AgencyType, AuditAction, AuditEvent, Role
from ehcase.permissions import grant_family_access
from hubs.models import HubArea, RequestForSupport, RequestStatus
from pathway.models import Episode, EpisodeStatus, LevelOfNeed
from reporting.indicators import SECTIONS
from reporting.models import Snapshot
from reporting.quarters import Quarter
from tests.factories import AgencyFactory, FamilyFactory, MembershipFactory, UserFactory

TODAY = timezone.localdate()
Q = Quarter.default(TODAY)
DASHBOARD = reverse("reporting:dashboard")
DRILLDOWN = reverse("reporting:drilldown")


def open_episode(family, opened_on: dt.date, *, lead) -> Episode:
    return Episode.objects.create(
        family=family,
        level=LevelOfNeed.objects.get(code="3"),
        opened_on=opened_on,
        status=EpisodeStatus.PLAN_ACTIVE,
        lead_professional=lead,
    )


def family_in(area_name: str, name: str):
    area = HubArea.objects.get(name=area_name)
    return FamilyFactory(name=name, area=area, hub=area.hub)


@pytest.fixture
def behind(personas):
    """Five families whose episodes opened in the quarter, all led by Sam (so all Riverside's): Ashworth
    and Bennett (Sam's, so Alex sees them), Fenwick (north hub, granted to Sam here), and two south hub
    families nobody at Riverside may see (Gray, Hollis). One episode opened the quarter before."""
    fenwick = family_in("Blyth", "Fenwick")
    grant_family_access(user=personas.sam, family=fenwick)
    gray, hollis = family_in("Hexham", "Gray"), family_in("Prudhoe", "Hollis")
    for fam in (personas.ashworth, personas.bennett, fenwick, gray, hollis):
        open_episode(fam, Q.start + dt.timedelta(days=10), lead=personas.sam)
    earlier = open_episode(personas.carter, Q.previous().start, lead=personas.hana)
    Episode.objects.filter(pk=earlier.pk).update(
        status=EpisodeStatus.CLOSED, closed_on=Q.previous().end, closure_reason="outcomes_achieved"
    )
    return {"fenwick": fenwick, "gray": gray, "hollis": hollis}


def page(client, user, url=DASHBOARD, **query):
    client.force_login(user)
    return client.get(url, query)


def text(response) -> str:
    """The page's text with tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# --- The dashboard -------------------------------------------------------------------------------


def test_dashboard_shows_each_section_with_comparisons(personas, client, behind):
    response = page(client, personas.morgan)
    assert response.status_code == 200
    body = response.content.decode()
    words = text(response)
    assert f"Performance: {Q.label}" in words and Q.months in words
    for section in SECTIONS:
        assert f'id="{section.key}"' in body
        assert f"{section.title}: {Q.label} compared with earlier quarters" in words
    # Episodes opened: 5 this quarter, 1 the quarter before, none a year before.
    row = body[body.index('id="indicator-episodes_opened"') :]
    row = row[: row.index("</tr>")]
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    assert "Episodes opened" in cells
    assert "5" in cells and "↑ Up 4 from 1" in cells
    assert '<span aria-hidden="true">↑</span> Up 4 from 1' in row, "the arrow is hidden; the words carry it"
    assert "Neither better nor worse" in cells  # up_is_good None
    assert "Neither up nor down is better" in cells
    # Drift (down is better) is 0 now and 0 before: no change.
    drift = body[body.index('id="indicator-drift"') :]
    assert "No change from 0" in drift[: drift.index("</tr>")]


def test_figures_link_to_the_drilldown_where_families_are_behind_them(personas, client, behind):
    body = page(client, personas.morgan).content.decode()
    link = f"{DRILLDOWN}?quarter={Q.slug}&amp;hub=&amp;agency=&amp;indicator=episodes_opened"
    assert f'href="{link}"' in body
    # A figure of 0 has nobody behind it: no link.
    drift = body[body.index('id="indicator-drift"') :]
    assert "indicator=drift" not in drift[: drift.index("</tr>")]
    # A breakdown row: lead professionals at the quarter end by agency, Riverside's row.
    assert f"indicator=lead_professionals_by_agency&amp;row={personas.riverside.pk}" in body


def test_calculated_at_recalculate_and_downloads(personas, client, behind):
    response = page(client, personas.morgan, hub=personas.north.pk)
    body = response.content.decode()
    snapshot = Snapshot.objects.get(quarter=Q.slug, hub_id=personas.north.pk, agency_id=0)
    local = timezone.localtime(snapshot.computed_at)
    assert f"Figures calculated at {local:%H:%M} on {local.day} {local:%B %Y}" in text(response)
    query = f"quarter={Q.slug}&amp;hub={personas.north.pk}&amp;agency="
    assert f'action="{reverse("reporting:recalculate")}?{query}"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert f'href="{reverse("reporting:csv", kwargs={"table": "all"})}?{query}"' in body
    assert f'href="{reverse("reporting:csv", kwargs={"table": "all"})}?{query}&amp;publication=1"' in body
    for section in SECTIONS:
        assert f'href="{reverse("reporting:csv", kwargs={"table": section.key})}?{query}"' in body
    assert f'href="{reverse("reporting:board-pack")}?{query}"' in body


def test_every_chart_has_a_table(personas, client, behind):
    body = page(client, personas.morgan).content.decode()
    charts = re.findall(r'<svg[^>]*role="img"[^>]*aria-labelledby="(chart-[\w-]+)-title \1-desc"', body)
    assert charts, "breakdowns are charted"
    for chart_id in charts:
        key = chart_id.removeprefix("chart-")
        block = body[body.index(f'id="breakdown-{key}"') :]
        block = block[: block.index("</table>")]
        assert "<svg" in block and "<table" in block and "Category" in block


def test_breakdown_lists_categories_with_three_quarters(personas, client, behind):
    body = page(client, personas.morgan).content.decode()
    block = body[body.index('id="breakdown-episodes_closed"') :]
    block = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block[: block.index("</table>")]))
    # Carter's episode closed the quarter before with outcomes achieved: down 1 from 1 this quarter.
    assert "Outcomes achieved 0 1 0 ↓ Down 1 from 1" in block


def test_filters_offer_only_what_the_user_may_choose(personas, client):
    body = page(client, personas.alex).content.decode()
    assert 'name="agency"' not in body, "an agency manager's agency is fixed"
    assert "Riverside Primary School" in body
    hub_select = body[body.index('name="hub"') : body.index("</select>", body.index('name="hub"'))]
    assert "All hubs" in hub_select and "North hub" in hub_select and "South hub" in hub_select

    body = page(client, personas.chris).content.decode()
    assert 'name="hub"' not in body, "a coordinator's hub is fixed"
    assert "North hub" in body
    agency_select = body[body.index('name="agency"') :]
    agency_select = agency_select[: agency_select.index("</select>")]
    assert "All agencies" in agency_select and "Southfield Academy" in agency_select

    body = page(client, personas.morgan).content.decode()
    assert 'name="hub"' in body and 'name="agency"' in body
    quarters = re.findall(r'<option value="(\d{4}-\d{2}-q\d)"', body)
    assert quarters == [q.slug for q in Quarter.recent(TODAY, 12)]
    assert f'<option value="{Q.slug}" selected>' in body


@pytest.mark.parametrize(
    "bad", ["nonsense", "2026-27-q5", "2026-28-q1", Quarter.containing(TODAY).next().slug]
)
def test_a_bad_quarter_is_a_form_error_not_a_500(personas, client, bad):
    response = page(client, personas.morgan, quarter=bad, hub=personas.north.pk, agency=personas.council.pk)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>Error: Performance" in body
    assert "There is a problem" in body
    assert '<a href="#id_quarter">Select a quarter from the list</a>' in body
    assert 'id="id_quarter-error"' in body and "govuk-select--error" in body
    assert f'<option value="{personas.north.pk}" selected>' in body, "the other choices are kept"
    assert f'<option value="{personas.council.pk}" selected>' in body
    assert "Figures calculated at" not in body
    assert not Snapshot.objects.exists()


def test_an_older_quarter_than_the_list_is_shown(personas, client):
    old = Quarter(TODAY.year - 6, 1)
    body = page(client, personas.morgan, quarter=old.slug).content.decode()
    assert f"Performance: {old.label}" in body
    assert f'<option value="{old.slug}" selected>' in body


def test_performance_link_in_the_header_only_for_those_with_access(personas, client):
    for user, shown in [
        (personas.morgan, True),
        (personas.quinn, True),
        (personas.alex, True),
        (personas.chris, True),
        (personas.sam, False),
        (personas.hana, False),
        (personas.admin, False),
    ]:
        client.force_login(user)
        body = client.get(reverse("notifications:list")).content.decode()
        assert (f'href="{DASHBOARD}"' in body) == shown, user.username


# --- Recalculate now -----------------------------------------------------------------------------


def _opened_shown(client, agency) -> str:
    body = client.get(DASHBOARD, {"quarter": Q.slug, "agency": agency}).content.decode()
    row = body[body.index('id="indicator-episodes_opened"') :]
    return re.search(r'govuk-table__cell--numeric">(?:<a [^>]*>)?([^<]+)', row).group(1)


def test_recalculate_now(personas, client, behind):
    page(client, personas.morgan, agency=personas.riverside.pk)
    before = Snapshot.objects.get(quarter=Q.slug, hub_id=0, agency_id=personas.riverside.pk)
    assert before.data["episodes_opened"]["value"] == 5
    assert _opened_shown(client, personas.riverside.pk) == "5"
    assert _opened_shown(client, personas.riverside.pk) == "5"  # the tables rendered before, from the cache
    open_episode(family_in("Morpeth", "Irwin"), Q.end, lead=personas.sam)  # on the quarter's last day

    url = f"{reverse('reporting:recalculate')}?quarter={Q.slug}&agency={personas.riverside.pk}"
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"{DASHBOARD}?quarter={Q.slug}&hub=&agency={personas.riverside.pk}"
    after = Snapshot.objects.get(pk=before.pk)
    assert after.data["episodes_opened"]["value"] == 6
    assert after.computed_at > before.computed_at
    followed = client.get(response["Location"])
    assert f"Figures for {Q.label} recalculated" in followed.content.decode()
    assert _opened_shown(client, personas.riverside.pk) == "6", "new figures, never the cached tables"
    assert client.get(url).status_code == 405, "POST only"


def test_recalculate_needs_the_csrf_token(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.morgan)
    assert client.post(reverse("reporting:recalculate")).status_code == 403


def test_recalculate_only_a_scope_the_user_may_see(personas, client):
    client.force_login(personas.alex)
    url = f"{reverse('reporting:recalculate')}?agency={personas.council.pk}"
    assert client.post(url).status_code == 404
    assert not Snapshot.objects.exists()


# --- The drill-down ------------------------------------------------------------------------------


def test_drilldown_lists_only_families_the_user_may_see(personas, client, behind):
    response = page(client, personas.alex, DRILLDOWN, quarter=Q.slug, indicator="episodes_opened")
    assert response.status_code == 200
    words = text(response)
    assert "You can see 3 of the 5 families behind this figure." in words
    body = response.content.decode()
    for fam in (personas.ashworth, personas.bennett, behind["fenwick"]):
        assert fam.name in body and fam.reference in body
        assert reverse("ehcase:family-detail", args=[fam.pk]) in body
    for fam in (behind["gray"], behind["hollis"]):
        assert fam.name not in body and fam.reference not in body
        assert reverse("ehcase:family-detail", args=[fam.pk]) not in body


def test_drilldown_for_partnership_and_hub(personas, client, behind):
    words = text(page(client, personas.morgan, DRILLDOWN, quarter=Q.slug, indicator="episodes_opened"))
    assert "You can see all 5 families behind this figure." in words
    # Chris's figures are the north hub's: three of the five, all of which a coordinator sees.
    response = page(client, personas.chris, DRILLDOWN, quarter=Q.slug, indicator="episodes_opened")
    words = text(response)
    assert "You can see all 3 families behind this figure." in words
    assert "Gray" not in words and "Hollis" not in words


def test_drilldown_is_audited_as_a_read_of_a_list(personas, client, behind):
    page(client, personas.alex, DRILLDOWN, quarter=Q.slug, indicator="episodes_opened")
    events = AuditEvent.objects.filter(actor=personas.alex, action=AuditAction.VIEW)
    assert {e.family_id for e in events} == {personas.ashworth.pk, personas.bennett.pk, behind["fenwick"].pk}
    assert all("performance drill-down (Episodes opened" in e.summary for e in events)
    assert all(e.path == DRILLDOWN for e in events)


def test_drilldown_of_a_breakdown_row(personas, client, behind):
    query = {
        "quarter": Q.slug,
        "indicator": "lead_professionals_by_agency",
        "row": str(personas.riverside.pk),
    }
    words = text(page(client, personas.morgan, DRILLDOWN, **query))
    assert "Families behind: Lead professionals: Riverside Primary School" in words
    assert "You can see all 5 families behind this figure." in words


@pytest.mark.parametrize(
    "query",
    [
        {"indicator": "no_such_indicator"},
        {},
        {"indicator": "lead_professionals_by_agency", "row": "999999"},
        {"indicator": "episodes_opened", "row": "1"},  # no rows
        {"indicator": "episodes_opened", "quarter": "nonsense"},
        {"indicator": "episodes_opened", "hub": "abc"},
    ],
)
def test_drilldown_unknown_indicator_row_or_scope_is_404(personas, client, behind, query):
    assert page(client, personas.morgan, DRILLDOWN, **query).status_code == 404


def test_drilldown_pages_by_25(personas, client):
    for n in range(30):
        open_episode(family_in("Morpeth", f"Page{n:02d}"), Q.start, lead=personas.sam)
    query = {"quarter": Q.slug, "indicator": "episodes_opened"}
    first = page(client, personas.morgan, DRILLDOWN, **query).content.decode()
    assert first.count("Page") >= 25 and "Page 1 of 2" in first
    second = page(client, personas.morgan, DRILLDOWN, **query, page=2).content.decode()
    assert "Page 2 of 2" in second
    assert len(set(re.findall(r"Page\d\d", first)) | set(re.findall(r"Page\d\d", second))) == 30


# --- Query budgets ------------------------------------------------------------------------------


def bigger_dataset(personas, size: int) -> None:
    """`size` families with an episode opened in the quarter (a third closed by step up on its last day)
    and a request in each of the quarter, the quarter before and a year before, spread over four areas of
    two hubs and five new agencies (so breakdowns have more rows). Every other episode is led by Sam (so
    Riverside's); every family is granted to Sam (so Alex sees them)."""
    agencies = [AgencyFactory(type=AgencyType.VOLUNTARY) for _ in range(5)]
    workers = []
    for agency in agencies:
        worker = UserFactory()
        MembershipFactory(user=worker, agency=agency, role=Role.PRACTITIONER)
        workers.append((worker, agency))
    for n in range(size):
        fam = family_in(("Morpeth", "Hexham", "Blyth", "Cramlington")[n % 4], f"Bulk{n:03d}")
        grant_family_access(user=personas.sam, family=fam)
        worker, agency = workers[n % len(workers)]
        for quarter in (Q, Q.previous(), Q.year_before()):
            RequestForSupport.objects.create(
                family=fam,
                hub=fam.hub,
                referrer=worker,
                referrer_agency=agency,
                status=RequestStatus.NEW,
                consent_given=True,
                received_on=quarter.start + dt.timedelta(days=n % 80),
            )
        episode = open_episode(
            fam, Q.start + dt.timedelta(days=n % 80), lead=personas.sam if n % 2 else worker
        )
        if n % 3 == 0:
            Episode.objects.filter(pk=episode.pk).update(
                status=EpisodeStatus.CLOSED, closed_on=Q.end, closure_reason="step_up"
            )


def _queries(client, url, query) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("username", ["morgan.manager", "alex.schoolmanager", "chris.coordinator"])
def test_dashboard_query_budget_is_flat(personas, client, username, django_assert_max_num_queries):
    """9 whatever the data (once the snapshots exist; the first visit calculates them):
    1 session, 2 user, 2a the two-factor device the session was verified with (OTPMiddleware),
    3 memberships and 4 their hubs (roles_for, shared with the header), 5 hubs and
    6 agencies for the filters, 7 the three snapshots' calculation times, 8 the header's unread
    notification count. The tables and charts rendered for those snapshots are cached under their
    calculation times; rendering them again (a new calculation) costs one query more, the figures.
    The session, refreshed under a minute ago, is not saved."""
    client.force_login(personas.all_users()[username])
    query = {"quarter": Q.slug}
    client.get(DASHBOARD, query)  # calculates and stores the snapshots
    assert _queries(client, DASHBOARD, query) == 10  # renders their tables once
    small = _queries(client, DASHBOARD, query)
    assert small == 9

    bigger_dataset(personas, 60)
    Snapshot.objects.all().delete()
    client.get(DASHBOARD, query)
    with django_assert_max_num_queries(12):
        large = client.get(DASHBOARD, query)
    assert large.status_code == 200
    assert "Bulk" not in large.content.decode(), "the dashboard shows figures, never families"
    assert _queries(client, DASHBOARD, query) == small


def test_choosing_a_free_hub_costs_one_query(personas, client, django_assert_max_num_queries):
    """Alex's agency is fixed; the hub they choose is checked to exist (one query more than the 12)."""
    client.force_login(personas.alex)
    query = {"quarter": Q.slug, "hub": personas.north.pk}
    client.get(DASHBOARD, query)
    with django_assert_max_num_queries(13):
        assert client.get(DASHBOARD, query).status_code == 200


@pytest.mark.parametrize("username", ["morgan.manager", "alex.schoolmanager"])
def test_drilldown_query_budget_is_flat(personas, client, username, django_assert_max_num_queries):
    """The same for one family as for a full page of 25: 1 session, 2 user, 2a the two-factor device
    (OTPMiddleware), 3-4 memberships and their
    hubs, 5 the snapshot (is the row known?), 6 the families behind the figure (count), 7 those visible
    (count) and 8 their page, 9 the audit insert (one for the page), 10 the scope's agency name (Alex's
    fixed agency), 11 the unread count, 12-14 saving the session."""
    client.force_login(personas.all_users()[username])
    query = {"quarter": Q.slug, "indicator": "episodes_opened"}
    open_episode(personas.ashworth, Q.start, lead=personas.sam)
    client.get(DRILLDOWN, query)  # the snapshot
    small = _queries(client, DRILLDOWN, query)

    bigger_dataset(personas, 60)
    Snapshot.objects.all().delete()
    client.get(DRILLDOWN, query)
    with django_assert_max_num_queries(15):
        response = client.get(DRILLDOWN, query)
    assert response.content.decode().count('<tr class="govuk-table__row">') == 1 + 25
    assert _queries(client, DRILLDOWN, query) == small


def test_a_long_breakdown_shows_the_largest_rows_and_points_to_the_csv(personas, client):
    """30 agencies each refer once, and Riverside (Sam's) three times: the page shows 25 rows, Riverside
    among them, and says 6 more are in the section's CSV."""
    area = HubArea.objects.get(name="Blyth")
    family = FamilyFactory(name="Ireland", area=area, hub=area.hub)
    received = Q.start + dt.timedelta(days=5)

    def refer(user, agency) -> None:
        RequestForSupport.objects.create(
            family=family,
            hub=area.hub,
            referrer=user,
            referrer_agency=agency,
            status=RequestStatus.NEW,
            consent_given=True,
            received_on=received,
        )

    for n in range(30):
        agency = AgencyFactory(name=f"Referring school {n:02d}", type=AgencyType.SCHOOL)
        refer(MembershipFactory(agency=agency, role=Role.PRACTITIONER).user, agency)
    for _ in range(3):
        refer(personas.sam, personas.riverside)
    response = page(client, personas.morgan)
    body = response.content.decode()
    table = body[body.index('id="breakdown-requests_received"') :]
    table = table[: table.index("</table>")]
    assert table.count('<th scope="row"') == 25
    assert personas.riverside.name in table
    assert "These are the 25 largest this quarter; 6 more are in the" in text(response)
