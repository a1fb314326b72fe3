"""The subject access export: what it gathers, the redaction step, release, the PDF and JSON, access
(early help managers only) and the builder's query count."""

import datetime as dt
import json
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ehcase.disclosure import services
from ehcase.disclosure.models import SubjectAccessRequest
from ehcase.disclosure.subject_access import SECTIONS, build_export
from ehcase.models import AuditAction, AuditEvent

from .conftest import JAYDEN_NHS, JAYDEN_UPN, KERRY_NHS, MIA_NHS, MIA_UPN, add_records

pytestmark = pytest.mark.django_db

# What must never be in the default release: the other members' names, dates of birth, identifiers and
# their own records.
OTHERS = [
    "Kerry",
    "Mia",
    "Mimi",
    "14 May 1990",
    "1990-05-14",
    "20 November 2019",
    "2019-11-20",
    MIA_NHS,
    KERRY_NHS,
    MIA_UPN,
    "health visitor notes",
    "nursery place",
    "I want a puppy",
]
# About Jayden: his details and identifiers, his part of the assessment, his action, his sharing record.
HIS = [
    "Jayden",
    "3 February 2016",
    JAYDEN_NHS,
    JAYDEN_UPN,
    "Loves football",
    "I like PE best",
    "pack his bag",
    "attendance record",
    "Information and signposting",
    "hana.healthvisitor",
]


def open_request(personas, world) -> SubjectAccessRequest:
    return services.subject_access_request_create(
        actor=personas.morgan,
        person=world.jayden,
        received_on=dt.date(2026, 11, 2),
        requester="parent",
        requester_name="Kerry Ashworth, mother",
    )


def release(client, sar) -> SubjectAccessRequest:
    sar.refresh_from_db()
    response = client.post(reverse("disclosure:sar-release", args=[sar.pk]), {"version": sar.version})
    assert response.status_code == 302
    sar.refresh_from_db()
    assert sar.is_released
    return sar


def test_the_export_gathers_every_kind_of_record(personas, world):
    export = build_export(person=world.jayden)
    sections = {section.key: items for section, items in export.sections()}
    empty = [s.key for s in SECTIONS if not sections[s.key]]
    assert not empty, f"sections with nothing in them: {empty}"
    keys = {item.key.split(":")[0] for item in export.items}
    assert {
        "person",
        "member",
        "other",
        "request",
        "triage",
        "episode",
        "taf",
        "assessment",
        "assessment-version",
        "outcome",
        "action",
        "review",
        "consent",
        "chronology",
        "sharing",
        "claim",
        "audit",
    } <= keys
    consent = [i for i in export.items if i.section == "consent"]
    # His consent, given by his mother: her name is replaced, the record is about him.
    assert [(i.third_party, i.lines[1].value) for i in consent] == [(False, "[third party] Ashworth")]
    # Mia's own sharing record is not Jayden's.
    assert not any("health visitor notes" in line.value for i in export.items for line in i.lines)


