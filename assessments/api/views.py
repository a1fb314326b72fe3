"""Consent, assessment and family plan API views. Thin, like pathway/api/views.py: access check,
serializer, service, response.

- Every object is read through the access layer: pathway.permissions.episode_for_user and
  assessments.permissions.{consent,assessment,outcome,action}_for_user. An object whose family the caller
  may not see is a 404, for writes as for reads. Collections here hang under one episode, so they are
  filtered by that episode's access check, are short, and are returned whole.
- Who may act is assessments.permissions (require_record_consent, require_start_assessment,
  require_edit_assessment, require_sign_off, require_update_action) or
  pathway.permissions.require_manage_episode: a reader who may not act gets 403 with the reason.
- Writes go through assessments.services, which audit them. A PathwayError is a 400 at the field it
  concerns (answers under `content`, as they are sent); a stale `version` is a 409 with the service's
  message and nothing is saved.
- Reads of a family's consent, assessments and plan are recorded in its audit trail, as the pages are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from assessments import selectors, services
from assessments.models import (
    Assessment,
    AssessmentStatus,
    AssessmentVersion,
    ConsentRecord,
    PlanAction,
    PlanOutcome,
)
from assessments.permissions import (
    action_for_user,
    assessment_for_user,
    can_edit_assessment,
    can_sign_off,
    consent_for_user,
    outcome_for_user,
    require_edit_assessment,
    require_record_consent,
    require_sign_off,
    require_start_assessment,
    require_update_action,
)
from assessments.services import AssessmentChangedError
from ehcase.api.errors import CONFLICT_RESPONSE, Conflict
from ehcase.api.views import ID_PARAMETER, ApiViewSet
from ehcase.audit import audit_view_family
from ehcase.models import Person, User
from pathway.models import Episode
from pathway.permissions import (
    can_manage_episode,
    episode_for_user,
    episodes_visible_to,
    require_manage_episode,
)
from pathway.services import EpisodeChangedError, PathwayError

from . import serializers as s

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
NUMBER_PARAMETER = OpenApiParameter(
    "number", int, OpenApiParameter.PATH, description="The version's number, from 1"
)

# --- Errors -----------------------------------------------------------------------------------------


def _error_path(field: str | None, serializer) -> list[str]:
    """Where a service's `field` sits in the request: answers ("scores.education", "needs.0.area",
    "domains.child.health") under `content`; the rest at the top level, or `non_field_errors`."""
    if field is None:
        return [NON_FIELD]
    if field == "members":  # who the assessment covers, wherever the request was sent
        return [field]
    head, _, rest = field.partition(".")
    if head in s.CONTENT_KEYS:
        if head == "domains" or not rest:
            return ["content", head, *([rest] if rest else [])]
        return ["content", head, *rest.split(".")]
    if serializer is None or field in serializer.fields:
        return [field]
    return [NON_FIELD]


def _nested(path: list[str], messages: list[str]) -> dict:
    detail: dict | list = messages
    for key in reversed(path):
        detail = {key: detail}
    return detail  # type: ignore[return-value]


def _merge(into: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key] += [m for m in value if m not in into[key]]
        else:
            into[key] = value
    return into


@contextmanager
def service_errors(serializer=None) -> Iterator[None]:
    """PathwayError → 400 at its field; a stale version (AssessmentChangedError, EpisodeChangedError)
    → 409 with the service's message saying what happened meanwhile."""
    try:
        yield
    except (AssessmentChangedError, EpisodeChangedError) as error:
        raise Conflict(error.message) from None
    except PathwayError as error:
        raise ValidationError(_nested(_error_path(error.field, serializer), [error.message])) from None


# --- Reads, in a fixed number of queries ------------------------------------------------------------


def _consents() -> QuerySet[ConsentRecord]:
    # The evidence bytes stay in the database: the API says only whether there is a file.
    return (
        ConsentRecord.objects.select_related("person", "given_by", "recorded_by", "withdrawal_recorded_by")
        .defer("evidence")
        .order_by("-given_on", "-id")
    )


