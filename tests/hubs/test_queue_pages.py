"""The hub's pages through the test client: the queue and its clock, a request as the hub sees it,
decisions (every outcome, bad input, two tabs, changes), hub meetings, access and query budgets."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ehcase.models import AuditEvent
from ehcase.permissions import family_for_user
from hubs import services
from hubs.models import HubMeeting, RequestForSupport, RequestStatus, TriageDecision
from hubs.services import working_days_between
from hubs.views import received_by
from pathway.models import Episode, OutcomeArea
from tests.factories import FamilyFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
ANON = "anonymous"


def errors(response) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(
            r'class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> (.*?)</p>',
            response.content.decode(),
        )
    ]


def summary(response) -> list[str]:
    """The items of the GOV.UK error summary (field errors are links, others plain text)."""
    body = response.content.decode()
    block = re.search(r'govuk-error-summary__list">(.*?)</ul>', body, re.S)
    if not block:
        return []
    return [
        html.unescape(re.sub(r"<.*?>", "", item)).strip()
        for item in re.findall(r"<li>(.*?)</li>", block[1], re.S)
    ]


def date(prefix: str, value: dt.date) -> dict:
    return {f"{prefix}_day": value.day, f"{prefix}_month": value.month, f"{prefix}_year": value.year}


def send(personas, family, *, actor=None, **overrides) -> RequestForSupport:
    """A request sent to the family's hub (Sam refers unless `actor` is given)."""
    actor = actor or personas.sam
    data = {
        "source": "2A",
        "urgency": "routine",
        "reasons": "Attendance has dropped to 70%",
        "tried_already": "Meetings with dad",
        "consent_given": True,
        "consent_by": "Lee Bennett",
        "consent_on": TODAY(),
        "consent_method": "verbal",
        **overrides,
    }
    draft = services.request_save_draft(
        actor=actor, family=family, data=data, needs=[OutcomeArea.objects.get(code="education")]
    )
    return services.request_submit(actor=actor, request=draft)


def age(request: RequestForSupport, days: int) -> None:
    RequestForSupport.objects.filter(pk=request.pk).update(received_on=TODAY() - dt.timedelta(days=days))


@pytest.fixture
def sent(personas) -> RequestForSupport:
    """Sam's request for the Bennett family (North hub, Morpeth)."""
    return send(personas, personas.bennett)


@pytest.fixture
def chris(client, personas) -> Client:
    client.force_login(personas.chris)
    return client


def queue_url(personas, **query) -> str:
    url = reverse("hubs:queue", args=[personas.north.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def decide_url(request) -> str:
    return reverse("hubs:request-decide", args=[request.pk])


def decision(request, **data) -> dict:
    return {
        "outcome": "nfa",
        "rationale": "Needs are being met by the school",
        **date("decided_on", TODAY()),
        "version": RequestForSupport.objects.get(pk=request.pk).version,
        **data,
    }


# --- Access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("chris.coordinator", 200),
        ("morgan.manager", 200),
        ("quinn.auditor", 200),
        ("sam.practitioner", 404),
        ("hana.healthvisitor", 404),
        ("alex.schoolmanager", 404),
        ("ola.outsider", 404),
        ("admin", 404),
    ],
)
def test_the_queue_is_the_coordinators_and_partnership_wide_roles_read_it(
    client, personas, sent, persona, expected
):
    client.force_login(personas.all_users()[persona])
    response = client.get(queue_url(personas))
    assert response.status_code == expected
    if expected == 200:
        assert "Bennett family" in response.content.decode()


def test_anonymous_users_are_sent_to_sign_in(client, personas, sent):
    response = client.get(queue_url(personas))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_hubs_queue_is_a_404_for_a_coordinator(chris, personas):
    assert chris.get(reverse("hubs:queue", args=[personas.south.pk])).status_code == 404
    assert chris.get(reverse("hubs:queue", args=[999999])).status_code == 404


