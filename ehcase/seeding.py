"""Demo data behind ``manage.py seed_demo``: a plausible county around the personas of
ehcase.demo and, on request, the large benchmark tier of DESIGN.md §9.

Both tiers are deterministic for a given seed and safe to run again:

* **The county** (always): about twenty partner agencies spread over the four hubs with a few
  practitioners each, agency managers, a coordinator for every hub, and 200 families
  (references ``F-D000001`` ...) written through the ORM. Their histories on the pathway
  (pathway.demo: episodes at every point, closures for every reason, step ups, step downs,
  re-referrals, teams, meetings, baselines, reviews, case notes) are replayed through
  ``pathway.services``, with consent, Early Help Assessments in every state and family plans through
  ``assessments.services`` (assessments.demo), and a few Supporting Families claims through
  ``pathway.claims`` (pathway.demo.seed_county_claims). The services also grant the workers in
  each team access; workers with no team are granted access with
  ``ehcase.permissions.grant_family_access``.
  Sam's Riverside families follow SAM_STORIES, and the Ashworth anchor family gets a history of its
  own with only Sam and Hana in the team. Families whose reference exists are skipped, and the
  whole tier is one transaction, so a second run writes nothing.
* **The large tier** (``--families N``): N more families (``F-L0000001`` ...) of about three
  people each, two hundred agencies and about 2,000 practitioners (fewer for small N), written
  in chunks with PostgreSQL ``COPY``, with the same kind of pathway histories written as the
  rows the services would have written (no audit events for them): episodes, teams, meetings,
  reviews and notes (pathway.demo.StoryRows); a request for support before each episode the hub
  opened and requests the hub decided otherwise or has still to decide, with their triage decisions
  (hubs.demo.RequestRows); consent and an Early Help Assessment for each episode that got as far as
  one, in the states of the county's, with a version for each completion (assessments.demo.EhaRows);
  and Supporting Families claims for a share of the episodes closed with their outcomes achieved
  (pathway.demo.ClaimRows). There are no family plans (outcomes and actions) in this tier. Each
  chunk is one transaction and is skipped when its families exist, so an interrupted run resumes
  and a repeated run writes nothing.

Nobody is granted access to the anchor families of ehcase.demo here: their visibility table
stays exactly as documented there. Sam (Riverside Primary School), Hana (North health visiting)
and Ola (Southfield Academy) work with further North, North and South families respectively;
in the large tier they take a few hundred families each, not a share of the whole county.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from assessments import demo as assessments_demo
from assessments.models import Assessment, AssessmentTemplate, AssessmentVersion, ConsentRecord
from hubs import demo as hubs_demo
from hubs.models import Hub, HubArea, RequestForSupport, TriageDecision
from hubs.referral_forms import SOURCE_FOR_AGENCY_TYPE
from pathway import demo as pathway_demo
from pathway.models import (
    ChronologyEntry,
    ClosureReason,
    Episode,
    EpisodeSource,
    EpisodeTransition,
    IdentifiedNeed,
    LeadProfessional,
    LevelChange,
    LevelOfNeed,
    OutcomeArea,
    OutcomeScore,
    Review,
    SupportingFamiliesClaim,
    TafMeeting,
    TafMember,
)
from pathway.services import case_note_add

from .demo import DEMO_PASSWORD, HUBS, Personas, build_personas
from .models import (
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
    RelationshipType,
    Role,
    Sex,
    User,
)
from .permissions import CHANGE, VIEW, grant_family_access
from .validators import nhs_number_is_valid, upn_check_letter, validate_upn

DEFAULT_SEED = 2026
DEFAULT_FAMILIES = 200
DEFAULT_PREFIX = "F-D"
LARGE_PREFIX = "F-L"
LARGE_CHUNK = 10_000
# The large tier's practitioner numbers are sized for this many families and scaled down below it.
LARGE_FULL_SIZE = 250_000
LA_CODE = "929"  # the three-digit local authority part of a UPN

Log = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# Reference data: names, languages and Children in Need census ethnicity codes


@dataclass(frozen=True)
class Heritage:
    ethnicity: str
    weight: float
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    languages: tuple[str, ...]


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_BRITISH_F = _w(
    "Olivia Amelia Isla Ava Emily Sophie Grace Lily Freya Ella Chloe Jessica Megan Holly Leah Kayleigh "
    "Gemma Stacey Claire Nicola Sarah Rebecca Hayley Danielle Paige Courtney Jade Lucy Poppy Evie Ruby "
    "Millie Charlotte Laura Abbie Katie Rachel Lisa Donna Shannon"
)
_BRITISH_M = _w(
    "Oliver Jack Harry George Charlie Thomas James Alfie Jacob Noah Leo Ethan Mason Riley Logan Callum "
    "Liam Kieran Ryan Daniel Craig Darren Lee Mark Jamie Connor Tyler Kyle Dylan Archie Freddie Lewis "
    "Scott Adam Michael Paul Stephen Joshua Aaron"
)
_BRITISH_S = _w(
    "Smith Robson Armstrong Charlton Milburn Elliott Bell Dodds Hall Taylor Brown Wilson Thompson Walker "
    "Johnson Scott Young Wright Anderson Davison Nixon Reed Forster Hedley Turnbull Short Stephenson "
    "Atkinson Richardson Murray Graham Hunter Pearson Moore Jackson Watson Stewart Fenwick Ridley Potts "
    "Common Dixon Marshall Heron Storey Lawson Tait Errington Hetherington Rutherford"
)

HERITAGES: tuple[Heritage, ...] = (
    Heritage("WBRI", 62, _BRITISH_F, _BRITISH_M, _BRITISH_S, ("English",)),
    Heritage(
        "WIRI",
        1.5,
        _w("Aoife Niamh Siobhan Ciara Roisin Saoirse Orla Caoimhe"),
        _w("Sean Ciaran Padraig Conor Eoin Declan Cillian Oisin"),
        _w("Murphy Kelly O'Brien Byrne Ryan Doyle McCarthy Gallagher Flanagan Quinn"),
        ("English",),
    ),
    Heritage(
        "WIRT",
        1,
        _w("Bridget Mary Kathleen Margaret Nora Josie"),
        _w("Patrick John Michael Martin Francis Christy"),
        _w("McDonagh Ward Joyce Maughan Connors Doherty Cash"),
        ("English",),
    ),
    Heritage(
        "WROM",
        1,
        _w("Denisa Alexandra Ramona Maria Nikola Simona"),
        _w("Marian Florin Ionut Daniel Robert Milan"),
        _w("Lakatos Balog Dudi Stoica Rostas Horvath Kotlar"),
        ("Romanes", "Romanian", "Slovak"),
    ),
    Heritage(
        "WOTH",
        5,
        _w("Zuzanna Julia Maja Natalia Oliwia Agnieszka Katarzyna Magdalena Wiktoria Hanna"),
        _w("Jakub Kacper Szymon Mateusz Bartosz Tomasz Piotr Michal Dawid Filip"),
        _w("Kowalczyk Wisniewski Nowicki Zielinski Lewandowski Wojcik Kaminski Mazur Krawczyk"),
        ("Polish",),
    ),
    Heritage(
        "WOTH",
        2,
        _w("Ioana Andreea Elena Bianca Gabija Ruta Ieva Daria"),
        _w("Andrei Mihai Alexandru Stefan Lukas Mantas Tadas Vlad"),
        _w("Popescu Ionescu Dumitru Munteanu Kazlauskas Petrauskas Jankauskas Stan"),
        ("Romanian", "Lithuanian"),
    ),
    Heritage(
        "MWBC",
        2,
        _w("Tiana Jasmine Aaliyah Nia Keisha Maya Imani"),
        _w("Marcus Jayden Tyrese Kai Malachi Jaden Reuben"),
        _w("Campbell Clarke Williams Francis Robson Taylor Brown"),
        ("English",),
    ),
    Heritage(
        "MWBA",
        1,
        _w("Amara Zara Ella Ayanna Esme"),
        _w("Elijah Kofi Isaac Samuel Tobi"),
        _w("Mensah Smith Okoro Wilson Hall"),
        ("English",),
    ),
    Heritage(
        "MWAS",
        1,
        _w("Layla Aisha Mia Sophia Inaya"),
        _w("Zayn Adam Rayan Aryan Yusuf"),
        _w("Khan Taylor Patel Bell Hussain"),
        ("English",),
    ),
    Heritage(
        "MOTH",
        0.8,
        _w("Luna Aria Sienna Nadia Leila"),
        _w("Mateo Luca Ezra Rafael Nico"),
        _w("Santos Walker Garcia Nowak Elliott"),
        ("English",),
    ),
    Heritage(
        "AIND",
        2,
        _w("Priya Ananya Aanya Simran Harleen Navjot Kiran Meera"),
        _w("Arjun Rohan Aarav Harjeet Gurpreet Vikram Rajesh Sunil"),
        _w("Patel Sharma Singh Kaur Gill Sandhu Mistry Chauhan"),
        ("Punjabi", "Gujarati", "English"),
    ),
    Heritage(
        "APKN",
        3,
        _w("Aisha Maryam Zainab Hafsa Amina Iqra Sana Khadija"),
        _w("Muhammad Ali Hamza Bilal Zain Imran Adil Usman"),
        _w("Khan Hussain Ahmed Iqbal Akhtar Mahmood Rashid Shah"),
        ("Urdu", "Punjabi", "English"),
    ),
    Heritage(
        "ABAN",
        2,
        _w("Fatima Nusrat Tahmina Sumaiya Ruksana Jannat Salma"),
        _w("Rahim Abdul Shahid Rayhan Tanvir Ibrahim Jamal"),
        _w("Begum Miah Uddin Rahman Islam Chowdhury Ali"),
        ("Bengali (Sylheti)", "English"),
    ),
    Heritage(
        "AOTH",
        1,
        _w("Maria Angel Tharushi Sita Anjali Dilini"),
        _w("Jose Bishal Ramesh Nimal Prakash Mark"),
        _w("Santos Reyes Gurung Thapa Perera Fernando"),
        ("Tagalog", "Nepali", "Tamil"),
    ),
    Heritage(
        "BCRB",
        1,
        _w("Shanice Tamara Simone Chantelle Marcia Alisha"),
        _w("Devon Andre Dwayne Jerome Leon Curtis"),
        _w("Campbell Brown Clarke Francis Grant Thomas Morgan"),
        ("English",),
    ),
    Heritage(
        "BAFR",
        2,
        _w("Chiamaka Adaeze Temitope Folake Blessing Abena Grace Esther"),
        _w("Chinedu Oluwaseun Emeka Tunde David Kwame Samuel Daniel"),
        _w("Okafor Adeyemi Okonkwo Balogun Eze Mensah Asante Oyelaran"),
        ("English", "Yoruba", "Igbo", "Twi"),
    ),
    Heritage(
        "BAFR",
        1.2,
        _w("Hodan Amran Ayaan Sagal Hibo Fadumo"),
        _w("Abdirahman Mohamed Hassan Yusuf Abdullahi Liban"),
        _w("Abdi Ali Warsame Farah Osman Jama"),
        ("Somali",),
    ),
    Heritage(
        "BAFR",
        0.8,
        _w("Senait Helen Luwam Selam Winta"),
        _w("Yonas Dawit Robel Filmon Samuel"),
        _w("Tesfay Gebremedhin Haile Berhane Kidane"),
        ("Tigrinya",),
    ),
    Heritage(
        "BOTH",
        0.5,
        _w("Naomi Abigail Zion Destiny"),
        _w("Joel Nathaniel Caleb Elias"),
        _w("Joseph James Emmanuel Matthews"),
        ("English",),
    ),
    Heritage(
        "CHNE",
        1,
        _w("Mei Xin Yan Ling Jia Hui"),
        _w("Wei Jun Hao Kai Ming Jian"),
        _w("Chen Wong Li Zhang Lam Liu"),
        ("Cantonese", "Mandarin"),
    ),
    Heritage(
        "OOTH",
        2.5,
        _w("Layla Noor Rahaf Shirin Zahra Yasmin Farah Mahsa"),
        _w("Omar Ahmad Karim Mustafa Farhad Hassan Khaled Ali"),
        _w("Al-Hassan Haddad Karimi Ahmadi Rahimi Mohammadi Hamid Aziz"),
        ("Arabic", "Dari", "Pashto", "Kurdish"),
    ),
    Heritage("REFU", 0.7, _BRITISH_F, _BRITISH_M, _BRITISH_S, ("English",)),
    Heritage("NOBT", 2.5, _BRITISH_F, _BRITISH_M, _BRITISH_S, ("English",)),
)
_HERITAGE_WEIGHTS = [h.weight for h in HERITAGES]

STREETS = tuple(
    "Front Street|Station Road|Church View|Hawthorn Terrace|Coquet Avenue|Wansbeck Road|Cheviot View|"
    "Tyne Crescent|Castle Square|Milburn Road|Abbey Gardens|Beech Grove|Elm Close|Sycamore Way|"
    "Briardale Road|Alexandra Road|Victoria Terrace|Lintonville Road|Hirst Villas|Newbiggin Road|"
    "Percy Street|Bondgate Within|Oakwood Avenue|Priory Court|Fenwick Close|Windsor Drive".split("|")
)
SCHOOL_NAMES = (
    "St Aidan's C of E",
    "Hillcrest",
    "Meadowdale",
    "Abbeyfields",
    "Kingsway",
    "St Cuthbert's RC",
    "Westgate",
    "Eastlea",
    "Greenfield",
    "Oakwood",
    "Bede",
    "Castle View",
    "Beechwood",
    "Willow Bank",
)
CHILD_DISABILITIES = (
    ("AUT", 30),
    ("LD", 20),
    ("COMM", 20),
    ("BEH", 15),
    ("HEAR", 5),
    ("VIS", 4),
    ("MOB", 6),
    ("PC", 3),
    ("INC", 2),
    ("CON", 2),
    ("HAND", 1),
    ("DDA", 5),
)
ADULT_DISABILITIES = (("DDA", 40), ("MOB", 25), ("LD", 10), ("VIS", 8), ("HEAR", 10), ("COMM", 3), ("PC", 4))
TITLES = {
    AgencyType.SCHOOL: (
        "Designated safeguarding lead",
        "Pastoral lead",
        "Family support worker",
        "SENCo",
        "Attendance officer",
    ),
    AgencyType.EARLY_YEARS: ("Early years practitioner", "Family link worker", "Nursery room leader"),
    AgencyType.HEALTH_VISITING: ("Health visitor", "Health visitor", "Community nursery nurse"),
    AgencyType.SCHOOL_HEALTH: ("School nurse", "School health practitioner"),
    AgencyType.GP: ("GP", "Practice nurse", "Safeguarding lead GP"),
    AgencyType.CAMHS: (
        "Mental health practitioner",
        "Children's wellbeing practitioner",
        "Clinical psychologist",
    ),
    AgencyType.POLICE: ("Police constable (early intervention)", "Police community support officer"),
    AgencyType.HOUSING: ("Housing officer", "Tenancy support officer"),
    AgencyType.YOUTH_JUSTICE: ("Youth justice worker", "Prevention worker"),
    AgencyType.FAMILY_SUPPORT: ("Family support worker", "Early help practitioner", "Family practitioner"),
    AgencyType.VOLUNTARY: ("Family support worker", "Domestic abuse outreach worker", "Support worker"),
    AgencyType.ADULT_SERVICES: ("Recovery worker", "Community psychiatric nurse", "Social worker (adults)"),
}
MANAGER_TITLES = {AgencyType.SCHOOL: "Headteacher", AgencyType.GP: "Practice manager"}


def _weighted(rng: random.Random, pairs: Sequence[tuple]):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _mixed_code(a: str, b: str) -> str:
    codes = {a, b}
    if "WBRI" in codes or "WOTH" in codes or "WIRI" in codes:
        if codes & {"BCRB"}:
            return "MWBC"
        if codes & {"BAFR"}:
            return "MWBA"
        if codes & {"AIND", "APKN", "ABAN", "AOTH", "CHNE"}:
            return "MWAS"
    return "MOTH"


def _username(first: str, last: str) -> str:
    return "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")


# --------------------------------------------------------------------------------------------
# Identifiers with valid check digits (NHS test range 999; UPNs with the county's LA code)


def nhs_number(serial: int) -> str | None:
    """The NHS number ``999`` + six-digit serial + check digit, or None when that serial has no
    valid check digit (one in eleven). 999 numbers are reserved for testing by NHS England."""
    if not 0 <= serial < 1_000_000:
        return None
    stem = f"999{serial:06d}"
    total = sum(int(d) * (10 - i) for i, d in enumerate(stem))
    check = (11 - total % 11) % 11
    if check == 10:
        return None
    number = f"{stem}{check}"
    assert nhs_number_is_valid(number)
    return number


def upn(serial: int) -> str | None:
    """A UPN with the county's LA code and a valid check letter, or None when ehcase.validators
    would refuse it (its pattern leaves out the check letter L, which the DfE algorithm can give)."""
    rest = f"{LA_CODE}{serial:09d}"
    value = upn_check_letter(rest) + rest
    try:
        validate_upn(value)
    except ValidationError:
        return None
    return value


# --------------------------------------------------------------------------------------------
# The county's shape: areas, schools and who works where


@dataclass(frozen=True)
class AreaInfo:
    id: int
    name: str
    district: str
    hub_id: int
    hub_key: str


@dataclass
class School:
    name: str
    phase: str  # "primary" (4-10) or "secondary" (11-16)
    weight: float = 1.0
    staff: list[int] = field(default_factory=list)


@dataclass
class County:
    areas: list[AreaInfo]
    schools: dict[int, dict[str, list[School]]]
    early_years: dict[int, list[str]]
    pools: dict[tuple[int, str], list[int]]
    # A persona who takes a fixed share of a pool's work whatever the pool's size: (user id, share).
    guests: dict[tuple[int, str], tuple[int, float]] = field(default_factory=dict)
    usernames: dict[int, str] = field(default_factory=dict)  # for the grants' audit events
    users: dict[int, User] = field(default_factory=dict)  # practitioners by id: names and job titles
    agency_of: dict[int, int] = field(default_factory=dict)  # practitioner id: their agency's id

    def school(self, rng: random.Random, area_id: int, phase: str) -> School:
        options = self.schools[area_id][phase]
        return rng.choices(options, weights=[s.weight for s in options])[0]

    def pick(self, rng: random.Random, area_id: int, service: str) -> int | None:
        guest = self.guests.get((area_id, service))
        if guest is not None and rng.random() < guest[1]:
            return guest[0]
        pool = self.pools.get((area_id, service))
        return rng.choice(pool) if pool else None


def _area_infos() -> list[AreaInfo]:
    keys = {f"{k} hub": k for k in HUBS}
    return [
        AreaInfo(a.id, a.name, a.postcode_district, a.hub_id, keys.get(a.hub.name, a.hub.name))
        for a in HubArea.objects.select_related("hub").order_by("name")
    ]


def _area_school_names(area: str) -> tuple[list[str], list[str]]:
    """Stable fictional school names for an area: ten primaries and two secondaries."""
    offset = sum(map(ord, area)) % len(SCHOOL_NAMES)
    names = [SCHOOL_NAMES[(offset + i) % len(SCHOOL_NAMES)] for i in range(10)]
    primaries = [f"{n} {'First' if i % 3 == 2 else 'Primary'} School, {area}" for i, n in enumerate(names)]
    secondaries = [
        f"{area} High School",
        f"{SCHOOL_NAMES[(offset + 11) % len(SCHOOL_NAMES)]} Academy, {area}",
    ]
    return primaries, secondaries


# --------------------------------------------------------------------------------------------
# Plans: what one family looks like before it is written


@dataclass
class PersonPlan:
    first_name: str
    last_name: str
    sex: str
    role: str
    date_of_birth: dt.date | None
    expected_date_of_birth: dt.date | None = None
    ethnicity: str = "WBRI"
    disabilities: list[str] = field(default_factory=list)
    language: str = "English"
    nhs_number: str | None = None
    upn: str | None = None
    school_or_setting: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    school: School | None = None

    def age(self, today: dt.date) -> int | None:
        if self.date_of_birth is None:
            return None
        d = self.date_of_birth
        return today.year - d.year - ((today.month, today.day) < (d.month, d.day))


@dataclass
class FamilyPlan:
    reference: str
    name: str
    area: AreaInfo
    address_line_1: str
    postcode: str
    known_since: dt.date
    people: list[PersonPlan]
    relationships: list[tuple[int, int, str]]
    address_withheld: bool = False
    young_carer: bool = False
    send: bool = False
    grants: list[tuple[int, bool]] = field(default_factory=list)
    episodes: list[pathway_demo.EpisodeStory] = field(default_factory=list)
    notes: list[tuple[dt.date, int, str, str]] = field(default_factory=list)  # outside any episode

    @property
    def lead(self) -> int | None:
        return next((uid for uid, change in self.grants if change), None)


# Household shapes and their weights: lone parents are over-represented in early help, as in the
# strategies' own figures. About three people a family on average, one to eight.
SHAPES = (
    ("lone_parent", 44),
    ("couple", 20),
    ("blended", 7),
    ("kinship", 4),
    ("three_generations", 4),
    ("expecting", 9),
    ("young_person", 5),
    ("large", 2),
    ("adult_child", 5),
)


class FamilyGenerator:
    """Makes FamilyPlans from a seeded random generator: households, names, identifiers, flags,
    who works with the family and its episodes."""

    def __init__(self, rng: random.Random, county: County, today: dt.date):
        self.rng = rng
        self.county = county
        self.today = today

    # -- people ------------------------------------------------------------------------------

    def _dob(self, age: int) -> dt.date:
        days = int(age * 365.25) + self.rng.randint(1, 364)
        return self.today - dt.timedelta(days=days)

    def _heritage(self) -> Heritage:
        return self.rng.choices(HERITAGES, weights=_HERITAGE_WEIGHTS)[0]

    def _person(
        self,
        heritage: Heritage,
        role: str,
        age: int | None,
        *,
        sex: str | None = None,
        surname: str | None = None,
        names_from: Heritage | None = None,
        ethnicity: str | None = None,
    ) -> PersonPlan:
        rng = self.rng
        if sex is None:
            sex = Sex.FEMALE if rng.random() < 0.5 else Sex.MALE
        source = names_from or heritage
        adult = age is not None and age >= 18
        language = heritage.languages[0]
        if heritage.languages != ("English",):
            if adult:
                language = rng.choice(heritage.languages)
            elif rng.random() < 0.55:
                language = "English"
            else:
                language = rng.choice(heritage.languages)
        if age is None:  # unborn
            return PersonPlan(
                first_name="Unborn baby",
                last_name=surname or rng.choice(source.surnames),
                sex=Sex.UNKNOWN,
                role=role,
                date_of_birth=None,
                expected_date_of_birth=self.today + dt.timedelta(days=rng.randint(10, 200)),
                ethnicity=ethnicity or heritage.ethnicity,
                language="",
            )
        first = rng.choice(source.female if sex == Sex.FEMALE else source.male)
        return PersonPlan(
            first_name=first,
            last_name=surname or rng.choice(source.surnames),
            sex=sex,
            role=role,
            date_of_birth=self._dob(age),
            ethnicity=ethnicity or heritage.ethnicity,
            language=language,
        )

    def _children(self, count: int, ages: list[int] | None = None, eldest_max: int = 17) -> list[int]:
        if ages:
            return sorted(ages, reverse=True)
        rng = self.rng
        result = [rng.randint(0, eldest_max)]
        while len(result) < count:
            nxt = result[-1] - rng.choice((1, 2, 2, 3, 3, 4, 5, 6))
            if nxt < 0:
                break
            result.append(nxt)
        return result

    # -- households ---------------------------------------------------------------------------

    def household(
        self, shape: str, child_ages: list[int] | None = None
    ) -> tuple[list[PersonPlan], list[tuple[int, int, str]]]:
        rng = self.rng
        people: list[PersonPlan] = []
        rels: list[tuple[int, int, str]] = []
        parent, child, other = HouseholdRole.PARENT_CARER, HouseholdRole.CHILD, HouseholdRole.OTHER_ADULT

        def add(person: PersonPlan) -> int:
            people.append(person)
            return len(people) - 1

        def rel(a: int, b: int, kind: str) -> None:
            rels.append((a, b, kind))

        def siblings(indexes: list[int], kind: str = RelationshipType.SIBLING_OF) -> None:
            for i, a in enumerate(indexes):
                for b in indexes[i + 1 :]:
                    rel(a, b, kind)

        def kids(h1: Heritage, h2: Heritage | None, surname: str, ages: list[int]) -> list[int]:
            code = (
                h1.ethnicity
                if h2 is None or h2.ethnicity == h1.ethnicity
                else _mixed_code(h1.ethnicity, h2.ethnicity)
            )
            out = []
            for age in ages:
                names = h1 if h2 is None or rng.random() < 0.5 else h2
                out.append(
                    add(self._person(h1, child, age, surname=surname, names_from=names, ethnicity=code))
                )
            return out

        def partner_heritage(h: Heritage) -> Heritage:
            return h if rng.random() < 0.85 else self._heritage()

        h1 = self._heritage()
        if shape in ("lone_parent", "couple", "large", "adult_child", "three_generations"):
            if shape == "large":
                n_children = rng.randint(4, 6)
            else:
                n_children = _weighted(rng, ((1, 55), (2, 30), (3, 11), (4, 4)))
            ages = self._children(n_children, child_ages)
            if shape == "adult_child":
                ages = [rng.randint(18, 23)] + [a for a in ages if a < 16][:2]
            couple = shape in ("couple", "large") or (shape != "lone_parent" and rng.random() < 0.5)
            eldest = max(ages)
            mother_age = eldest + rng.randint(18, 36) if eldest < 30 else eldest + 20
            mother_sex = Sex.FEMALE if rng.random() < 0.9 or couple else Sex.MALE
            a = add(self._person(h1, parent, mother_age, sex=mother_sex))
            surname = people[a].last_name
            h2 = None
            b = None
            if couple:
                h2 = partner_heritage(h1)
                b_sex = Sex.MALE if rng.random() < 0.96 else Sex.FEMALE
                b = add(self._person(h2, parent, mother_age + rng.randint(-3, 6), sex=b_sex))
                if rng.random() < 0.6:
                    surname = people[b].last_name
                    if rng.random() < 0.6:
                        people[a].last_name = surname
                rel(a, b, RelationshipType.PARTNER_OF)
            children = kids(h1, h2, surname, ages)
            for c in children:
                rel(a, c, RelationshipType.PARENT_OF)
                if b is not None:
                    rel(b, c, RelationshipType.PARENT_OF)
            siblings(children)
            if shape == "adult_child":
                people[children[0]].role = other
                if rng.random() < 0.3:
                    people[children[0]].end_date = self.today  # placeholder: dated below
            if shape == "lone_parent" and rng.random() < 0.18:
                # The children's other parent, who has left the household.
                h_ex = partner_heritage(h1)
                ex = add(self._person(h_ex, parent, mother_age + rng.randint(-2, 6), sex=Sex.MALE))
                people[ex].end_date = self.today
                for c in children:
                    rel(ex, c, RelationshipType.PARENT_OF)
            elif b is not None and rng.random() < 0.1:
                people[b].end_date = self.today  # separated
            if shape == "three_generations":
                g = add(self._person(h1, other, mother_age + rng.randint(20, 30), sex=Sex.FEMALE))
                rel(g, a, RelationshipType.PARENT_OF)
                for c in children:
                    rel(g, c, RelationshipType.GRANDPARENT_OF)
        elif shape == "blended":
            older = self._children(rng.randint(1, 2), eldest_max=16)
            mother_age = max(older) + rng.randint(19, 32)
            a = add(self._person(h1, parent, mother_age, sex=Sex.FEMALE))
            prev_surname = rng.choice(h1.surnames)
            older_idx = kids(h1, None, prev_surname, older)
            h2 = partner_heritage(h1)
            b = add(self._person(h2, parent, mother_age + rng.randint(-4, 8), sex=Sex.MALE))
            rel(a, b, RelationshipType.PARTNER_OF)
            for c in older_idx:
                rel(a, c, RelationshipType.PARENT_OF)
                rel(b, c, RelationshipType.STEP_PARENT_OF)
            siblings(older_idx)
            youngest = min(older)
            younger = [
                y for y in self._children(rng.randint(0, 2), eldest_max=max(0, youngest - 1)) if y < youngest
            ]
            younger_idx = kids(h1, h2, people[b].last_name, younger) if younger and youngest > 0 else []
            for c in younger_idx:
                rel(a, c, RelationshipType.PARENT_OF)
                rel(b, c, RelationshipType.PARENT_OF)
            siblings(younger_idx)
            for o in older_idx:
                for y in younger_idx:
                    rel(o, y, RelationshipType.HALF_SIBLING_OF)
        elif shape == "kinship":
            ages = self._children(rng.randint(1, 3), child_ages, eldest_max=16)
            g = add(self._person(h1, parent, rng.randint(48, 68), sex=Sex.FEMALE))
            carers = [g]
            if rng.random() < 0.45:
                g2 = add(
                    self._person(
                        partner_heritage(h1),
                        parent,
                        people[g].age(self.today) + rng.randint(-2, 5),
                        sex=Sex.MALE,
                        surname=people[g].last_name,
                    )
                )
                rel(g, g2, RelationshipType.PARTNER_OF)
                carers.append(g2)
            surname = people[g].last_name if rng.random() < 0.5 else rng.choice(h1.surnames)
            children = kids(h1, None, surname, ages)
            for carer in carers:
                for c in children:
                    rel(carer, c, RelationshipType.GRANDPARENT_OF)
                    rel(carer, c, RelationshipType.CARER_OF)
            siblings(children)
            if rng.random() < 0.35:
                # The birth parent, who lived here before the grandparents took over the care.
                bp = add(
                    self._person(h1, parent, max(ages) + rng.randint(17, 30), sex=Sex.FEMALE, surname=surname)
                )
                people[bp].end_date = self.today
                rel(g, bp, RelationshipType.PARENT_OF)
                for c in children:
                    rel(bp, c, RelationshipType.PARENT_OF)
        elif shape == "expecting":
            m_age = rng.randint(16, 38)
            m = add(self._person(h1, parent, m_age, sex=Sex.FEMALE))
            h2 = None
            p = None
            if rng.random() < 0.55:
                h2 = partner_heritage(h1)
                p = add(self._person(h2, parent, m_age + rng.randint(-1, 7), sex=Sex.MALE))
                rel(m, p, RelationshipType.PARTNER_OF)
            surname = people[m].last_name
            older: list[int] = []
            if m_age >= 20 and rng.random() < 0.45:
                older = kids(
                    h1, h2, surname, self._children(rng.randint(1, 2), eldest_max=min(12, m_age - 18))
                )
            code = (
                h1.ethnicity
                if h2 is None or h2.ethnicity == h1.ethnicity
                else _mixed_code(h1.ethnicity, h2.ethnicity)
            )
            unborn = add(self._person(h1, HouseholdRole.CHILD, None, surname=surname, ethnicity=code))
            for c in [*older, unborn]:
                rel(m, c, RelationshipType.PARENT_OF)
            if p is not None:
                rel(p, unborn, RelationshipType.PARENT_OF)
                for c in older:
                    rel(
                        p,
                        c,
                        RelationshipType.PARENT_OF if rng.random() < 0.6 else RelationshipType.STEP_PARENT_OF,
                    )
            for c in older:
                rel(c, unborn, RelationshipType.SIBLING_OF)
            siblings(older)
            if m_age < 20 and rng.random() < 0.7:
                g = add(self._person(h1, other, m_age + rng.randint(18, 28), sex=Sex.FEMALE, surname=surname))
                rel(g, m, RelationshipType.PARENT_OF)
                rel(g, unborn, RelationshipType.GRANDPARENT_OF)
        else:  # young_person: a 16 or 17 year old living independently, maybe with an older sibling
            yp = add(self._person(h1, child, rng.randint(16, 17)))
            if rng.random() < 0.4:
                sib = add(self._person(h1, other, rng.randint(18, 24), surname=people[yp].last_name))
                rel(sib, yp, RelationshipType.SIBLING_OF)
        return people[:8], [r for r in rels if r[0] < 8 and r[1] < 8]

    # -- a whole family -----------------------------------------------------------------------

    def family(
        self,
        *,
        reference: str,
        area: AreaInfo,
        shape: str | None = None,
        child_ages: list[int] | None = None,
        nhs_base: int,
        upn_base: int,
        nhs_slots: int = 8,
    ) -> FamilyPlan:
        rng = self.rng
        today = self.today
        shape = shape or _weighted(rng, SHAPES)
        people, rels = self.household(shape, child_ages)
        known_since = today - dt.timedelta(days=rng.randint(20, 8 * 365))

        nhs_slot = 0
        parent_disabled = False
        for i, person in enumerate(people):
            age = person.age(today)
            born = person.date_of_birth
            if person.expected_date_of_birth is not None:
                person.start_date = max(known_since, today - dt.timedelta(days=rng.randint(1, 120)))
            else:
                person.start_date = max(known_since, born)
            if person.end_date is not None:
                span = (today - person.start_date).days
                if span < 30:
                    person.start_date = today - dt.timedelta(days=rng.randint(60, 900))
                    span = (today - person.start_date).days
                person.end_date = person.start_date + dt.timedelta(days=rng.randint(14, span - 1))
            if age is not None:
                is_child = age < 18
                if rng.random() < (0.09 if is_child else 0.07):
                    pairs = CHILD_DISABILITIES if is_child else ADULT_DISABILITIES
                    codes = {_weighted(rng, pairs) for _ in range(rng.choice((1, 1, 1, 2)))}
                    person.disabilities = sorted(codes)
                    if not is_child and person.end_date is None:
                        parent_disabled = True
                if nhs_slot < nhs_slots and rng.random() < (0.75 if is_child else 0.45):
                    person.nhs_number = nhs_number(nhs_base + nhs_slot)
                    nhs_slot += 1
                if 4 <= age <= 16 and person.end_date is None:
                    phase = "primary" if age <= 10 else "secondary"
                    school = self.county.school(rng, area.id, phase)
                    person.school = school
                    person.school_or_setting = school.name
                    if rng.random() < 0.85:
                        person.upn = upn(upn_base + i)
                elif 2 <= age <= 3 and rng.random() < 0.5 and self.county.early_years.get(area.id):
                    person.school_or_setting = rng.choice(self.county.early_years[area.id])
                elif age == 17 and person.role == HouseholdRole.CHILD and rng.random() < 0.5:
                    person.school_or_setting = "Northumberland College"

        current = [p for p in people if p.end_date is None]
        surnames: list[str] = []
        for p in current:
            if p.last_name not in surnames:
                surnames.append(p.last_name)
        ages = [p.age(today) for p in current]
        child_ages_now = [a for a in ages if a is not None and a < 18]
        young_carer = (parent_disabled and any(a >= 8 for a in child_ages_now) and rng.random() < 0.7) or (
            rng.random() < 0.02 and any(a >= 8 for a in child_ages_now)
        )
        send = any(p.disabilities and (p.age(today) or 0) < 18 for p in current) or rng.random() < 0.04
        plan = FamilyPlan(
            reference=reference,
            name=" / ".join(surnames[:2]) or people[0].last_name,
            area=area,
            address_line_1=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            postcode=f"{area.district} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            known_since=known_since,
            people=people,
            relationships=rels,
            address_withheld=rng.random() < 0.03,
            young_carer=young_carer,
            send=send,
        )
        return plan

    # -- who works with the family ------------------------------------------------------------

    def services(self, plan: FamilyPlan) -> list[tuple[str, School | None]]:
        """The services involved, most likely lead first."""
        rng = self.rng
        today = self.today
        current = [p for p in plan.people if p.end_date is None]
        ages = [p.age(today) for p in current]
        unborn = any(p.expected_date_of_birth for p in current)
        under5 = unborn or any(a is not None and a < 5 for a in ages)
        preschool = any(a is not None and 2 <= a <= 4 for a in ages)
        teen = any(a is not None and 10 <= a <= 17 for a in ages)
        pupils = sorted((p for p in current if p.school), key=lambda p: p.age(today) or 0)
        adult_disabled = any(p.disabilities and (p.age(today) or 0) >= 18 for p in current)
        chosen: list[tuple[str, School | None]] = []

        def maybe(service: str, p: float, school: School | None = None) -> None:
            if rng.random() < p:
                chosen.append((service, school))

        family_support = rng.random() < 0.35
        if family_support and rng.random() < 0.6:
            chosen.append((AgencyType.FAMILY_SUPPORT, None))
        if pupils:
            maybe(AgencyType.SCHOOL, 0.8, pupils[0].school)
        if under5:
            maybe(AgencyType.HEALTH_VISITING, 0.85)
        if family_support and (AgencyType.FAMILY_SUPPORT, None) not in chosen:
            chosen.append((AgencyType.FAMILY_SUPPORT, None))
        if preschool:
            maybe(AgencyType.EARLY_YEARS, 0.3)
        if pupils:
            maybe(AgencyType.SCHOOL_HEALTH, 0.12)
        maybe(AgencyType.GP, 0.08)
        if teen:
            maybe(AgencyType.CAMHS, 0.18)
            maybe(AgencyType.YOUTH_JUSTICE, 0.06)
        elif pupils:
            maybe(AgencyType.CAMHS, 0.06)
        maybe(AgencyType.POLICE, 0.45 if plan.address_withheld else 0.05)
        maybe(AgencyType.VOLUNTARY, 0.5 if plan.address_withheld else 0.08)
        maybe(AgencyType.HOUSING, 0.08)
        maybe(AgencyType.ADULT_SERVICES, 0.35 if adult_disabled else 0.05)
        return chosen

    def assign_workers(self, plan: FamilyPlan) -> None:
        """Grants: the first worker found leads (view and change), the others are in the TAF."""
        grants: dict[int, bool] = {}
        for service, school in self.services(plan)[:5]:
            if school is not None:
                uid = self.rng.choice(school.staff) if school.staff else None
            else:
                uid = self.county.pick(self.rng, plan.area.id, service)
            if uid is not None and uid not in grants:
                grants[uid] = not grants
        if not grants:
            for service in (AgencyType.FAMILY_SUPPORT, AgencyType.HEALTH_VISITING, AgencyType.VOLUNTARY):
                uid = self.county.pick(self.rng, plan.area.id, service)
                if uid is not None:
                    grants[uid] = True
                    break
        plan.grants = list(grants.items())


# --------------------------------------------------------------------------------------------
# Staff


@dataclass
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    job_title: str
    agency: str
    role: str
    hub_keys: tuple[str, ...] = ()


def _staff_name(rng: random.Random) -> tuple[str, str]:
    h = rng.choices(HERITAGES[:-2], weights=_HERITAGE_WEIGHTS[:-2])[0]
    first = rng.choice(h.female if rng.random() < 0.72 else h.male)
    return first, rng.choice(h.surnames)


def ensure_staff(specs: list[StaffSpec], password_hash: str) -> dict[str, User]:
    """Users and memberships for the specs, creating only what is missing. Returns users by username."""
    usernames = [s.username for s in specs]
    existing = {u.username: u for u in User.objects.filter(username__in=usernames)}
    new_users = [
        User(
            username=s.username,
            first_name=s.first_name,
            last_name=s.last_name,
            job_title=s.job_title,
            email=f"{s.username}@example.org",
            password=password_hash,
        )
        for s in specs
        if s.username not in existing
    ]
    for start in range(0, len(new_users), 2000):
        User.objects.bulk_create(new_users[start : start + 2000])
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    agencies = {a.name: a for a in Agency.objects.filter(name__in={s.agency for s in specs})}
    Membership.objects.bulk_create(
        [Membership(user=users[s.username], agency=agencies[s.agency], role=s.role) for s in specs],
        ignore_conflicts=True,
        batch_size=2000,
    )
    coordinators = [s for s in specs if s.role == Role.HUB_COORDINATOR and s.hub_keys]
    if coordinators:
        hubs = {h.name: h for h in Hub.objects.all()}
        for s in coordinators:
            membership = Membership.objects.get(
                user=users[s.username], agency=agencies[s.agency], role=s.role
            )
            membership.hubs.add(*[hubs[f"{k} hub"] for k in s.hub_keys])
    return users


def ensure_agencies(specs: Iterable[tuple[str, str, tuple[str, ...]]]) -> dict[str, Agency]:
    """Agencies (name, type, hub keys) and their hub membership; existing ones are kept as they are."""
    specs = list(specs)
    names = [name for name, _, _ in specs]
    existing = set(Agency.objects.filter(name__in=names).values_list("name", flat=True))
    Agency.objects.bulk_create(
        [Agency(name=name, type=kind) for name, kind, _ in specs if name not in existing], batch_size=1000
    )
    agencies = {a.name: a for a in Agency.objects.filter(name__in=names)}
    hubs = {h.name: h for h in Hub.objects.all()}
    through = Hub.member_agencies.through
    through.objects.bulk_create(
        [
            through(hub_id=hubs[f"{key} hub"].id, agency_id=agencies[name].id)
            for name, _, keys in specs
            for key in keys
        ],
        ignore_conflicts=True,
    )
    return agencies


# --------------------------------------------------------------------------------------------
# The county (default tier)

ALL_HUBS = tuple(HUBS)
NORTH, SOUTH, EAST, WEST = ALL_HUBS


@dataclass(frozen=True)
class AgencySpec:
    name: str
    type: str
    hubs: tuple[str, ...]
    staff: int
    per_hub: bool = False
    manager: bool = False
    school: tuple[str, str] | None = None  # (area, phase)


COUNTY_AGENCIES = (
    AgencySpec("Riverside Primary School", AgencyType.SCHOOL, (NORTH,), 2, school=("Morpeth", "primary")),
    AgencySpec("North Health Visiting Team", AgencyType.HEALTH_VISITING, (NORTH,), 3),
    AgencySpec("County Council Early Help Service", AgencyType.FAMILY_SUPPORT, ALL_HUBS, 3, per_hub=True),
    AgencySpec("Southfield Academy", AgencyType.SCHOOL, (SOUTH,), 2, school=("Hexham", "secondary")),
    AgencySpec(
        "Ashington Moor High School",
        AgencyType.SCHOOL,
        (NORTH,),
        3,
        manager=True,
        school=("Ashington", "secondary"),
    ),
    AgencySpec(
        "Cramlington Park Academy", AgencyType.SCHOOL, (EAST,), 3, school=("Cramlington", "secondary")
    ),
    AgencySpec(
        "Aln Valley Primary School",
        AgencyType.SCHOOL,
        (WEST,),
        2,
        manager=True,
        school=("Alnwick", "primary"),
    ),
    AgencySpec("Little Acorns Day Nursery", AgencyType.EARLY_YEARS, (EAST, NORTH), 2),
    AgencySpec("South and West Health Visiting Team", AgencyType.HEALTH_VISITING, (SOUTH, WEST), 4),
    AgencySpec("East Health Visiting Team", AgencyType.HEALTH_VISITING, (EAST,), 3, manager=True),
    AgencySpec("County School Health Service", AgencyType.SCHOOL_HEALTH, ALL_HUBS, 4),
    AgencySpec("Wansbeck Valley Medical Group", AgencyType.GP, (NORTH, EAST), 2),
    AgencySpec("Tyne Valley Surgery", AgencyType.GP, (SOUTH, WEST), 2),
    AgencySpec("County CAMHS Getting Help Team", AgencyType.CAMHS, ALL_HUBS, 3, manager=True),
    AgencySpec("County Police Early Intervention Team", AgencyType.POLICE, ALL_HUBS, 2, manager=True),
    AgencySpec("Coastal Homes Housing Association", AgencyType.HOUSING, (NORTH, EAST), 2),
    AgencySpec("County Youth Justice Service", AgencyType.YOUTH_JUSTICE, ALL_HUBS, 2),
    AgencySpec("Harbour Domestic Abuse Support", AgencyType.VOLUNTARY, ALL_HUBS, 3, manager=True),
    AgencySpec("Bridges Family Charity", AgencyType.VOLUNTARY, (SOUTH, WEST), 2),
    AgencySpec("County Adult Mental Health and Recovery Service", AgencyType.ADULT_SERVICES, ALL_HUBS, 2),
)
COUNCIL = "County Council Early Help Service"
SAM_FAMILIES = 14  # further North families Sam leads (Riverside pupils); Hana is in the TAF of half
OLA_FAMILIES = 10  # South families Ola works with (Southfield pupils); she leads six


def _county_staff(rng: random.Random) -> list[tuple[StaffSpec, tuple[str, ...]]]:
    """(spec, hubs the practitioner covers) for the county's extra staff, managers and coordinators."""
    out: list[tuple[StaffSpec, tuple[str, ...]]] = []
    taken = {
        "sam.patel",
        "hana.kowalski",
        "chris.okafor",
        "alex.reid",
        "morgan.hughes",
        "quinn.adeyemi",
        "ola.nowak",
    }

    def person(title: str, agency: str, role: str, hub_keys: tuple[str, ...] = ()) -> StaffSpec:
        first, last = _staff_name(rng)
        base = _username(first, last)
        username, n = base, 2
        while username in taken:
            username, n = f"{base}{n}", n + 1
        taken.add(username)
        return StaffSpec(username, first, last, title, agency, role, hub_keys)

    for spec in COUNTY_AGENCIES:
        groups = [(key,) for key in spec.hubs] if spec.per_hub else [spec.hubs]
        for covered in groups:
            for i in range(spec.staff):
                title = TITLES[spec.type][i % len(TITLES[spec.type])]
                out.append((person(title, spec.name, Role.PRACTITIONER), covered))
        if spec.manager:
            title = MANAGER_TITLES.get(spec.type, "Team manager")
            out.append((person(title, spec.name, Role.AGENCY_MANAGER), ()))
    for key in (SOUTH, EAST, WEST):
        first, last = _staff_name(rng)
        spec = StaffSpec(
            f"{key.lower()}.coordinator",
            first,
            last,
            f"{key} hub coordinator",
            COUNCIL,
            Role.HUB_COORDINATOR,
            (key,),
        )
        out.append((spec, ()))
    return out