def _assessment_detail(*, user: User, assessment_id: int, episode: Episode) -> dict:
    """The assessment with its members, form and kept versions. `episode` comes from the access check."""
    assessment = Assessment.objects.select_related("template", "assessor", "signed_off_by", "updated_by").get(
        pk=assessment_id
    )
    assessment.episode = episode
    assessment.member_list = list(assessment.members.order_by("id"))  # type: ignore[attr-defined]
    assessment.version_list = list(  # type: ignore[attr-defined]
        AssessmentVersion.objects.filter(assessment=assessment)
        .select_related("completed_by", "decided_by")
        .defer("content", "member_ids")
        .order_by("number")
    )
    assessment.can_edit = (  # type: ignore[attr-defined]
        assessment.is_editable and episode.is_open and can_edit_assessment(user=user, assessment=assessment)
    )
    assessment.can_decide = assessment.status == AssessmentStatus.COMPLETED and can_sign_off(  # type: ignore[attr-defined]
        user=user, assessment=assessment
    )
    return s.AssessmentDetailSerializer(assessment).data


def _action_data(*, action_obj: PlanAction, user: User, manages: bool) -> dict:
    action_obj.can_update = action_obj.episode.is_open and (  # type: ignore[attr-defined]
        manages or action_obj.owner_user_id == user.pk
    )
    return s.ActionSerializer(action_obj).data


def _outcome_data(outcome_id: int) -> dict:
    return s.OutcomeSerializer(PlanOutcome.objects.select_related("said_by", "area").get(pk=outcome_id)).data


def _manageable(*, user: User, episode_id: int | str) -> Episode:
    episode = episode_for_user(user=user, episode_id=episode_id)
    require_manage_episode(user=user, episode=episode)
    return episode


MANAGERS = "The lead professional, the assessor or the hub coordinator only."
READ_AUDITED = "Reading it is recorded in the family's audit trail."


def _schema(
    summary: str, description: str, *, request=None, response=None, code=200, conflict=False, extra=()
):
    responses = {code: response}
    if conflict:
        responses[409] = CONFLICT_RESPONSE
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[ID_PARAMETER, *extra],
        request=request,
        responses=responses,
    )


# --- Consent ----------------------------------------------------------------------------------------


