import datetime as dt

import factory
from factory.django import DjangoModelFactory

from ehcase.models import (
    Agency,
    AgencyType,
    Family,
    FamilyMember,
    HouseholdRole,
    Membership,
    Person,
    Role,
    User,
)
from ehcase.services import new_family_reference
from hubs.models import Hub, HubArea
from pathway.models import Episode, LevelOfNeed


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    type = AgencyType.SCHOOL


class HubFactory(DjangoModelFactory):
    class Meta:
        model = Hub

    name = factory.Sequence(lambda n: f"Hub {n}")


class HubAreaFactory(DjangoModelFactory):
    class Meta:
        model = HubArea

    hub = factory.SubFactory(HubFactory)
    name = factory.Sequence(lambda n: f"Area {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.PostGenerationMethodCall("set_password", "early-help-demo")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SubFactory(AgencyFactory)
    role = Role.PRACTITIONER


class FamilyFactory(DjangoModelFactory):
    class Meta:
        model = Family

    reference = factory.LazyFunction(new_family_reference)
    name = factory.Sequence(lambda n: f"Family{n}")
    area = factory.SubFactory(HubAreaFactory)
    hub = factory.LazyAttribute(lambda o: o.area.hub)
    postcode = "NE61 1AA"


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = Person

    first_name = factory.Sequence(lambda n: f"Child{n}")
    last_name = "Smith"
    date_of_birth = dt.date(2015, 3, 1)


class FamilyMemberFactory(DjangoModelFactory):
    class Meta:
        model = FamilyMember

    family = factory.SubFactory(FamilyFactory)
    person = factory.SubFactory(PersonFactory)
    role = HouseholdRole.CHILD
    start_date = dt.date(2020, 1, 1)


class EpisodeFactory(DjangoModelFactory):
    class Meta:
        model = Episode

    family = factory.SubFactory(FamilyFactory)
    level = factory.LazyFunction(lambda: LevelOfNeed.objects.get(code="3"))
    opened_on = dt.date(2026, 4, 1)


def consent_everyone(*, actor: User, episode: Episode, given_on: dt.date | None = None) -> None:
    """Record consent for every current member of the episode's family: adults and young people aged 16 or
    over for themselves, younger children through the first parent or carer."""
    from assessments import services as assessment_services
    from assessments.models import ConsentRecord

    members = list(
        FamilyMember.objects.filter(family_id=episode.family_id, end_date__isnull=True).select_related(
            "person"
        )
    )
    parent = next((m.person for m in members if m.role == HouseholdRole.PARENT_CARER), None)
    given_on = given_on or episode.opened_on
    have = set(
        ConsentRecord.objects.filter(episode=episode, withdrawn_on__isnull=True).values_list(
            "person_id", flat=True
        )
    )
    for member in members:
        if member.person_id in have:
            continue
        born = member.person.date_of_birth
        age = None if born is None else (given_on - born).days // 365
        young = member.role == HouseholdRole.CHILD and (age is None or age < 16)
        assessment_services.consent_record(
            actor=actor,
            episode=episode,
            person=member.person,
            given_by=parent if young and parent else member.person,
            own_consent_competent=young and parent is None,
            given_on=given_on,
            method="written",
            agrees_to_sharing=True,
            sharing_basis="consent",
        )


def complete_assessment(*, actor: User, episode: Episode):
    """A completed assessment row for pathway tests that only need "the assessment is done" (no needs or
    baseline of its own). Tests of the assessment itself go through assessments.services."""
    from django.utils import timezone

    from assessments.models import Assessment, AssessmentStatus, AssessmentTemplate

    assessment = Assessment.objects.create(
        episode=episode,
        template=AssessmentTemplate.objects.filter(published=True).order_by("-version").first(),
        assessor=actor,
        status=AssessmentStatus.COMPLETED,
        started_on=episode.opened_on,
        assessment_date=episode.opened_on,
        completed_at=timezone.now(),
        updated_by=actor,
        content={"family_view": "We want help with mornings"},
    )
    assessment.members.set(
        FamilyMember.objects.filter(family_id=episode.family_id, end_date__isnull=True).values_list(
            "person_id", flat=True
        )
    )
    if episode.status == "open":
        Episode.objects.filter(pk=episode.pk).update(status="assessment")
        episode.status = "assessment"
    return assessment
