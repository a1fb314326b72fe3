"""The demo cast: the personas of README, their agencies and hubs, and a few families whose
visibility every permission test relies on. `seed_demo` builds the rest of the county around them.

Who sees which of the five anchor families (docs/access.md):
    ashworth (North): Sam is lead professional, Hana is in the TAF
    bennett  (North): Sam only
    carter   (North): Hana only
    dixon    (North): nobody yet: only the North coordinator and partnership-wide roles
    evans    (South): Ola is lead professional

Every demo account has a confirmed authenticator app with the published DEMO_TOTP_SECRET (only where
settings.DEMO_DATA_ALLOWED), so that anyone trying the demo can pass two-factor sign-in.
"""

from __future__ import annotations

import datetime as dt
from base64 import b32decode
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction

from hubs.models import Hub, HubArea

from .models import (
    Agency,
    AgencyType,
    Family,
    FamilyMember,
    FamilyUserObjectPermission,
    HouseholdRole,
    Membership,
    Person,
    Role,
    Sex,
    User,
)
from .permissions import grant_family_access

DEMO_PASSWORD = "early-help-demo"
# The demo accounts' authenticator app secret (base32, as typed into an authenticator app), published in
# README.md and docs/two-factor.md like the password, and like it never used where DEMO_DATA_ALLOWED is
# False (production).
DEMO_TOTP_SECRET = "EARLYHELPDEMOSECRETKEY2345ABCDEF"

HUBS = {
    "North": [("Morpeth", "NE61"), ("Ashington", "NE63"), ("Blyth", "NE24")],
    "South": [("Hexham", "NE46"), ("Prudhoe", "NE42"), ("Ponteland", "NE20")],
    "East": [("Cramlington", "NE23"), ("Bedlington", "NE22")],
    "West": [("Alnwick", "NE66"), ("Berwick", "TD15"), ("Haltwhistle", "NE49")],
}


@dataclass
class Personas:
    sam: User
    hana: User
    chris: User
    alex: User
    morgan: User
    quinn: User
    ola: User
    admin: User
    north: Hub
    south: Hub
    riverside: Agency
    health_visiting: Agency
    council: Agency
    southfield: Agency
    ashworth: Family
    bennett: Family
    carter: Family
    dixon: Family
    evans: Family

    def all_users(self) -> dict[str, User]:
        return {
            "sam.practitioner": self.sam,
            "hana.healthvisitor": self.hana,
            "chris.coordinator": self.chris,
            "alex.schoolmanager": self.alex,
            "morgan.manager": self.morgan,
            "quinn.auditor": self.quinn,
            "ola.outsider": self.ola,
            "admin": self.admin,
        }


def _user(username: str, first: str, last: str, title: str, **extra) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "job_title": title,
            "email": f"{username}@example.org",
            **extra,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _member(user: User, agency: Agency, role: str, hubs: list[Hub] | None = None) -> None:
    membership, _ = Membership.objects.get_or_create(user=user, agency=agency, role=role)
    if hubs:
        membership.hubs.add(*hubs)


def _family(reference: str, name: str, area: HubArea, people: list[tuple]) -> Family:
    family, created = Family.objects.get_or_create(
        reference=reference,
        defaults={
            "name": name,
            "area": area,
            "hub": area.hub,
            "address_line_1": "1 Demo Street",
            "town": area.name,
            "postcode": f"{area.postcode_district} 1AA",
        },
    )
    if created:
        for first, last, dob, sex, role in people:
            person = Person.objects.create(
                first_name=first, last_name=last, date_of_birth=dob, sex=sex, ethnicity="WBRI"
            )
            FamilyMember.objects.create(
                family=family, person=person, role=role, start_date=dt.date(2024, 9, 1)
            )
    return family


def build_hubs() -> dict[str, Hub]:
    hubs = {}
    for name, areas in HUBS.items():
        hub, _ = Hub.objects.get_or_create(
            name=f"{name} hub",
            defaults={"meeting_pattern": "Weekly, Tuesday mornings", "triage_target_working_days": 5},
        )
        for area_name, district in areas:
            HubArea.objects.get_or_create(
                name=area_name, defaults={"hub": hub, "postcode_district": district}
            )
        hubs[name] = hub
    return hubs


def demo_totp_key() -> str:
    """DEMO_TOTP_SECRET as django-otp stores a key (hex)."""
    return b32decode(DEMO_TOTP_SECRET).hex()


