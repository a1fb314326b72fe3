"""REST API for requests for support and triage decisions, with the same access rules as the pages
(hubs.permissions): the referrer sees their own requests and the decisions on them; coordinators of
the request's hub see and decide them; partnership-wide roles read."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ehcase.api.errors import CONFLICT_RESPONSE
from ehcase.api.views import ID_PARAMETER, ApiViewSet
from ehcase.audit import audit_view_family
from ehcase.models import Agency, User
from ehcase.permissions import families_visible_to, family_for_user, roles_for
from pathway.api.views import service_errors
from pathway.models import OutcomeArea

from . import services
from .models import (
    ConsentMethod,
    HubMeeting,
    ReferralSource,
    RequestForSupport,
    TriageDecision,
    TriageOutcome,
    Urgency,
)
from .permissions import can_decide, request_for_user, requests_visible_to


class DecisionSerializer(serializers.ModelSerializer):
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    allocated_to_name = serializers.CharField(
        source="allocated_to.display_name", read_only=True, default=None
    )
    agency_name = serializers.CharField(source="agency.name", read_only=True, default=None)
    superseded = serializers.SerializerMethodField()

    class Meta:
        model = TriageDecision
        fields = [
            "id",
            "outcome",
            "outcome_label",
            "rationale",
            "decided_on",
            "signposting",
            "agency",
            "agency_name",
            "allocated_to",
            "allocated_to_name",
            "social_care_reference",
            "episode",
            "meeting",
            "supersedes",
            "superseded",
            "created_at",
        ]
        read_only_fields = fields

    def get_superseded(self, decision: TriageDecision) -> bool:
        return hasattr(decision, "superseded_by")


class RequestSerializer(serializers.ModelSerializer):
    """A request as its referrer or the hub sees it. `family` is null for a referrer who may not see
    the family (they sent the request against a possible match held by the hub)."""

    family = serializers.SerializerMethodField()
    needs = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta:
        model = RequestForSupport
        fields = [
            "id",
            "status",
            "family",
            "hub",
            "referrer",
            "referrer_agency",
            "source",
            "urgency",
            "reasons",
            "needs",
            "tried_already",
            "consent_given",
            "consent_by",
            "consent_on",
            "consent_method",
            "no_consent_reason",
            "received_on",
            "is_re_referral",
            "version",
            "decisions",
        ]
        read_only_fields = fields

    REFERRER_HIDDEN = ("rationale", "social_care_reference", "episode", "meeting")

    def get_family(self, request: RequestForSupport) -> int | None:
        visible = self.context.get("visible_family_ids", set())
        return request.family_id if request.family_id in visible else None

    def to_representation(self, request: RequestForSupport) -> dict:
        data = super().to_representation(request)
        if request.family_id not in self.context.get("visible_family_ids", set()):
            # The referrer of a family they cannot see gets the outcome and who will help, not the
            # hub's reasoning about the family.
            for decision in data["decisions"]:
                for name in self.REFERRER_HIDDEN:
                    decision[name] = None if name != "rationale" else ""
        return data


class RequestCreateSerializer(serializers.Serializer):
    family = serializers.IntegerField(help_text="A family you can see (GET /api/families/)")
    source = serializers.ChoiceField(choices=ReferralSource.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    reasons = serializers.CharField(max_length=8000)
    needs = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=OutcomeArea.objects.filter(active=True)
    )
    tried_already = serializers.CharField(max_length=8000, required=False, allow_blank=True, default="")
    consent_given = serializers.BooleanField()
    consent_by = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    consent_on = serializers.DateField(required=False, allow_null=True, default=None)
    consent_method = serializers.ChoiceField(
        choices=ConsentMethod.choices, required=False, allow_blank=True, default=""
    )
    no_consent_reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class DecideSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=TriageOutcome.choices)
    rationale = serializers.CharField(max_length=8000)
    decided_on = serializers.DateField()
    version = serializers.IntegerField(min_value=1, max_value=2_147_483_647)
    change_decision = serializers.BooleanField(required=False, default=False)
    signposting = serializers.CharField(max_length=8000, required=False, allow_blank=True, default="")
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), required=False, allow_null=True, default=None
    )
    allocated_to = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, memberships__role="practitioner").distinct(),
        required=False,
        allow_null=True,
        default=None,
    )
    social_care_reference = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    meeting = serializers.PrimaryKeyRelatedField(
        queryset=HubMeeting.objects.all(), required=False, allow_null=True, default=None
    )


def _with_decisions(queryset):
    return queryset.select_related("family").prefetch_related(
        "needs",
        Prefetch(
            "decisions",
            queryset=TriageDecision.objects.select_related(
                "allocated_to", "agency", "superseded_by"
            ).order_by("id"),
        ),
    )


class RequestViewSet(mixins.ListModelMixin, ApiViewSet):
    """Requests for support you sent, or that your hub triages."""

    serializer_class = RequestSerializer

    def get_queryset(self):
        return _with_decisions(requests_visible_to(user=self.user).order_by("-received_on", "-id"))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "_page_family_ids", None) is not None:
            context["visible_family_ids"] = set(
                families_visible_to(user=self.user)
                .filter(id__in=self._page_family_ids)
                .values_list("id", flat=True)
            )
        return context

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        self._page_family_ids = [r.family_id for r in page if r.family_id]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(parameters=[ID_PARAMETER])
    def retrieve(self, request: Request, pk: str) -> Response:
        item = request_for_user(user=self.user, request_id=pk)
        item = _with_decisions(RequestForSupport.objects.filter(pk=item.pk)).get()
        self._page_family_ids = [item.family_id] if item.family_id else []
        if item.family_id and item.referrer_id != self.user.pk:
            audit_view_family(actor=self.user, family_id=item.family_id, what=f"Request {item.pk}")
        return Response(self.get_serializer(item).data)

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def create(self, request: Request) -> Response:
        """Send a complete request for a family you can see (the pages also offer drafts and the search
        for families you cannot see)."""
        roles = roles_for(self.user)
        if not (roles.is_practitioner or roles.is_coordinator):
            raise PermissionDenied("Only practitioners and hub coordinators send requests for support")
        serializer = RequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            family = family_for_user(user=self.user, family_id=data.pop("family"))
        except Http404:
            # The same answer whether the family does not exist or is not yours to see.
            raise ValidationError({"family": ["Select a family you can see"]}) from None
        needs = data.pop("needs")
        with service_errors(serializer):
            draft = services.request_save_draft(actor=self.user, family=family, data=data, needs=needs)
            item = services.request_submit(actor=self.user, request=draft)
        self._page_family_ids = [family.pk]
        item = _with_decisions(RequestForSupport.objects.filter(pk=item.pk)).get()
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[ID_PARAMETER],
        request=DecideSerializer,
        responses={201: DecisionSerializer, 409: CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str) -> Response:
        """Record the hub's decision (coordinators of the request's hub). A decided request needs
        `change_decision: true` and gets a new decision that supersedes the previous one."""
        item = request_for_user(user=self.user, request_id=pk)
        if not can_decide(user=self.user, request=item):
            raise PermissionDenied("Only the coordinators of this request's hub can decide it")
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with service_errors(serializer):
            decision = services.triage_decide(
                actor=self.user, request=item, expected_version=data.pop("version"), **data
            )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)
