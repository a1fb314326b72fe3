"""Pathway API views. Thin, like pathway/views.py: access check, serializer, service, response.

- Every read of an episode, meeting or team member goes through pathway.permissions
  (episode_for_user, meeting_for_user): an object the caller may not see is a 404, whatever the
  reason. Lists are filtered through ehcase.permissions.families_visible_to.
- Every write needs pathway.permissions.require_manage_episode (or require_open_episode_rights
  to open one): a reader who may not change it gets 403. Writes go through pathway.services,
  which audit them; a PathwayError is a 400 at the field it concerns, and a stale `version` is a
  409 with the service's message ("Someone else closed this episode...").
- Reads of one family's pathway are audited like the episode page (ehcase.audit.audit_view_family).
- Collections under one episode (team, meetings, needs, reviews) are short and returned whole;
  collections across families (/api/episodes/) are paginated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ehcase.api.errors import CONFLICT_RESPONSE, Conflict
from ehcase.api.views import ID_PARAMETER, ApiViewSet
from ehcase.audit import audit_view_family
from ehcase.models import User
from ehcase.permissions import family_for_user
from pathway import selectors, services
from pathway.models import (
    Episode,
    EpisodeStatus,
    EpisodeTransition,
    IdentifiedNeed,
    LeadProfessional,
    LevelChange,
    LevelOfNeed,
    MeetingAttendance,
    OutcomeArea,
    OutcomeScore,
    Review,
    TafMeeting,
    TafMember,
)
from pathway.permissions import (
    can_manage_episode,
    episode_for_user,
    episodes_visible_to,
    meeting_for_user,
    require_manage_episode,
    require_open_episode_rights,
    taf_member_for_user,
)
from pathway.services import EpisodeChangedError, PathwayError

from . import serializers as s

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


# --- Access (to move to pathway.permissions / selectors with their owners) ----------------------


def _manageable(*, user: User, episode_id: int | str) -> Episode:
    episode = episode_for_user(user=user, episode_id=episode_id)
    require_manage_episode(user=user, episode=episode)
    return episode


# --- Errors -------------------------------------------------------------------------------------


def _invalid(
    error: PathwayError, serializer, *, aliases: dict[str, str] | None = None, default: str = NON_FIELD
) -> ValidationError:
    """The service's message at the request field it concerns (`aliases` maps service names to
    request fields; a name the request does not have falls to `default`)."""
    if error.field is None:
        key = NON_FIELD
    elif aliases and error.field in aliases:
        key = aliases[error.field]
    elif error.field in serializer.fields:
        key = error.field
    else:
        key = default
    return ValidationError({key: [error.message]})


@contextmanager
def service_errors(
    serializer,
    *,
    aliases: dict[str, str] | None = None,
    default: str = NON_FIELD,
) -> Iterator[None]:
    """PathwayError → 400 at its field; EpisodeChangedError (a stale `version`) → 409 with the
    service's message explaining what happened meanwhile."""
    try:
        yield
    except EpisodeChangedError as error:
        raise Conflict(error.message) from None
    except PathwayError as error:
        raise _invalid(error, serializer, aliases=aliases, default=default) from None


# --- Reads, in a fixed number of queries --------------------------------------------------------

EPISODE_LIST_RELATED = ("family", "level", "assessor", "lead_professional")


def _episode_detail(*, user: User, episode_id: int, episode: Episode | None = None) -> dict:
    """The episode with its history. `episode` (from episode_for_user) saves re-reading it."""
    if episode is None:
        episode = Episode.objects.select_related(*EPISODE_LIST_RELATED).get(pk=episode_id)
    prefetch_related_objects(
        [episode],
        Prefetch("transitions", queryset=EpisodeTransition.objects.select_related("by")),
        Prefetch("level_changes", queryset=LevelChange.objects.select_related("level", "by")),
        Prefetch("lead_history", queryset=LeadProfessional.objects.select_related("user", "recorded_by")),
        Prefetch("taf_members", queryset=TafMember.objects.select_related("user", "agency", "person")),
        Prefetch("needs", queryset=IdentifiedNeed.objects.select_related("area")),
    )
    episode.can_manage = episode.is_open and can_manage_episode(user=user, episode=episode)  # type: ignore[attr-defined]
    return s.EpisodeDetailSerializer(episode).data


