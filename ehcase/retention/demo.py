"""Demo data for retention: a legal hold on one demo family, and the scan run once so the early help
manager's list has something in it (the demo county's oldest audit events are due). With
`old_families=True`, also two families old enough to be due (written with backdated dates, since the
county's histories are recent); seed_demo leaves them out because its tests count the county's
families and check every episode's history. Safe to run again."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ehcase.demo import Personas
from ehcase.models import Family, FamilyMember, HouseholdRole, Person
from pathway.models import Episode, EpisodeStatus, LevelOfNeed

from .defaults import ensure_default_rules
from .models import LegalHold
from .services import retention_scan

OLD_FAMILIES = [
    # reference, name, years since the last episode closed (None: never had one), child born years ago
    ("F-DEMOOLD", "Whitlock", 7, 27),
    ("F-DEMOQUI", "Ormerod", None, 30),
]


def _years_ago(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _old_family(
    personas: Personas, reference: str, name: str, closed_years: int | None, born_years: int
) -> Family:
    today = timezone.localdate()
    area = personas.ashworth.area
    family, created = Family.objects.get_or_create(
        reference=reference, defaults={"name": name, "area": area, "hub": area.hub, "town": area.name}
    )
    if not created:
        return family
    last = _years_ago(today, (closed_years or 7) + 1)
    child = Person.objects.create(
        first_name="Demo", last_name=name, date_of_birth=_years_ago(today, born_years), ethnicity="WBRI"
    )
    FamilyMember.objects.create(family=family, person=child, role=HouseholdRole.CHILD, start_date=last)
    if closed_years is not None:
        closed = _years_ago(today, closed_years)
        Episode.objects.create(
            family=family,
            level=LevelOfNeed.objects.order_by("order").last(),
            status=EpisodeStatus.CLOSED,
            opened_on=closed - dt.timedelta(days=240),
            closed_on=closed,
            closure_reason="outcomes_achieved",
        )
    moment = timezone.make_aware(dt.datetime.combine(last, dt.time(10)))
    Family.objects.filter(pk=family.pk).update(created_at=moment, updated_at=moment)
    return family


def seed_retention(personas: Personas, *, old_families: bool = False) -> dict[str, int]:
    ensure_default_rules()
    for reference, name, closed_years, born_years in OLD_FAMILIES if old_families else []:
        _old_family(personas, reference, name, closed_years, born_years)
    LegalHold.objects.get_or_create(
        family=personas.carter,
        lifted_at=None,
        defaults={
            "reason": "Demo: the council's legal team asked for the record to be kept during a claim",
            "placed_by": personas.morgan,
        },
    )
    return retention_scan()