def test_readers_see_the_queue_but_cannot_act(client, personas, sent):
    client.force_login(personas.morgan)
    assert client.get(reverse("hubs:request-detail", args=[sent.pk])).status_code == 200
    body = client.get(reverse("hubs:request-detail", args=[sent.pk])).content.decode()
    assert "Decide the request" not in body
    assert client.get(decide_url(sent)).status_code == 403
    assert client.post(decide_url(sent), decision(sent)).status_code == 403
    assert client.get(reverse("hubs:meeting-new", args=[personas.north.pk])).status_code == 403
    assert RequestForSupport.objects.get(pk=sent.pk).status == RequestStatus.NEW


def test_hub_list_goes_straight_to_the_only_hub_or_lists_them(client, personas):
    client.force_login(personas.chris)
    response = client.get(reverse("hubs:hub-list"))
    assert response.status_code == 302 and response["Location"] == queue_url(personas)
    client.force_login(personas.morgan)
    body = client.get(reverse("hubs:hub-list")).content.decode()
    assert "North hub" in body and "South hub" in body
    client.force_login(personas.sam)
    assert client.get(reverse("hubs:hub-list")).status_code == 404


def test_the_referrer_gets_404_on_the_hubs_request_page(client, personas, sent):
    for user in (personas.sam, personas.hana, personas.ola, personas.alex, personas.admin):
        client.force_login(user)
        assert client.get(reverse("hubs:request-detail", args=[sent.pk])).status_code == 404
        assert client.get(decide_url(sent)).status_code == 404


# --- The queue --------------------------------------------------------------------------------------


@pytest.fixture
def three(personas):
    """Bennett (Morpeth, routine, Riverside), Carter (Ashington, from health visiting), Dixon
    (Ashington, urgent, re-referral), received 14, 2 and 0 days ago."""
    bennett = send(personas, personas.bennett)
    carter = send(personas, personas.carter, actor=personas.hana, consent_by="Amy Carter", source="3B")
    dixon = send(personas, personas.dixon, urgency="urgent", consent_by="Paul Dixon")
    age(bennett, 14)
    age(carter, 2)
    RequestForSupport.objects.filter(pk=dixon.pk).update(is_re_referral=True)
    return bennett, carter, dixon


def families_listed(response) -> list[str]:
    return re.findall(r'href="/requests/\d+/">(\w+) family</a>', response.content.decode())


def test_queue_rows_show_the_clock_tags_and_who_referred(chris, personas, three):
    response = chris.get(queue_url(personas))
    body = response.content.decode()
    # Oldest first.
    assert families_listed(response) == ["Bennett", "Carter", "Dixon"]
    bennett_row = re.search(r"Bennett family.*?</tr>", body, re.S)[0]
    elapsed = working_days_between(TODAY() - dt.timedelta(days=14), TODAY())
    assert f"{elapsed} of 5 working days" in bennett_row
    assert 'govuk-tag--red">Overdue' in bennett_row
    assert "Riverside Primary School" in bennett_row and "Schools" in bennett_row
    dixon_row = re.search(r"Dixon family.*?</tr>", body, re.S)[0]
    assert "0 of 5 working days" in dixon_row and "Overdue" not in dixon_row
    assert ">Urgent<" in dixon_row and ">Re-referral<" in dixon_row
    carter_row = re.search(r"Carter family.*?</tr>", body, re.S)[0]
    assert "North Health Visiting Team" in carter_row
    assert "New (3)" in body and "Awaiting decision (0)" in body and "Decided (0)" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("area={ashington}", ["Carter", "Dixon"]),
        ("urgency=urgent", ["Dixon"]),
        ("agency={health_visiting}", ["Carter"]),
        ("older_than=1", None),
        ("older_than=5", ["Bennett"]),
        ("overdue=on", ["Bennett"]),
        ("area={ashington}&urgency=routine", ["Carter"]),
    ],
)
def test_queue_filters(chris, personas, three, query, expected):
    from hubs.models import HubArea

    query = query.format(
        ashington=HubArea.objects.get(name="Ashington").pk, health_visiting=personas.health_visiting.pk
    )
    if expected is None:
        # Carter was received 2 calendar days ago: more than one working day unless a weekend fell
        # in between, so work the expectation out from the clock itself.
        carter_days = working_days_between(TODAY() - dt.timedelta(days=2), TODAY())
        expected = ["Bennett", "Carter"] if carter_days > 1 else ["Bennett"]
    response = chris.get(queue_url(personas) + "?" + query)
    assert response.status_code == 200
    assert families_listed(response) == expected


