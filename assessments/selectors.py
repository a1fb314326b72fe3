"""Reads of consent, assessments and the family plan. Callers pass objects they fetched through
assessments.permissions (so the user may see the family); these functions shape them for pages, PDFs and
the API without a query per row."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from ehcase.models import FamilyMember, HouseholdRole, Membership, Person, Role, User
from ehcase.permissions import families_visible_to, roles_for
from pathway.models import Episode, OutcomeArea

from .models import Assessment, AssessmentStatus, AssessmentVersion, ConsentRecord, PlanAction, PlanOutcome


@dataclass
class AreaAnswer:
    code: str  # "<domain>.<area>"
    title: str
    hint: str
    answer: str


@dataclass
class DomainAnswers:
    code: str
    title: str
    hint: str
    areas: list[AreaAnswer]


@dataclass
class MemberAnswers:
    person: Person
    role: str
    is_child: bool
    strengths: str
    needs: str
    voice: str


@dataclass
class NeedAnswer:
    area: OutcomeArea | None
    description: str


@dataclass
class ScoreAnswer:
    area: OutcomeArea
    score: int | None


@dataclass
class AssessmentView:
    """An assessment (or one of its kept versions) laid out as the form it used."""

    assessment: Assessment
    number: int | None  # the version number, or None for the working copy
    assessment_date: object
    domains: list[DomainAnswers]
    members: list[MemberAnswers]
    family_view: str
    needs: list[NeedAnswer]
    scores: list[ScoreAnswer]
    version: AssessmentVersion | None = None
    versions: list[AssessmentVersion] = field(default_factory=list)


def assessment_members(*, assessment: Assessment) -> list[tuple[Person, str]]:
    """The people the working copy covers, with their role in the household, parents first."""
    return _members(assessment.episode.family_id, list(assessment.members.values_list("pk", flat=True)))


def _members(family_id: int, person_ids: list[int]) -> list[tuple[Person, str]]:
    rows = (
        FamilyMember.objects.filter(family_id=family_id, person_id__in=person_ids)
        .select_related("person")
        .order_by("person_id", "-start_date")
    )
    seen: dict[int, tuple[Person, str]] = {}
    for row in rows:
        seen.setdefault(row.person_id, (row.person, row.role))
    # Anyone no longer (or never) in the household is still shown, by name.
    missing = [pid for pid in person_ids if pid not in seen]
    for person in Person.objects.filter(pk__in=missing):
        seen[person.pk] = (person, "")
    return sorted(seen.values(), key=lambda pr: (pr[1] != HouseholdRole.PARENT_CARER, pr[0].pk))


def assessment_view(*, assessment: Assessment, version: AssessmentVersion | None = None) -> AssessmentView:
    """The working copy (or a kept version) as domains, members, voice, needs and scores."""
    template = version.template if version else assessment.template
    content = (version.content if version else assessment.content) or {}
    person_ids = version.member_ids if version else list(assessment.members.values_list("pk", flat=True))
    answers = content.get("domains") or {}
    domains = [
        DomainAnswers(
            code=d["code"],
            title=d["title"],
            hint=d.get("hint", ""),
            areas=[
                AreaAnswer(
                    code=f"{d['code']}.{a['code']}",
                    title=a["title"],
                    hint=a.get("hint", ""),
                    answer=answers.get(f"{d['code']}.{a['code']}", ""),
                )
                for a in d["areas"]
            ],
        )
        for d in template.domains
    ]
    per_member = content.get("members") or {}
    voices = content.get("child_voice") or {}
    members = [
        MemberAnswers(
            person=person,
            role=role,
            is_child=role == HouseholdRole.CHILD,
            strengths=(per_member.get(str(person.pk)) or {}).get("strengths", ""),
            needs=(per_member.get(str(person.pk)) or {}).get("needs", ""),
            voice=voices.get(str(person.pk), ""),
        )
        for person, role in _members(assessment.episode.family_id, person_ids)
    ]
    areas = {a.code: a for a in OutcomeArea.objects.order_by("order")}
    scores = content.get("scores") or {}
    return AssessmentView(
        assessment=assessment,
        number=version.number if version else None,
        assessment_date=version.assessment_date if version else assessment.assessment_date,
        domains=domains,
        members=members,
        family_view=content.get("family_view", ""),
        needs=[
            NeedAnswer(area=areas.get(n.get("area")), description=n.get("description", ""))
            for n in content.get("needs") or []
        ],
        scores=[
            ScoreAnswer(area=a, score=scores.get(code))
            for code, a in areas.items()
            if a.active or code in scores
        ],
        version=version,
        versions=list(
            AssessmentVersion.objects.filter(assessment=assessment).select_related(
                "completed_by", "decided_by"
            )
        ),
    )


def episode_assessments(*, episode: Episode) -> list[Assessment]:
    return list(
        Assessment.objects.filter(episode=episode).select_related("assessor", "signed_off_by").order_by("-id")
    )


def consent_overview(
    *, episode: Episode
) -> tuple[list[tuple[Person, str, ConsentRecord | None]], list[ConsentRecord]]:
    """Each current family member with their current consent (or None), and every consent record ever
    made in the episode (withdrawn ones included), newest first."""
    records = list(
        ConsentRecord.objects.filter(episode=episode)
        .select_related("person", "given_by", "recorded_by", "withdrawal_recorded_by")
        .defer("evidence")
        .order_by("-given_on", "-id")
    )
    current = {r.person_id: r for r in records if r.withdrawn_on is None}
    members = [
        (m.person, m.get_role_display(), current.get(m.person_id))
        for m in FamilyMember.objects.filter(family_id=episode.family_id, end_date__isnull=True)
        .select_related("person")
        .order_by("id")
    ]
    return members, records


@dataclass
class PlanView:
    outcomes: list[PlanOutcome]  # each with .open_actions/.all via prefetch `plan_actions`
    unlinked_actions: list[PlanAction]


def family_plan(*, episode: Episode) -> PlanView:
    """The plan: outcomes in the family's words, each with its actions, and actions not tied to one."""
    actions = PlanAction.objects.select_related("owner_user", "owner_agency", "owner_person")
    outcomes = list(
        PlanOutcome.objects.filter(episode=episode)
        .select_related("said_by", "area")
        .prefetch_related(Prefetch("actions", queryset=actions, to_attr="plan_actions"))
    )
    unlinked = list(actions.filter(episode=episode, outcome__isnull=True))
    return PlanView(outcomes=outcomes, unlinked_actions=unlinked)


def awaiting_sign_off(*, user: User) -> QuerySet[Assessment]:
    """Completed assessments this user may sign off (can_sign_off as one query): an early help manager
    any; an agency manager those whose assessor is a practitioner of an agency they manage; never their
    own. Only of families they may see (the access layer). Oldest completion first."""
    roles = roles_for(user)
    queryset = (
        Assessment.objects.filter(
            status=AssessmentStatus.COMPLETED, episode__family__in=families_visible_to(user=user)
        )
        .exclude(assessor_id=user.pk)
        .select_related("episode__family", "assessor")
        .order_by("completed_at", "id")
    )
    if Role.EARLY_HELP_MANAGER in roles.roles:
        return queryset
    if not roles.managed_agency_ids:
        return queryset.none()
    return queryset.filter(
        Exists(
            Membership.objects.filter(
                user_id=OuterRef("assessor_id"),
                agency_id__in=roles.managed_agency_ids,
                role=Role.PRACTITIONER,
            )
        )
    )