class EpisodeConsentViewSet(ApiViewSet):
    """/api/episodes/{id}/consents/: the episode's consent records, and recording one."""

    serializer_class = s.ConsentSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[ConsentRecord]:
        # For schema generation only: each action reads through the access layer itself.
        return _consents().filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "The episode's consent records",
        "Every record, withdrawn ones included, newest first. A withdrawn consent restricts further "
        f"sharing until consent is given again. {READ_AUDITED}",
        response=s.ConsentSerializer(many=True),
    )
    def list(self, request: Request, pk: str) -> Response:
        episode = episode_for_user(user=self.user, episode_id=pk)
        audit_view_family(actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: consent")
        return Response(s.ConsentSerializer(_consents().filter(episode=episode), many=True).data)

    @_schema(
        "Record consent to early help",
        "For one member of the family, with who gave it, when and how, and the lawful basis for sharing "
        "(recorded apart from it). Someone aged 16 or over consents for themself; for a younger child a "
        "parent or carer gives it, or the child themself when `own_consent_competent`. The signed form is "
        f"uploaded on the consent page, not through the API. {MANAGERS}",
        request=s.ConsentWriteSerializer,
        response=s.ConsentSerializer,
        code=201,
    )
    def create(self, request: Request, pk: str) -> Response:
        episode = episode_for_user(user=self.user, episode_id=pk)
        require_record_consent(user=self.user, episode=episode)
        serializer = s.ConsentWriteSerializer(data=request.data, episode=episode)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            record = services.consent_record(actor=self.user, episode=episode, **serializer.validated_data)
        return Response(
            s.ConsentSerializer(_consents().get(pk=record.pk)).data, status=status.HTTP_201_CREATED
        )


class ConsentViewSet(ApiViewSet):
    """/api/consents/{id}/: one consent record, and recording its withdrawal."""

    serializer_class = s.ConsentSerializer

    def get_queryset(self) -> QuerySet[ConsentRecord]:
        return _consents().filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "A consent record",
        f"Without the uploaded evidence itself. {READ_AUDITED}",
        response=s.ConsentSerializer,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        consent = consent_for_user(user=self.user, consent_id=pk)
        audit_view_family(actor=self.user, family_id=consent.family_id, what=f"Consent record {consent.pk}")
        return Response(s.ConsentSerializer(_consents().get(pk=consent.pk)).data)

    @_schema(
        "Record that consent was withdrawn",
        "With the date and what they said. From then on nothing more about the family is shared: no new "
        f"practitioner joins the team until consent is given again. {MANAGERS}",
        request=s.ConsentWithdrawSerializer,
        response=s.ConsentSerializer,
    )
    @action(detail=True, methods=["post"], url_path="withdraw", url_name="withdraw")
    def withdraw(self, request: Request, pk: str) -> Response:
        consent = consent_for_user(user=self.user, consent_id=pk)
        require_record_consent(user=self.user, episode=consent.episode)
        serializer = s.ConsentWithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            services.consent_withdraw(actor=self.user, consent=consent, **serializer.validated_data)
        return Response(s.ConsentSerializer(_consents().get(pk=consent.pk)).data)


# --- The assessment ---------------------------------------------------------------------------------


class EpisodeAssessmentViewSet(ApiViewSet):
    """/api/episodes/{id}/assessments/: the episode's assessments, and starting one."""

    serializer_class = s.AssessmentSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Assessment]:
        return Assessment.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "The episode's Early Help Assessments",
        f"Newest first. {READ_AUDITED}",
        response=s.AssessmentSerializer(many=True),
    )
    def list(self, request: Request, pk: str) -> Response:
        episode = episode_for_user(user=self.user, episode_id=pk)
        audit_view_family(
            actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: assessments"
        )
        assessments = (
            Assessment.objects.filter(episode=episode)
            .select_related("template", "assessor", "signed_off_by")
            .order_by("-id")
        )
        return Response(s.AssessmentSerializer(assessments, many=True).data)

    @_schema(
        "Start an Early Help Assessment",
        "Covering the family members you choose, each of whom needs consent recorded first (the 400 "
        "names who has none). You become its assessor; it uses the current version of the form. A "
        "practitioner who manages the episode only; one assessment in progress per episode.",
        request=s.AssessmentStartSerializer,
        response=s.AssessmentDetailSerializer,
        code=201,
    )
    def create(self, request: Request, pk: str) -> Response:
        episode = episode_for_user(user=self.user, episode_id=pk)
        require_start_assessment(user=self.user, episode=episode)
        serializer = s.AssessmentStartSerializer(data=request.data, episode=episode)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer):
            assessment = services.assessment_start(
                actor=self.user, episode=episode, **serializer.validated_data
            )
        return Response(
            _assessment_detail(user=self.user, assessment_id=assessment.pk, episode=episode),
            status=status.HTTP_201_CREATED,
        )


def _check_member_answers(content: dict, covered: set[int]) -> None:
    """Answers per person only for people the assessment covers (after any change to `members`)."""
    for key in ("members", "child_voice"):
        if any(int(pid) not in covered for pid in content.get(key, {})):
            raise ValidationError(
                {"content": {key: ["Answer only for family members the assessment covers"]}}
            )


def _with_kept_member_answers(assessment: Assessment, content: dict) -> dict:
    """A person's strengths or needs sent alone keep the other one: the service replaces each person's
    entry whole."""
    if "members" not in content:
        return content
    saved = (assessment.content or {}).get("members") or {}
    return {
        **content,
        "members": {pid: {**saved.get(pid, {}), **entry} for pid, entry in content["members"].items()},
    }