def test_a_bad_filter_is_explained_and_the_queue_unfiltered(chris, personas, three):
    response = chris.get(queue_url(personas, older_than="lots"))
    assert response.status_code == 200
    assert "Working days waiting must be a whole number, like 5" in errors(response)
    assert len(families_listed(response)) == 3


def test_tabs_split_new_awaiting_and_decided(chris, personas, three):
    bennett, carter, dixon = three
    meeting = services.hub_meeting_schedule(
        actor=personas.chris, hub=personas.north, starts_at=timezone.now(), location="Morpeth"
    )
    services.hub_meeting_add_to_agenda(actor=personas.chris, meeting=meeting, requests=[carter])
    services.triage_decide(
        actor=personas.chris,
        request=dixon,
        outcome="nfa",
        rationale="Support in place",
        decided_on=TODAY(),
        expected_version=None,
    )
    assert families_listed(chris.get(queue_url(personas))) == ["Bennett"]
    assert families_listed(chris.get(queue_url(personas, status="awaiting"))) == ["Carter"]
    decided = chris.get(queue_url(personas, status="decided"))
    assert families_listed(decided) == ["Dixon"]
    assert "No further action" in decided.content.decode()
    assert "Decided in 0 working days (target 5)" in decided.content.decode()


@pytest.mark.parametrize("working_days", [0, 1, 3, 5, 10])
def test_received_by_matches_the_working_day_clock(working_days):
    for offset in range(14):
        today = dt.date(2026, 3, 2) + dt.timedelta(days=offset)
        cutoff = received_by(working_days=working_days, today=today)
        assert working_days_between(cutoff, today) > working_days
        assert working_days_between(cutoff + dt.timedelta(days=1), today) <= working_days


# --- The request page -------------------------------------------------------------------------------


