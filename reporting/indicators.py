"""The quarterly indicators of DESIGN.md §6, computed in SQL. Definitions: docs/indicators.md.

Every indicator is an aggregate over one *fact* query for a quarter and scope (FACTS): rows of

    unit       what is counted (a request, a decision, an assessment, an episode, a person, a family)
    unit2      a second thing counted, where an indicator needs it (the lead professional, for caseloads)
    family_id  the family behind the row (what a drill-down lists)
    by_*       the categories of the indicators' rows (agency, hub, outcome, reason, area, ...)
    measure    days or a change of score, for medians and means
    flag       the condition of a percentage (or of a count over part of the fact)

The scope's hub and agency conditions are inside the fact's WHERE, on the row's attributed hub and
agency (docs/indicators.md "Scope and attribution"), so PostgreSQL reads only what the scope needs.

`compute` aggregates the facts of a section in one query (the facts as CTEs, then UNION ALL of one
GROUPING SETS aggregate per indicator: the total and one row per category). `families_behind` selects
family_id from the very same fact query and conditions, so a figure and the list of families behind it
cannot disagree.

Only table names from model metadata, constant SQL and integer literals are interpolated into the SQL;
every value (dates, ids, categories) is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from assessments.models import Assessment, AssessmentVersion
from ehcase.codes import ETHNICITY_CHOICES
from ehcase.models import Agency, Family, FamilyMember, Membership, Person, Sex
from hubs.models import Hub, RequestForSupport, TriageDecision, TriageOutcome
from pathway.models import (
    ClaimStatus,
    ClosureReason,
    Episode,
    IdentifiedNeed,
    OutcomeArea,
    OutcomeScore,
    Review,
    SupportingFamiliesClaim,
)

from .quarters import Quarter

UNITS = ("count", "percent", "days", "score", "mean")
NONE_KEY = "none"  # the row key of a missing category (no agency recorded, say)


@dataclass(frozen=True)
class Scope:
    """Which part of the partnership the figures are for: None means every hub / every agency."""

    hub_id: int | None = None
    agency_id: int | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    indicators: tuple[str, ...]


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    section: str
    unit: str  # one of UNITS
    up_is_good: bool | None  # None: neither direction is better
    definition: str
    # How it is computed (not part of the public interface).
    fact: str = field(default="", repr=False, compare=False)
    category: str | None = field(default=None, repr=False, compare=False)  # fact column of the rows
    categories: str | None = field(default=None, repr=False, compare=False)  # rows always listed
    flag: bool = field(default=False, repr=False, compare=False)  # percent: the numerator's column
    counted: str = field(default="unit", repr=False, compare=False)  # the fact column counted


# --- The facts ---------------------------------------------------------------------------------------
#
# SQL templates. {name} placeholders are table names (from model metadata); {joins} is where the joins a
# scope needs go and {scope} ends the WHERE clause (both empty for the whole partnership); %(name)s are
# parameters: start, end (the quarter's first and last day), from_ts, to_ts (local midnight at the start
# of the quarter and of the next one, as aware datetimes), review_days, drift_before, hub, agency.
#
# Columns: unit (what is counted), family_id (the drill-down), the indicators' category columns (by_*),
# and where an indicator needs them unit2 (a second thing counted), measure (days, a change of score) and
# flag (the condition of a percentage, or of a count over part of the fact).


@dataclass(frozen=True)
class Fact:
    sql: str
    hub: str  # the SQL of the row's attributed hub
    agency: str  # the SQL of the row's attributed agency
    family_id: str  # the SQL of the row's family id (selected for drill-downs only)
    family: str | None = None  # where the hub is the family's: the family id to join ehcase_family on
    agency_join: str = ""  # the join the agency needs, when the template does not always make it
    distinct: bool = False  # whether a unit can be on more than one row (one row per area, say)


# A user's agency: their practitioner membership at the lowest agency id, else any membership at the
# lowest agency id.
_USER_AGENCY = (
    "SELECT DISTINCT ON (m.user_id) m.user_id, m.agency_id FROM {membership} m "
    "ORDER BY m.user_id, (m.role <> 'practitioner'), m.agency_id"
)

# Episodes are attributed to the lead professional's agency, else the assessor's, and the family's hub.
_EPISODE_AGENCY = " LEFT JOIN user_agency ua ON ua.user_id = COALESCE(e.lead_professional_id, e.assessor_id)"
_ASSESSOR_AGENCY = " LEFT JOIN user_agency ua ON ua.user_id = a.assessor_id"
_OPEN_AT_END = "e.opened_on <= %(end)s AND (e.closed_on IS NULL OR e.closed_on > %(end)s)"


def _on_episode(
    sql: str, *, agency_joined: bool = False, distinct: bool = False, agency_join: str = _EPISODE_AGENCY
) -> Fact:
    return Fact(
        sql,
        hub="fa.hub_id",
        agency="ua.agency_id",
        family_id="e.family_id",
        family="e.family_id",
        agency_join="" if agency_joined else agency_join,
        distinct=distinct,
    )


def _on_request(sql: str) -> Fact:
    return Fact(sql, hub="r.hub_id", agency="r.referrer_agency_id", family_id="r.family_id")


def _on_assessment(sql: str, *, agency_joined: bool = False) -> Fact:
    """As _on_episode, attributed to the assessor's agency."""
    return _on_episode(sql, agency_joined=agency_joined, agency_join=_ASSESSOR_AGENCY)


