"""The catalogue's scans: what each finds, that a second scan claims nothing, the dry run, and that the
SQL working-day clock agrees with the hub's."""

from __future__ import annotations

import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from assessments.models import Assessment, AssessmentTemplate
from ehcase.notifications import scans
from ehcase.notifications.models import Reminder
from hubs.services import triage_due_on
from pathway import services
from pathway.models import ClosureReason, Episode, LevelOfNeed

pytestmark = pytest.mark.django_db


def claimed() -> set[tuple[str, int, int]]:
    return set(Reminder.objects.values_list("kind", "recipient_id", "object_id"))


def test_one_scan_claims_every_due_reminder_and_a_second_claims_nothing(personas, world):
    first = scans.scan_all()
    assert claimed() == world.expected(personas)
    assert sum(first.values()) == len(world.expected(personas))
    second = scans.scan_all()
    assert sum(second.values()) == 0
    assert Reminder.objects.count() == len(world.expected(personas))


def test_the_key_carries_the_due_date(personas, world):
    scans.scan_all()
    today = timezone.localdate()
    review = Reminder.objects.get(kind="review_due")
    assert review.due_on == today + dt.timedelta(days=3) and review.family_id == personas.ashworth.pk
    # The review is moved: a reminder for the new date is a new reminder; the old one stays claimed.
    Episode.objects.filter(pk=world.ashworth_episode.pk).update(next_review_due=today + dt.timedelta(days=5))
    assert scans.scan_all()["review_due"] == 1
    assert Reminder.objects.filter(kind="review_due").count() == 2


def test_nothing_is_claimed_outside_its_window(personas, world):
    today = timezone.localdate()
    Episode.objects.filter(pk=world.ashworth_episode.pk).update(next_review_due=today + dt.timedelta(days=8))
    Episode.objects.filter(pk=world.bennett_episode.pk).update(next_review_due=today)  # due today: neither
    scans.scan_all()
    kinds = {k for k, _, _ in claimed()}
    assert "review_due" not in kinds and "review_overdue" not in kinds


def test_a_request_within_the_target_is_not_overdue(personas, world):
    type(world.request).objects.filter(pk=world.request.pk).update(received_on=timezone.localdate())
    scans.scan_all()
    assert not Reminder.objects.filter(kind="triage_overdue").exists()


def test_dry_run_lists_what_would_be_sent_and_claims_nothing(personas, world, capsys):
    call_command("send_due_reminders", "--dry-run")
    out = capsys.readouterr().out
    assert not Reminder.objects.exists()
    assert f"new\treview_overdue\tsam.practitioner\t{world.bennett_episode.pk}" in out
    assert f"new\ttriage_overdue\tchris.coordinator\t{world.request.pk}" in out
    assert f"{len(world.expected(personas))} reminders would be sent" in out
    # Claimed but not yet sent: still listed, as claimed.
    scans.scan_all(kinds=["review_overdue"])
    call_command("send_due_reminders", "--dry-run", "--kind", "review_overdue")
    out = capsys.readouterr().out
    assert "claimed\treview_overdue\tsam.practitioner" in out and "new\t" not in out
    assert Reminder.objects.count() == 1


def test_send_due_reminders_claims_and_sends_in_process(personas, world, mailoutbox):
    call_command("send_due_reminders")
    assert claimed() == world.expected(personas)
    assert len(mailoutbox) == len(world.expected(personas))
    call_command("send_due_reminders")
    assert len(mailoutbox) == len(world.expected(personas))


@pytest.mark.parametrize("target", range(0, 13))
def test_the_sql_working_day_clock_agrees_with_the_hubs(target):
    start = dt.date(2026, 11, 2)  # a Monday: every weekday and weekend start over two weeks
    with connection.cursor() as cursor:
        for offset in range(14):
            received = start + dt.timedelta(days=offset)
            cursor.execute(
                f"SELECT {scans._TRIAGE_DUE} FROM (SELECT %s::date AS received_on) r, "  # noqa: S608
                "(SELECT %s::int AS triage_target_working_days) h",
                [received, target],
            )
            assert cursor.fetchone()[0] == triage_due_on(received, target), (received, target)