def test_the_request_page_shows_the_request_and_is_audited(chris, personas, sent):
    response = chris.get(reverse("hubs:request-detail", args=[sent.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Attendance has dropped to 70%" in body and "Meetings with dad" in body
    assert "Lee Bennett, verbally" in body
    assert "0 of 5 working days" in body
    assert reverse("ehcase:family-detail", args=[personas.bennett.pk]) in body
    assert "Decide the request" in body
    assert AuditEvent.objects.filter(
        actor=personas.chris,
        action="view",
        family_id=personas.bennett.pk,
        summary=f"Request for support {sent.pk}",
    ).exists()


def test_the_request_page_says_why_consent_was_not_sought(chris, personas):
    request = send(personas, personas.dixon, consent_given=False, no_consent_reason="Risk to the child")
    body = chris.get(reverse("hubs:request-detail", args=[request.pk])).content.decode()
    assert "Not sought" in body and "Risk to the child" in body


# --- Deciding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "extra", "check"),
    [
        ("nfa", {}, lambda d, p: True),
        (
            "signposting",
            {"signposting": "Family Hub parenting course, Tuesdays"},
            lambda d, p: d.signposting == "Family Hub parenting course, Tuesdays",
        ),
        ("single_agency", {"agency": "health_visiting"}, lambda d, p: d.agency == p.health_visiting),
        (
            "early_help",
            {"allocated_to": "hana"},
            lambda d, p: d.allocated_to == p.hana and d.episode.assessor == p.hana,
        ),
        ("step_up", {"social_care_reference": "SC-1234"}, lambda d, p: d.social_care_reference == "SC-1234"),
    ],
)
def test_deciding_each_outcome(chris, personas, sent, outcome, extra, check):
    values = {
        "signposting": extra.get("signposting", ""),
        "agency": personas.health_visiting.pk if "agency" in extra else "",
        "allocated_to": personas.hana.pk if "allocated_to" in extra else "",
        "social_care_reference": extra.get("social_care_reference", ""),
    }
    page = chris.get(decide_url(sent))
    assert page.status_code == 200 and "What has the hub decided?" in page.content.decode()
    response = chris.post(decide_url(sent), decision(sent, outcome=outcome, **values))
    assert response.status_code == 302, errors(response)
    assert response["Location"] == reverse("hubs:request-detail", args=[sent.pk])
    made = TriageDecision.objects.get(request=sent)
    assert made.outcome == outcome and made.decided_by == personas.chris and check(made, personas)
    # Only the chosen outcome's detail is kept.
    assert [bool(made.signposting), bool(made.agency_id), bool(made.allocated_to_id)].count(True) <= 1
    assert RequestForSupport.objects.get(pk=sent.pk).status == RequestStatus.DECIDED


def test_early_help_opens_an_episode_the_allocated_worker_can_see(chris, personas, sent):
    from django.http import Http404

    with pytest.raises(Http404):
        family_for_user(user=personas.hana, family_id=personas.bennett.pk)
    page = chris.get(decide_url(sent)).content.decode()
    # Practitioners of the hub's member agencies are offered; a South school's are not.
    assert "Hana Kowalski" in page and "Ola Nowak" not in page
    response = chris.post(
        decide_url(sent), decision(sent, outcome="early_help", allocated_to=personas.hana.pk)
    )
    assert response.status_code == 302, errors(response)
    episode = Episode.objects.get(family=personas.bennett)
    assert episode.assessor == personas.hana and episode.source == "triage"
    assert family_for_user(user=personas.hana, family_id=personas.bennett.pk)
    hana = Client()
    hana.force_login(personas.hana)
    assert hana.get(reverse("pathway:episode-detail", args=[episode.pk])).status_code == 200


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"rationale": ""}, "Enter the reasons for the decision"),
        ({"outcome": ""}, "Select the decision"),
        (
            date("decided_on", TODAY() + dt.timedelta(days=1)),
            "Date of the decision must be today or in the past",
        ),
        ({"decided_on_year": "20x6"}, "Date of the decision must be a real date"),
        (
            {**date("decided_on", TODAY() - dt.timedelta(days=30))},
            "Date of the decision must be on or after the request was received",
        ),
        (
            {"outcome": "signposting", "signposting": " "},
            "Enter the information and signposting for the referrer",
        ),
        ({"outcome": "single_agency"}, "Select the agency that will support the family"),
        ({"outcome": "early_help"}, "Select the assessor or lead professional to allocate"),
        ({"outcome": "step_up"}, "Enter the social care reference"),
        (
            {"outcome": "single_agency", "agency": "999999"},
            "Select a valid agency that will support the family",
        ),
    ],
)
def test_bad_decisions_are_explained_at_the_field_and_nothing_typed_is_lost(
    chris, personas, sent, data, field_message
):
    form = decision(sent, rationale="Typed with care: dad asked for help", signposting="Leaflet", **{})
    form.update(data)
    response = chris.post(decide_url(sent), form)
    assert response.status_code == 200
    assert field_message in errors(response), errors(response)
    assert field_message in summary(response)
    body = response.content.decode()
    if form["rationale"]:
        assert "Typed with care: dad asked for help" in body
    assert "Error: " in body.split("<title>")[1].split("</title>")[0]
    assert not TriageDecision.objects.filter(request=sent).exists()


def test_deciding_twice_in_two_tabs_keeps_the_second_typing_and_asks_again(personas, sent):
    first, second = Client(), Client()
    first.force_login(personas.chris)
    second.force_login(personas.chris)
    stale = decision(sent)  # both tabs opened at this version
    assert first.post(decide_url(sent), stale).status_code == 302
    response = second.post(
        decide_url(sent),
        {**stale, "outcome": "signposting", "signposting": "Young carers group", "rationale": "Mine"},
    )
    assert response.status_code == 200
    assert summary(response)[0].startswith("Someone else changed or decided this request after you opened it")
    body = response.content.decode()
    assert "Young carers group" in body and ">Mine</textarea>" in body
    assert "already been decided" in body and "Change the decision" in body
    assert TriageDecision.objects.filter(request=sent).count() == 1
    # Resubmitting is now a deliberate change against the version the user has seen.
    current = RequestForSupport.objects.get(pk=sent.pk).version
    assert f'name="version" value="{current}"' in body and 'name="change_decision" value="1"' in body
    again = second.post(
        decide_url(sent),
        {
            **stale,
            "outcome": "signposting",
            "signposting": "Young carers group",
            "rationale": "Mine",
            "version": current,
            "change_decision": "1",
        },
    )
    assert again.status_code == 302, errors(again)
    old, new = TriageDecision.objects.filter(request=sent).order_by("id")
    assert new.supersedes == old and new.outcome == "signposting"


