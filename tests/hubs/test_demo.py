"""The demo county gives every hub a realistic queue."""

import pytest
from django.core.management import call_command

from hubs.demo import seed_requests
from hubs.models import Hub, RequestForSupport, TriageDecision, TriageOutcome
from hubs.permissions import requests_visible_to

pytestmark = pytest.mark.django_db


def test_every_hub_has_requests_in_every_state_and_every_outcome():
    call_command("seed_demo", verbosity=0)
    for hub in Hub.objects.all():
        statuses = set(RequestForSupport.objects.filter(hub=hub).values_list("status", flat=True))
        assert statuses == {"new", "awaiting", "decided"}, hub
        outcomes = set(TriageDecision.objects.filter(request__hub=hub).values_list("outcome", flat=True))
        assert outcomes == set(TriageOutcome.values), hub
    assert RequestForSupport.objects.filter(status="draft").count() == Hub.objects.count()
    from ehcase.models import User

    chris = User.objects.get(username="chris.coordinator")
    queue = requests_visible_to(user=chris).filter(hub__name="North hub").exclude(status="decided")
    assert queue.count() == 4
    assert seed_requests() == 0  # a second run writes nothing