FACTS: dict[str, Fact] = {
    # Non-draft requests received in the quarter. flag: marked as a re-referral.
    "requests": _on_request(
        "SELECT r.id AS unit{family_id}, r.referrer_agency_id::text AS by_agency, "
        "r.hub_id::text AS by_hub, "
        "r.is_re_referral AS flag "
        "FROM {request} r WHERE r.status <> 'draft' AND r.received_on BETWEEN %(start)s AND %(end)s{scope}"
    ),
    # A request's first triage decision (the one that supersedes no other: a change of mind is a new
    # decision superseding the one before), when it was made in the quarter. measure: days from the request;
    # flag: step up.
    "decisions": _on_request(
        "SELECT d.id AS unit{family_id}, d.outcome::text AS by_outcome, "
        "d.decided_on - r.received_on AS measure, d.outcome = 'step_up' AS flag "
        "FROM {decision} d JOIN {request} r ON r.id = d.request_id "
        "WHERE d.supersedes_id IS NULL AND d.decided_on BETWEEN %(start)s AND %(end)s{scope}"
    ),
    # Assessments started in the quarter, attributed to the assessor's agency. flag: an agency other than
    # council family support.
    "ehas_started": _on_assessment(
        "SELECT a.id AS unit{family_id}, ua.agency_id::text AS by_agency, "
        "COALESCE(ag.type <> 'family_support', false) AS flag "
        "FROM {assessment} a LEFT JOIN {episode} e ON e.id = a.episode_id{joins}" + _ASSESSOR_AGENCY + " "
        "LEFT JOIN {agency} ag ON ag.id = ua.agency_id "
        "WHERE a.started_on BETWEEN %(start)s AND %(end)s{scope}",
        agency_joined=True,
    ),
    # Assessments whose first completion fell in the quarter (local dates): version 1, as versions are
    # numbered in the order they are completed (assessments.services).
    "ehas_completed": _on_assessment(
        "SELECT v.assessment_id AS unit{family_id} "
        "FROM {version} v LEFT JOIN {assessment} a ON a.id = v.assessment_id "
        "LEFT JOIN {episode} e ON e.id = a.episode_id{joins} "
        "WHERE v.number = 1 AND v.completed_at >= %(from_ts)s AND v.completed_at < %(to_ts)s{scope}"
    ),
    # Assessments signed off in the quarter (local dates).
    "ehas_signed_off": _on_assessment(
        "SELECT a.id AS unit{family_id} "
        "FROM {assessment} a LEFT JOIN {episode} e ON e.id = a.episode_id{joins} "
        "WHERE a.signed_off_at >= %(from_ts)s AND a.signed_off_at < %(to_ts)s{scope}"
    ),
    # Episodes opened in the quarter. flag: a step down from children's social care.
    "episodes_opened": _on_episode(
        "SELECT e.id AS unit{family_id}, e.source = 'step_down' AS flag "
        "FROM {episode} e{joins} WHERE e.opened_on BETWEEN %(start)s AND %(end)s{scope}"
    ),
    # Episodes open at the end of the quarter. unit2: the lead professional; flag: opened more than 12
    # months before the end (drift).
    "episodes_open": _on_episode(
        "SELECT e.id AS unit{family_id}, e.lead_professional_id AS unit2, ua.agency_id::text AS by_agency, "
        "e.opened_on < %(drift_before)s AS flag "
        "FROM {episode} e{joins}" + _EPISODE_AGENCY + " WHERE " + _OPEN_AT_END + "{scope}",
        agency_joined=True,
    ),
    # Episodes closed in the quarter. flag: stepped up to children's social care.
    "episodes_closed": _on_episode(
        "SELECT e.id AS unit{family_id}, NULLIF(e.closure_reason, '')::text AS by_reason, "
        "e.closure_reason = 'step_up' AS flag "
        "FROM {episode} e{joins} "
        "WHERE e.status = 'closed' AND e.closed_on BETWEEN %(start)s AND %(end)s{scope}"
    ),
    # Non-baseline reviews held in the quarter. flag: held within the review interval of the one before
    # it in the episode's order of reviews (date held, a baseline before a review on the same day, then
    # the order recorded); the max() is that one's date.
    "reviews": _on_episode(
        "SELECT rv.id AS unit{family_id}, COALESCE(rv.held_on - ("
        "SELECT max(p.held_on) FROM {review} p "
        "WHERE p.episode_id = rv.episode_id AND p.held_on <= rv.held_on "
        "AND p.id <> rv.id AND (p.held_on < rv.held_on OR p.is_baseline OR p.id < rv.id)"
        ") <= %(review_days)s, false) AS flag "
        "FROM {review} rv LEFT JOIN {episode} e ON e.id = rv.episode_id{joins} "
        "WHERE NOT rv.is_baseline AND rv.held_on BETWEEN %(start)s AND %(end)s{scope}"
    ),
    # Episodes open at the quarter end with a baseline by then whose latest review or baseline on or
    # before the end is more than the review interval before the end.
    "reviews_overdue": _on_episode(
        "SELECT e.id AS unit{family_id} FROM {episode} e{joins} "  # noqa: S608 - a template
        "JOIN LATERAL (SELECT max(rv.held_on) AS latest, bool_or(rv.is_baseline) AS baselined "
        "FROM {review} rv WHERE rv.episode_id = e.id AND rv.held_on <= %(end)s) lr ON lr.baselined "
        "WHERE " + _OPEN_AT_END + " AND %(end)s - lr.latest > %(review_days)s{scope}"
    ),
    # Each episode's latest non-baseline review held in the quarter, against its baseline: one row per
    # outcome area scored in both. measure: the change of score.
    "distance": _on_episode(
        "SELECT lr.episode_id AS unit{family_id}, ar.code::text AS by_area, s.score - b.score AS measure "
        "FROM (SELECT DISTINCT ON (rv.episode_id) rv.id, rv.episode_id FROM {review} rv "
        "WHERE NOT rv.is_baseline AND rv.held_on BETWEEN %(start)s AND %(end)s "
        "ORDER BY rv.episode_id, rv.held_on DESC, rv.id DESC) lr "
        "JOIN {review} br ON br.episode_id = lr.episode_id AND br.is_baseline "
        "JOIN {score} s ON s.review_id = lr.id "
        "JOIN {score} b ON b.review_id = br.id AND b.area_id = s.area_id "
        "JOIN {area} ar ON ar.id = s.area_id "
        "LEFT JOIN {episode} e ON e.id = lr.episode_id{joins} WHERE TRUE{scope}",
        distinct=True,
    ),
    # Families with an episode open at any time in the quarter: one row per outcome area of its needs.
    "sf_families": _on_episode(
        "SELECT e.family_id AS unit{family_id}, ar.code::text AS by_area "
        "FROM {episode} e{joins} JOIN {need} n ON n.episode_id = e.id JOIN {area} ar ON ar.id = n.area_id "
        "WHERE e.opened_on <= %(end)s AND (e.closed_on IS NULL OR e.closed_on >= %(start)s){scope}",
        distinct=True,
    ),
    # Supporting Families claims whose status changed in the quarter.
    "sf_claims": Fact(
        "SELECT c.id AS unit{family_id}, c.status::text AS by_status "
        "FROM {claim} c LEFT JOIN {episode} e ON e.id = c.episode_id{joins} "
        "WHERE c.status_changed_on BETWEEN %(start)s AND %(end)s{scope}",
        hub="fa.hub_id",
        agency="ua.agency_id",
        family_id="c.family_id",
        family="c.family_id",
        agency_join=_EPISODE_AGENCY,
    ),
    # Children (household role child, membership current on the day the episode opened) of families
    # whose episode opened in the quarter.
    "children": _on_episode(
        "SELECT p.id AS unit{family_id}, NULLIF(p.ethnicity, '')::text AS by_ethnicity, "
        "NULLIF(p.sex, '')::text AS by_sex, "
        "CASE WHEN cardinality(p.disabilities) = 0 THEN 'not_recorded' "
        "WHEN p.disabilities <@ ARRAY['NONE']::varchar[] THEN 'none' ELSE 'disabled' END AS by_disability, "
        "CASE WHEN p.date_of_birth IS NULL AND p.expected_date_of_birth IS NOT NULL THEN 'unborn' "
        "WHEN p.date_of_birth IS NULL THEN 'not_recorded' "
        "WHEN p.date_of_birth > e.opened_on THEN 'unborn' "
        "WHEN age(e.opened_on, p.date_of_birth) < interval '5 years' THEN '0-4' "
        "WHEN age(e.opened_on, p.date_of_birth) < interval '10 years' THEN '5-9' "
        "WHEN age(e.opened_on, p.date_of_birth) < interval '16 years' THEN '10-15' "
        "WHEN age(e.opened_on, p.date_of_birth) < interval '18 years' THEN '16-17' "
        "ELSE '18+' END AS by_age "
        "FROM {episode} e{joins} "
        "JOIN {member} fm ON fm.family_id = e.family_id AND fm.role = 'child' "
        "AND fm.start_date <= e.opened_on AND (fm.end_date IS NULL OR fm.end_date > e.opened_on) "
        "JOIN {person} p ON p.id = fm.person_id "
        "WHERE e.opened_on BETWEEN %(start)s AND %(end)s{scope}",
        distinct=True,
    ),
}