def build_county_structure(personas: Personas, seed: int, password_hash: str) -> tuple[County, dict]:
    """Agencies, staff and the practitioner pools of the default tier."""
    rng = random.Random(f"{seed}:county-staff")
    ensure_agencies((s.name, s.type, s.hubs) for s in COUNTY_AGENCIES)
    staff = _county_staff(rng)
    users = ensure_staff([s for s, _ in staff], password_hash)
    areas = _area_infos()
    by_hub: dict[str, list[AreaInfo]] = defaultdict(list)
    for a in areas:
        by_hub[a.hub_key].append(a)

    schools: dict[int, dict[str, list[School]]] = {}
    early_years: dict[int, list[str]] = {}
    partner_schools: dict[str, School] = {}
    for a in areas:
        primaries, secondaries = _area_school_names(a.name)
        schools[a.id] = {
            "primary": [School(n, "primary") for n in primaries[:4]],
            "secondary": [School(n, "secondary") for n in secondaries[:1]],
        }
        early_years[a.id] = [f"{a.name} Children's Centre Nursery"]
    area_by_name = {a.name: a for a in areas}
    for spec in COUNTY_AGENCIES:
        if spec.school:
            area_name, phase = spec.school
            school = School(spec.name, phase, weight=4.0)
            schools[area_by_name[area_name].id][phase].append(school)
            partner_schools[spec.name] = school
        if spec.type == AgencyType.EARLY_YEARS:
            for key in spec.hubs:
                for a in by_hub[key]:
                    early_years[a.id].append(spec.name)

    pools: dict[tuple[int, str], list[int]] = defaultdict(list)
    agency_type = {s.name: s.type for s in COUNTY_AGENCIES}
    persona_cover = [
        (personas.sam, "Riverside Primary School", (NORTH,)),
        (personas.hana, "North Health Visiting Team", (NORTH,)),
        (personas.ola, "Southfield Academy", (SOUTH,)),
    ]
    cover = [(users[s.username], s.agency, hubs) for s, hubs in staff if s.role == Role.PRACTITIONER]
    user_areas: dict[int, list[int]] = {}
    for user, agency, hub_keys in persona_cover + cover:
        kind = agency_type[agency]
        if agency in partner_schools:
            partner_schools[agency].staff.append(user.id)
            area_name = next(s.school for s in COUNTY_AGENCIES if s.name == agency)[0]
            user_areas[user.id] = [area_by_name[area_name].id]
            continue
        covered = [a.id for key in hub_keys for a in by_hub[key]]
        user_areas[user.id] = covered
        for area_id in covered:
            pools[(area_id, kind)].append(user.id)
    county = County(areas=areas, schools=schools, early_years=early_years, pools=dict(pools))
    coordinators = {
        a.hub_id: (personas.chris if a.hub_key == NORTH else users[f"{a.hub_key.lower()}.coordinator"]).id
        for a in areas
    }
    practitioners = {
        "users": {u.id: u for u in [*(users.values()), personas.sam, personas.hana, personas.ola]},
        "coordinators": coordinators,
        "areas": user_areas,
        "riverside": partner_schools["Riverside Primary School"],
        "southfield": partner_schools["Southfield Academy"],
    }
    return county, practitioners


