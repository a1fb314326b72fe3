"""The subject access export: everything the system holds about one person, gathered across the apps,
each item marked as about the person or as containing other people's information.

`build_export(person=...)` reads one query per kind of record, however much there is (the query count
stays flat as records grow: tests/disclosure/test_subject_access.py). What is included and what is not,
and why: docs/disclosure.md.

Scope. The person's own details and identifiers; their household memberships and relationships; and,
for each family they belong or belonged to, what was recorded while they were in the household:
requests for support and triage decisions, episodes (with their team, lead professionals, meetings,
needs and changes of status) that overlapped their time there, assessments, plans, reviews and scores
of those episodes, Supporting Families claims, chronology and case notes; consent records for them or
given by them; sharing records that concern them; and the audit of who viewed or changed those records.

Third parties. Whole-family records are split: the facts (dates, statuses, outcomes, who worked with
the family) are about the person; the free text typed about the whole family is marked as containing
other people's information, and so is anything recorded about another member (their details, their
parts of an assessment, actions they own, consent for them). Those are redacted by default; the early
help manager may release them with a reason, or redact further items (subject_access_save_choices).
Whatever is released, the names (first, last, known-as) of the other people in the person's families
are replaced by "[third party]" in every line except the person's own details and other members'
details released on purpose. Staff names are not redacted: professionals acting in their role.

Callers have checked that the user may handle subject access (permissions.require_subject_access).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q
from django.utils import timezone
from django.utils.dateformat import format as date_format

from assessments.models import (
    Assessment,
    AssessmentVersion,
    ConsentRecord,
    PlanAction,
    PlanOutcome,
)
from ehcase import codes
from ehcase.models import AuditEvent, FamilyMember, Person, Relationship
from hubs.models import RequestForSupport, RequestStatus, TriageDecision
from pathway.models import (
    ChronologyEntry,
    Episode,
    EpisodeTransition,
    IdentifiedNeed,
    LeadProfessional,
    MeetingAttendance,
    Review,
    SupportingFamiliesClaim,
    TafMeeting,
    TafMember,
)

from .models import SharingRecord, SubjectAccessRequest

THIRD_PARTY = "[third party]"
WHOLE_FAMILY = "Free text written about the whole family, which may be about other people"
ABOUT_OTHERS = "About another member of the family"


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    note: str = ""


SECTIONS = [
    Section("person", "Personal details", "What is recorded about the person and their identifiers."),
    Section("households", "Households and relationships"),
    Section("requests", "Requests for support", "Requests made to a locality hub for the person's family."),
    Section("triage", "Triage decisions", "What the hub decided about each request."),
    Section(
        "episodes", "Early help episodes", "Periods of early help for the family, and the team around it."
    ),
    Section("assessments", "Early help assessments"),
    Section("plans", "Family plans", "What the family wanted to change and who agreed to do what."),
    Section("reviews", "Reviews and scores"),
    Section("consent", "Consent"),
    Section("chronology", "Chronology and case notes"),
    Section("sharing", "Information shared outside the team"),
    Section("claims", "Supporting Families claims"),
    Section(
        "audit",
        "Who viewed or changed these records",
        "Every time someone opened or changed the records in this export: who, when and what.",
    ),
]
SECTION_TITLES = {s.key: s.title for s in SECTIONS}


@dataclass
class Line:
    label: str
    value: str


@dataclass
class Item:
    key: str  # stable across builds: "<kind>:<id>[:<part>]"
    section: str
    title: str
    date: dt.date | None
    lines: list[Line]
    third_party: bool = False
    why: str = ""  # why it is marked as containing other people's information
    scrub: bool = True  # replace other people's names in its lines when released


@dataclass
class Export:
    person: Person
    items: list[Item]
    third_party_names: list[str] = field(default_factory=list)

    def sections(self) -> list[tuple[Section, list[Item]]]:
        grouped: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            grouped[item.section].append(item)
        return [(s, grouped.get(s.key, [])) for s in SECTIONS]


# --- Helpers ----------------------------------------------------------------------------------------


def _d(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "j F Y, H:i")
    return date_format(value, "j F Y")


def _day(value: dt.date | dt.datetime | None) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date()
    return value


def _who(user) -> str:
    return user.display_name if user is not None else ""


def _lines(*pairs: tuple[str, object]) -> list[Line]:
    """Lines with something in them; dates formatted, booleans as Yes/No."""
    out = []
    for label, value in pairs:
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, bool):
            value = "Yes" if value else "No"
        elif isinstance(value, dt.date | dt.datetime):
            value = _d(value)
        elif isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        out.append(Line(label, str(value)))
    return out


def _name_tokens(person: Person) -> set[str]:
    tokens = set()
    for value in (person.first_name, person.last_name, person.known_as):
        value = (value or "").strip()
        if value:
            tokens.add(value.lower())
            tokens.update(part for part in re.split(r"[\s\-]+", value.lower()) if part)
    return tokens


def name_scrubber(*, subject: Person, others: Iterable[Person]) -> tuple[Callable[[str], str], list[str]]:
    """A function replacing the other people's names (first, last, known-as, whole or in parts) with
    "[third party]", whole words only and whatever the case. Names the subject shares (a surname) are
    kept: they are the subject's own."""
    own = _name_tokens(subject)
    names = set()
    for other in others:
        names |= _name_tokens(other)
    names = {n for n in names - own if len(n) >= 2}
    if not names:
        return (lambda text: text), []
    ordered = sorted(names, key=lambda n: (-len(n), n))
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in ordered) + r")(?!\w)", re.IGNORECASE)
    return (lambda text: pattern.sub(THIRD_PARTY, text)), ordered


