"""Family and person pages: bad input, concurrent edits, audit, and query budgets."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ehcase.models import AuditEvent, Family, FamilyMember, Person, Relationship
from ehcase.permissions import grant_family_access
from hubs.models import HubArea
from tests.factories import EpisodeFactory, FamilyFactory, FamilyMemberFactory, PersonFactory

pytestmark = pytest.mark.django_db


def errors(response) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(
            r'class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> (.*?)</p>',
            response.content.decode(),
        )
    ]


def person_data(prefix: str = "person", **overrides) -> dict:
    data = {
        "first_name": "Ruby",
        "last_name": "Ashworth",
        "known_as": "",
        "date_of_birth_day": "4",
        "date_of_birth_month": "5",
        "date_of_birth_year": "2021",
        "expected_date_of_birth_day": "",
        "expected_date_of_birth_month": "",
        "expected_date_of_birth_year": "",
        "sex": "F",
        "ethnicity": "WBRI",
        "language": "English",
        "nhs_number": "",
        "upn": "",
        "school_or_setting": "",
    }
    data.update(overrides)
    return {f"{prefix}-{k}" if prefix else k: v for k, v in data.items()}


def member_data(**overrides) -> dict:
    data = {
        "member-role": "child",
        "member-start_date_day": "1",
        "member-start_date_month": "9",
        "member-start_date_year": "2024",
    }
    data.update(overrides)
    return data


# --- creating and changing families -------------------------------------------------------------


def test_create_family_grants_the_creator_and_audits(client, personas):
    client.force_login(personas.ola)
    area = HubArea.objects.get(name="Hexham")
    response = client.post(
        reverse("ehcase:family-create"),
        {
            "name": "Fisher",
            "address_line_1": "2 Tyne Street",
            "town": "Hexham",
            "postcode": "ne46 1ab",
            "area": area.pk,
        },
    )
    family = Family.objects.get(name="Fisher")
    assert response.status_code == 302
    assert family.hub == area.hub and family.postcode == "NE46 1AB"
    assert client.get(reverse("ehcase:family-detail", args=[family.pk])).status_code == 200
    event = AuditEvent.objects.get(action="create", object_type="ehcase.family", object_id=str(family.pk))
    assert event.actor == personas.ola and event.changes["name"] == [None, "Fisher"]
    client.force_login(personas.sam)
    assert client.get(reverse("ehcase:family-detail", args=[family.pk])).status_code == 404


def test_create_family_bad_input_keeps_what_was_typed(client, personas):
    client.force_login(personas.sam)
    response = client.post(
        reverse("ehcase:family-create"),
        {
            "name": "x" * 121,
            "address_line_1": "7 Bridge Street",
            "postcode": "NOT A CODE",
            "area": "",
        },
    )
    assert response.status_code == 200
    assert errors(response) == [
        "Family name must be 120 characters or fewer",
        "Enter a real postcode, like NE61 1AA",
        "Select the locality",
    ]
    body = response.content.decode()
    assert 'value="7 Bridge Street"' in body and 'value="NOT A CODE"' in body and "x" * 121 in body
    assert "<title>Error: " in body
    assert not Family.objects.filter(address_line_1="7 Bridge Street").exists()


def test_concurrent_family_edits_never_silently_overwrite(client, personas):
    family = personas.ashworth
    client.force_login(personas.sam)
    url = reverse("ehcase:family-edit", args=[family.pk])
    form = {
        "name": "Ashworth",
        "address_line_1": "1 Demo Street",
        "town": "Morpeth",
        "postcode": "NE61 1AA",
        "area": family.area_id,
        "version": family.version,
    }
    # Chris saves first from the same starting version...
    chris = client.__class__()
    chris.force_login(personas.chris)
    assert chris.post(url, {**form, "address_line_1": "9 Coordinator Road"}).status_code == 302
    # ...so Sam's save is refused, with his typing kept and the latest details shown.
    response = client.post(url, {**form, "address_line_1": "5 Lead Lane"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Someone else changed this record after you opened it" in body
    assert 'value="5 Lead Lane"' in body and "9 Coordinator Road" in body
    family.refresh_from_db()
    assert family.address_line_1 == "9 Coordinator Road" and family.version == 2
    # A deliberate second save (now on the latest version) goes through.
    version = re.search(r'name="version" value="(\d+)"', body).group(1)
    assert client.post(url, {**form, "address_line_1": "5 Lead Lane", "version": version}).status_code == 302
    family.refresh_from_db()
    assert family.address_line_1 == "5 Lead Lane"
    changes = AuditEvent.objects.filter(action="update", family_id=family.pk).order_by("id")
    assert [e.actor_username for e in changes] == ["chris.coordinator", "sam.practitioner"]
    assert changes[1].changes["address_line_1"] == ["9 Coordinator Road", "5 Lead Lane"]


# --- people -------------------------------------------------------------------------------------


def test_add_person_to_family(client, personas):
    client.force_login(personas.sam)
    url = reverse("ehcase:member-add", args=[personas.ashworth.pk])
    response = client.post(
        url,
        {
            **person_data(nhs_number="943 476 5919", upn="A123456789012", disabilities=["LD", "COMM"]),
            **member_data(),
        },
    )
    assert response.status_code == 302, errors(response)
    person = Person.objects.get(first_name="Ruby")
    assert person.nhs_number == "9434765919" and person.disabilities == ["LD", "COMM"]
    assert FamilyMember.objects.get(person=person).family == personas.ashworth
    assert AuditEvent.objects.filter(
        action="create", object_type="ehcase.person", object_id=str(person.pk)
    ).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date_of_birth_year": str(dt.date.today().year + 1)}, "Date of birth must be today or in the past"),
        ({"date_of_birth_day": "30", "date_of_birth_month": "2"}, "Date of birth must be a real date"),
        ({"date_of_birth_month": ""}, "Date of birth must include a month"),
        (
            {"date_of_birth_day": "", "date_of_birth_month": "", "date_of_birth_year": ""},
            "Enter a date of birth, or an expected date of birth for an unborn child",
        ),
        (
            {
                "expected_date_of_birth_day": "1",
                "expected_date_of_birth_month": "1",
                "expected_date_of_birth_year": "2021",
            },
            "Date of birth must be no more than 3 weeks after the expected date of birth",
        ),
        ({"nhs_number": "943 476 5910"}, "Enter a valid NHS number: the check digit does not match"),
        ({"nhs_number": "12345"}, "Enter an NHS number in the correct format, like 943 476 5919"),
        ({"upn": "B123456789012"}, "Enter a valid unique pupil number: the check letter does not match"),
        ({"first_name": ""}, "Enter the first name"),
        ({"last_name": "y" * 81}, "Last name must be 80 characters or fewer"),
        ({"disabilities": ["NONE", "LD"]}, "Select 'No disability' or the disabilities that apply, not both"),
    ],
)
def test_person_bad_input_gets_a_message_at_the_field(client, personas, overrides, message):
    client.force_login(personas.sam)
    url = reverse("ehcase:member-add", args=[personas.ashworth.pk])
    response = client.post(url, {**person_data(**overrides), **member_data()})
    assert response.status_code == 200
    assert message in errors(response)
    assert not Person.objects.filter(first_name="Ruby").exists()
    if "last_name" in overrides:
        assert "y" * 81 in response.content.decode()


def test_duplicate_upn_is_refused_with_a_message(client, personas):
    PersonFactory(upn="A123456789012")
    client.force_login(personas.sam)
    response = client.post(
        reverse("ehcase:member-add", args=[personas.ashworth.pk]),
        {**person_data(upn="a123456789012"), **member_data()},
    )
    assert "This unique pupil number is already recorded for another person" in errors(response)


def test_concurrent_person_edits_are_refused(client, personas):
    member = personas.ashworth.members.select_related("person").first()
    person = member.person
    url = reverse("ehcase:person-edit", args=[personas.ashworth.pk, person.pk])
    data = person_data(
        prefix="",
        first_name=person.first_name,
        last_name=person.last_name,
        date_of_birth_day=str(person.date_of_birth.day),
        date_of_birth_month=str(person.date_of_birth.month),
        date_of_birth_year=str(person.date_of_birth.year),
        version=person.version,
    )
    client.force_login(personas.chris)
    assert client.post(url, {**data, "language": "Polish"}).status_code == 302
    client.force_login(personas.sam)
    response = client.post(url, {**data, "language": "Urdu"})
    assert "Someone else changed this record after you opened it" in response.content.decode()
    person.refresh_from_db()
    assert person.language == "Polish"


def test_member_leaving_is_dated_and_checked(client, personas):
    member = personas.ashworth.members.first()
    client.force_login(personas.sam)
    url = reverse("ehcase:member-end", args=[personas.ashworth.pk, member.person_id])
    response = client.post(url, {"end_date_day": "1", "end_date_month": "1", "end_date_year": "2020"})
    assert errors(response) == [
        "Date they left the household must be on or after they joined (1 September 2024)"
    ]
    assert (
        client.post(url, {"end_date_day": "1", "end_date_month": "10", "end_date_year": "2025"}).status_code
        == 302
    )
    member.refresh_from_db()
    assert member.end_date == dt.date(2025, 10, 1)


def test_relationship_needs_two_different_people(client, personas):
    people = list(Person.objects.filter(memberships__family=personas.ashworth).order_by("id"))
    client.force_login(personas.sam)
    url = reverse("ehcase:relationship-add", args=[personas.ashworth.pk])
    response = client.post(url, {"from_person": people[0].pk, "type": "parent_of", "to_person": people[0].pk})
    assert "Select a different person: someone cannot be related to themself" in errors(response)
    # A person from a family Sam cannot see is not a valid choice.
    outsider = personas.evans.members.first().person
    response = client.post(url, {"from_person": people[0].pk, "type": "parent_of", "to_person": outsider.pk})
    assert "Select a valid related to" in errors(response) or response.status_code == 200
    assert (
        client.post(
            url, {"from_person": people[0].pk, "type": "parent_of", "to_person": people[1].pk}
        ).status_code
        == 302
    )
    assert personas.ashworth.relationships.count() == 1


# --- search and audit ---------------------------------------------------------------------------


def test_search_by_name_and_date_of_birth_only_shows_visible_families(client, personas):
    client.force_login(personas.sam)
    # The search POSTs and the results are at ?search=<token> (docs/hardening.md).
    response = client.post(
        reverse("ehcase:family-list"),
        {"q": "jayden", "date_of_birth_day": "3", "date_of_birth_month": "2", "date_of_birth_year": "2016"},
        follow=True,
    )
    assert [f.name for f in response.context["page"].object_list] == ["Ashworth"]
    response = client.post(reverse("ehcase:family-list"), {"q": "Evans"}, follow=True)
    assert list(response.context["page"].object_list) == []
    assert "F-DEMOEVA" not in response.content.decode() and "0 families found" in response.content.decode()


def test_family_page_view_is_audited_and_listed(client, personas):
    client.force_login(personas.hana)
    client.get(reverse("ehcase:family-detail", args=[personas.ashworth.pk]))
    event = AuditEvent.objects.get(action="view", family_id=personas.ashworth.pk, actor=personas.hana)
    assert event.ip_address == "127.0.0.1"
    client.force_login(personas.sam)
    body = client.get(reverse("ehcase:family-detail", args=[personas.ashworth.pk])).content.decode()
    assert "hana.healthvisitor – viewed" in body


def test_outsider_request_is_not_audited_as_a_view(client, personas):
    client.force_login(personas.ola)
    assert client.get(reverse("ehcase:family-detail", args=[personas.ashworth.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="view", family_id=personas.ashworth.pk).exists()


# --- query budgets ------------------------------------------------------------------------------


def _families_for(user, hub_area, count: int):
    for _ in range(count):
        family = FamilyFactory(area=hub_area)
        FamilyMemberFactory.create_batch(2, family=family)
        grant_family_access(user=user, family=family)


def _count_queries(client, url) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("extra", [1, 50])
def test_family_list_query_count_is_flat(client, personas, extra):
    _families_for(personas.ola, HubArea.objects.get(name="Hexham"), extra)
    client.force_login(personas.ola)
    count, sql = _count_queries(client, reverse("ehcase:family-list"))
    # 1 session, 2 user, 3 the session's two-factor device (django-otp), 4 memberships (roles),
    # 5 coordinator hubs prefetch, 6 count, 7 page of families with area, hub and member counts,
    # 8 unread notifications (header). The session is not saved: it was refreshed under a minute ago
    # (ehcase.middleware.IdleTimeoutMiddleware).
    assert count == 8, "\n".join(sql)


@pytest.mark.parametrize("members", [1, 50])
def test_family_page_query_count_does_not_grow_with_the_family(client, personas, members):
    family = FamilyFactory(area=HubArea.objects.get(name="Hexham"))
    people = FamilyMemberFactory.create_batch(members, family=family)
    for left in people[: members // 2]:
        left.end_date = dt.date(2025, 1, 1)
        left.save()
    for first, second in zip(people, people[1:], strict=False):
        Relationship.objects.create(
            family=family, from_person=first.person, to_person=second.person, type="sibling_of"
        )
    EpisodeFactory.create_batch(
        min(members, 3), family=family, status="closed", closed_on=dt.date(2026, 5, 1)
    )
    grant_family_access(user=personas.ola, family=family, change=True)
    client.force_login(personas.ola)
    for _ in range(members):
        client.get(reverse("ehcase:family-detail", args=[family.pk]))  # audit rows to list
    count, sql = _count_queries(client, reverse("ehcase:family-detail", args=[family.pk]))
    # 1 session, 2 user, 3 the session's two-factor device (django-otp), 4 memberships, 5 hubs prefetch,
    # 6 family (+hub, area, live emergency access) via access layer, 7 members with people,
    # 8 relationships, 9 episodes, 10 recent audit, 11 audit insert (this view), 12 unread notifications
    # (header). The change permission comes with the family (6); the session is not saved (refreshed
    # under a minute ago).
    assert count == 12, "\n".join(sql)


def test_duplicate_identifier_race_is_a_clear_error_not_a_crash(personas):
    """Two saves with the same NHS number can both pass form validation; the database decides."""
    from ehcase import services

    PersonFactory(nhs_number="9434765919")
    with pytest.raises(services.DuplicateIdentifierError) as raised:
        services.person_add_to_family(
            actor=personas.sam,
            family=personas.ashworth,
            role="child",
            start_date=dt.date(2024, 1, 1),
            person_data={
                "first_name": "Ruby",
                "last_name": "Ashworth",
                "date_of_birth": dt.date(2021, 5, 4),
                "nhs_number": "9434765919",
            },
        )
    assert raised.value.field == "nhs_number"
    assert not Person.objects.filter(first_name="Ruby").exists()
