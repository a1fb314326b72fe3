"""Builders for retention tests: families whose dates put them just inside or outside the rules, and one
family with something in every part of the record (for the "no trace left" test)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from ehcase.models import Family, FamilyMember, HouseholdRole, Person
from ehcase.services import new_family_reference
from pathway.models import Episode, EpisodeStatus, LevelOfNeed


def years_ago(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def stamp(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def old_family(
    personas,
    *,
    name: str,
    closed_on: dt.date | None = None,
    last_activity: dt.date | None = None,
    child_born: dt.date | None = None,
    open_episode: bool = False,
) -> Family:
    """A family written directly with the dates the test needs: an episode closed on `closed_on` (or
    none, with the record last touched on `last_activity`), a child born on `child_born`."""
    area = personas.ashworth.area
    family = Family.objects.create(reference=new_family_reference(), name=name, area=area, hub=area.hub)
    level = LevelOfNeed.objects.get(code="3")
    touched = last_activity or (closed_on - dt.timedelta(days=400) if closed_on else None)
    if closed_on:
        Episode.objects.create(
            family=family,
            level=level,
            status=EpisodeStatus.CLOSED,
            opened_on=closed_on - dt.timedelta(days=200),
            closed_on=closed_on,
        )
    if open_episode:
        Episode.objects.create(family=family, level=level, opened_on=touched or dt.date(2015, 1, 1))
    if child_born:
        person = Person.objects.create(first_name="Child", last_name=name, date_of_birth=child_born)
        FamilyMember.objects.create(
            family=family, person=person, role=HouseholdRole.CHILD, start_date=touched or child_born
        )
    if touched:
        Family.objects.filter(pk=family.pk).update(created_at=stamp(touched), updated_at=stamp(touched))
    family.refresh_from_db()
    return family


@dataclass
class RichFamily:
    family: Family
    child: Person
    parent: Person
    name: str = "Quillfeather"
    child_first: str = "Persimmon"
    nhs_number: str = "9434765919"


def build_rich_family(personas, *, closed_years_ago: int = 8) -> RichFamily:
    """A family written through the services, with something in each part of its record: people, a
    relationship, a request for support decided at a hub meeting, an episode with a TAF, a plan action,
    a case note, consent, notifications and reminders; then closed and dated `closed_years_ago` back."""
    from assessments.services import action_add
    from ehcase.notifications.models import Notification, Reminder
    from ehcase.services import family_create, person_add_to_family, relationship_add
    from hubs import services as hub_services
    from hubs.models import RequestForSupport, TriageDecision
    from pathway import services
    from pathway.models import OutcomeArea

    p = personas
    today = timezone.localdate()
    name, first = "Quillfeather", "Persimmon"
    family = family_create(
        actor=p.sam,
        data={
            "name": name,
            "area": p.ashworth.area,
            "address_line_1": "12 Larkspur Row",
            "town": "Northam",
            "postcode": "NE61 9ZZ",
        },
    )
    child = person_add_to_family(
        actor=p.sam,
        family=family,
        person_data={
            "first_name": first,
            "last_name": name,
            "date_of_birth": years_ago(today, 30),
            "nhs_number": "9434765919",
            "school_or_setting": "Larkspur Academy",
        },
        role=HouseholdRole.CHILD,
        start_date=years_ago(today, 12),
    ).person
    parent = person_add_to_family(
        actor=p.sam,
        family=family,
        person_data={"first_name": "Marigold", "last_name": name, "date_of_birth": years_ago(today, 55)},
        role=HouseholdRole.PARENT_CARER,
        start_date=years_ago(today, 12),
    ).person
    relationship_add(actor=p.sam, family=family, from_person=parent, to_person=child, type="parent_of")
    area = OutcomeArea.objects.order_by("order").first()
    draft = hub_services.request_save_draft(
        actor=p.sam,
        family=family,
        needs=[area],
        data={
            "source": "2A",
            "urgency": "routine",
            "reasons": f"{first} Quillfeather is often late to school",
            "consent_given": True,
            "consent_by": "Marigold Quillfeather",
            "consent_on": today,
            "consent_method": "verbal",
        },
    )
    request = hub_services.request_submit(actor=p.sam, request=draft)
    meeting = hub_services.hub_meeting_schedule(
        actor=p.chris, hub=family.hub, starts_at=timezone.now(), location="Northam library"
    )
    hub_services.hub_meeting_add_to_agenda(actor=p.chris, meeting=meeting, requests=[request])
    request.refresh_from_db()
    hub_services.triage_decide(
        actor=p.chris,
        request=request,
        outcome="early_help",
        rationale="Quillfeather family agreed to early help",
        decided_on=today,
        expected_version=request.version,
        meeting=meeting,
        allocated_to=p.sam,
    )
    episode = Episode.objects.filter(family=family).first() or services.episode_start_directly(
        actor=p.sam,
        family=family,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Marigold Quillfeather",
        consent_on=today,
    )
    services.taf_add_family_member(
        actor=p.sam, episode=episode, person=parent, role="Mother", joined_on=today
    )
    action_add(
        actor=p.sam,
        episode=episode,
        description="Marigold Quillfeather to walk Persimmon to school",
        owner_person=parent,
        due_on=today + dt.timedelta(days=7),
    )
    services.case_note_add(
        actor=p.sam,
        family=family,
        occurred_on=today,
        title="Home visit to Persimmon Quillfeather",
        detail="Seen",
    )
    reminder = Reminder.objects.create(
        kind="review_due", recipient=p.sam, object_id=episode.pk, family_id=family.pk, due_on=today
    )
    Notification.objects.create(
        recipient=p.sam,
        reminder=reminder,
        kind="review_due",
        title=f"Review due for {family.reference}",
        body="Quillfeather review",
        family_id=family.pk,
    )
    closed_on = years_ago(today, closed_years_ago)
    Episode.objects.filter(family=family).update(
        status=EpisodeStatus.CLOSED, opened_on=closed_on - dt.timedelta(days=300), closed_on=closed_on
    )
    RequestForSupport.objects.filter(family=family).update(
        received_on=closed_on - dt.timedelta(days=320), consent_on=closed_on - dt.timedelta(days=320)
    )
    TriageDecision.objects.filter(request__family=family).update(
        decided_on=closed_on - dt.timedelta(days=310)
    )
    Family.objects.filter(pk=family.pk).update(
        created_at=stamp(closed_on - dt.timedelta(days=330)),
        updated_at=stamp(closed_on - dt.timedelta(days=330)),
    )
    family.refresh_from_db()
    return RichFamily(family=family, child=child, parent=parent)


@pytest.fixture(autouse=True)
def retention_rules(db):
    """The default rules: a transactional test elsewhere flushes the database, data migrations included."""
    from ehcase.retention.defaults import ensure_default_rules

    ensure_default_rules()


@pytest.fixture
def today() -> dt.date:
    return timezone.localdate()
