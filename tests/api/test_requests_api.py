"""The requests and triage API: who sees what, submission rules, decisions and their races."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from hubs import services
from hubs.models import RequestForSupport
from pathway.models import OutcomeArea

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate().isoformat()


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def payload(family, **overrides):
    return {
        "family": family.pk,
        "source": "2A",
        "urgency": "routine",
        "reasons": "Attendance at 70%",
        "needs": ["education"],
        "consent_given": True,
        "consent_by": "Lee Bennett",
        "consent_on": TODAY,
        "consent_method": "written",
        **overrides,
    }


def test_referrer_sends_and_the_hub_decides(personas):
    response = api(personas.sam).post("/api/requests/", payload(personas.bennett), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (
        body["status"] == "new" and body["hub"] == personas.north.pk and body["family"] == personas.bennett.pk
    )
    decide = {
        "outcome": "signposting",
        "rationale": "Universal offer fits",
        "signposting": "Family hub drop-in",
        "decided_on": TODAY,
        "version": body["version"],
    }
    assert (
        api(personas.sam).post(f"/api/requests/{body['id']}/decide/", decide, format="json").status_code
        == 403
    )
    assert (
        api(personas.ola).post(f"/api/requests/{body['id']}/decide/", decide, format="json").status_code
        == 404
    )
    response = api(personas.chris).post(f"/api/requests/{body['id']}/decide/", decide, format="json")
    assert response.status_code == 201, response.json()
    # The same version again (a second tab): 409 with the service's message.
    again = api(personas.chris).post(f"/api/requests/{body['id']}/decide/", decide, format="json")
    assert again.status_code == 409
    mine = api(personas.sam).get(f"/api/requests/{body['id']}/").json()
    assert mine["decisions"][0]["outcome"] == "signposting"
    assert mine["decisions"][0]["signposting"] == "Family hub drop-in"


def test_missing_consent_answer_is_a_400_at_the_field(personas):
    response = api(personas.sam).post(
        "/api/requests/", payload(personas.bennett, consent_given=None), format="json"
    )
    assert response.status_code == 400 and "consent_given" in response.json()
    response = api(personas.sam).post(
        "/api/requests/", payload(personas.bennett, consent_on="2999-01-01"), format="json"
    )
    assert response.status_code == 400
    assert response.json()["consent_on"] == ["Date they agreed must be today or in the past"]
    assert not RequestForSupport.objects.exclude(status="draft").exists()


def test_referrer_of_a_hidden_family_gets_the_outcome_not_the_reasoning(personas):
    draft = services.request_save_draft(
        actor=personas.sam,
        family=personas.evans,
        needs=[OutcomeArea.objects.get(code="health")],
        data={
            "source": "2A",
            "urgency": "routine",
            "reasons": "Concerns",
            "consent_given": False,
            "no_consent_reason": "Mother not reachable",
        },
    )
    sent = services.request_submit(actor=personas.sam, request=draft)
    services.triage_decide(
        actor=personas.admin,
        request=sent,
        outcome="early_help",
        rationale="Mum disclosed DV",
        decided_on=timezone.localdate(),
        allocated_to=personas.ola,
        expected_version=sent.version,
    )
    body = api(personas.sam).get(f"/api/requests/{sent.pk}/").json()
    assert body["family"] is None
    decision = body["decisions"][0]
    assert decision["outcome"] == "early_help" and decision["allocated_to_name"] == "Ola Nowak"
    assert decision["rationale"] == "" and decision["episode"] is None
    assert "DV" not in str(body)


@pytest.mark.parametrize("count", [1, 20])
def test_request_list_query_count_is_flat(personas, django_assert_max_num_queries, count):
    for _ in range(count):
        draft = services.request_save_draft(
            actor=personas.sam,
            family=personas.bennett,
            needs=[OutcomeArea.objects.get(code="health")],
            data={
                "source": "2A",
                "urgency": "routine",
                "reasons": "x",
                "consent_given": False,
                "no_consent_reason": "y",
            },
        )
        services.request_submit(actor=personas.sam, request=draft)
    client = api(personas.chris)
    # user roles (2), count, page, needs, decisions (with workers), visible families of the page
    with django_assert_max_num_queries(8):
        response = client.get("/api/requests/")
    assert response.json()["count"] == count
