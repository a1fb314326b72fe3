"""seed_demo: the demo county around the personas, the large tier, and the rules they keep."""

import io
from collections import Counter, defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q
from django.test import override_settings
from django.utils import timezone

from ehcase import codes, seeding
from ehcase.demo import DEMO_PASSWORD, build_personas
from ehcase.models import (
    Agency,
    AgencyType,
    AuditAction,
    AuditEvent,
    Family,
    FamilyMember,
    FamilyUserObjectPermission,
    HouseholdRole,
    Membership,
    Person,
    Relationship,
    Role,
    User,
)
from ehcase.permissions import families_visible_to
from ehcase.validators import nhs_number_is_valid, validate_upn
from hubs.models import Hub, HubArea
from pathway.models import Episode, EpisodeStatus
from tests.test_access import ANCHORS, EXPECTED

pytestmark = pytest.mark.django_db
COUNTY_REF = r"^F-D[0-9]{6}$"  # the anchors are F-DEMO...

ANCHOR_GRANTS = {
    ("ashworth", "sam.practitioner", "view_family"),
    ("ashworth", "sam.practitioner", "change_family"),
    ("ashworth", "hana.healthvisitor", "view_family"),
    ("bennett", "sam.practitioner", "view_family"),
    ("bennett", "sam.practitioner", "change_family"),
    ("carter", "hana.healthvisitor", "view_family"),
    ("carter", "hana.healthvisitor", "change_family"),
    ("evans", "ola.outsider", "view_family"),
    ("evans", "ola.outsider", "change_family"),
}


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Agency,
            User,
            Membership,
            Hub,
            HubArea,
            Family,
            Person,
            FamilyMember,
            Relationship,
            FamilyUserObjectPermission,
            Episode,
        )
    } | {
        "hub agencies": Hub.member_agencies.through.objects.count(),
        # build_personas() re-grants (and so re-audits) the anchors on every run; everything else once.
        "audit events": AuditEvent.objects.exclude(
            family_id__in=Family.objects.filter(reference__startswith="F-DEMO").values("pk")
        ).count(),
    }


def visible_ids(user) -> set[int]:
    return set(families_visible_to(user=user).values_list("pk", flat=True))


@pytest.fixture
def seeded():
    output = seed()
    return build_personas(), output


def test_default_seed_builds_the_county(seeded):
    personas, output = seeded
    assert Hub.objects.count() == 4
    assert HubArea.objects.count() == 11
    assert Agency.objects.count() >= 15
    expected_types = set(AgencyType.values) - {AgencyType.OTHER}
    assert set(Agency.objects.values_list("type", flat=True)) == expected_types
    for hub in Hub.objects.all():
        assert hub.member_agencies.count() >= 5, hub
        assert hub.families.count() >= 20, hub
        assert hub.coordinator_memberships.filter(role=Role.HUB_COORDINATOR).exists(), hub
    assert Family.objects.filter(reference__regex=COUNTY_REF).count() == seeding.DEFAULT_FAMILIES
    assert Family.objects.count() == seeding.DEFAULT_FAMILIES + len(ANCHORS)
    assert set(Family.objects.values_list("area__name", flat=True)) == set(
        HubArea.objects.values_list("name", flat=True)
    )
    assert all(f.hub_id == f.area.hub_id for f in Family.objects.select_related("area"))

    # Staff: a few practitioners per agency, some agency managers, everyone on the demo password.
    practitioners = Membership.objects.filter(role=Role.PRACTITIONER)
    per_agency = Counter(practitioners.values_list("agency_id", flat=True))
    assert len(per_agency) == Agency.objects.count()
    assert min(per_agency.values()) >= 2
    assert practitioners.count() >= 50
    assert Membership.objects.filter(role=Role.AGENCY_MANAGER).count() >= 5
    for user in User.objects.exclude(username="AnonymousUser").order_by("?")[:10]:
        assert user.check_password(DEMO_PASSWORD), user
    assert personas.sam.check_password(DEMO_PASSWORD)
    assert "Demo data ready" in output


