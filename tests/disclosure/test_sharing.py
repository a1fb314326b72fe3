"""Sharing records: the service's rules and audit, the pages (errors by field, typed values kept), the
list's query count, and marking a record as recorded in error with a version check."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ehcase.disclosure import services
from ehcase.disclosure.models import SharingRecord
from ehcase.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 1)


def errors(response) -> dict[str, str]:
    body = response.content.decode()
    return {
        m.group(1): html.unescape(m.group(2))
        for m in re.finditer(
            r'id="([\w-]+)-error" class="govuk-error-message">'
            r'<span class="govuk-visually-hidden">Error:</span> (.*?)</p>',
            body,
        )
    }


def share(personas, **overrides):
    people = overrides.pop("people", None) or [personas.ashworth.members.order_by("id").first().person]
    data = {
        "actor": personas.sam,
        "family": personas.ashworth,
        "decision": "shared",
        "shared_on": DAY,
        "what": "The plan",
        "recipient": "School nurse",
        "method": "secure_email",
        "purpose": "Health support",
        "lawful_basis": "consent",
        "consent": "given",
        "people": people,
    }
    data.update(overrides)
    return services.sharing_record_create(**data)


def test_a_share_is_audited_as_share_without_free_text_in_the_summary(personas):
    record = share(personas, what="Kerry's medical history")
    event = AuditEvent.objects.get(object_type="disclosure.sharingrecord", object_id=str(record.pk))
    assert event.action == AuditAction.SHARE and event.family_id == personas.ashworth.pk
    assert "Kerry" not in event.summary
    assert event.changes["what"] == [None, "Kerry's medical history"]


def test_a_decision_not_to_share_is_audited_as_create_and_needs_a_reason(personas):
    with pytest.raises(services.DisclosureError) as error:
        share(personas, decision="not_shared", method="", lawful_basis="")
    assert error.value.field == "reason_not_shared"
    record = share(
        personas, decision="not_shared", method="post", lawful_basis="consent", reason_not_shared="No"
    )
    assert record.method == "" and record.lawful_basis == ""  # only a share says how and why lawful
    event = AuditEvent.objects.get(object_type="disclosure.sharingrecord", object_id=str(record.pk))
    assert event.action == AuditAction.CREATE


def test_people_must_be_members_of_the_family(personas):
    stranger = personas.bennett.members.first().person
    with pytest.raises(services.DisclosureError) as error:
        share(personas, people=[stranger])
    assert error.value.field == "people"


def test_consent_not_sought_needs_a_reason(personas):
    with pytest.raises(services.DisclosureError) as error:
        share(personas, consent="not_sought")
    assert error.value.field == "consent_note"


def test_the_form_shows_errors_by_field_and_keeps_what_was_typed(personas, login):
    client = login(personas.sam)
    url = reverse("disclosure:sharing-new", args=[personas.ashworth.pk])
    response = client.post(url, {"decision": "shared", "what": "The assessment", "shared_on_day": "31"})
    assert response.status_code == 200
    found = errors(response)
    assert found["id_method"] == "Select how the information was shared"
    assert found["id_lawful_basis"] == "Select the lawful basis for sharing"
    assert found["id_people"] == "Select who in the family the information is about"
    assert found["id_shared_on"] == "Date must include a month and year"
    body = response.content.decode()
    assert "The assessment</textarea>" in body and 'value="31"' in body
    assert "govuk-error-summary" in body
    assert not SharingRecord.objects.exists()


def test_the_form_saves_a_share(personas, login):
    client = login(personas.hana)  # in the team: may record
    kerry = personas.ashworth.members.get(person__first_name="Kerry").person
    response = client.post(
        reverse("disclosure:sharing-new", args=[personas.ashworth.pk]),
        {
            "decision": "shared",
            "method": "printed_meeting",
            "lawful_basis": "public_task",
            "shared_on_day": "1",
            "shared_on_month": "11",
            "shared_on_year": "2026",
            "people": [kerry.pk],
            "what": "Health plan",
            "recipient": "GP",
            "purpose": "Care",
            "consent": "given",
        },
    )
    assert response.status_code == 302
    record = SharingRecord.objects.get()
    assert record.recorded_by == personas.hana and list(record.people.all()) == [kerry]
    assert record.method == "printed_meeting" and record.shared_on == DAY


def test_the_list_is_one_query_however_long(personas, login):
    client = login(personas.hana)  # not the recorder: her right to mark in error is read once
    url = reverse("disclosure:sharing-list", args=[personas.ashworth.pk])
    share(personas)
    client.get(url)  # warm the session and the roles
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for _ in range(15):
        share(personas)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.decode().count('class="govuk-summary-card__title"') == 16
    assert len(many) == len(one), "\n".join(q["sql"] for q in many.captured_queries)


def test_mark_in_error_keeps_the_record_and_refuses_a_stale_version(personas, login):
    record = share(personas)
    client = login(personas.sam)
    url = reverse("disclosure:sharing-in-error", args=[record.pk])
    response = client.post(url, {"reason": "Wrong family", "version": record.version + 1})
    assert "Someone else changed this" in response.content.decode()
    assert "Wrong family</textarea>" in response.content.decode()
    record.refresh_from_db()
    assert not record.in_error
    assert client.post(url, {"reason": "Wrong family", "version": record.version}).status_code == 302
    record.refresh_from_db()
    assert record.in_error and record.in_error_by == personas.sam and record.in_error_reason == "Wrong family"
    listing = client.get(reverse("disclosure:sharing-list", args=[personas.ashworth.pk])).content.decode()
    assert "Recorded in error" in listing
    assert client.get(url).status_code == 404  # already marked


def test_outsiders_get_404_and_readers_403(personas, login):
    url = reverse("disclosure:sharing-new", args=[personas.ashworth.pk])
    assert login(personas.ola).get(url).status_code == 404
    assert login(personas.quinn).get(url).status_code == 403
    assert login(personas.alex).get(url).status_code == 403


def test_demo_records_are_written_once_through_the_service(personas):
    from ehcase.disclosure.demo import seed_disclosure

    assert seed_disclosure(personas) == 2
    assert seed_disclosure(personas) == 0
    records = SharingRecord.objects.filter(family=personas.ashworth)
    assert sorted(r.decision for r in records) == ["not_shared", "shared"]
    assert AuditEvent.objects.filter(object_type="disclosure.sharingrecord").count() == 2