def test_a_decided_request_offers_to_change_the_decision(chris, personas, sent):
    assert chris.post(decide_url(sent), decision(sent)).status_code == 302
    page = chris.get(decide_url(sent)).content.decode()
    assert "This request has already been decided" in page
    assert f"{decide_url(sent)}?change=1" in page and 'name="outcome"' not in page
    change = chris.get(decide_url(sent) + "?change=1").content.decode()
    assert 'name="change_decision" value="1"' in change and "Change the decision" in change
    response = chris.post(
        decide_url(sent),
        decision(
            sent,
            outcome="step_up",
            social_care_reference="SC-77",
            rationale="New disclosure",
            change_decision="1",
        ),
    )
    assert response.status_code == 302, errors(response)
    old, new = TriageDecision.objects.filter(request=sent).order_by("id")
    assert new.supersedes == old and new.outcome == "step_up"
    assert AuditEvent.objects.filter(
        summary="Triage decision changed: Step up to children's social care"
    ).exists()
    detail = chris.get(reverse("hubs:request-detail", args=[sent.pk])).content.decode()
    assert "Superseded" in detail and "Current decision" in detail and "SC-77" in detail


def test_posting_a_new_decision_on_a_decided_request_without_changing_is_refused(chris, personas, sent):
    chris.post(decide_url(sent), decision(sent))
    response = chris.post(decide_url(sent), decision(sent, outcome="signposting", signposting="Leaflet"))
    assert response.status_code == 200
    assert "This request has already been decided. To change the decision, record a new one" in summary(
        response
    )
    assert TriageDecision.objects.filter(request=sent).count() == 1


def test_an_episode_already_open_is_explained_at_the_outcome(chris, personas):
    request = send(personas, personas.ashworth, consent_by="Kerry Ashworth")
    from pathway import services as pathway
    from pathway.models import LevelOfNeed

    pathway.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry",
        consent_on=TODAY(),
    )
    response = chris.post(
        decide_url(request), decision(request, outcome="early_help", allocated_to=personas.hana.pk)
    )
    assert response.status_code == 200
    assert "This family already has an open episode of early help" in errors(response)


# --- Hub meetings -----------------------------------------------------------------------------------


def test_a_hub_meeting_from_scheduling_to_decisions(chris, personas, three):
    bennett, carter, dixon = three
    north = personas.north
    when = TODAY() + dt.timedelta(days=1)
    response = chris.post(
        reverse("hubs:meeting-new", args=[north.pk]),
        {**date("date", when), "time": "09:30", "location": "Morpeth Family Hub"},
    )
    meeting = HubMeeting.objects.get(hub=north)
    assert response.status_code == 302 and response["Location"] == reverse(
        "hubs:meeting-detail", args=[meeting.pk]
    )
    assert timezone.localtime(meeting.starts_at).hour == 9

    url = reverse("hubs:meeting-detail", args=[meeting.pk])
    page = chris.get(url).content.decode()
    assert "Bennett family (F-DEMOBEN)" in page and "Nothing on the agenda yet" in page
    response = chris.post(url, {"action": "agenda", "requests": [bennett.pk, dixon.pk]})
    assert response.status_code == 302
    assert set(RequestForSupport.objects.filter(status="awaiting").values_list("pk", flat=True)) == {
        bennett.pk,
        dixon.pk,
    }
    page = chris.get(url).content.decode()
    assert f"{decide_url(bennett)}?meeting={meeting.pk}" in page
    # Requests already on the agenda are not offered again.
    assert "Bennett family (F-DEMOBEN)" not in page and "Carter family" in page

    response = chris.post(url, {"action": "attendance", "attendees": "Chris Okafor\nHana Kowalski"})
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == "held" and "Hana Kowalski" in meeting.attendees

    form = chris.get(f"{decide_url(bennett)}?meeting={meeting.pk}").content.decode()
    assert re.search(rf'<option value="{meeting.pk}" selected>', form)
    response = chris.post(
        f"{decide_url(bennett)}?meeting={meeting.pk}",
        decision(bennett, outcome="single_agency", agency=personas.riverside.pk, meeting=meeting.pk),
    )
    assert response.status_code == 302 and response["Location"] == url
    assert TriageDecision.objects.get(request=bennett).meeting == meeting
    page = chris.get(url).content.decode()
    assert "Single-agency support" in page and "At this meeting" in page
    assert f"{decide_url(dixon)}?meeting={meeting.pk}" in page

    listing = chris.get(reverse("hubs:meeting-list", args=[north.pk])).content.decode()
    assert url in listing and "Held" in listing