def test_households_are_varied_and_valid(seeded):
    generated = Family.objects.filter(reference__regex=COUNTY_REF)
    sizes = Counter(generated.annotate(n=Count("members")).values_list("n", flat=True))
    assert min(sizes) >= 1 and max(sizes) <= 8
    assert len(sizes) >= 5
    mean = sum(k * v for k, v in sizes.items()) / sum(sizes.values())
    assert 2.5 <= mean <= 4

    people = Person.objects.filter(memberships__family__in=generated).distinct()
    for person in people:
        person.full_clean(validate_unique=False)  # names, codes, NHS number and UPN check digits
    roles = Counter(FamilyMember.objects.filter(family__in=generated).values_list("role", flat=True))
    assert set(roles) == set(HouseholdRole.values)
    unborn = people.filter(expected_date_of_birth__isnull=False)
    assert unborn.exists() and not unborn.filter(date_of_birth__isnull=False).exists()
    assert people.filter(date_of_birth__isnull=True, expected_date_of_birth__isnull=True).count() == 0
    with_nhs = people.exclude(nhs_number=None)
    assert with_nhs.count() >= 100 and all(
        nhs_number_is_valid(n) for n in with_nhs.values_list("nhs_number", flat=True)
    )
    with_upn = people.exclude(upn=None)
    assert with_upn.count() >= 50
    for value in with_upn.values_list("upn", flat=True):
        validate_upn(value)
    ethnicities = Counter(people.values_list("ethnicity", flat=True))
    assert set(ethnicities) <= set(codes.ETHNICITY_LABELS)
    assert len(ethnicities) >= 10
    assert ethnicities["WBRI"] < people.count() * 0.8
    assert people.exclude(disabilities=[]).count() >= 10
    assert people.exclude(language__in=["", "English"]).count() >= 10

    left = FamilyMember.objects.filter(family__in=generated, end_date__isnull=False)
    assert left.count() >= 10
    assert all(m.end_date >= m.start_date for m in left)
    assert generated.filter(young_carer=True).exists()
    assert generated.filter(send=True).exists()
    assert generated.filter(address_withheld=True).exists()

    relationships = Relationship.objects.filter(family__in=generated)
    assert {"parent_of", "sibling_of", "partner_of", "step_parent_of", "grandparent_of"} <= set(
        relationships.values_list("type", flat=True)
    )
    members = defaultdict(set)
    for family_id, person_id in FamilyMember.objects.values_list("family_id", "person_id"):
        members[family_id].add(person_id)
    for r in relationships:
        assert {r.from_person_id, r.to_person_id} <= members[r.family_id]


def test_running_twice_changes_nothing(seeded):
    before = counts()
    output = seed()
    assert counts() == before
    assert "0 families written, 200 already present" in output