# Conditions some indicators put on a shared fact (constant SQL, no values).
_FACT_FILTERS: dict[str, str] = {
    "step_downs_received": "f.flag",
    "drift": "f.flag",
    "lead_professionals_by_agency": "f.unit2 IS NOT NULL",
    "caseload_mean": "f.unit2 IS NOT NULL",
}


# --- The indicators ----------------------------------------------------------------------------------

_AGE_BANDS = [
    ("unborn", "Unborn"),
    ("0-4", "0 to 4"),
    ("5-9", "5 to 9"),
    ("10-15", "10 to 15"),
    ("16-17", "16 to 17"),
    ("18+", "18 and over"),
    ("not_recorded", "Date of birth not recorded"),
]
_DISABILITY = [("disabled", "Disabled"), ("none", "No disability"), ("not_recorded", "Not recorded")]

# Categories always listed (in this order, with 0 when nothing fell in them).
CATEGORY_LISTS: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "triage_outcome": lambda: [(str(v), str(label)) for v, label in TriageOutcome.choices],
    "closure_reason": lambda: [(str(v), str(label)) for v, label in ClosureReason.choices],
    "claim_status": lambda: [(str(v), str(label)) for v, label in ClaimStatus.choices],
    "ethnicity": lambda: list(ETHNICITY_CHOICES),
    "sex": lambda: [(str(v), str(label)) for v, label in Sex.choices],
    "disability": lambda: list(_DISABILITY),
    "age": lambda: list(_AGE_BANDS),
}