def test_hub_meeting_bad_input(chris, personas, sent):
    response = chris.post(
        reverse("hubs:meeting-new", args=[personas.north.pk]), {"time": "half nine", "location": " "}
    )
    assert response.status_code == 200
    assert {"Enter the date of the meeting", "Enter a time like 09:30", "Enter where the meeting is"} <= set(
        errors(response)
    )
    assert "half nine" in response.content.decode()
    meeting = services.hub_meeting_schedule(
        actor=personas.chris, hub=personas.north, starts_at=timezone.now(), location="Morpeth"
    )
    url = reverse("hubs:meeting-detail", args=[meeting.pk])
    response = chris.post(url, {"action": "agenda"})
    assert response.status_code == 200
    assert "Select at least one request to add to the agenda" in errors(response)
    response = chris.post(url, {"action": "attendance", "attendees": "  "})
    assert "Enter who attended" in errors(response)
    # A request decided in another tab is no longer offered: a clear message, not a 500.
    services.triage_decide(
        actor=personas.chris,
        request=sent,
        outcome="nfa",
        rationale="x",
        decided_on=TODAY(),
        expected_version=None,
    )
    response = chris.post(url, {"action": "agenda", "requests": [sent.pk]})
    assert response.status_code == 200
    assert errors(response)[0].startswith(
        "A request you selected has been decided or is already on the agenda"
    )


def test_another_hubs_meeting_is_a_404_and_readers_cannot_change_it(client, personas):
    meeting = services.hub_meeting_schedule(
        actor=personas.chris, hub=personas.north, starts_at=timezone.now(), location="Morpeth"
    )
    url = reverse("hubs:meeting-detail", args=[meeting.pk])
    client.force_login(personas.ola)
    assert client.get(url).status_code == 404
    client.force_login(personas.quinn)
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "attendance", "attendees": "Quinn"}).status_code == 403
    assert "Save attendance" not in client.get(url).content.decode()


# --- Query budgets ----------------------------------------------------------------------------------


def _count(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), "\n".join(q["sql"] for q in ctx.captured_queries)


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("status", ["new", "decided"])
def test_queue_query_count_is_flat(client, personas, rows, status):
    for _ in range(rows):
        request = send(personas, FamilyFactory(area=personas.bennett.area))
        if status == "decided":
            services.triage_decide(
                actor=personas.chris,
                request=request,
                outcome="nfa",
                rationale="Met",
                decided_on=TODAY(),
                expected_version=None,
            )
    client.force_login(personas.chris)
    count, sql = _count(client, queue_url(personas, status=status))
    # session, user, the session's two-factor device (django-otp), memberships, their hubs (prefetch),
    # the hub, counts per tab (one aggregate),
    # page count, the page of requests with family, locality and agency (and, when decided, the
    # current decision as subqueries), the locality and the agency choices of the filter form,
    # unread notifications (header); the session was refreshed under a minute ago, so is not saved
    assert count == 12, sql


