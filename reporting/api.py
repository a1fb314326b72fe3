"""GET /api/indicators/: the quarter's performance indicators as JSON (docs/reporting.md).

The same access rules as the dashboard (reporting.permissions): early help managers and quality auditors
any scope, agency managers their agency, hub coordinators their hub; anyone else, and a scope the caller
may not see, a 404. Not signed in: 401, like the rest of the API. The figures come from the same stored
snapshots as the dashboard (calculated on first use), with the previous quarter and the same quarter a
year before, the direction of travel and whether it is better or worse.

Routed in ehcase/api/urls.py as `path("indicators/", IndicatorsView.as_view(), name="indicators")`.
"""

from __future__ import annotations

import re

from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import renderers, serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ehcase.api.errors import EhcaseAutoSchema, ErrorSerializer
from ehcase.models import Agency
from hubs.models import Hub

from . import services
from .permissions import parse_quarter, require_reporting_access, scope_for
from .quarters import Quarter

# The largest id the scope parameters take (ids are positive; anything larger cannot exist here).
MAX_ID = 2_147_483_647
SLUG = re.compile(r"^\d{4}-\d{2}-q[1-4]$")
EMPTY_VALUE = {"value": None, "numerator": None, "denominator": None, "rows": []}


# --- Query parameters --------------------------------------------------------------------------


class IndicatorsQuerySerializer(serializers.Serializer):
    quarter = serializers.RegexField(
        SLUG,
        required=False,
        help_text="A financial-year quarter, for example `2026-27-q2` (July to September 2026). Default: "
        "the last quarter that has ended. A quarter that has not started is refused.",
    )
    hub = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="A hub's id (GET /api/hubs/). Default: every hub, or for a hub coordinator the first hub "
        "they coordinate.",
    )
    agency = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="An agency's id (GET /api/agencies/). Default: every agency, or for an agency manager the "
        "first agency they manage.",
    )

    def validate_quarter(self, value: str) -> Quarter:
        try:
            return parse_quarter(value)
        except ValueError:
            raise serializers.ValidationError("Enter a quarter that has started, like 2026-27-q2") from None


# --- The response ------------------------------------------------------------------------------


@extend_schema_field({"type": "number", "nullable": True})
class NumberField(serializers.Field):
    """A number as calculated (an integer count stays an integer), or null when there is no figure."""

    def to_representation(self, value):
        return value


class RowValueSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The category's key (an id, a code, or `none` for not recorded)")
    label = serializers.CharField()
    value = NumberField()
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)


class ValueSerializer(serializers.Serializer):
    value = NumberField(
        help_text="The figure: a count, a percentage (0 to 100), days, a mean or a mean score change"
    )
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)
    rows = RowValueSerializer(many=True, help_text="The breakdown by category (empty when there is none)")


class IndicatorSerializer(serializers.Serializer):
    title = serializers.CharField()
    section = serializers.CharField()
    unit = serializers.ChoiceField(choices=["count", "percent", "days", "score", "mean"])
    up_is_good = serializers.BooleanField(
        allow_null=True, help_text="Whether a rise is good news; null when neither direction is better"
    )
    definition = serializers.CharField(help_text="What is counted (docs/indicators.md)")
    current = ValueSerializer()
    previous = ValueSerializer(help_text="The previous quarter")
    year_before = ValueSerializer(help_text="The same quarter a year before")
    direction = serializers.ChoiceField(
        choices=[services.UP, services.DOWN, services.SAME],
        allow_null=True,
        help_text="From the previous quarter to this one; null when either figure is missing",
    )
    judgement = serializers.ChoiceField(
        choices=[services.BETTER, services.WORSE, services.NEUTRAL],
        allow_null=True,
        help_text="Whether the direction is good news for this indicator; null when there is no direction",
    )


class QuarterSerializer(serializers.Serializer):
    slug = serializers.CharField()
    label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="The last day of the quarter")
    previous = serializers.CharField(help_text="The previous quarter's slug")
    year_before = serializers.CharField(help_text="The slug of the same quarter a year before")


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ScopeSerializer(serializers.Serializer):
    hub = NamedSerializer(allow_null=True, help_text="null: every hub")
    agency = NamedSerializer(allow_null=True, help_text="null: every agency")


class IndicatorsSerializer(serializers.Serializer):
    quarter = QuarterSerializer()
    scope = ScopeSerializer()
    computed_at = serializers.DateTimeField(help_text="When these figures were calculated")
    indicators = serializers.DictField(child=IndicatorSerializer(), help_text="By indicator key")


def _value(value: dict) -> dict:
    return {**EMPTY_VALUE, **(value or {})}


def _named(model, pk: int | None) -> dict | None:
    if pk is None:
        return None
    name = model.objects.filter(pk=pk).values_list("name", flat=True).first()
    return {"id": pk, "name": name or ""}


class IndicatorsView(APIView):
    """The performance indicators of a quarter for a scope."""

    # As ehcase.api.views.ApiViewSet: token first, so a request without credentials is a 401.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [renderers.JSONRenderer]
    schema = EhcaseAutoSchema()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    @extend_schema(
        operation_id="indicators_retrieve",
        summary="Performance indicators for a quarter",
        description=(
            "Every indicator for the quarter, hub and agency, with the previous quarter and the same "
            "quarter a year before, the direction of travel and whether it is better or worse. "
            "Early help managers and quality auditors may ask for any scope; agency managers for "
            "their agency (any hub); hub coordinators for their hub (any agency). Anyone else, or a "
            "scope you may not see, gets 404. Figures are as at `computed_at` (recalculated nightly "
            "for the current and previous quarter)."
        ),
        parameters=[IndicatorsQuerySerializer],
        responses={
            200: IndicatorsSerializer,
            404: OpenApiResponse(
                response=ErrorSerializer,
                description="You may not see performance figures, or not for this hub or agency, or it "
                "does not exist (the API does not say which)",
            ),
        },
        tags=["indicators"],
    )
    def get(self, request: Request) -> Response:
        require_reporting_access(request.user)  # 404 before anything about the query is revealed
        query = IndicatorsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        quarter: Quarter = query.validated_data.get("quarter") or Quarter.default(timezone.localdate())
        scope = scope_for(
            request.user,  # type: ignore[arg-type]
            hub=query.validated_data.get("hub"),
            agency=query.validated_data.get("agency"),
        )
        current, sections = services.comparisons_with_figures(quarter, scope)
        indicators = {}
        for section, items in sections:
            for c in items:
                indicators[c.key] = {
                    "title": c.indicator.title,
                    "section": section.key,
                    "unit": c.unit,
                    "up_is_good": c.indicator.up_is_good,
                    "definition": c.indicator.definition,
                    "current": _value(c.current),
                    "previous": _value(c.previous),
                    "year_before": _value(c.year_before),
                    "direction": c.direction,
                    "judgement": c.judgement,
                }
        data = {
            "quarter": {
                "slug": quarter.slug,
                "label": quarter.label,
                "start": quarter.start,
                "end": quarter.end,
                "previous": quarter.previous().slug,
                "year_before": quarter.year_before().slug,
            },
            "scope": {"hub": _named(Hub, scope.hub_id), "agency": _named(Agency, scope.agency_id)},
            "computed_at": current.computed_at,
            "indicators": indicators,
        }
        return Response(IndicatorsSerializer(data).data)