def plan_county_families(
    personas: Personas, county: County, practitioners: dict, seed: int, today: dt.date, count: int
) -> list[FamilyPlan]:
    rng = random.Random(f"{seed}:county-families")
    gen = FamilyGenerator(rng, county, today)
    area_by_name = {a.name: a for a in county.areas}
    sam, hana, ola = personas.sam.id, personas.hana.id, personas.ola.id
    riverside, southfield = practitioners["riverside"], practitioners["southfield"]
    plans: list[FamilyPlan] = []
    for i in range(count):
        ref = f"{DEFAULT_PREFIX}{i + 1:06d}"
        ids = {"nhs_base": 990_000 + i * 8, "upn_base": 900_000_000 + i * 8}
        if i < SAM_FAMILIES:
            # Riverside pupils in Morpeth; half also have a baby or toddler Hana visits.
            ages = [rng.randint(5, 10)] + ([rng.randint(0, 3)] if i % 2 == 0 else [])
            plan = gen.family(
                reference=ref,
                area=area_by_name["Morpeth"],
                shape=rng.choice(("lone_parent", "couple")),
                child_ages=ages,
                **ids,
            )
            for p in plan.people:
                if p.school is not None and p.school.phase == "primary":
                    p.school, p.school_or_setting = riverside, riverside.name
            grants = [(sam, True)] + ([(hana, False)] if i % 2 == 0 else [])
            extra = county.pick(rng, plan.area.id, AgencyType.FAMILY_SUPPORT)
            if extra is not None and rng.random() < 0.4:
                grants.append((extra, False))
            plan.grants = grants
        elif i < SAM_FAMILIES + OLA_FAMILIES:
            area = area_by_name[rng.choice(("Hexham", "Hexham", "Prudhoe"))]
            ages = [rng.randint(11, 15)] + ([rng.randint(3, 10)] if rng.random() < 0.5 else [])
            plan = gen.family(
                reference=ref, area=area, shape=rng.choice(("lone_parent", "couple")), child_ages=ages, **ids
            )
            for p in plan.people:
                if p.school is not None and p.school.phase == "secondary":
                    p.school, p.school_or_setting = southfield, southfield.name
            if i - SAM_FAMILIES < 6:
                plan.grants = [(ola, True)]
                extra = county.pick(rng, area.id, AgencyType.CAMHS)
                if extra is not None and rng.random() < 0.5:
                    plan.grants.append((extra, False))
            else:
                lead = county.pick(rng, area.id, AgencyType.FAMILY_SUPPORT)
                plan.grants = [(lead, True), (ola, False)]
        else:
            area = rng.choice(county.areas)
            plan = gen.family(reference=ref, area=area, **ids)
            gen.assign_workers(plan)
        plans.append(plan)

    # Every practitioner works with a few families: top up those the dice left short.
    caseload: dict[int, int] = defaultdict(int)
    for plan in plans:
        for uid, _ in plan.grants:
            caseload[uid] += 1
    generic = plans[SAM_FAMILIES + OLA_FAMILIES :]
    for uid, area_ids in sorted(practitioners["areas"].items()):
        if uid in (sam, hana, ola):
            continue
        candidates = [p for p in generic if p.area.id in area_ids and all(uid != g for g, _ in p.grants)]
        rng.shuffle(candidates)
        for plan in candidates[: max(0, 3 - caseload[uid])]:
            plan.grants.append((uid, not plan.grants))
            caseload[uid] += 1
    plan_county_stories(plans, personas, practitioners, seed, today)
    return plans