class AssessmentViewSet(ApiViewSet):
    """/api/assessments/{id}/: one assessment, saving its draft, completing it, deciding on it, and the
    versions kept on each completion."""

    serializer_class = s.AssessmentDetailSerializer

    def get_queryset(self) -> QuerySet[Assessment]:
        return Assessment.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "An Early Help Assessment",
        "Its answers (`content`), the members it covers, the version of the form it uses, its `version` "
        f"(send it back when saving) and a summary of the versions kept on each completion. {READ_AUDITED}",
        response=s.AssessmentDetailSerializer,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        assessment = assessment_for_user(user=self.user, assessment_id=pk)
        audit_view_family(
            actor=self.user,
            family_id=assessment.episode.family_id,
            what=f"Early help assessment {assessment.pk}",
        )
        return Response(
            _assessment_detail(user=self.user, assessment_id=assessment.pk, episode=assessment.episode)
        )

    @_schema(
        "Save part of the assessment",
        "Send the `version` you read and only what changed: within `content`, each part you send is "
        "merged into the saved answers (`needs` replaces the list). If anyone saved since you read it, the "
        "answer is 409 and nothing is saved: read it again and reapply your changes. Scores are whole "
        "numbers from 0 to 10; answers are up to 4,000 characters. The assessor only, while it is a draft "
        "or returned.",
        request=s.AssessmentUpdateSerializer,
        response=s.AssessmentDetailSerializer,
        conflict=True,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        assessment = assessment_for_user(user=self.user, assessment_id=pk)
        require_edit_assessment(user=self.user, assessment=assessment)
        serializer = s.AssessmentUpdateSerializer(data=request.data, episode=assessment.episode)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        content = data.get("content") or {}
        members = data.get("members")
        covered = (
            {p.pk for p in members}
            if members is not None
            else set(assessment.members.values_list("pk", flat=True))
        )
        _check_member_answers(content, covered)
        with service_errors(serializer):
            services.assessment_save(
                actor=self.user,
                assessment=assessment,
                expected_version=data["version"],
                changes=_with_kept_member_answers(assessment, content) or None,
                members=members,
                assessment_date=data.get("assessment_date"),
            )
        return Response(
            _assessment_detail(user=self.user, assessment_id=assessment.pk, episode=assessment.episode)
        )

    @_schema(
        "Complete the assessment",
        "Send the `version` you read. A version is kept (readable later at versions/{number}/), the needs "
        "and baseline scores go to the episode, and a manager can then sign it off or return it. A 400 lists "
        "everything still missing, under `content`, and names anyone covered whose consent is missing "
        "(`members`). The assessor only.",
        request=s.VersionSerializer,
        response=s.AssessmentDetailSerializer,
        conflict=True,
    )
    @action(detail=True, methods=["post"], url_path="complete", url_name="complete")
    def complete(self, request: Request, pk: str) -> Response:
        assessment = assessment_for_user(user=self.user, assessment_id=pk)
        require_edit_assessment(user=self.user, assessment=assessment)
        serializer = s.VersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.assessment_complete(
                actor=self.user, assessment=assessment, expected_version=serializer.validated_data["version"]
            )
        except (AssessmentChangedError, EpisodeChangedError) as error:
            raise Conflict(error.message) from None
        except PathwayError as error:
            detail = _nested(_error_path(error.field, serializer), [error.message])
            if error.field is not None:
                # The service stops at the first problem; the client gets them all at once.
                for field, message in services.completion_problems(assessment=assessment):
                    _merge(detail, _nested(_error_path(field, serializer), [message]))
            raise ValidationError(detail) from None
        return Response(
            _assessment_detail(user=self.user, assessment_id=assessment.pk, episode=assessment.episode)
        )

    @_schema(
        "Sign off the assessment, or return it for changes",
        "A manager of the assessor's agency or an early help manager, never the assessor (403). Returning it "
        "needs `comments` saying what should change; the kept version records the decision. Send the "
        "`version` you read to be told (409) if it changed meanwhile.",
        request=s.DecisionSerializer,
        response=s.AssessmentDetailSerializer,
        conflict=True,
    )
    @action(detail=True, methods=["post"], url_path="decide", url_name="decide")
    def decide(self, request: Request, pk: str) -> Response:
        assessment = assessment_for_user(user=self.user, assessment_id=pk)
        if assessment.assessor_id == self.user.pk:
            raise PermissionDenied("You cannot sign off an assessment you completed yourself: ask a manager")
        require_sign_off(user=self.user, assessment=assessment)
        serializer = s.DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer):
            services.assessment_decide(
                actor=self.user,
                assessment=assessment,
                sign_off=data["decision"] == "sign_off",
                comments=data["comments"],
                expected_version=data.get("version"),
            )
        return Response(
            _assessment_detail(user=self.user, assessment_id=assessment.pk, episode=assessment.episode)
        )

    @_schema(
        "A version of the assessment kept on completion",
        f"What it said when it was completed, with the form it used and the decision on it. {READ_AUDITED}",
        response=s.VersionDetailSerializer,
        extra=[NUMBER_PARAMETER],
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[^/.]+)", url_name="version")
    def kept_version(self, request: Request, pk: str, number: str) -> Response:
        assessment = assessment_for_user(user=self.user, assessment_id=pk)
        try:
            number_value = int(number)
        except ValueError:
            raise Http404 from None
        version = (
            AssessmentVersion.objects.filter(assessment=assessment, number=number_value)
            .select_related("template", "completed_by", "decided_by")
            .first()
        )
        if version is None:
            raise Http404
        audit_view_family(
            actor=self.user,
            family_id=assessment.episode.family_id,
            what=f"Early help assessment {assessment.pk}, version {version.number}",
        )
        people = Person.objects.in_bulk(version.member_ids)
        version.member_list = [people[pid] for pid in version.member_ids if pid in people]  # type: ignore[attr-defined]
        return Response(s.VersionDetailSerializer(version).data)


