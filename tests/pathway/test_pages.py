"""Pathway pages through the test client: the journey, bad input at the field, races, query budgets."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments.models import PlanAction
from ehcase.permissions import grant_family_access
from pathway import services
from pathway.models import ChronologyEntry, Episode, EpisodeStatus, OutcomeArea, TafMember
from tests.factories import EpisodeFactory, FamilyFactory, complete_assessment

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


def date(prefix: str, value: dt.date) -> dict:
    return {f"{prefix}_day": value.day, f"{prefix}_month": value.month, f"{prefix}_year": value.year}


def test_journey_through_the_pages(client, personas):
    client.force_login(personas.sam)
    family = personas.ashworth
    response = client.post(
        reverse("pathway:episode-start", args=[family.pk]),
        {
            "consent_given_by": "Kerry Ashworth",
            "level": 3,
            **date("consent_on", TODAY() - dt.timedelta(days=20)),
        },
    )
    episode = Episode.objects.get(family=family)
    assert response.status_code == 302 and episode.status == EpisodeStatus.ASSESSMENT

    response = client.post(
        reverse("pathway:taf-add", args=[episode.pk]),
        {
            "kind": "worker",
            "user": personas.hana.pk,
            "role": "Health visitor",
            **date("joined_on", TODAY()),
        },
    )
    assert response.status_code == 302
    complete_assessment(actor=personas.sam, episode=episode)

    when = timezone.localtime() - dt.timedelta(days=10)
    response = client.post(
        reverse("pathway:meeting-new", args=[episode.pk]),
        {
            **date("date", when.date()),
            "time": "10:00",
            "location": "Riverside Primary School",
            "already_held": "yes",
            "invited": list(episode.taf_members.values_list("pk", flat=True)),
        },
    )
    meeting = episode.meetings.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/meetings/{meeting.pk}/record/")
    record = {f"attendance_{m.pk}": "attended" for m in episode.taf_members.all()}
    response = client.post(
        reverse("pathway:meeting-record", args=[meeting.pk]),
        {
            **record,
            "decisions": "Sam leads; Hana visits weekly",
            "lead": personas.sam.pk,
            "family_view": "Kerry asked for Sam",
            "version": meeting.version,
        },
    )
    assert response.status_code == 302, errors(response)
    episode.refresh_from_db()
    assert episode.status == EpisodeStatus.PLAN_ACTIVE and episode.lead_professional == personas.sam

    area = OutcomeArea.objects.get(code="education")
    response = client.post(
        reverse("pathway:baseline", args=[episode.pk]),
        {**date("held_on", TODAY() - dt.timedelta(days=15)), "education": "3", "health": "6"},
    )
    assert response.status_code == 302, errors(response)
    response = client.post(
        reverse("pathway:review-new", args=[episode.pk]),
        {
            **date("held_on", TODAY()),
            "education": "7",
            "health": "6",
            "decision": "continue",
            "summary": "Attendance up to 95%",
        },
    )
    assert response.status_code == 302, errors(response)
    page = client.get(reverse("pathway:episode-detail", args=[episode.pk])).content.decode()
    assert "<svg" in page and "Distance travelled from the baseline" in page
    assert re.search(rf"<th scope=\"row\" class=\"govuk-table__header\">{area.name}</th>.*?\+4", page, re.S)

    client.post(
        reverse("pathway:need-add", args=[episode.pk]), {"area": area.pk, "description": "Attendance"}
    )
    need = episode.needs.get()
    response = client.post(
        reverse("pathway:episode-close", args=[episode.pk]),
        {
            "reason": "outcomes_achieved",
            **date("closed_on", TODAY()),
            f"need_{need.pk}": "met",
            "version": Episode.objects.get(pk=episode.pk).version,
        },
    )
    assert response.status_code == 302, errors(response)
    episode.refresh_from_db()
    assert episode.status == EpisodeStatus.CLOSED
    # Read-only now: the change pages are gone.
    assert client.get(reverse("pathway:review-new", args=[episode.pk])).status_code == 404


def test_closing_without_an_outcome_per_need_keeps_what_was_typed(client, personas, active, areas):
    need = services.need_add(actor=personas.sam, episode=active, area=areas[0], description="Attendance")
    client.force_login(personas.sam)
    response = client.post(
        reverse("pathway:episode-close", args=[active.pk]),
        {
            "reason": "other",
            "note": "Family moving to Wales",
            **date("closed_on", TODAY()),
            "version": active.version,
        },
    )
    assert response.status_code == 200
    assert "Select the outcome for ‘Attendance’" in errors(response)
    assert "Family moving to Wales" in response.content.decode()
    assert Episode.objects.get(pk=active.pk).is_open and need.outcome == ""


def test_two_people_closing_at_once_in_two_tabs(personas, active):
    sam, chris = Client(), Client()
    sam.force_login(personas.sam)
    chris.force_login(personas.chris)
    form = {"reason": "outcomes_achieved", **date("closed_on", TODAY()), "version": active.version}
    assert sam.post(reverse("pathway:episode-close", args=[active.pk]), form).status_code == 302
    response = chris.post(
        reverse("pathway:episode-close", args=[active.pk]), {**form, "reason": "moved_away"}
    )
    # Chris's page is gone (closed episodes are read-only) rather than silently re-closed.
    assert response.status_code == 404
    assert Episode.objects.get(pk=active.pk).closure_reason == "outcomes_achieved"


def test_stale_close_form_is_refused_with_a_message(personas, active):
    client = Client()
    client.force_login(personas.chris)
    stale = active.version
    services.episode_change_level(
        actor=personas.sam, episode=active, level=active.level, changed_on=TODAY(), reason="Reviewed"
    )
    response = client.post(
        reverse("pathway:episode-close", args=[active.pk]),
        {
            "reason": "moved_away",
            **date("closed_on", TODAY()),
            "version": stale,
        },
    )
    assert "Someone else changed this episode after you opened the page" in response.content.decode()
    assert Episode.objects.get(pk=active.pk).is_open


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        (
            "pathway:episode-step-up",
            {"reason": "", "social_care_reference": ""},
            "Enter the reason for stepping up",
        ),
        (
            "pathway:review-new",
            {"education": "11", "decision": "continue", "summary": "x"},
            "Score for getting a good education must be a whole number from 0 to 10",
        ),
        (
            "pathway:review-new",
            {"decision": "continue", "summary": "x", "education": "4", "held_on_year": "2020"},
            "Date of the review must be on or after the assessment",
        ),
        (
            "pathway:meeting-new",
            {"time": "10:00", "location": "School", "already_held": "no", "date_year": "2025"},
            "Date of the meeting must be in the future",
        ),
    ],
)
def test_bad_input_is_explained_at_the_field(client, personas, active, url, data, message):
    client.force_login(personas.sam)
    form = {
        **date("held_on", TODAY()),
        **date("stepped_up_on", TODAY()),
        **date("date", TODAY()),
        "version": active.version,
        **data,
    }
    response = client.post(reverse(url, args=[active.pk]), form)
    assert response.status_code == 200
    assert any(e.startswith(message) for e in errors(response)), errors(response)
    active.refresh_from_db()
    assert active.is_open and not active.reviews.filter(is_baseline=False).exists()


# --- query budgets ------------------------------------------------------------------------------


def _count(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), "\n".join(q["sql"] for q in ctx.captured_queries)


@pytest.mark.parametrize("entries", [1, 50])
def test_chronology_query_count_is_flat(client, personas, entries):
    for i in range(entries):
        services.case_note_add(
            actor=personas.sam,
            family=personas.ashworth,
            occurred_on=TODAY(),
            title=f"Note {i}",
            detail="Phoned Kerry",
        )
    client.force_login(personas.sam)
    count, sql = _count(client, reverse("pathway:chronology", args=[personas.ashworth.pk]))
    # session, user, the session's two-factor device (django-otp), memberships, hubs, family via access
    # layer (with whether Sam may change it, for adding case notes), audit insert, count, unread
    # notifications (header), page of entries with authors. The session, refreshed under a minute ago,
    # is not saved.
    assert count == 10, sql
    assert ChronologyEntry.objects.filter(family=personas.ashworth).count() == entries


@pytest.mark.parametrize("families", [1, 50])
def test_my_work_query_count_is_flat(client, personas, level3, families):
    for _ in range(families):
        family = FamilyFactory(area=personas.ashworth.area)
        grant_family_access(user=personas.sam, family=family, change=True)
        episode = EpisodeFactory(
            family=family, lead_professional=personas.sam, status="plan_active", next_review_due=TODAY()
        )
        TafMember.objects.create(episode=episode, user=personas.sam, joined_on=TODAY())
        PlanAction.objects.create(
            episode=episode,
            description="Visit",
            owner_user=personas.sam,
            due_on=TODAY() - dt.timedelta(days=1),
            created_by=personas.sam,
        )
        services.meeting_schedule(
            actor=personas.sam,
            episode=episode,
            starts_at=timezone.now() + dt.timedelta(days=2),
            location="School",
            online=False,
            invited=[],
        )
    client.force_login(personas.sam)
    count, sql = _count(client, reverse("pathway:my-work"))
    # session, user, the session's two-factor device (django-otp), memberships, hubs, episodes (led or
    # in the team, visible), next meetings, overdue actions, unread notifications (header). The session,
    # refreshed under a minute ago, is not saved.
    assert count == 9, sql


# --- the family plan's actions ------------------------------------------------------------------


def test_actions_are_added_by_the_lead_and_updated_by_their_owner(client, personas, active):
    from assessments.models import PlanAction

    services.taf_add_worker(
        actor=personas.sam, episode=active, user=personas.hana, role="Health visitor", joined_on=TODAY()
    )
    client.force_login(personas.sam)
    url = reverse("assessments:action-add", args=[active.pk])
    response = client.post(
        url,
        {
            "description": "Home visit",
            "owner": f"user:{personas.hana.pk}",
            **date("due_on", active.opened_on - dt.timedelta(days=1)),
        },
    )
    assert "Due date must be today or in the future" in errors(response)
    assert 'value="Home visit"' in response.content.decode()
    response = client.post(
        url,
        {
            "description": "Home visit",
            "owner": f"user:{personas.hana.pk}",
            **date("due_on", TODAY() + dt.timedelta(days=7)),
        },
    )
    assert response.status_code == 302
    action = PlanAction.objects.get(description="Home visit")
    # Hana (TAF member, read-only on the family) updates her own action...
    hana = Client()
    hana.force_login(personas.hana)
    response = hana.post(
        reverse("assessments:action-update", args=[action.pk]), {"status": "done", "version": action.version}
    )
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done"
    # ...but cannot add actions, and Alex (manager, read-only) cannot update hers.
    assert hana.get(url).status_code == 403
    alex = Client()
    alex.force_login(personas.alex)
    assert (
        alex.post(
            reverse("assessments:action-update", args=[action.pk]), {"status": "in_progress"}
        ).status_code
        == 403
    )


def test_overdue_actions_appear_in_my_work(client, personas, active):
    from assessments.models import PlanAction

    PlanAction.objects.create(
        episode=active,
        description="Call the school nurse",
        owner_user=personas.sam,
        due_on=TODAY() - dt.timedelta(days=2),
        created_by=personas.sam,
    )
    PlanAction.objects.create(
        episode=active,
        description="Finished task",
        owner_user=personas.sam,
        due_on=TODAY() - dt.timedelta(days=2),
        created_by=personas.sam,
        status="done",
    )
    client.force_login(personas.sam)
    body = client.get(reverse("pathway:my-work")).content.decode()
    assert "Call the school nurse" in body and "Finished task" not in body