def _meetings() -> QuerySet[TafMeeting]:
    return (
        TafMeeting.objects.select_related("created_by")
        .prefetch_related(
            Prefetch("invited", queryset=TafMember.objects.select_related("user", "person")),
            Prefetch(
                "attendance",
                queryset=MeetingAttendance.objects.select_related("member__user", "member__person"),
            ),
        )
        .order_by("starts_at", "id")
    )


def _reviews(episode: Episode) -> list[Review]:
    return list(
        Review.objects.filter(episode=episode)
        .select_related("recorded_by")
        .prefetch_related(
            Prefetch(
                "scores", queryset=OutcomeScore.objects.select_related("area").order_by("area__order", "id")
            )
        )
        .order_by("held_on", "id")
    )


def _review_data(review_id: int) -> dict:
    review = (
        Review.objects.select_related("recorded_by")
        .prefetch_related(Prefetch("scores", queryset=OutcomeScore.objects.select_related("area")))
        .get(pk=review_id)
    )
    return s.ReviewSerializer(review).data


def _scores(validated: list[dict]) -> dict[OutcomeArea, int]:
    return {row["area"]: row["score"] for row in validated}


# --- Reference data -----------------------------------------------------------------------------


class LevelOfNeedViewSet(mixins.ListModelMixin, ApiViewSet):
    """The partnership's levels of need. Not case data: any signed-in user may read them."""

    queryset = LevelOfNeed.objects.order_by("order", "code")
    serializer_class = s.LevelOfNeedSerializer


class OutcomeAreaViewSet(mixins.ListModelMixin, ApiViewSet):
    """The outcome areas scored for distance travelled. Not case data."""

    queryset = OutcomeArea.objects.filter(active=True).order_by("order", "name")
    serializer_class = s.OutcomeAreaSerializer


# --- A family's episodes ------------------------------------------------------------------------

FAMILY_PARAMETER = ID_PARAMETER


@extend_schema_view(
    list=extend_schema(
        summary="A family's episodes of early help",
        description="Newest first. Reading them is recorded in the family's audit trail.",
        parameters=[FAMILY_PARAMETER],
        responses=s.EpisodeSerializer(many=True),
    ),
    create=extend_schema(
        summary="Start early help with a family",
        description="The family agreed to an Early Help Assessment: an episode opens with you as the "
        "assessor. Practitioners and hub coordinators who may change the family's record only. A "
        "family has at most one open episode.",
        parameters=[FAMILY_PARAMETER],
        request=s.EpisodeStartSerializer,
        responses={201: s.EpisodeDetailSerializer},
    ),
)
class FamilyEpisodeViewSet(ApiViewSet):
    """/api/families/{id}/episodes/: the episodes of one family the caller may see."""

    serializer_class = s.EpisodeSerializer

    def get_queryset(self) -> QuerySet[Episode]:
        return episodes_visible_to(user=self.user)

    def list(self, request: Request, pk: str) -> Response:
        family = family_for_user(user=self.user, family_id=pk)
        audit_view_family(actor=self.user, family_id=family.pk, what="Episodes")
        episodes = Episode.objects.filter(family=family).select_related(*EPISODE_LIST_RELATED)
        page = self.paginate_queryset(episodes.order_by("-opened_on", "-id"))
        return self.get_paginated_response(s.EpisodeSerializer(page, many=True).data)

    def create(self, request: Request, pk: str) -> Response:
        family = family_for_user(user=self.user, family_id=pk)
        require_open_episode_rights(user=self.user, family=family)
        serializer = s.EpisodeStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer, aliases={"opened_on": "consent_on"}):
            episode = services.episode_start_directly(
                actor=self.user, family=family, **serializer.validated_data
            )
        return Response(
            _episode_detail(user=self.user, episode_id=episode.pk), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Accept a step down from children's social care",
        description="Opens an episode at the multi-agency level with the social care reference and "
        "handover notes carried over. Practitioners and hub coordinators who may change the family's "
        "record only.",
        parameters=[FAMILY_PARAMETER],
        request=s.StepDownSerializer,
        responses={201: s.EpisodeDetailSerializer},
    )
    @action(detail=False, methods=["post"], url_path="step-down", url_name="step-down")
    def step_down(self, request: Request, pk: str) -> Response:
        family = family_for_user(user=self.user, family_id=pk)
        require_open_episode_rights(user=self.user, family=family)
        serializer = s.StepDownSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer, aliases={"opened_on": "accepted_on"}):
            episode = services.episode_accept_step_down(
                actor=self.user, family=family, **serializer.validated_data
            )
        return Response(
            _episode_detail(user=self.user, episode_id=episode.pk), status=status.HTTP_201_CREATED
        )