_ALL = [
    # Requests and triage
    Indicator(
        key="requests_received",
        title="Requests for support received",
        section="requests",
        unit="count",
        up_is_good=None,
        definition=(
            "Requests sent to a hub (not drafts) whose received date is in the quarter, by the referrer's "
            "agency."
        ),
        fact="requests",
        category="by_agency",
    ),
    Indicator(
        key="requests_by_hub",
        title="Requests for support received by hub",
        section="requests",
        unit="count",
        up_is_good=None,
        definition="The same requests, by the hub they were sent to.",
        fact="requests",
        category="by_hub",
    ),
    Indicator(
        key="triage_outcomes",
        title="Triage outcomes",
        section="requests",
        unit="count",
        up_is_good=None,
        definition="Requests' first triage decisions made in the quarter, by outcome.",
        fact="decisions",
        category="by_outcome",
        categories="triage_outcome",
    ),
    Indicator(
        key="median_days_to_decision",
        title="Median days from request to decision",
        section="requests",
        unit="days",
        up_is_good=False,
        definition=(
            "The median number of days from a request's received date to its first decision, over the first "
            "decisions made in the quarter."
        ),
        fact="decisions",
    ),
    Indicator(
        key="hub_step_up_rate",
        title="Requests decided as step up",
        section="requests",
        unit="percent",
        up_is_good=None,
        definition=(
            "The percentage of first decisions made in the quarter whose outcome was step up to children's "
            "social care."
        ),
        fact="decisions",
        flag=True,
    ),
    Indicator(
        key="re_referrals",
        title="Re-referrals within 12 months of closure",
        section="requests",
        unit="percent",
        up_is_good=False,
        definition=(
            "Requests received in the quarter for a family whose previous episode closed within the 12 months"
            " before, as a percentage of the requests received."
        ),
        fact="requests",
        flag=True,
    ),
    # Early help assessments
    Indicator(
        key="ehas_started",
        title="Early help assessments started",
        section="assessments",
        unit="count",
        up_is_good=True,
        definition="Assessments whose start date is in the quarter.",
        fact="ehas_started",
    ),
    Indicator(
        key="ehas_completed",
        title="Early help assessments completed",
        section="assessments",
        unit="count",
        up_is_good=True,
        definition="Assessments first completed in the quarter (the date of their first completed version).",
        fact="ehas_completed",
    ),
    Indicator(
        key="ehas_signed_off",
        title="Early help assessments signed off",
        section="assessments",
        unit="count",
        up_is_good=True,
        definition="Assessments signed off by a manager in the quarter.",
        fact="ehas_signed_off",
    ),
    Indicator(
        key="ehas_by_lead_agency",
        title="Early help assessments started by lead agency",
        section="assessments",
        unit="count",
        up_is_good=True,
        definition="Assessments started in the quarter, by the assessor's agency.",
        fact="ehas_started",
        category="by_agency",
    ),
    Indicator(
        key="ehas_led_by_partners",
        title="Early help assessments led by partners",
        section="assessments",
        unit="percent",
        up_is_good=True,
        definition=(
            "The percentage of assessments started in the quarter whose assessor works for an agency other "
            "than council family support."
        ),
        fact="ehas_started",
        flag=True,
    ),
    # Episodes
    Indicator(
        key="episodes_opened",
        title="Episodes opened",
        section="episodes",
        unit="count",
        up_is_good=None,
        definition="Episodes of early help whose opening date is in the quarter.",
        fact="episodes_opened",
    ),
    Indicator(
        key="episodes_open_at_end",
        title="Episodes open at quarter end",
        section="episodes",
        unit="count",
        up_is_good=None,
        definition="Episodes opened on or before the last day of the quarter and not closed by then.",
        fact="episodes_open",
    ),
    Indicator(
        key="episodes_closed",
        title="Episodes closed",
        section="episodes",
        unit="count",
        up_is_good=None,
        definition="Episodes closed in the quarter, by closure reason.",
        fact="episodes_closed",
        category="by_reason",
        categories="closure_reason",
    ),
    Indicator(
        key="closures_stepped_up",
        title="Closures stepped up to children's social care",
        section="episodes",
        unit="percent",
        up_is_good=False,
        definition="The percentage of episodes closed in the quarter whose closure reason was step up.",
        fact="episodes_closed",
        flag=True,
    ),
    Indicator(
        key="step_downs_received",
        title="Step downs received",
        section="episodes",
        unit="count",
        up_is_good=None,
        definition="Episodes opened in the quarter as a step down from children's social care.",
        fact="episodes_opened",
    ),
    Indicator(
        key="drift",
        title="Episodes open over 12 months",
        section="episodes",
        unit="count",
        up_is_good=False,
        definition="Episodes open at the quarter end that opened more than 12 months before the quarter end.",
        fact="episodes_open",
    ),
    # Reviews and distance travelled
    Indicator(
        key="reviews_on_time",
        title="Reviews on time",
        section="reviews",
        unit="percent",
        up_is_good=True,
        definition=(
            "The percentage of reviews held in the quarter that were held within the review interval of the "
            "episode's previous review or baseline."
        ),
        fact="reviews",
        flag=True,
    ),
    Indicator(
        key="reviews_overdue",
        title="Reviews overdue at quarter end",
        section="reviews",
        unit="count",
        up_is_good=False,
        definition=(
            "Episodes open at the quarter end whose last review or baseline was more than the review interval"
            " before the quarter end."
        ),
        fact="reviews_overdue",
    ),
    Indicator(
        key="distance_travelled",
        title="Distance travelled",
        section="reviews",
        unit="score",
        up_is_good=True,
        definition=(
            "The mean change in score (0 to 10) from the baseline to each episode's latest review in the "
            "quarter, by outcome area."
        ),
        fact="distance",
        category="by_area",
        categories="outcome_area",
    ),
    # Lead professionals and caseloads
    Indicator(
        key="lead_professionals_by_agency",
        title="Lead professionals",
        section="workforce",
        unit="count",
        up_is_good=None,
        definition=(
            "Practitioners who are lead professional for an episode open at the quarter end, by their agency."
        ),
        fact="episodes_open",
        category="by_agency",
        counted="unit2",
    ),
    Indicator(
        key="caseload_mean",
        title="Mean caseload per lead professional",
        section="workforce",
        unit="mean",
        up_is_good=None,
        definition=(
            "Episodes open at the quarter end with a lead professional, divided by the number of lead "
            "professionals."
        ),
        fact="episodes_open",
    ),
    # Supporting Families
    Indicator(
        key="sf_families_by_outcome",
        title="Supporting Families: families by headline outcome",
        section="supporting_families",
        unit="count",
        up_is_good=None,
        definition=(
            "Families with an episode open at some time in the quarter that has an identified need in the "
            "headline outcome area."
        ),
        fact="sf_families",
        category="by_area",
        categories="outcome_area",
    ),
    Indicator(
        key="sf_claims_by_status",
        title="Supporting Families: claims by status",
        section="supporting_families",
        unit="count",
        up_is_good=None,
        definition="Claims whose status changed in the quarter, by their status.",
        fact="sf_claims",
        category="by_status",
        categories="claim_status",
    ),
    # Equality
    Indicator(
        key="equality_ethnicity",
        title="Children by ethnicity",
        section="equality",
        unit="count",
        up_is_good=None,
        definition="Children in families whose episode opened in the quarter, by ethnicity.",
        fact="children",
        category="by_ethnicity",
        categories="ethnicity",
    ),
    Indicator(
        key="equality_sex",
        title="Children by sex",
        section="equality",
        unit="count",
        up_is_good=None,
        definition="Children in families whose episode opened in the quarter, by sex.",
        fact="children",
        category="by_sex",
        categories="sex",
    ),
    Indicator(
        key="equality_disability",
        title="Children by disability",
        section="equality",
        unit="count",
        up_is_good=None,
        definition=(
            "Children in families whose episode opened in the quarter, by whether a disability is recorded."
        ),
        fact="children",
        category="by_disability",
        categories="disability",
    ),
    Indicator(
        key="equality_age",
        title="Children by age band",
        section="equality",
        unit="count",
        up_is_good=None,
        definition="Children in families whose episode opened in the quarter, by age on the day it opened.",
        fact="children",
        category="by_age",
        categories="age",
    ),
]