def test_released_json_and_pdf_hold_everything_about_him_and_nothing_of_the_others(personas, world, login):
    client = login(personas.morgan)
    sar = open_request(personas, world)
    assert client.get(reverse("disclosure:sar-detail", args=[sar.pk])).status_code == 200
    sar = release(client, sar)

    response = client.get(reverse("disclosure:sar-json", args=[sar.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="subject-access-request-{sar.pk}.json"'
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    data = json.loads(text)
    assert [s["key"] for s in data["sections"]] == [s.key for s in SECTIONS]
    for wanted in HIS:
        assert wanted in text, wanted
    for unwanted in OTHERS:
        assert unwanted not in text, unwanted
    assert "[third party]" in text
    audit = next(s for s in data["sections"] if s["key"] == "audit")
    lines = [line["value"] for item in audit["items"] for line in item.get("lines", [])]
    assert any(v.startswith("hana.healthvisitor – Viewed") for v in lines)

    response = client.get(reverse("disclosure:sar-pdf", args=[sar.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    flat = " ".join(pdf_text.split())
    for wanted in (JAYDEN_NHS, JAYDEN_UPN, "Jayden", "Loves football", "hana.healthvisitor"):
        assert wanted in flat, wanted
    for unwanted in OTHERS:
        assert unwanted not in flat, unwanted

    exports = AuditEvent.objects.filter(
        action=AuditAction.EXPORT, object_type="disclosure.subjectaccessrequest"
    )
    assert {e.family_id for e in exports} == {personas.ashworth.pk}
    assert exports.count() == 2  # the JSON and the PDF, for his one family


def test_releasing_an_item_about_others_needs_a_reason_and_is_kept(personas, world, login):
    client = login(personas.morgan)
    sar = open_request(personas, world)
    url = reverse("disclosure:sar-detail", args=[sar.pk])
    key = f"other:{world.kerry.pk}"
    response = client.post(url, {"version": sar.version, f"choice-{key}": "on", f"reason-{key}": ""})
    body = response.content.decode()
    assert response.status_code == 200 and "Enter why this item can be released" in body
    assert "govuk-error-summary" in body and f'name="choice-{key}" type="checkbox" value="on" checked' in body
    sar.refresh_from_db()
    assert sar.choices == {} and sar.version == 1

    # Withhold one of his own items too.
    mine = f"person:{world.jayden.pk}"
    response = client.post(
        url,
        {
            "version": sar.version,
            f"choice-{key}": "on",
            f"reason-{key}": "Kerry made the request and consents",
            f"choice-{mine}": "on",
        },
    )
    assert response.status_code == 302
    sar.refresh_from_db()
    assert sar.choices == {
        key: {"action": "release", "reason": "Kerry made the request and consents"},
        mine: {"action": "redact", "reason": ""},
    }
    sar = release(client, sar)
    text = client.get(reverse("disclosure:sar-json", args=[sar.pk])).content.decode()
    assert "Kerry Ashworth" in text and "14 May 1990" in text  # released on purpose
    assert JAYDEN_NHS not in text  # withheld on purpose
    assert "Mia" not in text and MIA_NHS not in text


def test_a_stale_version_saves_nothing(personas, world, login):
    client = login(personas.morgan)
    sar = open_request(personas, world)
    url = reverse("disclosure:sar-detail", args=[sar.pk])
    key = f"person:{world.jayden.pk}"
    services.subject_access_save_choices(
        actor=personas.morgan, sar=sar, choices={key: {"action": "redact", "reason": ""}}, version=1
    )
    response = client.post(url, {"version": 1, f"choice-{key}": "on", f"reason-{key}": "typed"})
    body = response.content.decode()
    assert "Someone else changed this" in body and 'value="typed"' in body
    sar.refresh_from_db()
    assert sar.version == 2 and sar.choices[key]["reason"] == ""


def test_released_requests_are_frozen(personas, world, login):
    client = login(personas.morgan)
    sar = release(client, open_request(personas, world))
    with pytest.raises(services.DisclosureError):
        services.subject_access_save_choices(actor=personas.morgan, sar=sar, choices={}, version=sar.version)
    before = client.get(reverse("disclosure:sar-json", args=[sar.pk])).content
    add_records(personas, world)  # the record grows after release; the export does not
    assert client.get(reverse("disclosure:sar-json", args=[sar.pk])).content == before
    assert client.get(reverse("disclosure:sar-release", args=[sar.pk])).status_code == 404


def test_downloads_wait_for_release(personas, world, login):
    client = login(personas.morgan)
    sar = open_request(personas, world)
    assert client.get(reverse("disclosure:sar-json", args=[sar.pk])).status_code == 404
    assert client.get(reverse("disclosure:sar-pdf", args=[sar.pk])).status_code == 404


def test_everyone_but_early_help_managers_gets_404(personas, world, login):
    sar = open_request(personas, world)
    urls = [
        reverse("disclosure:sar-new", args=[world.jayden.pk]),
        reverse("disclosure:sar-detail", args=[sar.pk]),
        reverse("disclosure:sar-list"),
    ]
    for user in (
        personas.sam,
        personas.hana,
        personas.chris,
        personas.alex,
        personas.quinn,
        personas.ola,
        personas.admin,
    ):
        client = login(user)
        assert [client.get(url).status_code for url in urls] == [404, 404, 404], user.username
    client = login(personas.morgan)
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    person_page = client.get(
        reverse("ehcase:person-detail", args=[personas.ashworth.pk, world.jayden.pk])
    ).content.decode()
    assert reverse("disclosure:sar-new", args=[world.jayden.pk]) in person_page
    sam_page = (
        login(personas.quinn)
        .get(reverse("ehcase:person-detail", args=[personas.ashworth.pk, world.jayden.pk]))
        .content.decode()
    )
    assert "subject access" not in sam_page.lower()


def test_the_builder_costs_the_same_queries_however_much_there_is(personas, world):
    with CaptureQueriesContext(connection) as small:
        small_export = build_export(person=world.jayden)
    add_records(personas, world, n=4)
    with CaptureQueriesContext(connection) as large:
        large_export = build_export(person=world.jayden)
    assert len(large_export.items) > len(small_export.items)
    assert len(large) == len(small), "\n".join(q["sql"] for q in large.captured_queries)


def test_the_request_is_due_one_calendar_month_after_receipt():
    assert services.due_date(dt.date(2026, 1, 31)) == dt.date(2026, 2, 28)
    assert services.due_date(dt.date(2028, 1, 31)) == dt.date(2028, 2, 29)
    assert services.due_date(dt.date(2026, 11, 2)) == dt.date(2026, 12, 2)


def test_the_new_request_form_keeps_what_was_typed(personas, world, login):
    client = login(personas.morgan)
    url = reverse("disclosure:sar-new", args=[world.jayden.pk])
    response = client.post(url, {"requester": "representative", "received_on_day": "2"})
    body = response.content.decode()
    assert "Enter the name of the person who made the request" in body
    assert "Date the request was received must include a month and year" in body
    assert 'value="representative" checked' in body and 'value="2"' in body
    assert not SubjectAccessRequest.objects.exists()
    response = client.post(
        url,
        {"requester": "self", "received_on_day": "2", "received_on_month": "11", "received_on_year": "2026"},
    )
    sar = SubjectAccessRequest.objects.get()
    assert (
        response.status_code == 302
        and sar.due_on == dt.date(2026, 12, 2)
        and sar.created_by == personas.morgan
    )


def test_early_help_managers_reach_the_requests_from_the_oversight_pages(client, personas):
    requests_url = reverse("disclosure:sar-list")
    client.force_login(personas.morgan)
    assert requests_url in client.get(reverse("oversight:audit-search")).content.decode()
    client.force_login(personas.quinn)
    assert requests_url not in client.get(reverse("oversight:audit-search")).content.decode()