# What Sam's Riverside families (Morpeth) have been through, so that "My work" shows reviews due and
# overdue, meetings tomorrow and next week, and families at every point of the pathway (with an assessment
# in draft and one awaiting sign-off by Alex, the headteacher). Hana is in the team of the even ones.
SAM_STORIES: tuple[tuple[str, dict], ...] = (
    ("reviewing", {"due": "soon", "next_meeting": "tomorrow", "reviews": 2}),
    ("plan_active", {"due": "overdue"}),
    ("assessment", {"source": EpisodeSource.DIRECT, "baseline": True, "next_meeting": 7, "eha": "draft"}),
    ("open", {}),
    ("reviewing", {"due": "overdue", "reviews": 1}),
    ("step_down_open", {"stage": "plan", "due": "later", "next_meeting": 12}),
    ("reviewing", {"due": "later", "reviews": 4}),
    ("closed", {"reason": ClosureReason.OUTCOMES_ACHIEVED}),
    ("re_referral", {"stage": "assessment"}),
    ("closed", {"reason": ClosureReason.STEP_UP}),
    ("plan_active", {"due": "soon", "next_meeting": 3, "eha": "completed", "eha_by": "agency"}),
    ("up_then_down", {"stage": "review", "due": "later"}),
    ("closed", {"reason": ClosureReason.CONSENT_WITHDRAWN}),
    ("none", {}),
)
# Sam's assessment of the Ashworths was signed off by Alex, the headteacher.
ASHWORTH_STORY = (
    "reviewing",
    {
        "due": "soon",
        "reviews": 3,
        "next_meeting": 4,
        "lead_change": False,
        "eha": "signed_off",
        "eha_by": "agency",
    },
)