INDICATORS: dict[str, Indicator] = {i.key: i for i in _ALL}

_SECTION_TITLES = [
    ("requests", "Requests for support and triage"),
    ("assessments", "Early help assessments"),
    ("episodes", "Episodes"),
    ("reviews", "Reviews and distance travelled"),
    ("workforce", "Lead professionals and caseloads"),
    ("supporting_families", "Supporting Families"),
    ("equality", "Equality"),
]
SECTIONS: list[Section] = [
    Section(key, title, tuple(i.key for i in _ALL if i.section == key)) for key, title in _SECTION_TITLES
]
assert all(i.unit in UNITS for i in _ALL)  # a definition error, caught on import
assert {i.section for i in _ALL} == {s.key for s in SECTIONS}
# A percentage counts rows: its fact must hold each unit once.
assert not any(i.unit == "percent" and FACTS[i.fact].distinct for i in _ALL)


# --- SQL assembly ------------------------------------------------------------------------------------


@cache
def _tables() -> dict[str, str]:
    return {
        "membership": Membership._meta.db_table,
        "agency": Agency._meta.db_table,
        "family": Family._meta.db_table,
        "member": FamilyMember._meta.db_table,
        "person": Person._meta.db_table,
        "hub": Hub._meta.db_table,
        "request": RequestForSupport._meta.db_table,
        "decision": TriageDecision._meta.db_table,
        "assessment": Assessment._meta.db_table,
        "version": AssessmentVersion._meta.db_table,
        "episode": Episode._meta.db_table,
        "review": Review._meta.db_table,
        "score": OutcomeScore._meta.db_table,
        "need": IdentifiedNeed._meta.db_table,
        "claim": SupportingFamiliesClaim._meta.db_table,
        "area": OutcomeArea._meta.db_table,
    }