# --- The family plan --------------------------------------------------------------------------------


class EpisodePlanViewSet(ApiViewSet):
    """/api/episodes/{id}/plan/: the family plan."""

    serializer_class = s.PlanSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Episode]:
        return episodes_visible_to(user=self.user)

    @_schema(
        "The family plan",
        "Outcomes in the family's words, each with its actions, then actions not tied to an outcome. Each "
        f"action says whether you may update it. {READ_AUDITED}",
        response=s.PlanSerializer,
    )
    def list(self, request: Request, pk: str) -> Response:
        episode = episode_for_user(user=self.user, episode_id=pk)
        audit_view_family(
            actor=self.user, family_id=episode.family_id, what=f"Episode {episode.pk}: family plan"
        )
        plan = selectors.family_plan(episode=episode)
        manages = episode.is_open and can_manage_episode(user=self.user, episode=episode)
        for item in [*plan.unlinked_actions, *(a for o in plan.outcomes for a in o.plan_actions)]:
            item.episode = episode
            item.can_update = episode.is_open and (manages or item.owner_user_id == self.user.pk)
        return Response(
            s.PlanSerializer(
                {"outcomes": plan.outcomes, "unlinked_actions": plan.unlinked_actions, "can_manage": manages}
            ).data
        )


class EpisodeOutcomeViewSet(ApiViewSet):
    """/api/episodes/{id}/outcomes/: adding an outcome to the family plan."""

    serializer_class = s.OutcomeSerializer

    def get_queryset(self) -> QuerySet[PlanOutcome]:
        return PlanOutcome.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "Add an outcome to the family plan",
        f"What the family wants to be different, in their own words. {MANAGERS}",
        request=s.OutcomeWriteSerializer,
        response=s.OutcomeSerializer,
        code=201,
    )
    def create(self, request: Request, pk: str) -> Response:
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.OutcomeWriteSerializer(data=request.data, episode=episode)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer):
            outcome = services.plan_outcome_add(
                actor=self.user,
                episode=episode,
                wording=data["wording"],
                said_by=data.get("said_by"),
                area=data.get("area"),
            )
        return Response(_outcome_data(outcome.pk), status=status.HTTP_201_CREATED)


