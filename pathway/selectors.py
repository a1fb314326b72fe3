"""Reads on the pathway. Every function takes the acting user, or an object that already passed the
access layer, and costs a fixed number of queries whatever the size of what it returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from assessments.models import OPEN_ACTION_STATUSES, PlanAction
from ehcase.models import Family, User
from ehcase.permissions import families_visible_to

from .models import (
    ChronologyEntry,
    Episode,
    EpisodeStatus,
    IdentifiedNeed,
    LeadProfessional,
    LevelChange,
    MeetingStatus,
    OutcomeArea,
    Review,
    TafMeeting,
    TafMember,
)


@dataclass
class AreaProgress:
    area: OutcomeArea
    baseline: int | None
    scores: list[int | None]
    latest: int | None

    @property
    def change(self) -> int | None:
        if self.baseline is None or self.latest is None:
            return None
        return self.latest - self.baseline


@dataclass
class DistanceTravelled:
    dates: list[dt.date]  # baseline first, then each review
    areas: list[AreaProgress] = field(default_factory=list)

    @property
    def has_reviews(self) -> bool:
        return len(self.dates) > 1


def distance_travelled(*, reviews: list[Review]) -> DistanceTravelled | None:
    """Scores per outcome area from the baseline to each review. `reviews` come with scores and areas
    prefetched, oldest first, baseline included."""
    baseline = next((r for r in reviews if r.is_baseline), None)
    if baseline is None:
        return None
    ordered = [baseline, *[r for r in reviews if not r.is_baseline]]
    areas: dict[int, OutcomeArea] = {}
    for review in ordered:
        for score in review.scores.all():
            areas.setdefault(score.area_id, score.area)
    result = DistanceTravelled(dates=[r.held_on for r in ordered])
    for area in sorted(areas.values(), key=lambda a: (a.order, a.name)):
        per_review = []
        for review in ordered:
            per_review.append(next((s.score for s in review.scores.all() if s.area_id == area.pk), None))
        latest = next((s for s in reversed(per_review) if s is not None), None)
        result.areas.append(AreaProgress(area=area, baseline=per_review[0], scores=per_review, latest=latest))
    return result


@dataclass
class EpisodeRecord:
    episode: Episode
    transitions: list
    levels: list[LevelChange]
    leads: list[LeadProfessional]
    team: list[TafMember]
    former_team: list[TafMember]
    meetings: list[TafMeeting]
    needs: list[IdentifiedNeed]
    reviews: list[Review]
    progress: DistanceTravelled | None
    actions: list


def episode_record(*, episode: Episode) -> EpisodeRecord:
    """Everything the episode page shows; `episode` has passed pathway.permissions.episode_for_user."""
    members = list(TafMember.objects.filter(episode=episode).select_related("user", "person", "agency"))
    reviews = list(
        Review.objects.filter(episode=episode)
        .select_related("recorded_by")
        .prefetch_related(Prefetch("scores", queryset=_scores()))
        .order_by("held_on", "id")
    )
    return EpisodeRecord(
        episode=episode,
        transitions=list(episode.transitions.select_related("by").order_by("occurred_at", "id")),
        levels=list(LevelChange.objects.filter(episode=episode).select_related("level", "by")),
        leads=list(LeadProfessional.objects.filter(episode=episode).select_related("user")),
        team=[m for m in members if m.is_current],
        former_team=[m for m in members if not m.is_current],
        meetings=list(TafMeeting.objects.filter(episode=episode).order_by("-starts_at")),
        needs=list(IdentifiedNeed.objects.filter(episode=episode).select_related("area")),
        reviews=reviews,
        progress=distance_travelled(reviews=reviews),
        actions=list(
            PlanAction.objects.filter(episode=episode).select_related(
                "owner_user", "owner_agency", "owner_person"
            )
        ),
    )


def _scores():
    from .models import OutcomeScore

    return OutcomeScore.objects.select_related("area").order_by("area__order")


def chronology(*, family: Family, kinds: list[str] | None = None) -> QuerySet[ChronologyEntry]:
    """The family's timeline, newest first; `family` has passed the access layer."""
    entries = ChronologyEntry.objects.filter(family=family).select_related("author")
    if kinds:
        entries = entries.filter(kind__in=kinds)
    return entries.order_by("-occurred_on", "-id")