def _assessment(episode, assessor, **fields):
    return Assessment.objects.create(
        episode=episode,
        template=AssessmentTemplate.objects.order_by("id").first(),
        assessor=assessor,
        assessment_date=fields.get("started_on"),
        updated_by=assessor,
        **fields,
    )


def test_assessment_reminders(personas):
    today = timezone.localdate()
    level = LevelOfNeed.objects.get(code="3")
    ashworth = services.episode_start_directly(
        actor=personas.sam, family=personas.ashworth, level=level, consent_given_by="Kerry", consent_on=today
    )
    carter = services.episode_start_directly(
        actor=personas.hana, family=personas.carter, level=level, consent_given_by="Amy", consent_on=today
    )
    stale = _assessment(ashworth, personas.sam, status="draft", started_on=today - dt.timedelta(days=28))
    _assessment(
        carter,
        personas.hana,
        status="completed",
        started_on=today - dt.timedelta(days=40),
        completed_at=timezone.now() - dt.timedelta(days=15),
    )
    scans.scan_all()
    assert claimed() >= {
        ("eha_draft_stale", personas.sam.pk, stale.pk),
        ("no_lead", personas.hana.pk, carter.pk),
    }
    no_lead = Reminder.objects.get(kind="no_lead")
    assert no_lead.due_on == timezone.localdate(timezone.now() - dt.timedelta(days=15)) + dt.timedelta(
        days=14
    )
    # A young draft and a lead professional named stop them.
    Reminder.objects.all().delete()
    Assessment.objects.filter(pk=stale.pk).update(started_on=today - dt.timedelta(days=27))
    Episode.objects.filter(pk=carter.pk).update(lead_professional=personas.hana)
    scans.scan_all()
    assert not Reminder.objects.filter(kind__in=["eha_draft_stale", "no_lead"]).exists()


def test_closure_reminders(personas):
    today = timezone.localdate()
    level = LevelOfNeed.objects.get(code="3")

    def closed(family, months, reason):
        closed_on = today - relativedelta(months=months)
        episode = services.episode_open(
            actor=personas.chris,
            family=family,
            source="triage",
            level=level,
            opened_on=closed_on - dt.timedelta(days=100),
            reason="Hub decision",
            assessor=personas.hana,
        )
        return services.episode_close(
            actor=personas.chris, episode=episode, reason=reason, closed_on=closed_on, need_outcomes={}
        )

    sustained = closed(personas.carter, 6, ClosureReason.OUTCOMES_ACHIEVED)
    window = closed(personas.dixon, 12, ClosureReason.MOVED_AWAY)
    moved = closed(personas.ashworth, 6, ClosureReason.MOVED_AWAY)  # not a sustainment check
    scans.scan_all()
    found = claimed()
    assert ("sustainment_check", personas.hana.pk, sustained.pk) in found
    assert ("rereferral_window_end", personas.hana.pk, window.pk) in found
    assert not {k for k in found if k[2] == moved.pk}
    assert Reminder.objects.get(kind="sustainment_check").due_on == today


def test_a_family_back_in_early_help_gets_no_window_reminder(personas):
    today = timezone.localdate()
    level = LevelOfNeed.objects.get(code="3")
    closed_on = today - relativedelta(months=12)
    episode = services.episode_open(
        actor=personas.chris,
        family=personas.dixon,
        source="triage",
        level=level,
        opened_on=closed_on - dt.timedelta(days=100),
        reason="Hub decision",
        assessor=personas.hana,
    )
    services.episode_close(
        actor=personas.chris,
        episode=episode,
        reason=ClosureReason.MOVED_AWAY,
        closed_on=closed_on,
        need_outcomes={},
    )
    services.episode_open(
        actor=personas.chris,
        family=personas.dixon,
        source="triage",
        level=level,
        opened_on=today - dt.timedelta(days=30),
        reason="Back again",
        assessor=personas.hana,
    )
    scans.scan_all()
    assert not Reminder.objects.filter(kind="rereferral_window_end").exists()
