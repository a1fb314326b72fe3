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
