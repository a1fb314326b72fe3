"""A coordinator of another hub gets 404 on this hub's queue, meetings and requests, pages and API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from ehcase.models import Membership, Role
from hubs import services
from pathway.models import OutcomeArea
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_coordinator_of_another_hub_sees_nothing_of_this_one(client, personas):
    south = UserFactory(username="sol.southcoordinator")
    Membership.objects.create(user=south, agency=personas.council, role=Role.HUB_COORDINATOR).hubs.add(
        personas.south
    )
    draft = services.request_save_draft(
        actor=personas.sam,
        family=personas.bennett,
        needs=[OutcomeArea.objects.get(code="health")],
        data={
            "source": "2A",
            "urgency": "routine",
            "reasons": "Concerns",
            "consent_given": False,
            "no_consent_reason": "Not reachable",
        },
    )
    sent = services.request_submit(actor=personas.sam, request=draft)
    client.force_login(south)
    for url in (
        reverse("hubs:queue", args=[personas.north.pk]),
        reverse("hubs:meeting-list", args=[personas.north.pk]),
        reverse("hubs:request-detail", args=[sent.pk]),
        reverse("hubs:request-decide", args=[sent.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("hubs:queue", args=[personas.south.pk])).status_code == 200
    api = APIClient()
    api.force_authenticate(south)
    assert api.get(f"/api/requests/{sent.pk}/").status_code == 404
    assert api.get("/api/requests/").json()["count"] == 0