class OutcomeViewSet(ApiViewSet):
    """/api/outcomes/{id}/: changing an outcome of the family plan."""

    serializer_class = s.OutcomeSerializer

    def get_queryset(self) -> QuerySet[PlanOutcome]:
        return PlanOutcome.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "Change an outcome of the family plan",
        "Reword it, say who said it or mark it achieved. Send the `version` you read (from the plan): if it "
        f"changed since, the answer is 409 and nothing is saved. {MANAGERS}",
        request=s.OutcomeUpdateSerializer,
        response=s.OutcomeSerializer,
        conflict=True,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        outcome = outcome_for_user(user=self.user, outcome_id=pk)
        require_manage_episode(user=self.user, episode=outcome.episode)
        serializer = s.OutcomeUpdateSerializer(data=request.data, episode=outcome.episode)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer):
            services.plan_outcome_update(
                actor=self.user,
                outcome=outcome,
                wording=data.get("wording", outcome.wording),
                said_by=data["said_by"] if "said_by" in data else outcome.said_by,
                area=data["area"] if "area" in data else outcome.area,
                achieved=data.get("achieved", outcome.achieved),
                expected_version=data["version"],
            )
        return Response(_outcome_data(outcome.pk))


class EpisodeActionViewSet(ApiViewSet):
    """/api/episodes/{id}/actions/: adding an action to the family plan."""

    serializer_class = s.ActionSerializer

    def get_queryset(self) -> QuerySet[PlanAction]:
        return PlanAction.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "Add an action to the family plan",
        "What will be done, by whom (`owner`: a practitioner in the family's team, the agency of one, or "
        "someone in the family) and by when: not before the episode opened nor the date of the assessment. "
        f"{MANAGERS}",
        request=s.ActionWriteSerializer,
        response=s.ActionSerializer,
        code=201,
    )
    def create(self, request: Request, pk: str) -> Response:
        episode = _manageable(user=self.user, episode_id=pk)
        serializer = s.ActionWriteSerializer(data=request.data, episode=episode)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        owner = {f"owner_{kind}": value for kind, value in data["owner"].items()}
        with service_errors(serializer):
            created = services.action_add(
                actor=self.user,
                episode=episode,
                description=data["description"],
                due_on=data["due_on"],
                outcome=data.get("outcome"),
                **owner,
            )
        created = PlanAction.objects.select_related("owner_user", "owner_agency", "owner_person").get(
            pk=created.pk
        )
        created.episode = episode
        return Response(
            _action_data(action_obj=created, user=self.user, manages=True), status=status.HTTP_201_CREATED
        )


class ActionViewSet(ApiViewSet):
    """/api/actions/{id}/: updating an action's status."""

    serializer_class = s.ActionSerializer

    def get_queryset(self) -> QuerySet[PlanAction]:
        return PlanAction.objects.filter(episode__in=episodes_visible_to(user=self.user))

    @_schema(
        "Update an action's status",
        "Send the `version` you read (from the plan): if it changed since, the answer is 409 and nothing is "
        "saved. The action's owner (a member of the family's team updating their own action) or the lead "
        "professional, the assessor or the hub coordinator.",
        request=s.ActionUpdateSerializer,
        response=s.ActionSerializer,
        conflict=True,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        plan_action = action_for_user(user=self.user, action_id=pk)
        require_update_action(user=self.user, action=plan_action)
        serializer = s.ActionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors(serializer):
            updated = services.action_set_status(
                actor=self.user, action=plan_action, status=data["status"], expected_version=data["version"]
            )
        updated = PlanAction.objects.select_related("owner_user", "owner_agency", "owner_person").get(
            pk=updated.pk
        )
        updated.episode = plan_action.episode
        manages = can_manage_episode(user=self.user, episode=plan_action.episode)
        return Response(_action_data(action_obj=updated, user=self.user, manages=manages))