def facts_for(plan: FamilyPlan, today: dt.date) -> pathway_demo.Facts:
    school = next((p.school.name for p in plan.people if p.school is not None), "School")
    return pathway_demo.Facts(
        members=[
            pathway_demo.Member(i, p.first_name, p.last_name, p.role, p.age(today), p.end_date is None)
            for i, p in enumerate(plan.people)
        ],
        school=school,
    )


def _known_from(plan: FamilyPlan, day: dt.date) -> None:
    """The family has been known since ``day`` (earlier than planned): move the dates people joined."""
    for p in plan.people:
        if p.start_date == plan.known_since and p.expected_date_of_birth is None:
            p.start_date = max(day, p.date_of_birth or day)
    plan.known_since = min(plan.known_since, day)


def story_planner(
    rng: random.Random, today: dt.date, users: dict[int, User], *, all_areas: bool = True
) -> pathway_demo.StoryPlanner:
    names = {uid: u.display_name for uid, u in users.items()}
    roles = {uid: u.job_title for uid, u in users.items()}
    return pathway_demo.StoryPlanner(
        rng,
        today,
        list(
            OutcomeArea.objects.filter(active=True).order_by("order", "name").values_list("code", flat=True)
        ),
        name=lambda uid: names.get(uid, "the lead professional"),
        role=lambda uid: roles.get(uid, ""),
        all_areas=all_areas,
    )


def _stories(
    planner: pathway_demo.StoryPlanner,
    plan: FamilyPlan,
    facts: pathway_demo.Facts,
    coordinator: int | None,
    choices: list[tuple[str, dict]],
    *,
    stretch: bool,
) -> bool:
    """Give the family the first of ``choices`` that fits the time it has been known (or, with
    ``stretch``, the first one, moving the date it became known). Returns whether one was given."""
    lead = plan.lead
    others = [uid for uid, _ in plan.grants if uid != lead]
    for kind, options in choices:
        stories = planner.family(
            kind,
            facts,
            lead=lead,
            others=others,
            coordinator=coordinator,
            earliest=dt.date.min if stretch else plan.known_since,
            options=options,
        )
        if stories is not None:
            if stories and stories[0].first_day < plan.known_since:
                _known_from(plan, stories[0].first_day - dt.timedelta(days=30))
            plan.episodes = stories
            return True
    return False


def plan_county_stories(
    plans: list[FamilyPlan], personas: Personas, practitioners: dict, seed: int, today: dt.date
) -> None:
    """Each family's history on the pathway: Sam's as SAM_STORIES, then every kind and closure reason
    of pathway.demo.COVERAGE once or twice, then kinds at random in realistic proportions."""
    rng = random.Random(f"{seed}:county-pathway")
    planner = story_planner(rng, today, practitioners["users"])
    coordinators = practitioners["coordinators"]
    pending = list(pathway_demo.COVERAGE)
    for i, plan in enumerate(plans):
        if plan.lead is None:
            continue
        facts = facts_for(plan, today)
        coordinator = coordinators.get(plan.area.hub_id)
        if i < SAM_FAMILIES:
            _stories(planner, plan, facts, coordinator, [SAM_STORIES[i % len(SAM_STORIES)]], stretch=True)
        elif i >= SAM_FAMILIES + OLA_FAMILIES and pending:
            for n, choice in enumerate(pending):
                if _stories(planner, plan, facts, coordinator, [choice], stretch=False):
                    del pending[n]
                    break
            else:
                _stories(planner, plan, facts, coordinator, [("open", {})], stretch=True)
        else:
            choices = [planner.pick_kind() for _ in range(4)] + [("open", {})]
            _stories(planner, plan, facts, coordinator, choices, stretch=True)
        if not plan.episodes and rng.random() < 0.4:
            plan.notes = planner.loose_notes(facts, plan.lead, plan.known_since)
    for kind, options in pending:  # the dice left a kind out: give it to a family known long enough
        for plan in plans[SAM_FAMILIES + OLA_FAMILIES :]:
            if plan.lead is not None and not plan.episodes:
                facts = facts_for(plan, today)
                coordinator = coordinators.get(plan.area.hub_id)
                if _stories(planner, plan, facts, coordinator, [(kind, options)], stretch=True):
                    plan.notes = []
                    break


