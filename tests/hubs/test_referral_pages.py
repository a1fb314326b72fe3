"""The referrer's pages: find the family, the question pages, check and send, "My requests", the email.

Personas (tests/conftest.py): Sam (Riverside Primary School) works with the North families Ashworth and
Bennett; the Evans family is in the South hub and Sam may not see it.
"""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ehcase.models import AuditEvent, Family
from hubs import services
from hubs.matching import make_match_token
from hubs.models import RequestForSupport, RequestStatus, TriageOutcome
from hubs.tasks import DECISION_EMAILED, decision_notify_referrer, send_decision_to_referrer
from pathway.models import OutcomeArea

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def errors(response) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(
            r'class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> (.*?)</p>',
            response.content.decode(),
        )
    ]


def summary_links(response) -> list[tuple[str, str]]:
    body = response.content.decode().split('govuk-error-summary__list">', 1)[-1].split("</ul>", 1)[0]
    return [(a, html.unescape(m)) for a, m in re.findall(r'<li><a href="#([^"]*)">(.*?)</a></li>', body)]


def date(prefix: str, value: dt.date) -> dict:
    return {f"{prefix}_day": value.day, f"{prefix}_month": value.month, f"{prefix}_year": value.year}


def tokens(response) -> list[str]:
    return re.findall(r'name="token" value="([^"]+)"', response.content.decode())


def search(client, **criteria):
    response = client.post(reverse("referrals:start"), criteria)
    assert response.status_code == 302 and response["Location"] == reverse("referrals:matches")
    return client.get(reverse("referrals:matches"))


def answer_everything(client, rfs: RequestForSupport) -> None:
    education = OutcomeArea.objects.get(code="education")
    steps = [
        ("referrals:needs", {"needs": [education.pk], "reasons": "Attendance has dropped to 70%"}),
        ("referrals:source", {"source": "2A", "urgency": "routine"}),
        ("referrals:tried", {"tried_already": "Attendance meetings with mum"}),
        (
            "referrals:consent",
            {
                "consent_given": "yes",
                "consent_by": "Kerry Ashworth, mother",
                "consent_method": "verbal",
                **date("consent_on", TODAY()),
            },
        ),
    ]
    for name, data in steps:
        response = client.post(reverse(name, args=[rfs.pk]), data)
        assert response.status_code == 302, (name, errors(response))


@pytest.fixture
def draft(personas):
    """A draft by Sam for the Bennett family, nothing answered yet."""
    return services.request_save_draft(actor=personas.sam, family=personas.bennett, data={})


def test_whole_flow_for_a_visible_family(client, personas):
    client.force_login(personas.sam)
    assert client.get(reverse("referrals:start")).status_code == 200
    response = search(
        client, first_name="Kerry", last_name="Ashworth", **date("date_of_birth", dt.date(1990, 5, 14))
    )
    page = response.content.decode()
    assert "Ashworth family" in page and "F-DEMOASH" in page and "Kerry Ashworth" in page
    assert "Request support for this family" in page and "None of these: add a new family" in page
    assert AuditEvent.objects.filter(
        family_id=personas.ashworth.pk, summary__startswith="Shown as a possible match"
    ).exists()

    response = client.post(reverse("referrals:matches"), {"token": tokens(response)[0]})
    rfs = RequestForSupport.objects.get(referrer=personas.sam)
    assert rfs.family == personas.ashworth and rfs.status == RequestStatus.DRAFT
    assert response["Location"] == reverse("referrals:needs", args=[rfs.pk])

    # The source is guessed from Sam's agency (a school: 2A) and can be changed.
    page = client.get(reverse("referrals:source", args=[rfs.pk])).content.decode()
    assert re.search(r'value="2A" checked', page)

    answer_everything(client, rfs)
    response = client.get(reverse("referrals:check", args=[rfs.pk]))
    page = html.unescape(response.content.decode())
    for expected in [
        "Ashworth family",
        "Getting a good education",
        "Attendance has dropped to 70%",
        "Schools",
        "Routine",
        "Attendance meetings with mum",
        "Kerry Ashworth, mother",
        "Verbally",
        "North hub",
    ]:
        assert expected in page, expected
    assert page.count(">Change<") == 10

    response = client.post(reverse("referrals:check", args=[rfs.pk]))
    assert response["Location"] == reverse("referrals:sent", args=[rfs.pk])
    rfs.refresh_from_db()
    assert rfs.status == RequestStatus.NEW and rfs.hub == personas.north and rfs.received_on == TODAY()

    page = client.get(reverse("referrals:sent", args=[rfs.pk])).content.decode()
    assert "govuk-panel--confirmation" in page and "5 working days" in page
    # A sent request's question pages lead to the request, not to a second submission.
    response = client.post(reverse("referrals:check", args=[rfs.pk]))
    assert response["Location"] == reverse("referrals:my-request", args=[rfs.pk])