def test_visibility_follows_the_policy(seeded):
    personas, _ = seeded
    users = personas.all_users()
    north_ids = set(Family.objects.filter(hub=personas.north).values_list("pk", flat=True))
    south_ids = set(Family.objects.filter(hub=personas.south).values_list("pk", flat=True))
    all_ids = set(Family.objects.values_list("pk", flat=True))
    anchors = {getattr(personas, name).pk: name for name in ANCHORS}

    # The anchors are seen exactly as ehcase/demo.py documents, and nobody new holds grants on them.
    for username, user in users.items():
        seen = {anchors[pk] for pk in visible_ids(user) if pk in anchors}
        assert seen == EXPECTED[username], username
    anchor_grants = {
        (anchors[fid], username, codename)
        for fid, username, codename in FamilyUserObjectPermission.objects.filter(
            content_object_id__in=anchors
        ).values_list("content_object_id", "user__username", "permission__codename")
    }
    assert anchor_grants == ANCHOR_GRANTS

    sam, hana, ola = (
        visible_ids(users[n]) for n in ("sam.practitioner", "hana.healthvisitor", "ola.outsider")
    )
    assert sam <= north_ids and len(sam) >= 12
    assert hana <= north_ids and len(hana) >= 8
    assert len((sam & hana) - set(anchors)) >= 5  # Hana visits some of Sam's further families
    assert ola <= south_ids and len(ola) >= 8
    assert not ola & north_ids
    assert visible_ids(users["chris.coordinator"]) == north_ids
    assert visible_ids(users["morgan.manager"]) == all_ids
    assert visible_ids(users["quinn.auditor"]) == all_ids
    assert visible_ids(users["admin"]) == set()
    riverside_staff = Membership.objects.filter(agency=personas.riverside, role=Role.PRACTITIONER).values(
        "user"
    )
    riverside_families = set(
        FamilyUserObjectPermission.objects.filter(
            user__in=riverside_staff, permission__codename="view_family"
        ).values_list("content_object_id", flat=True)
    )
    assert visible_ids(users["alex.schoolmanager"]) == riverside_families
    assert sam <= riverside_families <= north_ids

    # Sam leads further Riverside families: change rights and the episodes' lead professional.
    led = set(
        FamilyUserObjectPermission.objects.filter(user=personas.sam, permission__codename="change_family")
        .exclude(content_object_id__in=anchors)
        .values_list("content_object_id", flat=True)
    )
    assert len(led) >= 10
    assert Person.objects.filter(
        memberships__family_id__in=led, school_or_setting="Riverside Primary School"
    ).values("memberships__family_id").distinct().count() == len(led)
    assert Episode.objects.filter(lead_professional=personas.sam).exists()

    # Every practitioner works with several families; nobody is granted a family outside their hubs.
    caseload = Counter(
        FamilyUserObjectPermission.objects.filter(permission__codename="view_family").values_list(
            "user_id", flat=True
        )
    )
    for user_id in Membership.objects.filter(role=Role.PRACTITIONER).values_list("user_id", flat=True):
        assert caseload[user_id] >= 3, user_id
    grants = FamilyUserObjectPermission.objects.filter(permission__codename="view_family").values_list(
        "user_id", "content_object__hub_id"
    )
    member_hubs = defaultdict(set)
    for user_id, hub_id in Membership.objects.filter(role=Role.PRACTITIONER).values_list(
        "user_id", "agency__hubs"
    ):
        member_hubs[user_id].add(hub_id)
    for user_id, hub_id in grants:
        assert hub_id in member_hubs[user_id], (user_id, hub_id)


def test_episodes_are_level_three_led_by_a_worker_with_change_rights(seeded):
    episodes = Episode.objects.filter(family__reference__regex=COUNTY_REF).select_related("level")
    assert episodes.count() >= 60
    assert {e.level.code for e in episodes} == {"3"}
    open_episodes = episodes.exclude(status=EpisodeStatus.CLOSED)
    closed = episodes.filter(status=EpisodeStatus.CLOSED)
    assert open_episodes.count() >= 20 and closed.count() >= 20
    assert len({e.status for e in open_episodes}) >= 3
    assert not closed.filter(Q(closed_on=None) | Q(closure_reason="")).exists()
    assert not open_episodes.exclude(closed_on=None).exists()
    assert all(e.closed_on >= e.opened_on for e in closed)
    per_family = Counter(open_episodes.values_list("family_id", flat=True))
    assert max(per_family.values()) == 1
    # Some families came back: a closed episode and a later open one.
    both = set(per_family) & set(closed.values_list("family_id", flat=True))
    assert both
    for family_id in both:
        last_closed = max(closed.filter(family_id=family_id).values_list("closed_on", flat=True))
        assert open_episodes.get(family_id=family_id).opened_on > last_closed
    change = set(
        FamilyUserObjectPermission.objects.filter(permission__codename="change_family").values_list(
            "user_id", "content_object_id"
        )
    )
    for e in episodes:
        assert e.lead_professional_id is not None and e.assessor_id is not None
        assert (e.lead_professional_id, e.family_id) in change
        assert (e.assessor_id, e.family_id) in change


