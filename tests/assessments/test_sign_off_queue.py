"""The queue of completed assessments awaiting a manager's sign-off (assessments:sign-off-queue)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments.models import Assessment, AssessmentStatus
from ehcase.permissions import grant_family_access
from pathway.models import Episode, LevelOfNeed
from tests.factories import FamilyFactory, complete_assessment

URL = reverse("assessments:sign-off-queue")


def episode_for(family, assessor) -> Episode:
    return Episode.objects.create(
        family=family,
        level=LevelOfNeed.objects.get(code="3"),
        opened_on=timezone.localdate() - dt.timedelta(days=40),
        assessor=assessor,
    )


def completed(family, assessor, *, days_ago: int) -> Assessment:
    assessment = complete_assessment(actor=assessor, episode=episode_for(family, assessor))
    Assessment.objects.filter(pk=assessment.pk).update(
        completed_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return assessment


@pytest.fixture
def queue(personas):
    """Sam's (Riverside) Ashworth assessment completed 3 days ago; Hana's (health visiting) Carter one
    completed 9 days ago; Morgan's own Bennett one; and a draft of Sam's for Dixon."""
    sams = completed(personas.ashworth, personas.sam, days_ago=3)
    hanas = completed(personas.carter, personas.hana, days_ago=9)
    morgans = completed(personas.bennett, personas.morgan, days_ago=5)
    draft = complete_assessment(actor=personas.sam, episode=episode_for(personas.dixon, personas.sam))
    Assessment.objects.filter(pk=draft.pk).update(status=AssessmentStatus.DRAFT, completed_at=None)
    return {"sam": sams, "hana": hanas, "morgan": morgans, "draft": draft}


def listed(client, user) -> list[int]:
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    return [a.pk for a in response.context["page"]]


def test_an_agency_manager_sees_his_practitioners_completed_assessments(client, personas, queue):
    assert listed(client, personas.alex) == [queue["sam"].pk]


def test_an_early_help_manager_sees_every_one_but_their_own_oldest_first(client, personas, queue):
    assert listed(client, personas.morgan) == [queue["hana"].pk, queue["sam"].pk]


def test_the_page_says_how_long_each_has_waited_and_links_to_it(client, personas, queue):
    client.force_login(personas.morgan)
    body = client.get(URL).content.decode()
    assert "2 completed assessments you can sign off or return" in body
    assert f'href="{reverse("assessments:assessment-detail", args=[queue["sam"].pk])}"' in body
    assert '<td class="govuk-table__cell govuk-table__cell--numeric">9</td>' in body
    assert "Sign-off</a>" in body  # the header link


@pytest.mark.parametrize("username", ["sam", "hana", "chris", "quinn", "ola", "admin"])
def test_everyone_else_gets_404(client, personas, queue, username):
    client.force_login(getattr(personas, username))
    response = client.get(URL)
    assert response.status_code == 404
    assert b"Sign-off</a>" not in client.get(reverse("home")).content


def test_nothing_waiting_says_so(client, personas):
    client.force_login(personas.alex)
    assert "No completed assessments are waiting for your sign-off." in client.get(URL).content.decode()


def test_the_queue_costs_the_same_queries_however_long_it_is(client, personas, queue):
    client.force_login(personas.alex)
    client.get(URL)
    with CaptureQueriesContext(connection) as short:
        client.get(URL)
    for name in ("Fenwick", "Gray", "Hollis"):
        family = FamilyFactory(name=name, area=personas.ashworth.area, hub=personas.ashworth.hub)
        grant_family_access(user=personas.sam, family=family)
        completed(family, personas.sam, days_ago=1)
    with CaptureQueriesContext(connection) as longer:
        response = client.get(URL)
    assert len(response.context["page"]) == 4
    assert len(longer) == len(short)