def _free_identifiers(plans: list[FamilyPlan]) -> None:
    """Drop NHS numbers and UPNs someone already holds, so that the unique indexes never refuse a
    generated person (for example people typed into the demo by hand)."""
    nhs = [p.nhs_number for plan in plans for p in plan.people if p.nhs_number]
    upns = [p.upn for plan in plans for p in plan.people if p.upn]
    taken_nhs = (
        set(Person.objects.filter(nhs_number__in=nhs).values_list("nhs_number", flat=True)) if nhs else set()
    )
    taken_upn = set(Person.objects.filter(upn__in=upns).values_list("upn", flat=True)) if upns else set()
    if not taken_nhs and not taken_upn:
        return
    for plan in plans:
        for p in plan.people:
            if p.nhs_number in taken_nhs:
                p.nhs_number = None
            if p.upn in taken_upn:
                p.upn = None


def write_families_orm(plans: list[FamilyPlan]) -> list[tuple[FamilyPlan, Family, list[Person]]]:
    """Write plans' families, people, memberships and relationships through the ORM. Returns each plan
    with its family and its people (in the plan's order) for the pathway histories."""
    if not plans:
        return []
    _free_identifiers(plans)
    families = Family.objects.bulk_create(
        [
            Family(
                reference=p.reference,
                name=p.name,
                address_line_1=p.address_line_1,
                town=p.area.name,
                postcode=p.postcode,
                area_id=p.area.id,
                hub_id=p.area.hub_id,
                address_withheld=p.address_withheld,
                young_carer=p.young_carer,
                send=p.send,
            )
            for p in plans
        ]
    )
    people = Person.objects.bulk_create(
        [
            Person(
                first_name=pp.first_name,
                last_name=pp.last_name,
                date_of_birth=pp.date_of_birth,
                expected_date_of_birth=pp.expected_date_of_birth,
                sex=pp.sex,
                ethnicity=pp.ethnicity,
                disabilities=pp.disabilities,
                language=pp.language,
                nhs_number=pp.nhs_number,
                upn=pp.upn,
                school_or_setting=pp.school_or_setting,
            )
            for p in plans
            for pp in p.people
        ]
    )
    members, relationships, written = [], [], []
    cursor = 0
    for plan, family in zip(plans, families, strict=True):
        own = people[cursor : cursor + len(plan.people)]
        cursor += len(plan.people)
        for person, pp in zip(own, plan.people, strict=True):
            members.append(
                FamilyMember(
                    family=family, person=person, role=pp.role, start_date=pp.start_date, end_date=pp.end_date
                )
            )
        for a, b, kind in plan.relationships:
            relationships.append(
                Relationship(family=family, from_person_id=own[a].id, to_person_id=own[b].id, type=kind)
            )
        written.append((plan, family, own))
    FamilyMember.objects.bulk_create(members)
    Relationship.objects.bulk_create(relationships)
    return written


class PathwayContext(NamedTuple):
    users: dict[int, User]
    areas: dict[str, OutcomeArea]
    levels: dict[str, LevelOfNeed]

    @classmethod
    def load(cls) -> PathwayContext:
        return cls(
            users=User.objects.in_bulk(),
            areas={a.code: a for a in OutcomeArea.objects.filter(active=True)},
            levels={lvl.code: lvl for lvl in LevelOfNeed.objects.all()},
        )


def write_history(
    plan: FamilyPlan,
    family: Family,
    people: list[Person],
    context: PathwayContext,
    replay: pathway_demo.Replay,
) -> None:
    """The family's workers and pathway history, through the access layer and pathway.services, each
    step at the time it happened. Workers the history does not put in a team (single-agency work, or an
    episode not yet at that point) are granted access directly, from when the family became known."""
    users = context.users
    in_team = set().union(*(s.workers_in_team() for s in plan.episodes)) if plan.episodes else set()
    holding_change = {uid for s in plan.episodes for uid in (s.assessor, s.final_lead) if uid}
    replay.at(pathway_demo.moment(plan.known_since, 9))
    for uid, change in plan.grants:
        if uid not in in_team or (change and uid not in holding_change):
            grant_family_access(user=users[uid], family=family, change=change)
    pathway_demo.play_family(
        plan.episodes,
        family=family,
        people=people,
        users=users,
        areas=context.areas,
        levels=context.levels,
        replay=replay,
    )
    for on, author, title, detail in plan.notes:
        replay.at(pathway_demo.moment(on, 16, 30))
        case_note_add(actor=users[author], family=family, occurred_on=on, title=title, detail=detail)


def _age(born: dt.date | None, today: dt.date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def ashworth_history(personas: Personas, today: dt.date, seed: int, context: PathwayContext, replay) -> bool:
    """The Ashworth anchor family's history: Sam assesses and leads, Hana is the only other worker in
    the team, so that nobody gains access to it (ehcase.demo). Written once."""
    family = personas.ashworth
    if Episode.objects.filter(family=family).exists():
        return False
    rows = list(
        FamilyMember.objects.filter(family=family).select_related("person").order_by("start_date", "id")
    )
    facts = pathway_demo.Facts(
        members=[
            pathway_demo.Member(
                i,
                m.person.first_name,
                m.person.last_name,
                m.role,
                _age(m.person.date_of_birth, today),
                m.end_date is None,
            )
            for i, m in enumerate(rows)
        ],
        school="Riverside Primary School",
    )
    planner = story_planner(random.Random(f"{seed}:ashworth"), today, context.users)
    kind, options = ASHWORTH_STORY
    stories = planner.family(
        kind,
        facts,
        lead=personas.sam.id,
        others=[personas.hana.id],
        coordinator=personas.chris.id,
        earliest=min(m.start_date for m in rows),
        options={**options, "assessor": personas.sam.id, "source": EpisodeSource.TRIAGE},
    )
    if not stories:
        return False
    with replay.running():
        pathway_demo.play_family(
            stories,
            family=family,
            people=[m.person for m in rows],
            users=context.users,
            areas=context.areas,
            levels=context.levels,
            replay=replay,
        )
    return True


def seed_county(
    *,
    seed: int = DEFAULT_SEED,
    families: int = DEFAULT_FAMILIES,
    today: dt.date | None = None,
    log: Log = lambda s: None,
) -> tuple[Personas, int]:
    """Personas, agencies, staff and the county's families. Idempotent."""
    today = today or timezone.localdate()
    personas = build_personas()
    password_hash = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        hubs = {h.name: h for h in Hub.objects.all()}
        for key in (EAST, WEST):
            hubs[f"{key} hub"].member_agencies.add(personas.council)
        county, practitioners = build_county_structure(personas, seed, password_hash)
        plans = plan_county_families(personas, county, practitioners, seed, today, families)
        existing = set(
            Family.objects.filter(reference__in=[p.reference for p in plans]).values_list(
                "reference", flat=True
            )
        )
        todo = [p for p in plans if p.reference not in existing]
        written = write_families_orm(todo)
        context = PathwayContext.load()
        replay = pathway_demo.Replay()
        with replay.running():
            for plan, family, people in written:
                write_history(plan, family, people, context, replay)
        anchored = ashworth_history(personas, today, seed, context, pathway_demo.Replay())
        claims = pathway_demo.seed_county_claims(
            families=Family.objects.filter(reference__in=[p.reference for p in plans]), seed=seed
        )
    episodes = sum(len(plan.episodes) for plan, _, _ in written)
    log(
        f"County: {len(COUNTY_AGENCIES)} agencies, {len(practitioners['areas'])} practitioners, "
        f"{len(written)} families written with {episodes} episodes"
        + (" and the Ashworth family's" if anchored else "")
        + f", {len(existing)} already present, {claims} Supporting Families claims written"
    )
    return personas, len(written)


# --------------------------------------------------------------------------------------------
# The large tier


LARGE_PER_HUB = (
    (AgencyType.SCHOOL_HEALTH, "School Health Team", 25),
    (AgencyType.CAMHS, "CAMHS Team", 20),
    (AgencyType.POLICE, "Neighbourhood Policing Team", 12),
    (AgencyType.HOUSING, "Housing Options Team", 12),
    (AgencyType.YOUTH_JUSTICE, "Youth Justice Team", 8),
    (AgencyType.FAMILY_SUPPORT, "Family Support Team", 100),
    (AgencyType.VOLUNTARY, "Community Family Trust", 10),
    (AgencyType.VOLUNTARY, "Domestic Abuse Outreach", 10),
    (AgencyType.ADULT_SERVICES, "Adult Mental Health Team", 12),
)
# Weights of the persona schools among their area's schools in the large tier: a few hundred
# families each at 250,000, not a tenth of the area.
SAM_SCHOOL_WEIGHT = 0.3
OLA_SCHOOL_WEIGHT = 0.15
HANA_SHARE = 1 / 29  # as one of Morpeth's health visitors at full size


class LargeAgency(NamedTuple):
    name: str
    type: str
    hub_key: str
    area_ids: tuple[int, ...]
    staff: int  # practitioners at full size (LARGE_FULL_SIZE families)
    phase: str = ""  # schools: "primary" or "secondary"


def large_agencies(areas: list[AreaInfo]) -> list[LargeAgency]:
    """The large tier's partners: per area ten primary and two secondary schools, two nurseries,
    a health visiting team and two GP practices; per hub the teams of LARGE_PER_HUB. About 2,100
    practitioners at full size."""
    out: list[LargeAgency] = []
    by_hub: dict[str, list[int]] = defaultdict(list)
    for a in areas:
        by_hub[a.hub_key].append(a.id)
        here = (a.hub_key, (a.id,))
        primaries, secondaries = _area_school_names(a.name)
        offset = sum(map(ord, a.name))
        out += [LargeAgency(name, AgencyType.SCHOOL, *here, 6, "primary") for name in primaries]
        out += [LargeAgency(name, AgencyType.SCHOOL, *here, 8, "secondary") for name in secondaries]
        out += [
            LargeAgency(f"{a.name} Children's Centre Nursery", AgencyType.EARLY_YEARS, *here, 3),
            LargeAgency(
                f"{SCHOOL_NAMES[offset % 14]} Day Nursery, {a.name}", AgencyType.EARLY_YEARS, *here, 3
            ),
            LargeAgency(f"{a.name} Health Visiting Team", AgencyType.HEALTH_VISITING, *here, 28),
            LargeAgency(f"{a.name} Medical Group", AgencyType.GP, *here, 3),
            LargeAgency(f"{SCHOOL_NAMES[(offset + 5) % 14]} Surgery, {a.name}", AgencyType.GP, *here, 3),
        ]
    for key, area_ids in by_hub.items():
        for kind, label, size in LARGE_PER_HUB:
            out.append(LargeAgency(f"{key} Locality {label}", kind, key, tuple(area_ids), size))
    return out


def build_large_structure(
    personas: Personas, families: int, seed: int, password_hash: str, log: Log
) -> County:
    scale = min(1.0, families / LARGE_FULL_SIZE)
    areas = _area_infos()
    agencies = large_agencies(areas)
    agency_rows = ensure_agencies((a.name, a.type, (a.hub_key,)) for a in agencies)
    specs: list[StaffSpec] = []
    placement: list[tuple[str, int]] = []  # (username, agency index)
    for n, agency in enumerate(agencies):
        # Names depend only on (agency, slot), so a bigger --families later keeps the same people.
        for slot in range(max(1, round(agency.staff * scale))):
            first, last = _staff_name(random.Random(f"{seed}:large-staff:{agency.name}:{slot}"))
            username = f"{_username(first, last)}.{n * 1000 + slot + 1}"
            title = TITLES[agency.type][slot % len(TITLES[agency.type])]
            specs.append(StaffSpec(username, first, last, title, agency.name, Role.PRACTITIONER))
            placement.append((username, n))
        if agency.type != AgencyType.SCHOOL or n % 3 == 0:
            first, last = _staff_name(random.Random(f"{seed}:large-staff:{agency.name}:manager"))
            title = MANAGER_TITLES.get(agency.type, "Team manager")
            username = f"{_username(first, last)}.{n * 1000 + 999}"
            specs.append(StaffSpec(username, first, last, title, agency.name, Role.AGENCY_MANAGER))
    users = ensure_staff(specs, password_hash)
    log(
        f"Large tier: {len(agencies)} agencies, {len(placement)} practitioners, "
        f"{len(specs) - len(placement)} agency managers"
    )

    schools: dict[int, dict[str, list[School]]] = {a.id: {"primary": [], "secondary": []} for a in areas}
    early_years: dict[int, list[str]] = defaultdict(list)
    school_by_agency: dict[int, School] = {}
    for n, agency in enumerate(agencies):
        if agency.type == AgencyType.SCHOOL:
            school_by_agency[n] = School(agency.name, agency.phase)
            schools[agency.area_ids[0]][agency.phase].append(school_by_agency[n])
        elif agency.type == AgencyType.EARLY_YEARS:
            early_years[agency.area_ids[0]].append(agency.name)
    pools: dict[tuple[int, str], list[int]] = defaultdict(list)
    for username, n in placement:
        uid = users[username].id
        if n in school_by_agency:
            school_by_agency[n].staff.append(uid)
        else:
            for area_id in agencies[n].area_ids:
                pools[(area_id, agencies[n].type)].append(uid)
    # The personas take a modest share of their own area's work.
    by_name = {a.name: a for a in areas}
    schools[by_name["Morpeth"].id]["primary"].append(
        School("Riverside Primary School", "primary", SAM_SCHOOL_WEIGHT, [personas.sam.id])
    )
    schools[by_name["Hexham"].id]["secondary"].append(
        School("Southfield Academy", "secondary", OLA_SCHOOL_WEIGHT, [personas.ola.id])
    )
    guests = {(by_name["Morpeth"].id, AgencyType.HEALTH_VISITING): (personas.hana.id, HANA_SHARE)}
    practitioners = {u.id: u for u in [*users.values(), personas.sam, personas.hana, personas.ola]}
    agency_of = {users[username].id: agency_rows[agencies[n].name].id for username, n in placement}
    agency_of |= {
        personas.sam.id: personas.riverside.id,
        personas.hana.id: personas.health_visiting.id,
        personas.ola.id: personas.southfield.id,
    }
    return County(
        areas=areas,
        schools=schools,
        early_years=dict(early_years),
        pools=dict(pools),
        guests=guests,
        usernames={uid: u.username for uid, u in practitioners.items()},
        users=practitioners,
        agency_of=agency_of,
    )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """One value in COPY's text format. Called for every column of every row, so the commonest
    types are tested first, by exact type."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is dt.date or kind is dt.datetime:
        return value.isoformat()
    if kind is list:
        return "{" + ",".join(value) + "}"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = value if kind is str else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.translate(_COPY_ESCAPES)
    return text


def copy_rows(cursor, model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples in the order of ``fields``, model attribute names) into the model's table."""
    columns = [model._meta.get_field(f).column for f in fields]
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join(map(_copy_value, row)))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    cursor.copy_expert(f"COPY {table} ({cols}) FROM STDIN", buffer)
    return count