def test_seed_is_deterministic(seeded):
    personas, _ = seeded
    county, practitioners = seeding.build_county_structure(personas, seeding.DEFAULT_SEED, "unused")
    today = timezone.localdate()
    plans = seeding.plan_county_families(
        personas, county, practitioners, seeding.DEFAULT_SEED, today, seeding.DEFAULT_FAMILIES
    )
    stored = {
        f.reference: (f.name, f.postcode, sorted(m.person.full_name for m in f.members.all()))
        for f in Family.objects.filter(reference__regex=COUNTY_REF).prefetch_related("members__person")
    }
    planned = {
        p.reference: (p.name, p.postcode, sorted(f"{pp.first_name} {pp.last_name}" for pp in p.people))
        for p in plans
    }
    assert planned == stored
    other = seeding.plan_county_families(personas, county, practitioners, 7, today, 20)
    assert [p.name for p in other] != [p.name for p in plans[:20]]


def test_large_tier_builds_quickly_and_resumes():
    seed()
    baseline = Family.objects.count()
    output = seed(families=200, chunk_size=100)
    assert "chunk 2/2" in output
    seed(families=300, chunk_size=100)  # tops up the third chunk only
    large = Family.objects.filter(reference__startswith="F-L")
    assert large.count() == 300
    assert Family.objects.count() == baseline + 300
    assert set(large.values_list("reference", flat=True)) == {seeding.large_reference(i) for i in range(300)}

    before = counts()
    seed(families=300, chunk_size=100)
    assert counts() == before

    people = FamilyMember.objects.filter(family__in=large)
    assert 2.6 <= people.count() / 300 <= 3.6
    assert Relationship.objects.filter(family__in=large).count() >= 300
    assert not large.annotate(n=Count("familyuserobjectpermission")).filter(n=0).exists()
    episodes = Episode.objects.filter(family__in=large)
    assert episodes.filter(status=EpisodeStatus.CLOSED).exists()
    assert episodes.exclude(status=EpisodeStatus.CLOSED).exists()
    change = set(
        FamilyUserObjectPermission.objects.filter(
            permission__codename="change_family", content_object__in=large
        ).values_list("user_id", "content_object_id")
    )
    assert all((e.lead_professional_id, e.family_id) in change for e in episodes)
    # Each grant is audited as grant_family_access audits it.
    views = FamilyUserObjectPermission.objects.filter(
        permission__codename="view_family", content_object__in=large
    )
    audited = AuditEvent.objects.filter(action=AuditAction.GRANT, family_id__in=large.values("pk"))
    assert sorted(audited.values_list("object_id", "family_id")) == sorted(
        (str(u), f) for u, f in views.values_list("user_id", "content_object_id")
    )
    for person in Person.objects.filter(memberships__family__in=large).exclude(nhs_number=None, upn=None)[
        :200
    ]:
        try:
            person.full_clean(validate_unique=False)
        except ValidationError as error:  # pragma: no cover - the message says which identifier
            pytest.fail(f"{person.pk}: {error}")

    # The large tier's own agencies and practitioners, with managers.
    large_practitioners = Membership.objects.filter(role=Role.PRACTITIONER, agency__name__contains="Locality")
    assert large_practitioners.exists()
    assert Agency.objects.count() > 200

    personas = build_personas()
    assert visible_ids(personas.ola) <= set(
        Family.objects.filter(hub=personas.south).values_list("pk", flat=True)
    )
    assert visible_ids(personas.sam) <= set(
        Family.objects.filter(hub=personas.north).values_list("pk", flat=True)
    )
    assert len(visible_ids(personas.sam)) < 60
    assert visible_ids(personas.admin) == set()
    assert len(visible_ids(personas.morgan)) == Family.objects.count()


@override_settings(DEMO_DATA_ALLOWED=False)
def test_refuses_where_demo_data_is_not_allowed():
    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED is False"):
        seed()
    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED is False"):
        seed(families=10)
    assert not Family.objects.exists()
    assert not User.objects.filter(username="sam.practitioner").exists()