def test_hidden_match_flow_never_shows_the_family(client, personas):
    evans = personas.evans
    client.force_login(personas.sam)
    response = search(
        client, first_name="Owen", last_name="Evans", **date("date_of_birth", dt.date(2013, 4, 4))
    )
    seen = [response]
    page = response.content.decode()
    assert "A possible match is held by the South hub. You cannot see its details." in page
    assert "Send the request against this match" in page
    token = tokens(response)[0]

    response = client.post(reverse("referrals:matches"), {"token": token})
    rfs = RequestForSupport.objects.get(referrer=personas.sam)
    assert rfs.family_id == evans.pk
    for name in ["referrals:needs", "referrals:source", "referrals:tried", "referrals:consent"]:
        seen.append(client.get(reverse(name, args=[rfs.pk])))
    answer_everything(client, rfs)
    seen.append(client.get(reverse("referrals:check", args=[rfs.pk])))
    assert "Family held by the South hub" in seen[-1].content.decode()
    response = client.post(reverse("referrals:check", args=[rfs.pk]))
    assert response.status_code == 302
    rfs.refresh_from_db()
    assert rfs.status == RequestStatus.NEW and rfs.family_id == evans.pk and rfs.hub == personas.south
    seen += [
        client.get(reverse("referrals:sent", args=[rfs.pk])),
        client.get(reverse("referrals:my-requests")),
        client.get(reverse("referrals:my-request", args=[rfs.pk])),
    ]
    for response in seen:
        page = response.content.decode()
        assert response.status_code == 200
        assert "Evans" not in page and "Owen" not in page and "F-DEMOEVA" not in page
        assert f"/families/{evans.pk}/" not in page and 'name="family"' not in page
    # Sending a request does not open the family's record to the referrer.
    assert client.get(reverse("ehcase:family-detail", args=[evans.pk])).status_code == 404
    assert AuditEvent.objects.filter(family_id=evans.pk, summary__contains="cannot see").exists()


def test_a_token_found_by_someone_else_is_refused(client, personas):
    client.force_login(personas.sam)
    search(client, last_name="Evans", **date("date_of_birth", dt.date(2013, 4, 4)))
    foreign = make_match_token(family_id=personas.evans.pk, user=personas.ola)
    response = client.post(reverse("referrals:matches"), {"token": foreign})
    assert response.status_code == 200
    assert summary_links(response) == [("matches", "Choose one of the families below, or add a new family")]
    assert not RequestForSupport.objects.exists()