def allocate_ids(cursor, model, count: int) -> list[int]:
    """Reserve ``count`` primary keys from the table's sequence in one round trip."""
    if count == 0:
        return []
    table = model._meta.db_table
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
    )
    return [row[0] for row in cursor.fetchall()]


PATHWAY_TABLES = (
    ("episodes", Episode, pathway_demo.EPISODE_FIELDS),
    ("transitions", EpisodeTransition, pathway_demo.TRANSITION_FIELDS),
    ("levels", LevelChange, pathway_demo.LEVEL_FIELDS),
    ("members", TafMember, pathway_demo.MEMBER_FIELDS),
    ("meetings", TafMeeting, pathway_demo.MEETING_FIELDS),
    ("leads", LeadProfessional, pathway_demo.LEAD_FIELDS),
    ("reviews", Review, pathway_demo.REVIEW_FIELDS),
    ("scores", OutcomeScore, pathway_demo.SCORE_FIELDS),
    ("needs", IdentifiedNeed, pathway_demo.NEED_FIELDS),
    ("chronology", ChronologyEntry, pathway_demo.CHRONOLOGY_FIELDS),
)
ID_MODELS = {"episodes": Episode, "meetings": TafMeeting, "reviews": Review}


def write_families_copy(
    plans: list[FamilyPlan],
    perm_ids: tuple[int, int],
    usernames: dict[int, str],
    rows: pathway_demo.StoryRows,
    history: HistoryRows | None = None,
) -> dict[str, int]:
    """Write a chunk of plans with COPY. The caller holds the transaction.

    Grants are the rows ``grant_family_access`` makes (view, and change for the lead and the
    assessors), each with the same "access granted" audit event it records. Episodes come with the
    rows pathway.services would have written for their stories (``rows``, emptied here), and with
    ``history`` the requests, decisions, consent, assessments and claims around them."""
    _free_identifiers(plans)
    now = timezone.now()
    view_id, change_id = perm_ids
    counts: dict[str, int] = {}
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg2 cursor, for copy_expert
        family_ids = allocate_ids(cursor, Family, len(plans))
        person_ids = allocate_ids(cursor, Person, sum(len(p.people) for p in plans))
        counts["families"] = copy_rows(
            cursor,
            Family,
            (
                "id",
                "reference",
                "name",
                "address_line_1",
                "address_line_2",
                "town",
                "postcode",
                "area",
                "hub",
                "address_withheld",
                "young_carer",
                "send",
                "created_at",
                "updated_at",
                "version",
            ),
            (
                (
                    fid,
                    p.reference,
                    p.name,
                    p.address_line_1,
                    "",
                    p.area.name,
                    p.postcode,
                    p.area.id,
                    p.area.hub_id,
                    p.address_withheld,
                    p.young_carer,
                    p.send,
                    now,
                    now,
                    1,
                )
                for fid, p in zip(family_ids, plans, strict=True)
            ),
        )
        wanted = pathway_demo.StoryRows.counts([story for p in plans for story in p.episodes])
        reserved = {key: iter(allocate_ids(cursor, ID_MODELS[key], n)) for key, n in wanted.items()}
        people_rows, member_rows, rel_rows, perm_rows, audit_rows = [], [], [], [], []
        user_type = User._meta.label_lower
        cursor_pos = 0
        for fid, plan in zip(family_ids, plans, strict=True):
            ids = person_ids[cursor_pos : cursor_pos + len(plan.people)]
            cursor_pos += len(plan.people)
            for pid, pp in zip(ids, plan.people, strict=True):
                people_rows.append(
                    (
                        pid,
                        pp.first_name,
                        pp.last_name,
                        "",
                        pp.date_of_birth,
                        pp.expected_date_of_birth,
                        pp.sex,
                        pp.ethnicity,
                        pp.disabilities,
                        pp.language,
                        pp.nhs_number,
                        pp.upn,
                        pp.school_or_setting,
                        now,
                        now,
                        1,
                    )
                )
                member_rows.append((fid, pid, pp.role, pp.start_date, pp.end_date))
            for a, b, kind in plan.relationships:
                rel_rows.append((fid, ids[a], ids[b], kind))
            assessors = {story.assessor for story in plan.episodes}
            for uid, change in plan.grants:
                change = change or uid in assessors
                perm_rows.append((view_id, uid, fid))
                if change:
                    perm_rows.append((change_id, uid, fid))
                summary = f"{'Read and change' if change else 'Read'} access for {usernames[uid]}"
                audit_rows.append((now, AuditAction.GRANT, user_type, uid, fid, summary))
            episode_ids = rows.add(fid, ids, plan.episodes, reserved) if plan.episodes else []
            if history is not None:
                history.add(fid, ids, plan, episode_ids)
            if plan.notes:
                rows.loose_notes(fid, plan.notes)
        counts["people"] = copy_rows(
            cursor,
            Person,
            (
                "id",
                "first_name",
                "last_name",
                "known_as",
                "date_of_birth",
                "expected_date_of_birth",
                "sex",
                "ethnicity",
                "disabilities",
                "language",
                "nhs_number",
                "upn",
                "school_or_setting",
                "created_at",
                "updated_at",
                "version",
            ),
            people_rows,
        )
        counts["members"] = copy_rows(
            cursor, FamilyMember, ("family", "person", "role", "start_date", "end_date"), member_rows
        )
        counts["relationships"] = copy_rows(
            cursor, Relationship, ("family", "from_person", "to_person", "type"), rel_rows
        )
        counts["grants"] = copy_rows(
            cursor, FamilyUserObjectPermission, ("permission", "user", "content_object"), perm_rows
        )
        counts["audit events"] = copy_rows(
            cursor,
            AuditEvent,
            (
                "occurred_at",
                "action",
                "object_type",
                "object_id",
                "family_id",
                "summary",
                "actor_username",
                "changes",
                "user_agent",
                "path",
            ),
            (row + ("", "{}", "", "") for row in audit_rows),
        )
        for key, model, fields in PATHWAY_TABLES:
            counts[key] = copy_rows(cursor, model, fields, rows.rows[key])
            rows.rows[key].clear()
        if history is not None:
            counts |= history.write(cursor)
    return counts


class IdPool:
    """Primary keys from a table's sequence, reserved a block at a time; an iterator for the row
    builders. The few left over at the end of a chunk stay unused (gaps in a sequence are harmless)."""

    def __init__(self, model, block: int = 2000):
        self.model = model
        self.block = block
        self.ids: Iterator[int] = iter(())

    def __iter__(self) -> IdPool:
        return self

    def __next__(self) -> int:
        value = next(self.ids, None)
        if value is None:
            with connection.cursor() as cursor:
                self.ids = iter(allocate_ids(cursor, self.model, self.block))
            value = next(self.ids)
        return value


@dataclass
class LargeLookups:
    """What the large tier's history rows need to know, read once."""

    area_ids: dict[str, int]
    agency_of: dict[int, int]  # practitioner id: agency id
    sources: dict[int, str]  # agency id: the referral source of its type
    coordinators: dict[int, int]  # hub id: coordinator id
    managers: dict[int, list[int]]  # agency id: its managers' ids
    ehms: list[int]  # early help managers' ids
    template_id: int | None  # the published assessment form

    @classmethod
    def load(cls, county: County, coordinators: dict[int, int], area_ids: dict[str, int]) -> LargeLookups:
        managers: dict[int, list[int]] = defaultdict(list)
        for agency_id, user_id in (
            Membership.objects.filter(role=Role.AGENCY_MANAGER)
            .order_by("user_id")
            .values_list("agency_id", "user_id")
        ):
            managers[agency_id].append(user_id)
        template = AssessmentTemplate.objects.filter(published=True).order_by("-version").first()
        return cls(
            area_ids=area_ids,
            agency_of=county.agency_of,
            sources={
                pk: SOURCE_FOR_AGENCY_TYPE.get(kind, "8")
                for pk, kind in Agency.objects.values_list("id", "type")
            },
            coordinators=coordinators,
            managers=dict(managers),
            ehms=list(
                Membership.objects.filter(role=Role.EARLY_HELP_MANAGER)
                .order_by("user_id")
                .values_list("user_id", flat=True)
                .distinct()
            ),
            template_id=template.pk if template else None,
        )

    def source_of(self, agency_id: int | None) -> str:
        return self.sources.get(agency_id, "8") if agency_id is not None else "8"

    def decider(self, assessor: int, kind: str) -> int | None:
        """Who signs off or returns the assessor's assessments (as assessments.demo.EhaPlayer._decider)."""
        managers = [u for u in self.managers.get(self.agency_of.get(assessor), ()) if u != assessor]
        ehms = [u for u in self.ehms if u != assessor]
        order = managers + ehms if kind == "agency" else ehms + managers
        return order[0] if order else None


