"""Destruction: legal hold checked again, the personal data really gone, the log written, the audit
trail's trigger still refusing everything else."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from ehcase.models import AuditEvent, Family, Person
from ehcase.retention import services
from ehcase.retention.models import DestructionLog, DestructionReview, LegalHold, ReviewStatus

from .conftest import build_rich_family, old_family, years_ago

pytestmark = pytest.mark.django_db


def approved(personas, family, today) -> DestructionReview:
    services.retention_scan(today=today)
    review = DestructionReview.objects.get(object_id=family.pk, record_class="family")
    return services.review_approve(actor=personas.morgan, review=review, version=review.version)


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t "
            "ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')"
        )
        return cursor.fetchall()


def find_everywhere(needle: str) -> list[str]:
    """Every table.column of the database holding `needle` anywhere in its text."""
    found = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608
                [f"%{needle}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_destruction_leaves_no_trace_of_the_familys_personal_data(personas, today):
    rich = build_rich_family(personas)
    family_id, reference = rich.family.pk, rich.family.reference
    # Before: the searches find the family everywhere (so they would notice anything left behind).
    before = find_everywhere(rich.name)
    assert "ehcase_family.name" in before
    assert "ehcase_auditevent.changes" in before
    assert "hubs_requestforsupport.reasons" in before
    assert find_everywhere(rich.nhs_number)

    review = approved(personas, rich.family, today)
    assert services.destroy_review(review_id=review.pk, today=today) == ReviewStatus.DESTROYED

    for needle in (rich.name, rich.child_first, "Marigold", rich.nhs_number, "Larkspur"):
        assert find_everywhere(needle) == [], needle
    assert not Family.objects.filter(pk=family_id).exists()
    assert not Person.objects.filter(pk__in=[rich.child.pk, rich.parent.pk]).exists()
    # Who did what is kept; what they wrote is not.
    events = AuditEvent.objects.filter(family_id=family_id)
    assert events.filter(action="create").exists()
    assert (
        not events.exclude(changes={}).exclude(changes={"destroyed": True}).exclude(action="destroy").exists()
    )
    log = DestructionLog.objects.get(review=review)
    assert log.family_reference == reference
    assert log.approved_by == personas.morgan
    assert log.counts["ehcase.Family"] == 1
    assert log.counts["ehcase.Person"] == 2
    assert log.counts["hubs.RequestForSupport"] == 1
    assert log.counts["pathway.Episode"] == 1
    destroy_event = events.get(action="destroy")
    assert destroy_event.actor == personas.morgan
    review.refresh_from_db()
    assert review.status == ReviewStatus.DESTROYED


def test_a_person_who_belongs_to_another_family_is_kept(personas, today):
    from ehcase.models import FamilyMember

    family = old_family(
        personas, name="Sharedchild", closed_on=years_ago(today, 9), child_born=years_ago(today, 30)
    )
    child = family.members.get().person
    FamilyMember.objects.create(family=personas.bennett, person=child, role="child", start_date=today)
    review = approved(personas, family, today)

    services.destroy_review(review_id=review.pk, today=today)

    assert Person.objects.filter(pk=child.pk).exists()
    assert not Family.objects.filter(pk=family.pk).exists()


def test_a_hold_placed_after_approval_stops_destruction(personas, today):
    family = old_family(personas, name="Lastminute", closed_on=years_ago(today, 8))
    review = approved(personas, family, today)
    services.legal_hold_place(actor=personas.morgan, family=family, reason="Solicitor's letter")

    assert services.destroy_review(review_id=review.pk, today=today) == ReviewStatus.NOT_DUE
    assert Family.objects.filter(pk=family.pk).exists()
    assert not DestructionLog.objects.exists()


def test_destruction_checks_the_hold_itself_inside_its_transaction(personas, today):
    """A hold row written any other way (not through legal_hold_place, which also withdraws the
    review) still stops the destruction: the check is in destroy_review, not only in the hold service."""
    family = old_family(personas, name="Doublecheck", closed_on=years_ago(today, 8))
    review = approved(personas, family, today)
    LegalHold.objects.create(family=family, reason="Inquiry", placed_by=personas.morgan)

    assert services.destroy_review(review_id=review.pk, today=today) == ReviewStatus.NOT_DUE
    assert Family.objects.filter(pk=family.pk).exists()
    review.refresh_from_db()
    assert review.note == "A legal hold is in place"


def test_a_family_that_reopened_after_approval_is_not_destroyed(personas, today):
    from pathway.models import Episode, LevelOfNeed

    family = old_family(personas, name="Cameback", closed_on=years_ago(today, 8))
    review = approved(personas, family, today)
    Episode.objects.create(family=family, level=LevelOfNeed.objects.get(code="3"), opened_on=today)

    assert services.destroy_review(review_id=review.pk, today=today) == ReviewStatus.NOT_DUE
    assert Family.objects.filter(pk=family.pk).exists()


def test_destroying_twice_does_nothing_more(personas, today):
    family = old_family(personas, name="Twice", closed_on=years_ago(today, 8))
    review = approved(personas, family, today)
    services.destroy_review(review_id=review.pk, today=today)
    assert services.destroy_review(review_id=review.pk, today=today) == ReviewStatus.DESTROYED
    assert DestructionLog.objects.count() == 1


def test_the_audit_trigger_still_refuses_every_other_update_and_delete(personas, today):
    event = AuditEvent.objects.filter(family_id=personas.ashworth.pk).first() or AuditEvent.objects.create(
        action="view", family_id=personas.ashworth.pk, changes={"name": ["a", "b"]}
    )

    def refused(sql: str, params: list, setting: tuple[str, str] | None = None) -> bool:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if setting:
                    cursor.execute("SELECT set_config(%s, %s, true)", list(setting))
                cursor.execute(sql, params)
        except DatabaseError:
            return True
        return False

    cleared = '{"destroyed": true}'
    # Without the setting, nothing changes.
    assert refused("UPDATE ehcase_auditevent SET changes = %s::jsonb WHERE id = %s", [cleared, event.pk])
    assert refused("DELETE FROM ehcase_auditevent WHERE id = %s", [event.pk])
    # With the setting for another family, nothing changes.
    other = ("ehcase.destroying_family", str(personas.bennett.pk))
    assert refused(
        "UPDATE ehcase_auditevent SET changes = %s::jsonb WHERE id = %s", [cleared, event.pk], other
    )
    # With the setting for this family: only clearing `changes` is allowed, nothing else alongside it.
    mine = ("ehcase.destroying_family", str(personas.ashworth.pk))
    assert refused(
        "UPDATE ehcase_auditevent SET changes = %s::jsonb, summary = 'x' WHERE id = %s",
        [cleared, event.pk],
        mine,
    )
    assert refused(
        "UPDATE ehcase_auditevent SET changes = '{\"a\": 1}'::jsonb WHERE id = %s", [event.pk], mine
    )
    assert refused("UPDATE ehcase_auditevent SET actor_username = 'x' WHERE id = %s", [event.pk], mine)
    assert refused("DELETE FROM ehcase_auditevent WHERE id = %s", [event.pk], mine)
    # Purging: never events newer than the purge date, and never a purge date within six years.
    recent = ("ehcase.audit_purge_before", "2099-01-01T00:00:00+00:00")
    assert refused("DELETE FROM ehcase_auditevent WHERE id = %s", [event.pk], recent)
    old = ("ehcase.audit_purge_before", "2001-01-01T00:00:00+00:00")
    assert refused("DELETE FROM ehcase_auditevent WHERE id = %s", [event.pk], old)
    # The one allowed change works (and the model still refuses saves).
    assert not refused(
        "UPDATE ehcase_auditevent SET changes = %s::jsonb WHERE id = %s", [cleared, event.pk], mine
    )
    event.refresh_from_db()
    with pytest.raises(PermissionError):
        event.save()


def test_old_audit_events_are_destroyed_except_those_of_held_families(personas, today):
    old = years_ago(today, 8).replace(day=10)
    held = personas.bennett
    LegalHold.objects.create(family=held, reason="Court", placed_by=personas.morgan)
    with connection.cursor() as cursor:
        for family_id in (None, personas.ashworth.pk, held.pk):
            cursor.execute(
                "INSERT INTO ehcase_auditevent (occurred_at, actor_username, action, object_type, object_id, "
                "family_id, summary, changes, user_agent, path) "
                "VALUES (%s, '', 'view', '', '', %s, 'old', '{}', '', '')",
                [old, family_id],
            )
    recent = AuditEvent.objects.create(action="view", summary="recent")
    services.retention_scan(today=today)
    review = DestructionReview.objects.get(record_class="audit")
    services.review_approve(actor=personas.morgan, review=review, version=review.version)

    assert services.destroy_review(review_id=review.pk, today=today) == ReviewStatus.DESTROYED

    left = AuditEvent.objects.filter(summary="old")
    assert list(left.values_list("family_id", flat=True)) == [held.pk]
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    assert DestructionLog.objects.get(review=review).counts == {"ehcase.AuditEvent": 2}


def test_destruction_deletes_the_familys_rendered_pdfs(personas, today):
    """A rendered assessment PDF waiting to be downloaded is part of the family's record: it goes with it."""
    from django.utils import timezone

    from assessments.models import Assessment, AssessmentPdfJob, AssessmentTemplate, PdfJobStatus

    rich = build_rich_family(personas)
    assessment = Assessment.objects.create(
        episode=rich.family.episodes.get(),
        template=AssessmentTemplate.objects.filter(published=True).first(),
        assessor=personas.sam,
        updated_by=personas.sam,
        started_on=today,
        assessment_date=today,
    )
    now = timezone.now()
    AssessmentPdfJob.objects.create(
        requested_by=personas.sam,
        assessment=assessment,
        status=PdfJobStatus.READY,
        requested_at=now,
        rendered_at=now,
        expires_at=now + dt.timedelta(hours=1),
        pages=1,
        content=b"%PDF-1.7 Quillfeather",
    )
    review = approved(personas, rich.family, today)

    assert services.destroy_review(review_id=review.pk, today=today) == ReviewStatus.DESTROYED

    assert not AssessmentPdfJob.objects.exists()
    assert DestructionLog.objects.get(review=review).counts["assessments.AssessmentPdfJob"] == 1