def test_a_new_family_then_its_people_then_the_request(client, personas):
    client.force_login(personas.sam)
    response = search(
        client, first_name="Zara", last_name="Quigley", **date("date_of_birth", dt.date(2015, 2, 2))
    )
    assert "No matching families found" in response.content.decode()
    page = client.get(reverse("referrals:family-new")).content.decode()
    assert 'value="Quigley"' in page
    response = client.post(
        reverse("referrals:family-new"),
        {
            "name": "Quigley",
            "address_line_1": "2 High Street",
            "town": "Morpeth",
            "postcode": "NE61 2AB",
            "area": personas.ashworth.area_id,
        },
    )
    family = Family.objects.get(name="Quigley")
    rfs = RequestForSupport.objects.get(referrer=personas.sam)
    assert rfs.family == family and response["Location"] == reverse("referrals:people", args=[rfs.pk])
    # The first person is filled in from the search.
    page = client.get(response["Location"]).content.decode()
    assert 'value="Zara"' in page and 'value="2015"' in page
    response = client.post(reverse("referrals:people", args=[rfs.pk]), {"continue": "1"})
    assert errors(response) == ["Add at least one person in the household"]
    response = client.post(
        reverse("referrals:people", args=[rfs.pk]),
        {
            "person-first_name": "Zara",
            "person-last_name": "Quigley",
            **date("person-date_of_birth", dt.date(2015, 2, 2)),
            "person-sex": "F",
            "person-ethnicity": "WBRI",
            "member-role": "child",
            **date("member-start_date", TODAY()),
        },
    )
    assert response.status_code == 302, errors(response)
    assert family.members.count() == 1
    response = client.post(reverse("referrals:people", args=[rfs.pk]), {"continue": "1"})
    assert response["Location"] == reverse("referrals:needs", args=[rfs.pk])
    answer_everything(client, rfs)
    client.post(reverse("referrals:check", args=[rfs.pk]))
    rfs.refresh_from_db()
    assert rfs.status == RequestStatus.NEW and rfs.hub == personas.north


def test_drafts_are_kept_and_resumed(client, personas, draft):
    client.force_login(personas.sam)
    education = OutcomeArea.objects.get(code="education")
    response = client.post(
        reverse("referrals:needs", args=[draft.pk]),
        {"needs": [education.pk], "reasons": "Tyler is often late", "save_later": "1"},
    )
    assert response["Location"] == reverse("referrals:my-requests")
    response = client.post(
        reverse("referrals:source", args=[draft.pk]), {"urgency": "urgent", "save_later": "1"}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.reasons == "Tyler is often late" and draft.urgency == "urgent" and draft.source == ""

    client.logout()
    client.force_login(personas.sam)
    page = client.get(reverse("referrals:my-requests")).content.decode()
    assert "Bennett family" in page
    continue_url = reverse("referrals:source", args=[draft.pk])  # needs answered: the next page
    assert f'href="{continue_url}"' in page
    page = client.get(continue_url).content.decode()
    assert re.search(r'value="urgent" checked', page)
    # "Continue" still requires an answer.
    response = client.post(continue_url, {"urgency": "urgent"})
    assert errors(response) == ["Select where the request comes from"]


def test_consent_no_needs_a_reason_and_explains_the_safeguarding_route(client, personas, draft):
    client.force_login(personas.sam)
    url = reverse("referrals:consent", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "contact children's social care now; do not wait for consent" in page
    response = client.post(url, {"consent_given": "no"})
    assert errors(response) == ["Enter why consent was not sought"]
    assert summary_links(response) == [("id_no_consent_reason", "Enter why consent was not sought")]
    assert re.search(r'value="no"[^>]*checked', response.content.decode())
    # What was typed under "Yes" does not stop a "No".
    response = client.post(
        url,
        {
            "consent_given": "no",
            "no_consent_reason": "Mum would flee",
            **date("consent_on", TODAY() + dt.timedelta(days=3)),
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (
        draft.consent_given is False
        and draft.no_consent_reason == "Mum would flee"
        and draft.consent_on is None
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, ["Select whether the family agreed to this request"]),
        ({"consent_given": "maybe"}, ["Select whether the family agreed to this request"]),
        (
            {"consent_given": "yes"},
            ["Enter who in the family agreed", "Enter the date they agreed", "Select how they agreed"],
        ),
        (
            {
                "consent_given": "yes",
                "consent_by": "Lee",
                "consent_method": "written",
                **date("consent_on", TODAY() + dt.timedelta(days=1)),
            },
            ["Date they agreed must be today or in the past"],
        ),
        (
            {
                "consent_given": "yes",
                "consent_by": "x" * 201,
                "consent_method": "written",
                **date("consent_on", TODAY()),
            },
            ["Who agreed must be 200 characters or fewer"],
        ),
    ],
)
def test_bad_consent_answers_are_shown_at_the_field(client, personas, draft, data, expected):
    client.force_login(personas.sam)
    response = client.post(reverse("referrals:consent", args=[draft.pk]), data)
    assert response.status_code == 200 and errors(response) == expected
    page = response.content.decode()
    assert "<title>Error:" in page
    if "consent_by" in data:
        assert f'value="{data["consent_by"]}"' in page  # nothing lost
    draft.refresh_from_db()
    assert draft.consent_given is None


def test_over_long_text_is_refused_and_kept(client, personas, draft):
    client.force_login(personas.sam)
    long_text = "a" * 8001
    response = client.post(
        reverse("referrals:needs", args=[draft.pk]), {"reasons": long_text, "save_later": "1"}
    )
    assert errors(response) == ["Why the family needs support must be 8000 characters or fewer"]
    assert long_text in response.content.decode()
    response = client.post(reverse("referrals:tried", args=[draft.pk]), {"tried_already": long_text})
    assert errors(response) == ["What has been tried already must be 8000 characters or fewer"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"first_name": "Owen"},
            ["Enter the date of birth of someone in the family, or the family's postcode"],
        ),
        (
            {"first_name": "Owen", **date("date_of_birth", TODAY() + dt.timedelta(days=2))},
            ["Date of birth must be today or in the past"],
        ),
        (
            {"last_name": "Evans", "postcode": "NE61"},
            ["Enter a full postcode, like NE61 1AA, or the first part and the next number, like NE61 1"],
        ),
        (
            {**date("date_of_birth", dt.date(2013, 4, 4))},
            ["Enter a name, or both a date of birth and a postcode"],
        ),
        ({"last_name": "E" * 81, "postcode": "NE46 1AA"}, ["Last name must be 80 characters or fewer"]),
    ],
)
def test_bad_searches_are_shown_at_the_field(client, personas, data, expected):
    client.force_login(personas.sam)
    response = client.post(reverse("referrals:start"), data)
    assert response.status_code == 200 and errors(response) == expected
    for value in data.values():
        assert f'value="{value}"' in response.content.decode()