class _Periods:
    """When the subject was in each household, to keep to what was recorded while they were there."""

    def __init__(self, memberships: list[FamilyMember]):
        self.by_family: dict[int, list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
        for m in memberships:
            self.by_family[m.family_id].append((m.start_date, m.end_date))

    @property
    def family_ids(self) -> list[int]:
        return sorted(self.by_family)

    def during(self, family_id: int, day: dt.date | dt.datetime | None) -> bool:
        day = _day(day)
        if day is None:
            return True
        return any(
            start <= day and (end is None or day <= end) for start, end in self.by_family.get(family_id, [])
        )

    def overlaps(self, family_id: int, start: dt.date, end: dt.date | None) -> bool:
        return any(
            (m_end is None or start <= m_end) and (end is None or end >= m_start)
            for m_start, m_end in self.by_family.get(family_id, [])
        )


def _record(
    items: list[Item],
    *,
    section: str,
    key: str,
    title: str,
    date,
    facts: list[Line],
    text: list[Line] = (),  # type: ignore[assignment]
    text_about_person: bool = False,
) -> None:
    """One record as up to two items: its facts (about the person) and its free text (about the whole
    family unless `text_about_person`)."""
    items.append(Item(key=key, section=section, title=title, date=_day(date), lines=facts))
    if text:
        items.append(
            Item(
                key=f"{key}:text",
                section=section,
                title=f"{title}: what was written",
                date=_day(date),
                lines=list(text),
                third_party=not text_about_person,
                why="" if text_about_person else WHOLE_FAMILY,
            )
        )


# --- The builder ------------------------------------------------------------------------------------


def build_export(*, person: Person) -> Export:
    """Everything held about `person`, as items by section. One query per kind of record."""
    items: list[Item] = []
    pid = person.pk

    # Personal details.
    items.append(
        Item(
            key=f"person:{pid}",
            section="person",
            title="Personal details",
            date=None,
            scrub=False,
            lines=_lines(
                ("First name", person.first_name),
                ("Last name", person.last_name),
                ("Known as", person.known_as),
                ("Date of birth", person.date_of_birth),
                ("Expected date of birth", person.expected_date_of_birth),
                ("Sex", person.get_sex_display()),
                ("Ethnicity", person.get_ethnicity_display()),
                ("Disability", [codes.DISABILITY_LABELS.get(c, c) for c in person.disabilities]),
                ("First language", person.language),
                ("NHS number", person.nhs_number),
                ("Unique pupil number", person.upn),
                ("School or setting", person.school_or_setting),
                ("Record created", person.created_at),
                ("Last changed", person.updated_at),
            ),
        )
    )

    memberships = list(
        FamilyMember.objects.filter(person=person)
        .select_related("family__hub", "family__area")
        .order_by("start_date", "id")
    )
    periods = _Periods(memberships)
    fids = periods.family_ids
    others = list(
        FamilyMember.objects.filter(family_id__in=fids)
        .exclude(person_id=pid)
        .select_related("person")
        .order_by("id")
    )
    scrub, names = name_scrubber(subject=person, others=[m.person for m in others])
    other_ids = {m.person_id for m in others}

    for m in memberships:
        family = m.family
        items.append(
            Item(
                key=f"member:{m.pk}",
                section="households",
                title=f"Member of the {family.name} family household",
                date=m.start_date,
                lines=_lines(
                    ("Family reference", family.reference),
                    ("Role in the household", m.get_role_display()),
                    ("From", m.start_date),
                    ("To", m.end_date),
                    (
                        "Address",
                        ", ".join(
                            v
                            for v in (
                                family.address_line_1,
                                family.address_line_2,
                                family.town,
                                family.postcode,
                            )
                            if v
                        ),
                    ),
                    ("Locality", f"{family.area.name} ({family.hub.name})"),
                    ("Address withheld for safety", family.address_withheld),
                    ("Young carer in the household", family.young_carer),
                    ("Special educational needs or disability in the household", family.send),
                ),
            )
        )
    seen_others: set[int] = set()
    for m in others:
        if m.person_id in seen_others:
            continue
        seen_others.add(m.person_id)
        other = m.person
        items.append(
            Item(
                key=f"other:{other.pk}",
                section="households",
                title="Another member of the household",
                date=None,
                third_party=True,
                why=ABOUT_OTHERS,
                scrub=False,
                lines=_lines(
                    ("Name", other.full_name),
                    ("Known as", other.known_as),
                    ("Role in the household", m.get_role_display()),
                    ("Date of birth", other.date_of_birth),
                ),
            )
        )
    for rel in (
        Relationship.objects.filter(Q(from_person=person) | Q(to_person=person))
        .select_related("from_person", "to_person")
        .order_by("id")
    ):
        items.append(
            Item(
                key=f"relationship:{rel.pk}",
                section="households",
                title="Relationship",
                date=None,
                lines=_lines(
                    (
                        "Recorded",
                        f"{rel.from_person.full_name} {rel.get_type_display()} {rel.to_person.full_name}",
                    )
                ),
            )
        )

    # Requests for support and triage decisions made while the person was in the household.
    requests = [
        r
        for r in RequestForSupport.objects.filter(family_id__in=fids)
        .exclude(status=RequestStatus.DRAFT)
        .select_related("hub", "referrer", "referrer_agency")
        .annotate(need_names=ArrayAgg("needs__name", filter=Q(needs__isnull=False), default=[]))
        .order_by("received_on", "id")
        if periods.during(r.family_id, r.received_on)
    ]
    request_ids = {r.pk for r in requests}
    for r in requests:
        _record(
            items,
            section="requests",
            key=f"request:{r.pk}",
            title=f"Request for support received {_d(r.received_on)}",
            date=r.received_on,
            facts=_lines(
                ("Received", r.received_on),
                ("Hub", r.hub.name if r.hub else ""),
                (
                    "Made by",
                    f"{_who(r.referrer)}{', ' + r.referrer_agency.name if r.referrer_agency else ''}",
                ),
                ("Source", r.get_source_display()),
                ("Urgency", r.get_urgency_display()),
                ("Needs", sorted(r.need_names)),
                ("Consent to the request", r.consent_given),
                ("Consent given on", r.consent_on),
                ("How consent was given", r.get_consent_method_display()),
                ("Status", r.get_status_display()),
            ),
            text=_lines(
                ("Why the family needs support", r.reasons),
                ("What has been tried already", r.tried_already),
                ("Who agreed", r.consent_by),
                ("Why consent was not sought", r.no_consent_reason),
            ),
        )
    for t in (
        TriageDecision.objects.filter(request__family_id__in=fids, request_id__in=request_ids)
        .select_related("decided_by", "agency", "allocated_to")
        .order_by("decided_on", "id")
    ):
        _record(
            items,
            section="triage",
            key=f"triage:{t.pk}",
            title=f"Triage decision of {_d(t.decided_on)}",
            date=t.decided_on,
            facts=_lines(
                ("Decision", t.get_outcome_display()),
                ("Decided on", t.decided_on),
                ("Decided by", _who(t.decided_by)),
                ("Agency", t.agency.name if t.agency else ""),
                ("Allocated to", _who(t.allocated_to)),
                ("Children's social care reference", t.social_care_reference),
                ("Replaces an earlier decision", t.supersedes_id is not None),
            ),
            text=_lines(
                ("Reasons for the decision", t.rationale), ("Information for the referrer", t.signposting)
            ),
        )

    # Episodes that overlapped the person's time in the household.
    episodes = [
        e
        for e in Episode.objects.filter(family_id__in=fids)
        .select_related("level", "lead_professional", "assessor", "family")
        .order_by("opened_on", "id")
        if periods.overlaps(e.family_id, e.opened_on, e.closed_on)
    ]
    eids = [e.pk for e in episodes]
    by_episode: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for t in (
        TafMember.objects.filter(episode_id__in=eids)
        .select_related("user", "agency", "person")
        .order_by("joined_on", "id")
    ):
        by_episode["taf"][t.episode_id].append(t)
    for lp in (
        LeadProfessional.objects.filter(episode_id__in=eids)
        .select_related("user")
        .order_by("started_on", "id")
    ):
        by_episode["lead"][lp.episode_id].append(lp)
    for tr in (
        EpisodeTransition.objects.filter(episode_id__in=eids)
        .select_related("by")
        .order_by("occurred_at", "id")
    ):
        by_episode["transitions"][tr.episode_id].append(tr)
    for need in IdentifiedNeed.objects.filter(episode_id__in=eids).select_related("area").order_by("id"):
        by_episode["needs"][need.episode_id].append(need)
    attended = {
        a.meeting_id: a.get_attendance_display()
        for a in MeetingAttendance.objects.filter(meeting__episode_id__in=eids, member__person_id=pid)
    }
    for meeting in TafMeeting.objects.filter(episode_id__in=eids).order_by("starts_at", "id"):
        by_episode["meetings"][meeting.episode_id].append(meeting)

    for e in episodes:
        team = by_episode["taf"][e.pk]
        own = [t for t in team if t.person_id == pid]
        workers = [t for t in team if t.user_id]
        _record(
            items,
            section="episodes",
            key=f"episode:{e.pk}",
            title=f"Early help for the {e.family.name} family from {_d(e.opened_on)}",
            date=e.opened_on,
            facts=_lines(
                ("Opened", e.opened_on),
                ("How it started", e.source_label),
                ("Status", e.get_status_display()),
                ("Level of need", e.level.name),
                ("Closed", e.closed_on),
                ("Why it closed", e.closure_label),
                ("Lead professional", _who(e.lead_professional)),
                ("Assessor", _who(e.assessor)),
                ("Children's social care reference", e.social_care_reference),
                (
                    "Practitioners in the team",
                    [
                        f"{_who(t.user)}{' (' + t.agency.name + ')' if t.agency else ''}, "
                        f"{_d(t.joined_on)}{' to ' + _d(t.left_on) if t.left_on else ''}"
                        for t in workers
                    ],
                ),
                (
                    "Lead professionals",
                    [
                        f"{_who(lp.user)} from {_d(lp.started_on)}"
                        + (f" to {_d(lp.ended_on)}" if lp.ended_on else "")
                        for lp in by_episode["lead"][e.pk]
                    ],
                ),
                (
                    "Needs identified",
                    [
                        f"{n.area.name}{' (' + n.get_outcome_display() + ')' if n.outcome else ''}"
                        for n in by_episode["needs"][e.pk]
                    ],
                ),
                (
                    "Changes of status",
                    [
                        f"{_d(tr.occurred_at)}: {tr.get_to_status_display()} ({_who(tr.by)})"
                        for tr in by_episode["transitions"][e.pk]
                    ],
                ),
            ),
            text=_lines(
                ("Notes on closing", e.closure_note),
                ("Handover notes", e.handover_notes),
                ("Why it was stepped up", e.step_up_reason),
                (
                    "What the family said about the lead professional",
                    " / ".join(lp.family_view for lp in by_episode["lead"][e.pk] if lp.family_view),
                ),
                (
                    "Handover between lead professionals",
                    " / ".join(lp.handover_note for lp in by_episode["lead"][e.pk] if lp.handover_note),
                ),
                ("Needs as described", [n.description for n in by_episode["needs"][e.pk]]),
                (
                    "Reasons for changes of status",
                    [tr.reason for tr in by_episode["transitions"][e.pk] if tr.reason],
                ),
            ),
        )
        for t in own:
            items.append(
                Item(
                    key=f"taf:{t.pk}",
                    section="episodes",
                    title="Member of the team around the family",
                    date=t.joined_on,
                    lines=_lines(("Role in the team", t.role), ("Joined", t.joined_on), ("Left", t.left_on)),
                )
            )
        for meeting in by_episode["meetings"][e.pk]:
            _record(
                items,
                section="episodes",
                key=f"meeting:{meeting.pk}",
                title=f"Team around the family meeting, {_d(meeting.starts_at)}",
                date=meeting.starts_at,
                facts=_lines(
                    ("When", meeting.starts_at),
                    ("Where", meeting.location),
                    ("Status", meeting.get_status_display()),
                    ("Their attendance", attended.get(meeting.pk, "")),
                    ("Next meeting", meeting.next_meeting_on),
                ),
                text=_lines(("Decisions", meeting.decisions), ("Changes to the plan", meeting.plan_changes)),
            )

    # Assessments (the working copy and every kept version) of those episodes.
    for a in (
        Assessment.objects.filter(episode_id__in=eids)
        .select_related("template", "assessor", "signed_off_by")
        .order_by("started_on", "id")
    ):
        _assessment_items(
            items,
            key=f"assessment:{a.pk}",
            title=f"Early help assessment of {_d(a.assessment_date)}",
            date=a.assessment_date,
            template=a.template,
            content=a.content or {},
            pid=pid,
            other_ids=other_ids,
            facts=_lines(
                ("Date of the assessment", a.assessment_date),
                ("Started", a.started_on),
                ("Assessor", _who(a.assessor)),
                ("Status", a.get_status_display()),
                ("Signed off", a.signed_off_at),
                ("Signed off by", _who(a.signed_off_by)),
            ),
        )
    for v in (
        AssessmentVersion.objects.filter(assessment__episode_id__in=eids)
        .select_related("template", "completed_by", "decided_by")
        .order_by("assessment_id", "number")
    ):
        _assessment_items(
            items,
            key=f"assessment-version:{v.pk}",
            title=f"Early help assessment {v.assessment_id}, version {v.number} as completed",
            date=v.completed_at,
            template=v.template,
            content=v.content or {},
            pid=pid,
            other_ids=other_ids,
            facts=_lines(
                ("Completed", v.completed_at),
                ("Completed by", _who(v.completed_by)),
                (
                    "Outcome",
                    {"signed_off": "Signed off", "returned": "Returned for changes"}.get(v.outcome, ""),
                ),
                ("Decided by", _who(v.decided_by)),
                ("Decided", v.decided_at),
            ),
            extra_text=_lines(("Comments on the decision", v.comments)),
        )

    # Family plans: outcomes and actions.
    for o in (
        PlanOutcome.objects.filter(episode_id__in=eids)
        .select_related("said_by", "area")
        .order_by("episode_id", "order", "id")
    ):
        theirs = o.said_by_id == pid
        items.append(
            Item(
                key=f"outcome:{o.pk}",
                section="plans",
                title="What the family wants to be different",
                date=_day(o.created_at),
                third_party=not theirs,
                why="" if theirs else WHOLE_FAMILY,
                lines=_lines(
                    ("In their words", o.wording),
                    ("Said by", o.said_by.full_name if o.said_by else ""),
                    ("Outcome area", o.area.name if o.area else ""),
                    ("Achieved", o.achieved),
                ),
            )
        )
    for action in (
        PlanAction.objects.filter(episode_id__in=eids)
        .select_related("owner_user", "owner_agency", "owner_person")
        .order_by("due_on", "id")
    ):
        theirs = action.owner_person_id == pid
        by_other = action.owner_person_id is not None and not theirs
        items.append(
            Item(
                key=f"action:{action.pk}",
                section="plans",
                title="An action they own" if theirs else "An action in the family plan",
                date=action.due_on,
                third_party=not theirs,
                why="" if theirs else (ABOUT_OTHERS if by_other else WHOLE_FAMILY),
                lines=_lines(
                    ("What will be done", action.description),
                    ("Who", action.owner_name),
                    ("Due", action.due_on),
                    ("Status", action.get_status_display()),
                ),
            )
        )

    # Reviews and scores.
    for review in (
        Review.objects.filter(episode_id__in=eids)
        .select_related("recorded_by")
        .prefetch_related("scores__area")
        .order_by("held_on", "id")
    ):
        _record(
            items,
            section="reviews",
            key=f"review:{review.pk}",
            title=f"{'Baseline scores' if review.is_baseline else 'Review'} of {_d(review.held_on)}",
            date=review.held_on,
            facts=_lines(
                ("Held", review.held_on),
                ("Recorded by", _who(review.recorded_by)),
                ("Decision", review.get_decision_display()),
                (
                    "Scores (0 to 10)",
                    [
                        f"{s.area.name}: {s.score}"
                        for s in sorted(review.scores.all(), key=lambda s: s.area.order)
                    ],
                ),
            ),
            text=_lines(("Summary", review.summary)),
        )

    # Consent for them or given by them (the signed form's bytes are not exported: only that it exists).
    for c in (
        ConsentRecord.objects.filter(Q(person_id=pid) | Q(given_by_id=pid))
        .defer("evidence")
        .select_related("person", "given_by", "recorded_by", "withdrawal_recorded_by")
        .order_by("given_on", "id")
    ):
        for_them = c.person_id == pid
        items.append(
            Item(
                key=f"consent:{c.pk}",
                section="consent",
                title="Consent to early help" + ("" if for_them else " they gave for someone else"),
                date=c.given_on,
                third_party=not for_them,
                why="" if for_them else ABOUT_OTHERS,
                lines=_lines(
                    ("For", c.person.full_name),
                    ("Given by", c.given_by.full_name),
                    ("Young person consented for themself", c.own_consent_competent if for_them else None),
                    ("Given on", c.given_on),
                    ("How", c.get_method_display()),
                    ("Agrees to information being shared with the team", c.agrees_to_sharing),
                    ("Lawful basis for sharing", c.get_sharing_basis_display()),
                    ("Notes", c.notes),
                    (
                        "Signed form",
                        f"A file is held ({c.evidence_type or 'type not recorded'})"
                        if c.evidence_name
                        else "",
                    ),
                    ("Recorded by", _who(c.recorded_by)),
                    ("Withdrawn on", c.withdrawn_on),
                    ("Why it was withdrawn", c.withdrawal_reason),
                ),
            )
        )

    # Chronology and case notes recorded while they were in the household.
    for entry in (
        ChronologyEntry.objects.filter(family_id__in=fids)
        .select_related("author")
        .order_by("occurred_on", "id")
    ):
        if not periods.during(entry.family_id, entry.occurred_on):
            continue
        _record(
            items,
            section="chronology",
            key=f"chronology:{entry.pk}",
            title=f"{entry.get_kind_display()}, {_d(entry.occurred_on)}",
            date=entry.occurred_on,
            facts=_lines(
                ("Date", entry.occurred_on),
                ("Kind", entry.get_kind_display()),
                ("Title", entry.title),
                ("Written by", _who(entry.author)),
                ("Significant", entry.significant),
            ),
            text=_lines(("Detail", entry.detail)),
        )

    # Sharing records that concern them (those marked as recorded in error are kept, and say so).
    for s in (
        # By id rather than filter(people=...): that join would also narrow the people aggregated.
        SharingRecord.objects.filter(
            pk__in=SharingRecord.people.through.objects.filter(person_id=pid).values("sharingrecord_id")
        )
        .select_related("recipient_agency", "recorded_by", "in_error_by")
        .annotate(people_ids=ArrayAgg("people__id", distinct=True))
        .order_by("shared_on", "id")
    ):
        only_them = set(s.people_ids) == {pid}
        _record(
            items,
            section="sharing",
            key=f"sharing:{s.pk}",
            title=f"{'Information shared' if s.is_shared else 'Decision not to share'}, {_d(s.shared_on)}",
            date=s.shared_on,
            facts=_lines(
                ("Decision", s.get_decision_display()),
                ("Date", s.shared_on),
                (
                    "With",
                    ", ".join(
                        v for v in (s.recipient_agency.name if s.recipient_agency else "", s.recipient) if v
                    ),
                ),
                ("How", s.get_method_display()),
                ("Lawful basis", s.get_lawful_basis_display()),
                ("Consent", s.get_consent_display()),
                ("Recorded by", _who(s.recorded_by)),
                (
                    "Recorded in error",
                    f"Yes, marked by {_who(s.in_error_by)} on {_d(s.in_error_at)}" if s.in_error else None,
                ),
            ),
            text=_lines(
                ("What was shared or asked for", s.what),
                ("Why", s.purpose),
                ("Why consent was not sought", s.consent_note),
                ("Why it was not shared", s.reason_not_shared),
                ("Why it was recorded in error", s.in_error_reason),
            ),
            text_about_person=only_them,
        )

    # Supporting Families claims for those episodes.
    for claim in (
        SupportingFamiliesClaim.objects.filter(episode_id__in=eids)
        .annotate(area_names=ArrayAgg("areas__name", filter=Q(areas__isnull=False), default=[]))
        .select_related("created_by")
        .order_by("created_at", "id")
    ):
        _record(
            items,
            section="claims",
            key=f"claim:{claim.pk}",
            title=f"Supporting Families claim started {_d(claim.created_at)}",
            date=claim.created_at,
            facts=_lines(
                ("Outcomes claimed", sorted(claim.area_names)),
                ("Status", claim.get_status_display()),
                ("Since", claim.status_changed_on),
                ("Started by", _who(claim.created_by)),
            ),
            text=_lines(("Evidence of sustained progress", claim.evidence)),
        )

    items.extend(_audit_items(person=person, periods=periods, other_ids=other_ids))
    for item in items:
        if item.scrub:
            item.title = scrub(item.title)
            item.lines = [Line(line.label, scrub(line.value)) for line in item.lines]
    return Export(person=person, items=items, third_party_names=names)


def _assessment_items(
    items: list[Item],
    *,
    key: str,
    title: str,
    date,
    template,
    content: dict,
    pid: int,
    other_ids: set[int],
    facts: list[Line],
    extra_text: list[Line] = (),  # type: ignore[assignment]
) -> None:
    """An assessment's facts and scores; its whole-family sections; the person's own part (strengths,
    needs, their voice); and each other member's part, marked as about them."""
    scores = content.get("scores") or {}
    facts = facts + _lines(
        ("Scores (0 to 10)", [f"{code}: {score}" for code, score in sorted(scores.items())])
    )
    answers = content.get("domains") or {}
    sections = []
    for domain in template.domains if template else []:
        for area in domain["areas"]:
            answer = answers.get(f"{domain['code']}.{area['code']}", "")
            if answer:
                sections.append(Line(f"{domain['title']}: {area['title']}", answer))
    needs = [n.get("description", "") for n in content.get("needs") or [] if n.get("description")]
    _record(
        items,
        section="assessments",
        key=key,
        title=title,
        date=date,
        facts=facts,
        text=sections
        + _lines(("What the family said", content.get("family_view", "")), ("Needs", needs))
        + list(extra_text),
    )
    members = content.get("members") or {}
    voices = content.get("child_voice") or {}
    for person_id in sorted(set(members) | set(voices), key=lambda v: int(v) if str(v).isdigit() else 0):
        part = members.get(person_id) or {}
        lines = _lines(
            ("Strengths", part.get("strengths", "")),
            ("Needs", part.get("needs", "")),
            ("In their own words", voices.get(person_id, "")),
        )
        if not lines:
            continue
        theirs = str(person_id) == str(pid)
        items.append(
            Item(
                key=f"{key}:member:{person_id}",
                section="assessments",
                title=f"{title}: {'their own part' if theirs else 'another member of the family'}",
                date=_day(date),
                lines=lines,
                third_party=not theirs,
                why="" if theirs else ABOUT_OTHERS,
            )
        )


def _audit_items(*, person: Person, periods: _Periods, other_ids: set[int]) -> list[Item]:
    """Who viewed or changed the records in the export: the events of the person's families while they
    were in the household, and every event on their own person record. Events about another member's
    own record (their person page, their details) are left out; what changed (`changes`), addresses and
    browsers are not exported. One query."""
    pid = str(person.pk)
    other_keys = {str(i) for i in other_ids}
    rows: dict[int | None, list[Line]] = defaultdict(list)
    for event in (
        AuditEvent.objects.filter(
            Q(family_id__in=periods.family_ids) | Q(object_type="ehcase.person", object_id=pid)
        )
        .only("occurred_at", "actor_username", "action", "object_type", "object_id", "family_id", "summary")
        .order_by("occurred_at", "id")
    ):
        if event.object_type == "ehcase.person" and event.object_id != pid:
            continue
        viewed = re.fullmatch(r"Person record (\d+)", event.summary or "")
        if viewed and viewed.group(1) in other_keys:
            continue
        if (
            event.family_id is not None
            and event.object_id != pid
            and not periods.during(event.family_id, event.occurred_at)
        ):
            continue
        what = event.get_action_display() + (f": {event.summary}" if event.summary else "")
        rows[event.family_id].append(
            Line(_d(event.occurred_at), f"{event.actor_username or 'System'} – {what}")
        )
    return [
        Item(
            key=f"audit:{family_id or 'person'}",
            section="audit",
            title="Activity on the family's records" if family_id else "Activity on their own record",
            date=None,
            lines=lines,
        )
        for family_id, lines in sorted(rows.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]


# --- Redaction --------------------------------------------------------------------------------------


def is_redacted(item: Item, choices: dict[str, dict]) -> bool:
    """Items about other people are redacted unless released; others are released unless redacted."""
    action = (choices.get(item.key) or {}).get("action")
    if item.third_party:
        return action != "release"
    return action == "redact"


def redacted_content(
    *, export: Export, choices: dict[str, dict], released_at: dt.datetime, sar: SubjectAccessRequest
) -> dict:
    """The export as released: redacted items keep their section and date and say they were withheld,
    with none of their content. Plain JSON (what the JSON download is; the PDF is made from it)."""
    sections = []
    for section, section_items in export.sections():
        out = []
        for item in section_items:
            redacted = is_redacted(item, choices)
            entry: dict = {
                "key": item.key,
                "date": item.date.isoformat() if item.date else None,
                "about": "other people" if item.third_party else "the person",
                "redacted": redacted,
            }
            if redacted:
                entry["title"] = "Withheld"
                entry["note"] = (
                    "Withheld because it is information about other people"
                    if item.third_party
                    else "Withheld"
                )
            else:
                entry["title"] = item.title
                entry["lines"] = [{"label": line.label, "value": line.value} for line in item.lines]
            out.append(entry)
        sections.append({"key": section.key, "title": section.title, "note": section.note, "items": out})
    return {
        "subject_access_request": {
            "id": sar.pk,
            "received_on": sar.received_on.isoformat(),
            "due_on": sar.due_on.isoformat(),
            "requester": sar.get_requester_display(),
            "released_at": timezone.localtime(released_at).isoformat(),
        },
        "person_id": export.person.pk,
        "sections": sections,
        "not_included": NOT_INCLUDED,
    }


# What the export leaves out on purpose (also in docs/disclosure.md), printed at the end of the PDF.
NOT_INCLUDED = [
    "Notifications and reminders: they are messages to staff about their work, not records about the person.",
    "Performance figures and the board pack: they are counts, with no one named.",
    "The signed consent form's file itself: the export says that one is held, and a copy can be provided "
    "separately.",
    "What was recorded about a family before the person joined it or after they left.",
    "The values changed in each audit entry, and the computer address and browser of each visit.",
]