# --- Episodes -----------------------------------------------------------------------------------


def _write_schema(summary: str, request, response, *, description: str = "", code: int = 200, conflict=False):
    responses = {code: response}
    if conflict:
        responses[409] = CONFLICT_RESPONSE
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[ID_PARAMETER],
        request=request,
        responses=responses,
    )


MANAGERS = "The lead professional, the assessor or the hub coordinator only."


class EpisodeViewSet(ApiViewSet):
    """Episodes of the families the caller may see, with the pathway's actions."""

    serializer_class = s.EpisodeSerializer

    def get_queryset(self) -> QuerySet[Episode]:
        return episodes_visible_to(user=self.user)

    @extend_schema(
        summary="List the episodes you may see",
        description="Episodes of the families you may see, newest first.",
        parameters=[s.EpisodeListQuerySerializer],
        responses=s.EpisodeSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        query = s.EpisodeListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        episodes = episodes_visible_to(user=self.user).select_related(*EPISODE_LIST_RELATED)
        if query.validated_data.get("status"):
            episodes = episodes.filter(status=query.validated_data["status"])
        if query.validated_data.get("open") is not None:
            closed = episodes.filter(status=EpisodeStatus.CLOSED)
            episodes = (
                episodes.exclude(status=EpisodeStatus.CLOSED) if query.validated_data["open"] else closed
            )
        page = self.paginate_queryset(episodes.order_by("-opened_on", "-id"))
        return self.get_paginated_response(s.EpisodeSerializer(page, many=True).data)

    @extend_schema(
        summary="An episode, with its history",
        description="Status changes, levels of need, lead professionals, the team and the needs. "
        "Reading it is recorded in the family's audit trail, as on the episode page.",
        parameters=[ID_PARAMETER],
        responses=s.EpisodeDetailSerializer,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        episode = episode_for_user(user=self.user, episode_id=pk)
        audit_view_family(actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}")
        return Response(_episode_detail(user=self.user, episode_id=episode.pk, episode=episode))

    # --- Level, step up, closure ----------------------------------------------------------------

    @_write_schema(
        "Change the level of need",
        s.LevelChangeWriteSerializer,
        s.EpisodeDetailSerializer,
        description=f"The change is kept in the level history. {MANAGERS}",
    )
    @action(detail=True, methods=["post"], url_path="level", url_name="level")
    def level(self, request: Request, pk: str) -> Response:
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.LevelChangeWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            services.episode_change_level(actor=self.user, episode=episode, **serializer.validated_data)
        return Response(_episode_detail(user=self.user, episode_id=episode.pk))

    @_write_schema(
        "Step up to children's social care",
        s.StepUpSerializer,
        s.EpisodeDetailSerializer,
        conflict=True,
        description="The episode closes as stepped up, with the reason; needs without an outcome pass "
        f"to social care. Send the `version` you read. {MANAGERS}",
    )
    @action(detail=True, methods=["post"], url_path="step-up", url_name="step-up")
    def step_up(self, request: Request, pk: str) -> Response:
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.StepUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer):
            services.episode_step_up(
                actor=self.user,
                episode=episode,
                reason=data["reason"],
                stepped_up_on=data["stepped_up_on"],
                social_care_reference=data["social_care_reference"],
                expected_version=data["version"],
            )
        return Response(_episode_detail(user=self.user, episode_id=episode.pk))

    @_write_schema(
        "Close the episode",
        s.CloseSerializer,
        s.EpisodeDetailSerializer,
        conflict=True,
        description="With the reason and the outcome of every identified need. A closed episode can no "
        f"longer be changed. Send the `version` you read. {MANAGERS}",
    )
    @action(detail=True, methods=["post"], url_path="close", url_name="close")
    def close(self, request: Request, pk: str) -> Response:
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        needs = {n.pk: n for n in IdentifiedNeed.objects.filter(episode=episode)}
        outcomes = {row["need"]: row["outcome"] for row in data["need_outcomes"]}
        unknown = sorted(set(outcomes) - set(needs))
        if unknown:
            raise ValidationError(
                {"need_outcomes": [f"Need {unknown[0]} is not one of this episode's needs"]}
            )
        try:
            services.episode_close(
                actor=self.user,
                episode=episode,
                reason=data["reason"],
                closed_on=data["closed_on"],
                need_outcomes=outcomes,
                note=data["note"],
                expected_version=data["version"],
            )
        except EpisodeChangedError as error:
            raise Conflict(error.message) from None
        except PathwayError as error:
            if error.field and error.field.startswith("need_"):
                need = needs.get(int(error.field.removeprefix("need_")))
                message = error.message + (
                    f": ‘{need.description}’ (need {need.pk}) has none" if need else ""
                )
                raise ValidationError({"need_outcomes": [message]}) from None
            raise _invalid(error, serializer) from None
        return Response(_episode_detail(user=self.user, episode_id=episode.pk))

    # --- Team Around the Family -----------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="The Team Around the Family",
        description="Current members and those who have left. Reading it is audited.",
        parameters=[ID_PARAMETER],
        responses=s.TafMemberSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a practitioner or a family member to the team",
        description="Send `user` (a practitioner, who can see the family's record from now on) or "
        f"`person` (a member of the family). {MANAGERS}",
        parameters=[ID_PARAMETER],
        request=s.TafMemberWriteSerializer,
        responses={201: s.TafMemberSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="taf-members",
        url_name="taf-members",
        pagination_class=None,
    )
    def taf_members(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            episode = episode_for_user(user=self.user, episode_id=pk)
            audit_view_family(
                actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: team"
            )
            members = TafMember.objects.filter(episode=episode).select_related("user", "agency", "person")
            return Response(s.TafMemberSerializer(members, many=True).data)
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.TafMemberWriteSerializer(data=request.data, episode=episode)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer):
            if data.get("user") is not None:
                member = services.taf_add_worker(
                    actor=self.user,
                    episode=episode,
                    user=data["user"],
                    role=data["role"],
                    joined_on=data["joined_on"],
                )
            else:
                member = services.taf_add_family_member(
                    actor=self.user,
                    episode=episode,
                    person=data["person"],
                    role=data["role"],
                    joined_on=data["joined_on"],
                )
        return Response(s.TafMemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @_write_schema(
        "Name the lead professional",
        s.LeadProfessionalWriteSerializer,
        s.LeadProfessionalSerializer,
        code=201,
        description="A practitioner in the team, with what the family said about the choice. The previous "
        "lead professional hands over (a handover note is required) and stays in the team with read "
        f"access. The history is kept. {MANAGERS}",
    )
    @action(detail=True, methods=["post"], url_path="lead-professional", url_name="lead-professional")
    def lead_professional(self, request: Request, pk: str) -> Response:
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.LeadProfessionalWriteSerializer(data=request.data, episode=episode)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            lead = services.lead_professional_set(
                actor=self.user, episode=episode, **serializer.validated_data
            )
        return Response(s.LeadProfessionalSerializer(lead).data, status=status.HTTP_201_CREATED)

    # --- Meetings -------------------------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="The episode's TAF meetings",
        description="Oldest first, with attendance and decisions once held. Reading them is audited.",
        parameters=[ID_PARAMETER],
        responses=s.MeetingSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Schedule a TAF meeting",
        description="A meeting in the future; or one that has already taken place (`already_held`), to "
        f"be recorded next. {MANAGERS}",
        parameters=[ID_PARAMETER],
        request=s.MeetingScheduleSerializer,
        responses={201: s.MeetingSerializer},
    )
    @action(
        detail=True, methods=["get", "post"], url_path="meetings", url_name="meetings", pagination_class=None
    )
    def meetings(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            episode = episode_for_user(user=self.user, episode_id=pk)
            audit_view_family(
                actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: meetings"
            )
            return Response(s.MeetingSerializer(_meetings().filter(episode=episode), many=True).data)
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.MeetingScheduleSerializer(data=request.data, episode=episode)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer):
            meeting = services.meeting_schedule(
                actor=self.user,
                episode=episode,
                starts_at=data["starts_at"],
                location=data["location"],
                online=data["online"],
                invited=list(data.get("invited", [])),
                already_held=data["already_held"],
            )
        return Response(
            s.MeetingSerializer(_meetings().get(pk=meeting.pk)).data, status=status.HTTP_201_CREATED
        )

    # --- Needs, baseline, reviews ---------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="The episode's identified needs",
        description="With their outcome once the episode has closed. Reading them is audited.",
        parameters=[ID_PARAMETER],
        responses=s.NeedSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record an identified need",
        description=f"Tagged to an outcome area; its outcome is stated at closure. {MANAGERS}",
        parameters=[ID_PARAMETER],
        request=s.NeedWriteSerializer,
        responses={201: s.NeedSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="needs", url_name="needs", pagination_class=None)
    def needs(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            episode = episode_for_user(user=self.user, episode_id=pk)
            audit_view_family(
                actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: needs"
            )
            needs = IdentifiedNeed.objects.filter(episode=episode).select_related("area")
            return Response(s.NeedSerializer(needs, many=True).data)
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.NeedWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            need = services.need_add(actor=self.user, episode=episode, **serializer.validated_data)
        return Response(s.NeedSerializer(need).data, status=status.HTTP_201_CREATED)

    @_write_schema(
        "Record the baseline scores",
        s.BaselineSerializer,
        s.ReviewSerializer,
        code=201,
        description="The scores from the assessment, 0 to 10 per outcome area: distance travelled is "
        f"measured from here. Once per episode. {MANAGERS}",
    )
    @action(detail=True, methods=["post"], url_path="baseline", url_name="baseline")
    def baseline(self, request: Request, pk: str) -> Response:
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.BaselineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer, default="scores"):
            review = services.baseline_record(
                actor=self.user, episode=episode, held_on=data["held_on"], scores=_scores(data["scores"])
            )
        return Response(_review_data(review.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="The episode's reviews, with their scores",
        description="The baseline first (`is_baseline`), then each review. Reading them is audited.",
        parameters=[ID_PARAMETER],
        responses=s.ReviewSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a review",
        description="Scores per outcome area and the decision. Needs the baseline, and an active plan "
        "(the first TAF meeting held). A decision to step up or close is then carried out with step-up "
        f"or close. {MANAGERS}",
        parameters=[ID_PARAMETER],
        request=s.ReviewWriteSerializer,
        responses={201: s.ReviewSerializer},
    )
    @action(
        detail=True, methods=["get", "post"], url_path="reviews", url_name="reviews", pagination_class=None
    )
    def reviews(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            episode = episode_for_user(user=self.user, episode_id=pk)
            audit_view_family(
                actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: reviews"
            )
            return Response(s.ReviewSerializer(_reviews(episode), many=True).data)
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer, default="scores"):
            review = services.review_record(
                actor=self.user,
                episode=episode,
                held_on=data["held_on"],
                scores=_scores(data["scores"]),
                decision=data["decision"],
                summary=data["summary"],
            )
        return Response(_review_data(review.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Distance travelled",
        description="Per outcome area: the baseline score, the latest score and the change, with the "
        "scores at each review (as the episode page's chart). Empty until the baseline is recorded. "
        "Reading it is audited.",
        parameters=[ID_PARAMETER],
        responses=s.DistanceTravelledSerializer,
    )
    @action(detail=True, methods=["get"], url_path="distance-travelled", url_name="distance-travelled")
    def distance_travelled(self, request: Request, pk: str) -> Response:
        episode = episode_for_user(user=self.user, episode_id=pk)
        audit_view_family(
            actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: distance travelled"
        )
        progress = selectors.distance_travelled(reviews=_reviews(episode))
        if progress is None:
            return Response({"dates": [], "areas": []})
        return Response(s.DistanceTravelledSerializer(progress).data)


# --- Meetings and team members ------------------------------------------------------------------


class MeetingViewSet(ApiViewSet):
    """/api/meetings/{id}/: one TAF meeting of an episode the caller may see, and recording it."""

    serializer_class = s.MeetingSerializer

    def get_queryset(self) -> QuerySet[TafMeeting]:
        return TafMeeting.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @extend_schema(
        summary="A TAF meeting",
        description="The agenda before it is held, the minutes after. Reading it is audited.",
        parameters=[ID_PARAMETER],
        responses=s.MeetingSerializer,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        meeting = meeting_for_user(user=self.user, meeting_id=pk)
        audit_view_family(
            actor=self.user, family_id=meeting.episode.family_id, what=f"TAF meeting {meeting.pk}"
        )
        return Response(s.MeetingSerializer(_meetings().get(pk=meeting.pk)).data)

    @_write_schema(
        "Record a TAF meeting",
        s.MeetingRecordSerializer,
        s.MeetingSerializer,
        conflict=True,
        description="Attendance of every current member, the decisions and the next date, once the "
        "meeting has taken place. The first meeting agrees the lead professional (`lead`, with "
        "`family_view`) and the plan becomes active. Send the meeting's `version`. " + MANAGERS,
    )
    @action(detail=True, methods=["post"], url_path="record", url_name="record")
    def record(self, request: Request, pk: str) -> Response:
        meeting = meeting_for_user(user=self.user, meeting_id=pk)
        episode = meeting.episode
        require_manage_episode(user=self.user, episode=episode)
        members = list(
            TafMember.objects.filter(episode=episode, left_on__isnull=True).select_related("user", "person")
        )
        serializer = s.MeetingRecordSerializer(data=request.data, episode=episode, members=members)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = data["version"]
        with service_errors(serializer):
            services.meeting_record(
                actor=self.user,
                meeting=meeting,
                attendance={row["member"]: row["attendance"] for row in data["attendance"]},
                decisions=data["decisions"],
                plan_changes=data["plan_changes"],
                next_meeting_on=data.get("next_meeting_on"),
                lead=data.get("lead"),
                family_view=data["family_view"],
                expected_version=version,
            )
        return Response(s.MeetingSerializer(_meetings().get(pk=meeting.pk)).data)


class TafMemberViewSet(ApiViewSet):
    """/api/taf-members/{id}/remove/: a member leaves the Team Around the Family."""

    serializer_class = s.TafMemberSerializer

    def get_queryset(self) -> QuerySet[TafMember]:
        return TafMember.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @_write_schema(
        "Remove a member from the team",
        s.TafRemovalSerializer,
        s.TafMemberSerializer,
        description="They keep their place in the team's history, with the date they left. A practitioner "
        "can no longer see the family's record from then on. Name a new lead professional or assessor "
        f"before removing the current one. {MANAGERS}",
    )
    @action(detail=True, methods=["post"], url_path="remove", url_name="remove")
    def remove(self, request: Request, pk: str) -> Response:
        member = taf_member_for_user(user=self.user, member_id=pk)
        require_manage_episode(user=self.user, episode=member.episode)
        serializer = s.TafRemovalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not member.is_current:
            raise ValidationError({NON_FIELD: [f"{member.name} has already left the team"]})
        with service_errors(serializer):
            member = services.taf_remove(
                actor=self.user, member=member, left_on=serializer.validated_data["left_on"]
            )
        return Response(s.TafMemberSerializer(member).data)