def test_check_page_shows_the_service_error_at_its_row(client, personas, draft):
    client.force_login(personas.sam)
    education = OutcomeArea.objects.get(code="education")
    services.request_save_draft(
        actor=personas.sam,
        family=None,
        request=draft,
        data={
            "reasons": "Late",
            "source": "2A",
            "consent_given": True,
            "consent_by": "Lee",
            "consent_on": TODAY(),
            "consent_method": "verbal",
            "tried_already": "Talks",
        },
        needs=[education],
    )
    url = reverse("referrals:check", args=[draft.pk])
    page = html.unescape(client.get(url).content.decode())
    assert "Bennett family" in page and "Not answered yet" in page
    assert f'href="{reverse("referrals:source", args=[draft.pk])}?return=check"' in page
    response = client.post(url)
    assert response.status_code == 200
    assert summary_links(response) == [("row-urgency", "Select how urgent the request is")]
    assert errors(response) == ["Select how urgent the request is"]
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT and draft.reasons == "Late"
    # "Change" comes back to the check page.
    response = client.post(
        reverse("referrals:source", args=[draft.pk]) + "?return=check", {"source": "2A", "urgency": "urgent"}
    )
    assert response["Location"] == url


def _sent(personas, family=None):
    rfs = services.request_save_draft(
        actor=personas.sam,
        family=family or personas.bennett,
        data={
            "source": "2A",
            "urgency": "routine",
            "reasons": "Late",
            "tried_already": "Talks",
            "consent_given": True,
            "consent_by": "Lee",
            "consent_on": TODAY(),
            "consent_method": "verbal",
        },
        needs=[OutcomeArea.objects.get(code="education")],
    )
    return services.request_submit(actor=personas.sam, request=rfs)