def ensure_demo_devices(users) -> int:
    """A confirmed authenticator app with the published DEMO_TOTP_SECRET for each of `users` that has
    none, only where settings.DEMO_DATA_ALLOWED. Returns how many were added."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not getattr(settings, "DEMO_DATA_ALLOWED", False):
        return 0
    ids = {user.pk for user in users}
    have = set(TOTPDevice.objects.filter(user_id__in=ids, confirmed=True).values_list("user_id", flat=True))
    TOTPDevice.objects.bulk_create(
        [
            TOTPDevice(user_id=pk, name="Demo authenticator app", key=demo_totp_key(), confirmed=True)
            for pk in sorted(ids - have)
        ]
    )
    return len(ids - have)


def ensure_demo_devices_for_demo_password() -> int:
    """Every account without an authenticator app that signs in with the published DEMO_PASSWORD (the
    personas and the staff seed_demo writes) gets the published secret too. Staff rows share a few
    password hashes, so each distinct hash is checked once."""
    hashes = (
        User.objects.exclude(totpdevice__confirmed=True)
        .exclude(password="")
        .values_list("password", flat=True)
        .distinct()
    )
    demo_hashes = [h for h in hashes if check_password(DEMO_PASSWORD, h)]
    return ensure_demo_devices(User.objects.filter(password__in=demo_hashes))


@transaction.atomic
def build_personas() -> Personas:
    from assessments.defaults import ensure_default_template
    from assessments.models import AssessmentTemplate
    from pathway.defaults import ensure_reference_data
    from pathway.models import LevelOfNeed, OutcomeArea

    # Normally there from the migrations; a flushed test database needs them back.
    ensure_reference_data(LevelOfNeed, OutcomeArea)
    ensure_default_template(AssessmentTemplate)
    hubs = build_hubs()
    north, south = hubs["North"], hubs["South"]
    riverside, _ = Agency.objects.get_or_create(
        name="Riverside Primary School", defaults={"type": AgencyType.SCHOOL}
    )
    health_visiting, _ = Agency.objects.get_or_create(
        name="North Health Visiting Team", defaults={"type": AgencyType.HEALTH_VISITING}
    )
    council, _ = Agency.objects.get_or_create(
        name="County Council Early Help Service", defaults={"type": AgencyType.FAMILY_SUPPORT}
    )
    southfield, _ = Agency.objects.get_or_create(
        name="Southfield Academy", defaults={"type": AgencyType.SCHOOL}
    )
    north.member_agencies.add(riverside, health_visiting, council)
    south.member_agencies.add(southfield, council)

    sam = _user("sam.practitioner", "Sam", "Patel", "Designated safeguarding lead")
    hana = _user("hana.healthvisitor", "Hana", "Kowalski", "Health visitor")
    chris = _user("chris.coordinator", "Chris", "Okafor", "North hub coordinator")
    alex = _user("alex.schoolmanager", "Alex", "Reid", "Headteacher")
    morgan = _user("morgan.manager", "Morgan", "Hughes", "Early help manager")
    quinn = _user("quinn.auditor", "Quinn", "Adeyemi", "Quality assurance officer")
    ola = _user("ola.outsider", "Ola", "Nowak", "Pastoral lead")
    admin = _user(
        "admin", "System", "Administrator", "System administrator", is_staff=True, is_superuser=True
    )

    _member(sam, riverside, Role.PRACTITIONER)
    _member(hana, health_visiting, Role.PRACTITIONER)
    _member(chris, council, Role.HUB_COORDINATOR, hubs=[north])
    _member(alex, riverside, Role.AGENCY_MANAGER)
    _member(morgan, council, Role.EARLY_HELP_MANAGER)
    _member(quinn, council, Role.QUALITY_AUDITOR)
    _member(ola, southfield, Role.PRACTITIONER)
    _member(admin, council, Role.SYSTEM_ADMINISTRATOR)

    morpeth = HubArea.objects.get(name="Morpeth")
    ashington = HubArea.objects.get(name="Ashington")
    hexham = HubArea.objects.get(name="Hexham")
    f, m = Sex.FEMALE, Sex.MALE
    child, parent = HouseholdRole.CHILD, HouseholdRole.PARENT_CARER
    ashworth = _family(
        "F-DEMOASH",
        "Ashworth",
        morpeth,
        [
            ("Kerry", "Ashworth", dt.date(1990, 5, 14), f, parent),
            ("Jayden", "Ashworth", dt.date(2016, 2, 3), m, child),
            ("Mia", "Ashworth", dt.date(2019, 11, 20), f, child),
        ],
    )
    bennett = _family(
        "F-DEMOBEN",
        "Bennett",
        morpeth,
        [
            ("Lee", "Bennett", dt.date(1987, 8, 1), m, parent),
            ("Tyler", "Bennett", dt.date(2014, 6, 9), m, child),
        ],
    )
    carter = _family(
        "F-DEMOCAR",
        "Carter",
        ashington,
        [
            ("Amy", "Carter", dt.date(1998, 1, 30), f, parent),
            ("Noah", "Carter", dt.date(2025, 7, 12), m, child),
        ],
    )
    dixon = _family(
        "F-DEMODIX",
        "Dixon",
        ashington,
        [
            ("Paul", "Dixon", dt.date(1982, 3, 3), m, parent),
            ("Ellie", "Dixon", dt.date(2012, 12, 12), f, child),
        ],
    )
    evans = _family(
        "F-DEMOEVA",
        "Evans",
        hexham,
        [
            ("Rhian", "Evans", dt.date(1985, 10, 10), f, parent),
            ("Owen", "Evans", dt.date(2013, 4, 4), m, child),
        ],
    )
    if not FamilyUserObjectPermission.objects.filter(content_object=ashworth).exists():
        # First build only: grants are audited, and a re-run must not add events.
        grant_family_access(user=sam, family=ashworth, change=True)
        grant_family_access(user=hana, family=ashworth)
        grant_family_access(user=sam, family=bennett, change=True)
        grant_family_access(user=hana, family=carter, change=True)
        grant_family_access(user=ola, family=evans, change=True)
    ensure_demo_devices([sam, hana, chris, alex, morgan, quinn, ola, admin])

    return Personas(
        sam=sam,
        hana=hana,
        chris=chris,
        alex=alex,
        morgan=morgan,
        quinn=quinn,
        ola=ola,
        admin=admin,
        north=north,
        south=south,
        riverside=riverside,
        health_visiting=health_visiting,
        council=council,
        southfield=southfield,
        ashworth=ashworth,
        bennett=bennett,
        carter=carter,
        dixon=dixon,
        evans=evans,
    )