_NAMED = re.compile(r"%\((\w+)\)s")


def _positional(sql: str, values: dict) -> tuple[str, list]:
    """Named parameters to positional ones (RawSQL and the cursor then take the same SQL)."""
    params: list = []

    def take(match: re.Match) -> str:
        params.append(values[match[1]])
        return "%s"

    return _NAMED.sub(take, sql), params


def _values(quarter: Quarter, scope: Scope) -> dict:
    zone = ZoneInfo(settings.TIME_ZONE)
    weeks = getattr(settings, "REVIEW_INTERVAL_WEEKS", 6)
    return {
        "start": quarter.start,
        "end": quarter.end,
        "from_ts": dt.datetime.combine(quarter.start, dt.time(), tzinfo=zone),
        "to_ts": dt.datetime.combine(quarter.next().start, dt.time(), tzinfo=zone),
        "review_days": int(weeks) * 7,
        # Quarter ends are the 30th or 31st of June, September, December or March: never 29 February.
        "drift_before": quarter.end.replace(year=quarter.end.year - 1),
        "hub": scope.hub_id,
        "agency": scope.agency_id,
    }


def _fact_sql(name: str, scope: Scope, *, drill: bool = False) -> str:
    """The fact's SELECT for the scope: the hub and agency conditions go inside it, where PostgreSQL can
    use them to read less, and the family is joined only when the hub is the family's and asked for.
    The family id is selected only for a drill-down: without it, and without a scope, the joins that
    only lead to it are LEFT JOINs on a primary key that PostgreSQL leaves out of the plan."""
    fact = FACTS[name]
    joins, conditions = "", ""
    if scope.hub_id is not None:
        if fact.family:
            joins += f" JOIN {{family}} fa ON fa.id = {fact.family}"
        conditions += f" AND {fact.hub} = %(hub)s"
    if scope.agency_id is not None:
        joins += fact.agency_join
        conditions += f" AND {fact.agency} = %(agency)s"
    # Two passes: the scope's SQL (which names the family table) first, then the table names.
    family_id = f", {fact.family_id} AS family_id" if drill else ""
    sql = fact.sql.replace("{joins}", joins).replace("{scope}", conditions).replace("{family_id}", family_id)
    return sql.format(**_tables())


