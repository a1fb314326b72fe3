import datetime as dt

import pytest
from django.utils import timezone

from pathway import services
from pathway.models import LevelOfNeed, OutcomeArea
from tests.factories import complete_assessment


@pytest.fixture
def level3(db):
    return LevelOfNeed.objects.get(code="3")


@pytest.fixture
def areas(db):
    return list(OutcomeArea.objects.order_by("order")[:3])


@pytest.fixture
def started(personas, level3):
    """Sam starts early help with the Ashworth family today (he is the assessor)."""
    return services.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=level3,
        consent_given_by="Kerry Ashworth",
        consent_on=timezone.localdate() - dt.timedelta(days=30),
    )


def hold_first_meeting(personas, episode, *, lead=None, days_ago=20, assessed=True):
    """Hold the first TAF meeting; with `assessed`, Sam completes the assessment first, so the plan
    becomes active at the meeting."""
    if assessed and not episode.assessments.filter(status="completed").exists():
        complete_assessment(actor=personas.sam, episode=episode)
    meeting = services.meeting_schedule(
        actor=personas.sam,
        episode=episode,
        starts_at=timezone.now() - dt.timedelta(days=days_ago),
        location="Riverside Primary School",
        online=False,
        invited=list(episode.taf_members.all()),
        already_held=True,
    )
    return services.meeting_record(
        actor=personas.sam,
        meeting=meeting,
        attendance={m.pk: "attended" for m in episode.taf_members.all()},
        decisions="Sam to lead; weekly check-ins",
        lead=lead or personas.sam,
        family_view="Kerry chose Sam",
    )


@pytest.fixture
def active(personas, started, areas):
    """The Ashworth episode with its first TAF meeting held (Sam agreed as lead) and a baseline."""
    services.baseline_record(
        actor=personas.sam,
        episode=started,
        held_on=timezone.localdate() - dt.timedelta(days=25),
        scores={areas[0]: 3, areas[1]: 5},
    )
    hold_first_meeting(personas, started)
    started.refresh_from_db()
    return started
