"""Scanning what is new (docs/reminders.md): the day's first run scans every kind in full; later runs that
day re-check only the objects whose rows changed since the previous run, and a run for another day, with
other limits or after a bulk change scans in full again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from ehcase.notifications import scans
from ehcase.notifications.models import Reminder, ScanMark, ScanRun
from pathway.models import Episode

pytestmark = pytest.mark.django_db

INCREMENTAL = {scan.kind for scan in scans.CATALOGUE if scan.changes}


def last_scanned() -> dict:
    return ScanRun.objects.order_by("-id").first().scanned


def changed_at(episode_id: int) -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT changed_at FROM pathway_episode WHERE id = %s", [episode_id])
        return cursor.fetchone()[0]


def move_review_unstamped(episode_id: int, due_on: dt.date) -> None:
    """Change a row the way no write of the service can: without its change stamp moving."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers for this UPDATE
        cursor.execute(
            "UPDATE pathway_episode SET next_review_due = %s, changed_at = '-infinity' WHERE id = %s",
            [due_on, episode_id],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_every_write_stamps_the_row(personas, world):
    before = changed_at(world.ashworth_episode.pk)
    Episode.objects.filter(pk=world.ashworth_episode.pk).update(closure_note="")  # QuerySet.update
    after_update = changed_at(world.ashworth_episode.pk)
    episode = Episode.objects.get(pk=world.ashworth_episode.pk)
    episode.save(update_fields=["closure_note"])  # a save naming other fields
    assert before < after_update < changed_at(world.ashworth_episode.pk)


def test_the_first_run_of_the_day_is_full_and_the_next_rechecks_only_what_changed(personas, world):
    scans.scan_all()
    assert set(last_scanned().values()) == {"full"}
    marks = ScanMark.objects.in_bulk(field_name="kind")
    assert set(marks) == {scan.kind for scan in scans.CATALOGUE}
    assert {mark.scanned_for for mark in marks.values()} == {timezone.localdate()}

    today = timezone.localdate()
    Episode.objects.filter(pk=world.ashworth_episode.pk).update(next_review_due=today + dt.timedelta(days=5))
    claimed = scans.scan_all()
    assert claimed["review_due"] == 1
    assert Reminder.objects.filter(kind="review_due", due_on=today + dt.timedelta(days=5)).exists()
    scanned = last_scanned()
    # The kinds reading episodes re-checked the episodes changed in the world and since: a handful, not all.
    assert all(isinstance(scanned[kind], int) for kind in INCREMENTAL)
    assert 1 <= scanned["review_due"] <= Episode.objects.count()
    # The kinds with few candidates are scanned in full every time.
    assert {kind for kind, how in scanned.items() if how == "full"} == {
        scan.kind for scan in scans.CATALOGUE if not scan.changes
    }


def test_a_later_run_that_day_reads_only_stamped_changes_and_the_next_day_reads_everything(personas, world):
    """What a later run misses (a change without a stamp, which no write of the service makes) the next
    day's full run finds: the narrowing is real, and the daily full run is the backstop."""
    scans.scan_all()
    today = timezone.localdate()
    move_review_unstamped(world.bennett_episode.pk, today + dt.timedelta(days=4))
    assert scans.scan_all()["review_due"] == 0  # not re-checked: its stamp says unchanged
    tomorrow = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(9)))
    assert scans.scan_all(now=tomorrow)["review_due"] == 1
    assert set(last_scanned().values()) == {"full"}
    assert Reminder.objects.filter(
        kind="review_due", object_id=world.bennett_episode.pk, due_on=today + dt.timedelta(days=4)
    ).exists()


def test_other_limits_mean_a_full_scan(personas, world, settings):
    scans.scan_all()
    settings.REMINDER_REVIEW_DUE_DAYS = 10
    move_review_unstamped(world.bennett_episode.pk, timezone.localdate() + dt.timedelta(days=9))
    assert scans.scan_all()["review_due"] == 1
    assert last_scanned()["review_due"] == "full"


def test_more_changes_than_the_limit_mean_a_full_scan(personas, world, settings):
    scans.scan_all()
    settings.REMINDER_SCAN_CHANGES_LIMIT = 1
    Episode.objects.update(closure_note="")  # both episodes changed: more than the limit
    scans.scan_all()
    assert last_scanned()["review_due"] == "full"
    settings.REMINDER_SCAN_CHANGES_LIMIT = 5000
    scans.scan_all()
    assert last_scanned()["review_due"] == 2


def test_changes_older_than_the_overlap_are_not_rechecked(personas, world, settings):
    scans.scan_all()
    settings.REMINDER_SCAN_OVERLAP_MINUTES = 0
    # Everything in the world was written before the first run: with no overlap nothing is re-checked.
    scans.scan_all()
    assert {last_scanned()[kind] for kind in INCREMENTAL} == {0}


def test_a_mark_never_moves_back_to_an_earlier_start(personas, world):
    scans.scan_all()
    mark = ScanMark.objects.get(kind="review_due")
    scans._record_marks(
        ["review_due"], clock=scans.Clock.at(), started=mark.started_at - dt.timedelta(minutes=5)
    )
    assert ScanMark.objects.get(kind="review_due").started_at == mark.started_at


def test_a_failed_run_leaves_the_marks_as_they_were(personas, world, monkeypatch):
    scans.scan_all()
    marks = dict(ScanMark.objects.values_list("kind", "started_at"))

    def broken(c, only):
        raise RuntimeError("the database went away")

    broken_catalogue = tuple(
        scans.Scan(s.kind, broken, s.about_a_family, s.changes) if s.kind == "daily_email" else s
        for s in scans.CATALOGUE
    )
    monkeypatch.setattr(scans, "CATALOGUE", broken_catalogue)
    with pytest.raises(RuntimeError):
        scans.scan_all()
    assert dict(ScanMark.objects.values_list("kind", "started_at")) == marks


def test_a_later_run_with_nothing_changed_costs_a_fixed_number_of_queries(
    personas, world, settings, django_assert_num_queries
):
    scans.scan_all()
    settings.REMINDER_SCAN_OVERLAP_MINUTES = 0
    # 1 the marks; 5 the changed ids of episodes, assessments (twice: by id and by episode), requests
    # and plan actions; 3 kinds scanned in full (meeting tomorrow, weekly digest, daily email), each a
    # savepoint, its INSERT ... SELECT and the release: 9; 1 the new marks; 1 the ScanRun.
    with django_assert_num_queries(17):
        scans.scan_all()