def _with(facts: list[str], scope: Scope, *, drill: bool = False) -> str:
    ctes = ["user_agency AS (" + _USER_AGENCY.format(**_tables()) + ")"]
    ctes += [f"fact_{name} AS ({_fact_sql(name, scope, drill=drill)})" for name in dict.fromkeys(facts)]
    return "WITH " + ", ".join(ctes) + " "


def _where(indicator: Indicator, extra: str = "") -> str:
    conditions = ["TRUE"]
    if indicator.key in _FACT_FILTERS:
        conditions.append(_FACT_FILTERS[indicator.key])
    if extra:
        conditions.append(extra)
    return " WHERE " + " AND ".join(conditions)


def _aggregate(number: int, indicator: Indicator) -> str:
    """One indicator's total and rows (GROUPING SETS) from its fact. Only the aggregates its unit needs
    are computed: each DISTINCT or percentile sorts its input again."""
    distinct = FACTS[indicator.fact].distinct or indicator.counted != "unit"
    n = f"count(DISTINCT f.{indicator.counted})" if distinct else "count(*)"
    k = "count(*) FILTER (WHERE f.flag)" if indicator.unit == "percent" else "NULL::bigint"
    n2 = "count(DISTINCT f.unit2)" if indicator.unit == "mean" else "NULL::bigint"
    median = (
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY f.measure)"
        if indicator.unit == "days"
        else "NULL::float8"
    )
    mean = "avg(f.measure)" if indicator.unit == "score" else "NULL::numeric"
    aggregates = f"{n} AS n, {n2} AS n2, {k} AS k, {median} AS median, {mean} AS mean"
    source = f" FROM fact_{indicator.fact} f" + _where(indicator)
    if indicator.category:
        column = f"f.{indicator.category}"
        return (
            f"SELECT {number} AS indicator, {column} AS category, GROUPING({column}) AS total, "  # noqa: S608
            f"{aggregates}{source} GROUP BY GROUPING SETS ((), ({column}))"
        )
    return f"SELECT {number} AS indicator, NULL::text AS category, 1 AS total, {aggregates}{source}"  # noqa: S608


def _section_sql(section: Section, scope: Scope) -> str:
    members = [(n, i) for n, i in enumerate(_ALL) if i.section == section.key]
    return _with([i.fact for _, i in members], scope) + " UNION ALL ".join(
        _aggregate(n, i) for n, i in members
    )


# --- Turning aggregates into figures ------------------------------------------------------------------


def _number(value, places: int) -> float | None:
    if value is None:
        return None
    return round(float(value), places)


def _percent(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 1) if denominator else None


def _figure(indicator: Indicator, n: int, n2: int, k: int, median, mean) -> dict:
    if indicator.unit == "percent":
        return {"value": _percent(k, n), "numerator": k, "denominator": n}
    if indicator.unit == "days":
        return {"value": _number(median, 1), "numerator": None, "denominator": n}
    if indicator.unit == "score":
        return {"value": _number(mean, 2), "numerator": None, "denominator": n}
    if indicator.unit == "mean":
        return {"value": round(n / n2, 2) if n2 else None, "numerator": n, "denominator": n2}
    return {"value": n, "numerator": n, "denominator": None}


def _labels(cursor) -> dict[str, dict[str, str]]:
    """Names of agencies, hubs and outcome areas (one query), and the outcome areas always listed."""
    tables = _tables()
    sql = (
        f"SELECT 'agency', id::text, name, 0, true FROM {tables['agency']} "  # noqa: S608
        f"UNION ALL SELECT 'hub', id::text, name, 0, true FROM {tables['hub']} "
        f"UNION ALL SELECT 'area', code, name, \"order\", active FROM {tables['area']} "
        "ORDER BY 1, 4, 3"
    )
    labels: dict[str, dict[str, str]] = {"agency": {}, "hub": {}, "area": {}, "active_area": {}}
    cursor.execute(sql)
    for kind, key, name, _order, active in cursor.fetchall():
        labels[kind][key] = name
        if kind == "area" and active:
            labels["active_area"][key] = name
    return labels


