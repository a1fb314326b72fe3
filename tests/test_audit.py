"""Audit events are append-only: neither the ORM nor SQL through the application can change them."""

import pytest
from django.db import DatabaseError, connection, transaction

from ehcase.audit import audit_record
from ehcase.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_saving_an_existing_event_is_refused(personas):
    event = audit_record(actor=personas.sam, action="view", family_id=personas.ashworth.pk, summary="x")
    event.summary = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_database_refuses_update_and_delete(personas):
    event = audit_record(actor=personas.sam, action="view", family_id=personas.ashworth.pk, summary="x")
    for statement in (
        "UPDATE ehcase_auditevent SET summary = 'tampered' WHERE id = %s",
        "DELETE FROM ehcase_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.summary == "x"


def test_deleting_a_user_keeps_their_audit_trail(personas):
    from tests.factories import UserFactory

    user = UserFactory()
    audit_record(actor=user, action="view", family_id=personas.ashworth.pk)
    user.delete()
    event = AuditEvent.objects.get(actor_username=user.username)
    assert event.family_id == personas.ashworth.pk


def test_admin_offers_no_way_to_change_audit(client, personas):
    client.force_login(personas.admin)
    assert client.get("/admin/ehcase/auditevent/").status_code == 403