@pytest.mark.parametrize("items", [1, 30])
def test_meeting_page_query_count_is_flat(client, personas, items):
    meeting = services.hub_meeting_schedule(
        actor=personas.chris, hub=personas.north, starts_at=timezone.now(), location="Morpeth"
    )
    requests = [send(personas, FamilyFactory(area=personas.bennett.area)) for _ in range(items)]
    send(personas, personas.dixon, consent_by="Paul Dixon")  # undecided, offered for the agenda
    services.hub_meeting_add_to_agenda(actor=personas.chris, meeting=meeting, requests=requests)
    services.triage_decide(
        actor=personas.chris,
        request=requests[0],
        outcome="nfa",
        rationale="Met",
        decided_on=TODAY(),
        expected_version=None,
        meeting=HubMeeting.objects.get(pk=meeting.pk),
    )
    client.force_login(personas.chris)
    count, sql = _count(client, reverse("hubs:meeting-detail", args=[meeting.pk]))
    # session, user, the session's two-factor device (django-otp), the meeting with its hub,
    # memberships, hubs, agenda items with their requests,
    # families and agencies, the items' current decisions, decisions at the meeting, the undecided
    # requests that can still be added (how many, then the list), unread notifications (header). The
    # session, refreshed under a minute ago, is not saved.
    assert count == 12, sql


# --- The rows for tests/test_permission_matrix.py ----------------------------------------------------

HUB_READ = {"chris.coordinator": 200, "morgan.manager": 200, "quinn.auditor": 200}
HUB_ACT = {"chris.coordinator": 200, "morgan.manager": 403, "quinn.auditor": 403}
SIGNED_IN = [
    "sam.practitioner",
    "hana.healthvisitor",
    "chris.coordinator",
    "alex.schoolmanager",
    "morgan.manager",
    "quinn.auditor",
    "ola.outsider",
    "admin",
]


def _expected(special: dict, others: int = 404) -> dict:
    return {**{p: special.get(p, others) for p in SIGNED_IN}, ANON: 302}


MATRIX = [
    (
        "hubs:hub-list",
        None,
        "get",
        _expected({"chris.coordinator": 302, "morgan.manager": 200, "quinn.auditor": 200}),
    ),
    ("hubs:queue", "hub", "get", _expected(HUB_READ)),
    ("hubs:meeting-list", "hub", "get", _expected(HUB_READ)),
    ("hubs:meeting-new", "hub", "get", _expected(HUB_ACT)),
    ("hubs:meeting-new", "hub", "post", _expected(HUB_ACT)),
    ("hubs:meeting-detail", "meeting", "get", _expected(HUB_READ)),
    ("hubs:meeting-detail", "meeting", "post", _expected(HUB_ACT)),
    ("hubs:request-detail", "request", "get", _expected(HUB_READ)),
    ("hubs:request-decide", "request", "get", _expected(HUB_ACT)),
    ("hubs:request-decide", "request", "post", _expected(HUB_ACT)),
    # Read-only pages refuse other methods once signed in.
    ("hubs:hub-list", None, "post", _expected({}, others=405)),
    ("hubs:queue", "hub", "post", _expected({}, others=405)),
    ("hubs:meeting-list", "hub", "post", _expected({}, others=405)),
    ("hubs:request-detail", "request", "post", _expected({}, others=405)),
]


@pytest.mark.parametrize(("name", "target", "method", "expected"), MATRIX, ids=lambda v: str(v)[:40])
def test_permission_matrix_rows(personas, sent, name, target, method, expected):
    """Sam's request for the Bennett family and a North hub meeting, with an empty form body."""
    meeting = services.hub_meeting_schedule(
        actor=personas.chris, hub=personas.north, starts_at=timezone.now(), location="Morpeth"
    )
    kwargs = {
        None: None,
        "hub": {"hub_id": personas.north.pk},
        "meeting": {"meeting_id": meeting.pk},
        "request": {"request_id": sent.pk},
    }[target]
    url = reverse(name, kwargs=kwargs)
    users = personas.all_users()
    got = {}
    for persona in expected:
        client = Client()
        if persona != ANON:
            client.force_login(users[persona])
        response = client.get(url) if method == "get" else client.post(url, {})
        got[persona] = response.status_code
    assert got == expected
    # An empty body changes nothing, whoever sends it.
    assert RequestForSupport.objects.get(pk=sent.pk).status == RequestStatus.NEW
    assert not TriageDecision.objects.exists() and HubMeeting.objects.count() == 1