def _decide(personas, rfs):
    return services.triage_decide(
        actor=personas.chris if rfs.hub_id == personas.north.pk else personas.morgan,
        request=rfs,
        outcome=TriageOutcome.SINGLE_AGENCY,
        rationale="Secret rationale about the family",
        decided_on=TODAY(),
        expected_version=None,
        agency=personas.health_visiting,
        signposting="The school nurse will call you this week",
    )


def test_my_requests_shows_the_decision(client, personas):
    rfs = _sent(personas)
    client.force_login(personas.sam)
    page = client.get(reverse("referrals:my-requests")).content.decode()
    assert "Not decided yet" in page and "Bennett family" in page
    _decide(personas, rfs)
    for url in [reverse("referrals:my-requests"), reverse("referrals:my-request", args=[rfs.pk])]:
        page = html.unescape(client.get(url).content.decode())
        assert "Single-agency support" in page
        assert "North Health Visiting Team" in page
        assert "The school nurse will call you this week" in page
        assert "Secret rationale" not in page


@pytest.mark.parametrize("persona", ["hana", "chris", "alex", "morgan", "quinn", "ola", "admin"])
def test_only_the_referrer_sees_their_request(client, personas, persona):
    rfs = _sent(personas)
    client.force_login(getattr(personas, persona))
    assert client.get(reverse("referrals:my-request", args=[rfs.pk])).status_code == 404
    assert client.get(reverse("referrals:check", args=[rfs.pk])).status_code == 404


@pytest.mark.parametrize(
    ("persona", "status"), [("sam", 200), ("chris", 200), ("alex", 404), ("morgan", 404), ("admin", 404)]
)
def test_who_may_start_a_request(client, personas, persona, status):
    client.force_login(getattr(personas, persona))
    assert client.get(reverse("referrals:start")).status_code == status
    assert client.get(reverse("referrals:my-requests")).status_code == status


def test_my_requests_costs_the_same_for_1_and_many_requests(client, personas):
    """Queries: session, user, memberships, their hubs, drafts, the drafts' needs, count of sent requests,
    the page of sent requests, their current decisions (with agency and worker), which families the user
    may see: none of them per row."""
    client.force_login(personas.sam)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("referrals:my-requests")).status_code == 200
        return len(queries)

    _decide(personas, _sent(personas))
    services.request_save_draft(actor=personas.sam, family=personas.ashworth, data={})
    one = count()
    for _ in range(4):
        _decide(personas, _sent(personas, family=personas.ashworth))
        _sent(personas, family=personas.evans)
        services.request_save_draft(actor=personas.sam, family=personas.evans, data={})
    assert count() == one


def test_decision_email_is_sent_once_without_family_details(personas, mailoutbox):
    rfs = _sent(personas, family=personas.evans)
    decision = _decide(personas, rfs)
    assert send_decision_to_referrer(decision.pk) is True
    assert send_decision_to_referrer(decision.pk) is False  # a retry or a duplicate sends nothing
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["sam.practitioner@example.org"]
    assert "Single-agency support" in mail.body and "North Health Visiting Team" in mail.body
    assert "The school nurse will call you this week" in mail.body
    for secret in ["Evans", "Owen", "Rhian", "Secret rationale", "F-DEMOEVA"]:
        assert secret not in mail.body and secret not in mail.subject
    assert AuditEvent.objects.filter(object_id=str(decision.pk), summary=DECISION_EMAILED).count() == 1


def test_decision_email_is_queued_after_commit(personas, mailoutbox, django_capture_on_commit_callbacks):
    decision = _decide(personas, _sent(personas))
    conf = send_decision_to_referrer.app.conf
    eager = conf.task_always_eager
    conf.task_always_eager = True  # run .delay in-process: no broker in this test
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            decision_notify_referrer(decision=decision)
            assert mailoutbox == []  # nothing before the commit
        assert len(callbacks) == 1 and len(mailoutbox) == 1
    finally:
        conf.task_always_eager = eager