_LABEL_KIND = {"by_agency": "agency", "by_hub": "hub", "by_area": "area"}
_MISSING_LABEL = {"by_agency": "No agency recorded", "by_hub": "No hub recorded"}


def _rows(indicator: Indicator, found: dict[str | None, dict], total: dict, labels: dict) -> list[dict]:
    if not indicator.category:
        return []
    if indicator.categories == "outcome_area":
        listed = list(labels["active_area"].items())
    elif indicator.categories:
        listed = CATEGORY_LISTS[indicator.categories]()
    else:
        listed = []
    rows = []
    for key, label in listed:
        rows.append({"key": key, "label": label, **found.pop(key, _empty(indicator, total))})
    kind = _LABEL_KIND.get(indicator.category)
    extra = []
    for key, figure in found.items():
        if key is None:
            label = _MISSING_LABEL.get(indicator.category, "Not recorded")
        else:
            label = labels.get(kind, {}).get(key, key) if kind else key
        extra.append({"key": key if key is not None else NONE_KEY, "label": label, **figure})
    extra.sort(key=lambda row: (row["key"] == NONE_KEY, row["label"].lower()))
    return rows + extra


def _empty(indicator: Indicator, total: dict) -> dict:
    figure = _figure(indicator, 0, 0, 0, None, None)
    if indicator.unit == "count":
        figure["denominator"] = total["value"]
    return figure


def compute(quarter: Quarter, scope: Scope) -> dict[str, dict]:
    """Every indicator for the quarter and scope: {key: {value, numerator, denominator, rows}}.

    In one transaction: SET LOCAL jit = off, one query for the names of agencies, hubs and outcome
    areas, then one per section (seven): the section's facts as CTEs and one GROUPING SETS aggregate per
    indicator, UNION ALL. JIT compilation costs a few hundred milliseconds per query here (the plans are
    wide but each reads only a quarter's rows) and is switched off for this transaction only."""
    values = _values(quarter, scope)
    results: dict[str, dict] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        labels = _labels(cursor)
        for section in SECTIONS:
            sql, params = _positional(_section_sql(section, scope), values)
            cursor.execute(sql, params)
            members = [INDICATORS[key] for key in section.indicators]
            found: dict[str, dict] = {i.key: {"total": None, "rows": {}} for i in members}
            for number, category, is_total, n, n2, k, median, mean in cursor.fetchall():
                indicator = _ALL[number]
                figure = _figure(indicator, n, n2, k, median, mean)
                if is_total:
                    found[indicator.key]["total"] = figure
                else:
                    found[indicator.key]["rows"][category] = figure
            for indicator in members:
                total = found[indicator.key]["total"] or _figure(indicator, 0, 0, 0, None, None)
                if indicator.unit == "count":
                    for figure in found[indicator.key]["rows"].values():
                        figure["denominator"] = total["value"]
                results[indicator.key] = {
                    **total,
                    "rows": _rows(indicator, found[indicator.key]["rows"], total, labels),
                }
    return {key: _json(results[key]) for key in INDICATORS}


def _json(figure: dict) -> dict:
    def clean(value):
        return float(value) if isinstance(value, Decimal) else value

    return {
        key: [{k: clean(v) for k, v in row.items()} for row in value] if key == "rows" else clean(value)
        for key, value in figure.items()
    }


def families_behind(key: str, quarter: Quarter, scope: Scope, row: str | None = None) -> QuerySet[Family]:
    """The families behind a figure (or one row of it), from the same fact query as the figure: for a
    percentage the numerator's families, otherwise the population's. NOT filtered by access: the caller
    intersects it with ehcase.permissions.families_visible_to(user=...). Raises ValueError for an
    unknown indicator or a row given to an indicator without rows."""
    indicator = INDICATORS.get(key)
    if indicator is None:
        raise ValueError(f"no indicator {key!r}")
    values = _values(quarter, scope)
    extra = []
    if row is not None:
        if not indicator.category:
            raise ValueError(f"indicator {key!r} has no rows")
        if row == NONE_KEY:
            extra.append(f"f.{indicator.category} IS NULL")
        else:
            extra.append(f"f.{indicator.category}::text = %(row)s")
            values["row"] = str(row)
    if indicator.unit == "percent":
        extra.append("f.flag")
    select = f"SELECT f.family_id FROM fact_{indicator.fact} f"  # noqa: S608 - a CTE name
    sql = _with([indicator.fact], scope, drill=True) + select + _where(indicator, " AND ".join(extra))
    sql, params = _positional(sql, values)
    return Family.objects.filter(id__in=RawSQL(sql, params))  # noqa: S611 - values are parameters


__all__ = [
    "INDICATORS",
    "SECTIONS",
    "Indicator",
    "Scope",
    "Section",
    "compute",
    "families_behind",
]