class HistoryRows:
    """A chunk's requests for support and triage decisions (hubs.demo.RequestRows), consent and
    assessments (assessments.demo.EhaRows) and Supporting Families claims (pathway.demo.ClaimRows),
    from random generators of their own so that the families and their stories do not change."""

    def __init__(self, lookups: LargeLookups, *, seed: int, start: int, chunk_size: int, today: dt.date):
        now = timezone.now()
        self.lookups = lookups
        self.today = today
        self.requests = hubs_demo.RequestRows(
            rng=random.Random(f"{seed}:large-requests:{start}:{chunk_size}"),
            today=today,
            now=now,
            area_ids=lookups.area_ids,
            agency_of=lookups.agency_of.get,
            source_of=lookups.source_of,
        )
        self.eha = (
            assessments_demo.EhaRows(
                today=today, now=now, template_id=lookups.template_id, decider=lookups.decider
            )
            if lookups.template_id is not None
            else None
        )
        self.claims = pathway_demo.ClaimRows(
            rng=random.Random(f"{seed}:large-claims:{start}:{chunk_size}"),
            today=today,
            now=now,
            area_ids=lookups.area_ids,
            managers=lookups.ehms,
        )
        self.ids = {
            "requests": IdPool(RequestForSupport),
            "assessments": IdPool(Assessment),
            "claims": IdPool(SupportingFamiliesClaim),
        }

    def add(
        self, family_id: int, person_ids: Sequence[int], plan: FamilyPlan, episode_ids: list[int]
    ) -> None:
        facts = facts_for(plan, self.today)
        self.requests.add(
            family_id=family_id,
            hub_id=plan.area.hub_id,
            coordinator=self.lookups.coordinators.get(plan.area.hub_id),
            workers=[uid for uid, _ in plan.grants],
            known_since=plan.known_since,
            facts=facts,
            stories=plan.episodes,
            episode_ids=episode_ids,
            ids=self.ids["requests"],
        )
        if not plan.episodes:
            return
        if self.eha is not None:
            people = [
                assessments_demo.Someone(
                    pid, f"{p.first_name} {p.last_name}", p.role, p.date_of_birth, p.start_date, p.end_date
                )
                for pid, p in zip(person_ids, plan.people, strict=True)
            ]
            self.eha.add(
                family_id=family_id,
                people=people,
                facts=facts,
                stories=plan.episodes,
                episode_ids=episode_ids,
                ids=self.ids["assessments"],
            )
        self.claims.add(family_id, plan.episodes, episode_ids, self.ids["claims"])

    def tables(self) -> list[tuple[str, object, Sequence[str], list[tuple]]]:
        requests = self.requests.rows
        eha = self.eha.rows if self.eha is not None else defaultdict(list)
        claims = self.claims.rows
        return [
            ("requests", RequestForSupport, hubs_demo.REQUEST_FIELDS, requests["requests"]),
            (
                "request needs",
                RequestForSupport.needs.through,
                hubs_demo.REQUEST_NEED_FIELDS,
                requests["request_needs"],
            ),
            ("decisions", TriageDecision, hubs_demo.DECISION_FIELDS, requests["decisions"]),
            ("consents", ConsentRecord, assessments_demo.CONSENT_FIELDS, eha["consents"]),
            ("assessments", Assessment, assessments_demo.ASSESSMENT_FIELDS, eha["assessments"]),
            (
                "assessment members",
                Assessment.members.through,
                assessments_demo.ASSESSMENT_MEMBER_FIELDS,
                eha["assessment_members"],
            ),
            ("versions", AssessmentVersion, assessments_demo.VERSION_FIELDS, eha["versions"]),
            ("claims", SupportingFamiliesClaim, pathway_demo.CLAIM_FIELDS, claims["claims"]),
            (
                "claim areas",
                SupportingFamiliesClaim.areas.through,
                pathway_demo.CLAIM_AREA_FIELDS,
                claims["claim_areas"],
            ),
            ("chronology", ChronologyEntry, pathway_demo.CHRONOLOGY_FIELDS, requests["chronology"]),
            ("chronology", ChronologyEntry, pathway_demo.CHRONOLOGY_FIELDS, eha["chronology"]),
        ]

    def write(self, cursor) -> dict[str, int]:
        """COPY the rows (and forget them). Returns counts by table, chronology lines as "history lines"."""
        counts: dict[str, int] = defaultdict(int)
        for key, model, fields, rows in self.tables():
            label = "history lines" if key == "chronology" else key
            counts[label] += copy_rows(cursor, model, fields, rows)
            rows.clear()
        return dict(counts)


def family_permission_ids() -> tuple[int, int]:
    """The ids of view_family and change_family, resolved once."""
    from django.contrib.auth.models import Permission

    perms = dict(
        Permission.objects.filter(
            content_type__app_label="ehcase", content_type__model="family", codename__in=[VIEW, CHANGE]
        ).values_list("codename", "id")
    )
    return perms[VIEW], perms[CHANGE]


def large_reference(index: int) -> str:
    return f"{LARGE_PREFIX}{index + 1:07d}"


def large_coordinators(personas: Personas, areas: list[AreaInfo]) -> dict[int, int]:
    """Hub id: the id of its coordinator (the default tier's), who triages the large tier's requests."""
    usernames = {f"{a.hub_key.lower()}.coordinator": a.hub_id for a in areas if a.hub_key != NORTH}
    out = {a.hub_id: personas.chris.id for a in areas if a.hub_key == NORTH}
    for uid, username in User.objects.filter(username__in=usernames).values_list("id", "username"):
        out[usernames[username]] = uid
    return out


def plan_large_stories(
    planner: pathway_demo.StoryPlanner, plan: FamilyPlan, coordinator: int | None, today: dt.date
) -> None:
    """The family's pathway history in the large tier: kinds in the proportions of pathway.demo.KINDS
    that fit the time the family has been known."""
    if plan.lead is None:
        return
    facts = facts_for(plan, today)
    others = [uid for uid, _ in plan.grants if uid != plan.lead]
    for _ in range(3):
        kind, options = planner.pick_kind()
        stories = planner.family(
            kind,
            facts,
            lead=plan.lead,
            others=others,
            coordinator=coordinator,
            earliest=plan.known_since,
            options=options,
        )
        if stories is not None:
            plan.episodes = stories
            break
    if not plan.episodes and planner.rng.random() < 0.4:
        plan.notes = planner.loose_notes(facts, plan.lead, plan.known_since)


def seed_large(
    *,
    personas: Personas,
    families: int,
    seed: int = DEFAULT_SEED,
    today: dt.date | None = None,
    chunk_size: int = LARGE_CHUNK,
    log: Log = lambda s: None,
) -> int:
    """The large tier: ``families`` families in chunks of ``chunk_size``, written with COPY.
    A chunk whose families all exist is skipped; a partly written one cannot happen (one
    transaction each). Returns the number of families written."""
    started = time.monotonic()
    today = today or timezone.localdate()
    password_hash = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        county = build_large_structure(personas, families, seed, password_hash, log)
    perm_ids = family_permission_ids()
    areas = county.areas
    coordinators = large_coordinators(personas, areas)
    area_ids = dict(OutcomeArea.objects.filter(active=True).values_list("code", "id"))
    level_ids = dict(LevelOfNeed.objects.values_list("code", "id"))
    level_names = dict(LevelOfNeed.objects.values_list("code", "name"))
    lookups = LargeLookups.load(county, coordinators, area_ids)
    if lookups.template_id is None:
        log("  No published assessment form: the large tier gets no consent or assessments")
    written = 0
    totals: dict[str, int] = defaultdict(int)
    chunks = range(0, families, chunk_size)
    for number, start in enumerate(chunks, 1):
        stop = min(families, start + chunk_size)
        references = [large_reference(i) for i in range(start, stop)]
        in_chunk = Family.objects.filter(
            reference__gte=references[0],
            reference__lte=references[-1],
            reference__startswith=LARGE_PREFIX,
        )
        existing = set(in_chunk.values_list("reference", flat=True))
        if len(existing) == len(references):
            if number == 1 and not RequestForSupport.objects.filter(family__in=in_chunk).exists():
                log(
                    "  These large-tier families were written before requests for support, triage "
                    "decisions, assessments and claims were generated: rebuild the database to have them"
                )
            continue
        rng = random.Random(f"{seed}:large:{start}:{chunk_size}")
        gen = FamilyGenerator(rng, county, today)
        planner = story_planner(
            random.Random(f"{seed}:large-pathway:{start}:{chunk_size}"), today, county.users, all_areas=False
        )
        planner.areas = [a for a in planner.areas if a in area_ids]
        plans = []
        for i, ref in zip(range(start, stop), references, strict=True):
            # NHS numbers: three per family from the 999 test range while it lasts.
            plan = gen.family(
                reference=ref, area=rng.choice(areas), nhs_base=i * 3, nhs_slots=3, upn_base=i * 8
            )
            gen.assign_workers(plan)
            plan_large_stories(planner, plan, coordinators.get(plan.area.hub_id), today)
            if ref not in existing:
                plans.append(plan)
        rows = pathway_demo.StoryRows(
            area_ids=area_ids,
            level_ids=level_ids,
            level_names=level_names,
            agency_of=county.agency_of.get,
            name=planner.name,
        )
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            history = HistoryRows(lookups, seed=seed, start=start, chunk_size=chunk_size, today=today)
            counts = write_families_copy(plans, perm_ids, county.usernames, rows, history)
        written += counts["families"]
        for key, value in counts.items():
            totals[key] += value
        elapsed = time.monotonic() - started
        log(
            f"  chunk {number}/{len(chunks)}: families to {stop:,} "
            f"({written:,} written, {totals['people']:,} people, {totals['grants']:,} grants, "
            f"{totals['requests']:,} requests, {totals['decisions']:,} decisions, "
            f"{totals['episodes']:,} episodes, {totals['assessments']:,} assessments, "
            f"{totals['meetings']:,} meetings, {totals['reviews']:,} reviews, {totals['claims']:,} claims, "
            f"{totals['chronology'] + totals['history lines']:,} chronology lines) "
            f"after {elapsed:.0f}s, {written / max(elapsed, 0.001):,.0f} families/s"
        )
    return written


ANALYZE_MODELS = (
    Family,
    Person,
    FamilyMember,
    Relationship,
    FamilyUserObjectPermission,
    *(model for _, model, _ in PATHWAY_TABLES),
    RequestForSupport,
    RequestForSupport.needs.through,
    TriageDecision,
    ConsentRecord,
    Assessment,
    Assessment.members.through,
    AssessmentVersion,
    SupportingFamiliesClaim,
    SupportingFamiliesClaim.areas.through,
    User,
    Membership,
    Agency,
)


def analyze() -> None:
    with connection.cursor() as cursor:
        for model in ANALYZE_MODELS:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