@dataclass
class MyWork:
    lead_episodes: list[Episode]
    team_episodes: list[Episode]
    reviews_due: list[Episode]
    next_meetings: list[TafMeeting]
    overdue_actions: list


def my_work(*, user: User, within_days: int = 14) -> MyWork:
    """A practitioner's open work: families they lead or are in the team for, reviews due in the next
    two weeks or overdue, their next meetings. Only families they can still see are listed."""
    today = timezone.localdate()
    visible = families_visible_to(user=user).values("id")
    # The episodes they lead UNION those whose team they are in, as one indexed id list: an OR of the two
    # makes PostgreSQL expect thousands of rows and scan every episode and family.
    led_ids = Episode.objects.filter(lead_professional=user).values("id")
    team_episode_ids = TafMember.objects.filter(user=user, left_on__isnull=True).values("episode_id")
    episodes = list(
        Episode.objects.filter(id__in=led_ids.union(team_episode_ids, all=True), family_id__in=visible)
        .exclude(status=EpisodeStatus.CLOSED)
        .select_related("family", "level", "lead_professional")
        .order_by("next_review_due", "family__name")
    )
    lead = [e for e in episodes if e.lead_professional_id == user.pk]
    team = [e for e in episodes if e.lead_professional_id != user.pk]
    due = [
        e for e in lead if e.next_review_due and e.next_review_due <= today + dt.timedelta(days=within_days)
    ]
    meetings = list(
        TafMeeting.objects.filter(
            episode__in=[e.pk for e in episodes],
            status=MeetingStatus.SCHEDULED,
            starts_at__gte=timezone.now(),
        )
        .select_related("episode__family")
        .order_by("starts_at")[:20]
    )
    overdue = list(
        PlanAction.objects.filter(
            owner_user=user, status__in=OPEN_ACTION_STATUSES, due_on__lt=today, episode__family_id__in=visible
        )
        .exclude(episode__status=EpisodeStatus.CLOSED)
        .select_related("episode__family")
        .order_by("due_on")[:50]
    )
    return MyWork(
        lead_episodes=lead,
        team_episodes=team,
        reviews_due=due,
        next_meetings=meetings,
        overdue_actions=overdue,
    )


@dataclass
class Caseload:
    user: User
    lead_families: int


def caseloads(*, user: User) -> list[Caseload]:
    """Open episodes led per worker, for the workers whose caseloads the user oversees: an agency
    manager's practitioners, a coordinator's hub, everyone for partnership-wide roles."""
    from django.db.models import Count

    from ehcase.models import Membership, Role
    from ehcase.permissions import roles_for

    roles = roles_for(user)
    episodes = Episode.objects.exclude(status=EpisodeStatus.CLOSED).filter(lead_professional__isnull=False)
    if roles.partnership_wide:
        pass
    elif roles.coordinated_hub_ids or roles.managed_agency_ids:
        scope = Q()
        if roles.coordinated_hub_ids:
            scope |= Q(family__hub_id__in=roles.coordinated_hub_ids)
        if roles.managed_agency_ids:
            scope |= Q(
                lead_professional__in=Membership.objects.filter(
                    agency_id__in=roles.managed_agency_ids, role=Role.PRACTITIONER
                ).values("user_id")
            )
        episodes = episodes.filter(scope)
    else:
        return []
    rows = episodes.values("lead_professional").annotate(n=Count("id")).order_by("-n", "lead_professional")
    users = User.objects.in_bulk([r["lead_professional"] for r in rows])
    return [Caseload(user=users[r["lead_professional"]], lead_families=r["n"]) for r in rows]
