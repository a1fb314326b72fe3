"""Requests for support and triage: the rules of the front door."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from ehcase.permissions import family_for_user
from hubs import services
from hubs.models import RequestStatus, TriageDecision
from hubs.permissions import can_decide, request_for_user, requests_visible_to
from hubs.services import RequestChangedError, RequestError, triage_due_on, working_days_between
from pathway.models import ChronologyEntry, Episode, OutcomeArea

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def complete(**overrides) -> dict:
    return {
        "source": "2A",
        "urgency": "routine",
        "reasons": "Attendance has dropped to 70%",
        "tried_already": "Meetings with mum",
        "consent_given": True,
        "consent_by": "Kerry Ashworth",
        "consent_on": TODAY(),
        "consent_method": "verbal",
        **overrides,
    }


@pytest.fixture
def sent(personas):
    request = services.request_save_draft(
        actor=personas.sam,
        family=personas.bennett,
        data=complete(),
        needs=[OutcomeArea.objects.get(code="education")],
    )
    return services.request_submit(actor=personas.sam, request=request)


def test_working_days_skip_weekends():
    friday = dt.date(2026, 11, 20)
    assert working_days_between(friday, dt.date(2026, 11, 23)) == 1  # Monday
    assert working_days_between(friday, dt.date(2026, 11, 27)) == 5
    assert triage_due_on(friday, 5) == dt.date(2026, 11, 27)


def test_submitting_sends_to_the_family_hub_and_starts_the_clock(personas, sent):
    assert sent.status == RequestStatus.NEW and sent.hub == personas.north and sent.received_on == TODAY()
    assert ChronologyEntry.objects.filter(family=personas.bennett, kind="request").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"consent_given": None}, "consent_given", "Select whether the family agreed to this request"),
        (
            {"consent_on": TODAY() + dt.timedelta(days=1)},
            "consent_on",
            "Date they agreed must be today or in the past",
        ),
        (
            {"consent_given": False, "no_consent_reason": ""},
            "no_consent_reason",
            "Enter why consent was not sought",
        ),
        ({"reasons": " "}, "reasons", "Enter why the family needs support"),
    ],
)
def test_incomplete_requests_are_refused_and_kept_as_drafts(personas, overrides, field, message):
    draft = services.request_save_draft(
        actor=personas.sam,
        family=personas.bennett,
        data=complete(**overrides),
        needs=[OutcomeArea.objects.get(code="education")],
    )
    with pytest.raises(RequestError) as raised:
        services.request_submit(actor=personas.sam, request=draft)
    assert (raised.value.field, raised.value.message) == (field, message)
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT and draft.reasons == complete(**overrides)["reasons"]


def test_referrer_sees_own_request_coordinator_sees_hub_queue_others_404(personas, sent):
    assert request_for_user(user=personas.sam, request_id=sent.pk) == sent
    assert request_for_user(user=personas.chris, request_id=sent.pk) == sent
    assert can_decide(user=personas.chris, request=sent) and not can_decide(user=personas.sam, request=sent)
    for outsider in (personas.ola, personas.hana, personas.admin):
        with pytest.raises(Http404):
            request_for_user(user=outsider, request_id=sent.pk)
    assert not requests_visible_to(user=personas.ola).exists()


def test_deciding_to_open_early_help_allocates_the_worker(personas, sent):
    with pytest.raises(Http404):
        family_for_user(user=personas.ola, family_id=personas.bennett.pk)
    decision = services.triage_decide(
        actor=personas.chris,
        request=sent,
        outcome="early_help",
        rationale="Multiple needs",
        decided_on=TODAY(),
        allocated_to=personas.ola,
        expected_version=sent.version,
    )
    assert decision.episode.assessor == personas.ola and decision.episode.source == "triage"
    assert family_for_user(user=personas.ola, family_id=personas.bennett.pk)
    sent.refresh_from_db()
    assert sent.status == RequestStatus.DECIDED


def test_a_decision_needs_a_rationale(personas, sent):
    with pytest.raises(RequestError, match="Enter the reasons for the decision"):
        services.triage_decide(
            actor=personas.chris,
            request=sent,
            outcome="nfa",
            rationale="",
            decided_on=TODAY(),
            expected_version=sent.version,
        )


def test_deciding_twice_in_two_tabs_is_refused(personas, sent):
    version = sent.version
    services.triage_decide(
        actor=personas.chris,
        request=sent,
        outcome="nfa",
        rationale="Needs met by school",
        decided_on=TODAY(),
        expected_version=version,
    )
    with pytest.raises(RequestChangedError):
        services.triage_decide(
            actor=personas.chris,
            request=sent,
            outcome="signposting",
            rationale="x",
            signposting="Family hub leaflet",
            decided_on=TODAY(),
            expected_version=version,
        )
    assert TriageDecision.objects.filter(request=sent).count() == 1


def test_changing_a_decision_is_a_new_decision(personas, sent):
    first = services.triage_decide(
        actor=personas.chris,
        request=sent,
        outcome="nfa",
        rationale="x",
        decided_on=TODAY(),
        expected_version=sent.version,
    )
    sent.refresh_from_db()
    with pytest.raises(RequestError, match="already been decided"):
        services.triage_decide(
            actor=personas.chris,
            request=sent,
            outcome="nfa",
            rationale="y",
            decided_on=TODAY(),
            expected_version=sent.version,
        )
    second = services.triage_decide(
        actor=personas.chris,
        request=sent,
        outcome="single_agency",
        rationale="School nurse can help",
        agency=personas.health_visiting,
        decided_on=TODAY(),
        expected_version=sent.version,
        change_decision=True,
    )
    assert second.supersedes == first
    assert not Episode.objects.filter(family=personas.bennett).exists()


def test_re_referral_within_12_months_is_flagged(personas, level3_episode_closed):
    request = services.request_save_draft(
        actor=personas.sam,
        family=personas.ashworth,
        data=complete(),
        needs=[OutcomeArea.objects.get(code="health")],
    )
    assert services.request_submit(actor=personas.sam, request=request).is_re_referral


@pytest.fixture
def level3_episode_closed(personas):
    from tests.factories import EpisodeFactory

    return EpisodeFactory(
        family=personas.ashworth,
        status="closed",
        opened_on=TODAY() - dt.timedelta(days=200),
        closed_on=TODAY() - dt.timedelta(days=30),
    )
