"""The pathway's rules: every legal and illegal transition, TAF access, and the bad inputs of the issue."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from ehcase.models import AuditEvent
from ehcase.permissions import family_for_user
from pathway import services
from pathway.models import (
    ChronologyEntry,
    Episode,
    EpisodeStatus,
    EpisodeTransition,
    IdentifiedNeed,
    LeadProfessional,
    LevelOfNeed,
)
from pathway.services import TRANSITIONS, PathwayError

from .conftest import hold_first_meeting

pytestmark = pytest.mark.django_db
S = EpisodeStatus
TODAY = timezone.localdate


def test_transition_table_is_the_designed_pathway():
    assert TRANSITIONS == {
        S.OPEN: {S.ASSESSMENT, S.CLOSED},
        S.ASSESSMENT: {S.PLAN_ACTIVE, S.CLOSED},
        S.PLAN_ACTIVE: {S.REVIEWING, S.CLOSED},
        S.REVIEWING: {S.CLOSED},
        S.CLOSED: set(),
    }


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_transition_is_allowed_or_refused_with_a_message(personas, level3, source, target):
    episode = Episode.objects.create(
        family=personas.dixon, level=level3, opened_on=dt.date(2026, 1, 5), status=source
    )
    if target in TRANSITIONS[source]:
        services._transition(actor=personas.chris, episode=episode, to=target, reason="test")
        episode.refresh_from_db()
        assert episode.status == target
        assert EpisodeTransition.objects.filter(
            episode=episode, from_status=source, to_status=target, by=personas.chris
        ).exists()
    else:
        with pytest.raises(PathwayError) as raised:
            services._transition(actor=personas.chris, episode=episode, to=target, reason="test")
        assert raised.value.message.startswith(("An episode cannot go from", "This episode is closed"))
        episode.refresh_from_db()
        assert episode.status == source


def test_start_directly_makes_the_practitioner_assessor_with_history(personas, started):
    assert started.status == S.ASSESSMENT and started.source == "direct"
    assert started.assessor == personas.sam
    assert list(started.transitions.values_list("from_status", "to_status")) == [
        ("", "open"),
        ("open", "assessment"),
    ]
    assert started.level_changes.count() == 1
    assert started.taf_members.filter(user=personas.sam).exists()
    assert ChronologyEntry.objects.filter(family=personas.ashworth, kind="transition").count() >= 2


def test_one_open_episode_per_family(personas, started, level3):
    with pytest.raises(PathwayError, match="already has an open episode"):
        services.episode_open(
            actor=personas.chris,
            family=personas.ashworth,
            source="triage",
            level=level3,
            opened_on=TODAY(),
            reason="second",
        )


def test_first_meeting_agrees_lead_and_activates_the_plan(personas, started):
    hold_first_meeting(personas, started)
    started.refresh_from_db()
    assert started.status == S.PLAN_ACTIVE and started.lead_professional == personas.sam
    lead = LeadProfessional.objects.get(episode=started)
    assert lead.family_view == "Kerry chose Sam" and lead.agreed_at is not None
    assert started.next_review_due is not None


def test_first_meeting_without_a_lead_is_refused(personas, started):
    meeting = services.meeting_schedule(
        actor=personas.sam,
        episode=started,
        starts_at=timezone.now() - dt.timedelta(days=1),
        location="School",
        online=False,
        invited=[],
        already_held=True,
    )
    with pytest.raises(PathwayError, match="Select the lead professional") as raised:
        services.meeting_record(actor=personas.sam, meeting=meeting, attendance={}, decisions="x")
    assert raised.value.field == "lead"


def test_meeting_in_the_past_cannot_be_left_scheduled(personas, started):
    with pytest.raises(PathwayError, match="must be in the future") as raised:
        services.meeting_schedule(
            actor=personas.sam,
            episode=started,
            starts_at=timezone.now() - dt.timedelta(hours=1),
            location="School",
            online=False,
            invited=[],
        )
    assert raised.value.field == "starts_at"


def test_review_before_the_assessment_is_refused(personas, active, areas):
    with pytest.raises(PathwayError, match="on or after the assessment") as raised:
        services.review_record(
            actor=personas.sam,
            episode=active,
            held_on=TODAY() - dt.timedelta(days=26),
            scores={areas[0]: 5},
            decision="continue",
            summary="x",
        )
    assert raised.value.field == "held_on"


def test_review_needs_a_baseline(personas, started, areas):
    hold_first_meeting(personas, started)
    with pytest.raises(PathwayError, match="Record the baseline"):
        services.review_record(
            actor=personas.sam,
            episode=started,
            held_on=TODAY(),
            scores={areas[0]: 5},
            decision="continue",
            summary="x",
        )


def test_scores_outside_0_to_10_are_refused(personas, active, areas):
    with pytest.raises(PathwayError, match="from 0 to 10"):
        services.review_record(
            actor=personas.sam,
            episode=active,
            held_on=TODAY(),
            scores={areas[0]: 11},
            decision="continue",
            summary="x",
        )


def test_first_review_moves_to_reviewing_and_sets_next_due(personas, active, areas):
    services.review_record(
        actor=personas.sam,
        episode=active,
        held_on=TODAY(),
        scores={areas[0]: 6},
        decision="continue",
        summary="Going well",
    )
    active.refresh_from_db()
    assert active.status == S.REVIEWING
    assert active.next_review_due == TODAY() + services.review_interval()


def test_step_up_needs_a_reason_and_closes_as_stepped_up(personas, active):
    with pytest.raises(PathwayError, match="Enter the reason") as raised:
        services.episode_step_up(
            actor=personas.sam, episode=active, reason=" ", stepped_up_on=TODAY(), social_care_reference="SC1"
        )
    assert raised.value.field == "reason"
    IdentifiedNeed.objects.create(episode=active, area_id=1, description="Attendance")
    services.episode_step_up(
        actor=personas.sam,
        episode=active,
        reason="Disclosure of harm",
        stepped_up_on=TODAY(),
        social_care_reference="SC-123",
    )
    active.refresh_from_db()
    assert active.status == S.CLOSED and active.stepped_up and active.social_care_reference == "SC-123"
    assert active.needs.get().outcome == "transferred"


def test_closing_needs_an_outcome_for_every_need(personas, active, areas):
    need = services.need_add(
        actor=personas.sam, episode=active, area=areas[0], description="School attendance"
    )
    with pytest.raises(PathwayError, match="State the outcome for every identified need") as raised:
        services.episode_close(
            actor=personas.sam,
            episode=active,
            reason="outcomes_achieved",
            closed_on=TODAY(),
            need_outcomes={},
        )
    assert raised.value.field == f"need_{need.pk}"
    services.episode_close(
        actor=personas.sam,
        episode=active,
        reason="outcomes_achieved",
        closed_on=TODAY(),
        need_outcomes={need.pk: "met"},
    )
    active.refresh_from_db()
    assert active.status == S.CLOSED and active.closure_reason == "outcomes_achieved"
    assert not LeadProfessional.objects.filter(episode=active, ended_on__isnull=True).exists()


def test_closed_episode_is_read_only(personas, active, areas):
    services.episode_close(
        actor=personas.sam, episode=active, reason="moved_away", closed_on=TODAY(), need_outcomes={}
    )
    active.refresh_from_db()
    for attempt in (
        lambda: services.need_add(actor=personas.sam, episode=active, area=areas[0], description="x"),
        lambda: services.episode_change_level(
            actor=personas.sam,
            episode=active,
            level=LevelOfNeed.objects.get(code="2"),
            changed_on=TODAY(),
            reason="x",
        ),
        lambda: services.taf_add_worker(
            actor=personas.sam, episode=active, user=personas.hana, role="", joined_on=TODAY()
        ),
    ):
        with pytest.raises(PathwayError, match="closed"):
            attempt()


def test_two_people_closing_at_once(personas, active):
    version = active.version
    services.episode_close(
        actor=personas.sam,
        episode=active,
        reason="outcomes_achieved",
        closed_on=TODAY(),
        need_outcomes={},
        expected_version=version,
    )
    with pytest.raises(PathwayError, match="Someone else closed this episode"):
        services.episode_close(
            actor=personas.chris,
            episode=active,
            reason="moved_away",
            closed_on=TODAY(),
            need_outcomes={},
            expected_version=version,
        )
    active.refresh_from_db()
    assert active.closure_reason == "outcomes_achieved"


def test_taf_membership_grants_and_revokes_access(personas, active):
    with pytest.raises(Http404):
        family_for_user(user=personas.ola, family_id=personas.ashworth.pk)
    member = services.taf_add_worker(
        actor=personas.sam, episode=active, user=personas.ola, role="Pastoral", joined_on=TODAY()
    )
    assert family_for_user(user=personas.ola, family_id=personas.ashworth.pk)
    services.taf_remove(actor=personas.sam, member=member, left_on=TODAY())
    with pytest.raises(Http404):
        family_for_user(user=personas.ola, family_id=personas.ashworth.pk)
    actions = list(
        AuditEvent.objects.filter(
            family_id=personas.ashworth.pk, object_id=str(personas.ola.pk), action__in=["grant", "revoke"]
        )
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["grant", "revoke"]


def test_the_lead_professional_cannot_be_removed_from_the_team(personas, active):
    member = active.taf_members.get(user=personas.sam)
    with pytest.raises(PathwayError, match="Choose a new lead professional"):
        services.taf_remove(actor=personas.chris, member=member, left_on=TODAY())


def test_lead_professional_change_keeps_history_with_handover(personas, active):
    services.taf_add_worker(
        actor=personas.sam, episode=active, user=personas.hana, role="Health visitor", joined_on=TODAY()
    )
    with pytest.raises(PathwayError, match="handover note"):
        services.lead_professional_set(
            actor=personas.sam,
            episode=active,
            user=personas.hana,
            family_view="Kerry prefers Hana",
            started_on=TODAY(),
        )
    services.lead_professional_set(
        actor=personas.sam,
        episode=active,
        user=personas.hana,
        family_view="Kerry prefers Hana",
        started_on=TODAY(),
        handover_note="Weekly visits on Tuesdays",
    )
    history = list(LeadProfessional.objects.filter(episode=active).order_by("id"))
    assert [h.user for h in history] == [personas.sam, personas.hana]
    assert history[0].ended_on == TODAY() and history[1].ended_on is None
    active.refresh_from_db()
    assert active.lead_professional == personas.hana


def test_step_down_opens_with_reference_and_handover(personas):
    episode = services.episode_accept_step_down(
        actor=personas.chris,
        family=personas.dixon,
        social_care_reference="SC-987",
        handover_notes="Risk reduced",
        accepted_on=TODAY(),
    )
    assert episode.source == "step_down" and episode.level.band == 3
    assert episode.social_care_reference == "SC-987" and episode.handover_notes == "Risk reduced"


def test_re_referral_within_12_months_is_flagged(personas, active, level3):
    services.episode_close(
        actor=personas.sam, episode=active, reason="outcomes_achieved", closed_on=TODAY(), need_outcomes={}
    )
    again = services.episode_open(
        actor=personas.chris,
        family=personas.ashworth,
        source="triage",
        level=level3,
        opened_on=TODAY(),
        reason="New concerns",
    )
    assert again.is_re_referral


def test_case_note_in_the_future_is_refused(personas):
    with pytest.raises(PathwayError, match="today or in the past"):
        services.case_note_add(
            actor=personas.sam,
            family=personas.ashworth,
            occurred_on=TODAY() + dt.timedelta(days=1),
            title="x",
            detail="",
        )


def test_leaving_the_team_takes_away_only_what_joining_gave(personas, active):
    # Hana could already read the Ashworth record before joining the team.
    member = services.taf_add_worker(
        actor=personas.sam,
        episode=active,
        user=personas.hana,
        role="Health visitor",
        joined_on=TODAY(),
        change=True,
    )
    services.taf_remove(actor=personas.sam, member=member, left_on=TODAY())
    assert family_for_user(user=personas.hana, family_id=personas.ashworth.pk)
    from ehcase.permissions import can_change_family

    assert not can_change_family(user=personas.hana, family=personas.ashworth)
    with pytest.raises(PathwayError, match="already left the team"):
        services.taf_remove(actor=personas.sam, member=member, left_on=TODAY())


def test_team_dates_cannot_be_in_the_future(personas, active):
    with pytest.raises(PathwayError, match="Date they joined must be today or in the past"):
        services.taf_add_worker(
            actor=personas.sam,
            episode=active,
            user=personas.ola,
            role="",
            joined_on=TODAY() + dt.timedelta(days=1),
        )


def test_stale_versions_raise_the_conflict_error(personas, active):
    stale = active.version
    services.episode_change_level(
        actor=personas.sam, episode=active, level=active.level, changed_on=TODAY(), reason="Reviewed"
    )
    with pytest.raises(services.EpisodeChangedError):
        services.episode_step_up(
            actor=personas.sam,
            episode=active,
            reason="Harm",
            stepped_up_on=TODAY(),
            social_care_reference="",
            expected_version=stale,
        )


def test_a_step_down_after_a_closure_is_not_a_re_referral(personas, active):
    services.episode_step_up(
        actor=personas.sam, episode=active, reason="Harm", stepped_up_on=TODAY(), social_care_reference="SC-1"
    )
    back = services.episode_accept_step_down(
        actor=personas.chris,
        family=personas.ashworth,
        social_care_reference="SC-1",
        handover_notes="Safe now",
        accepted_on=TODAY(),
    )
    assert not back.is_re_referral


def test_chronology_dates_transitions_when_they_happened(personas, started):
    from .conftest import hold_first_meeting

    hold_first_meeting(personas, started, days_ago=20)
    entry = ChronologyEntry.objects.get(family=personas.ashworth, title="Episode: plan active")
    assert entry.occurred_on == TODAY() - dt.timedelta(days=20)


def test_meetings_can_be_cancelled_and_closing_cancels_those_to_come(personas, active):
    from pathway.models import TafMeeting

    first = services.meeting_schedule(
        actor=personas.sam,
        episode=active,
        starts_at=timezone.now() + dt.timedelta(days=3),
        location="School",
        online=False,
        invited=[],
    )
    second = services.meeting_schedule(
        actor=personas.sam,
        episode=active,
        starts_at=timezone.now() + dt.timedelta(days=10),
        location="School",
        online=False,
        invited=[],
    )
    with pytest.raises(PathwayError, match="Enter why"):
        services.meeting_cancel(actor=personas.sam, meeting=first, reason="")
    services.meeting_cancel(actor=personas.sam, meeting=first, reason="Kerry is unwell")
    assert TafMeeting.objects.get(pk=first.pk).status == "cancelled"
    services.episode_close(
        actor=personas.sam, episode=active, reason="moved_away", closed_on=TODAY(), need_outcomes={}
    )
    assert TafMeeting.objects.get(pk=second.pk).status == "cancelled"
    assert not TafMeeting.objects.filter(episode=active, status="scheduled").exists()
