"""API views. Thin, like ehcase/views.py: access check, serializer, service, response.

Every read of case data goes through ehcase.permissions (families_visible_to, family_for_user,
people_visible_to, person_for_user) or ehcase.selectors.family_search: an object the caller may
not see is a 404, whatever the reason; one they may see but not change is a 403. Every write
goes through ehcase.services, which audits it.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, parsers, renderers, routers, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ehcase import selectors, services
from ehcase.audit import audit_view_family
from ehcase.models import Agency, Family, FamilyMember, Person, User
from ehcase.permissions import (
    can_change_family,
    families_visible_to,
    family_for_user,
    people_visible_to,
    person_for_user,
    roles_for,
)
from hubs.models import Hub

from . import serializers as s
from .errors import CONFLICT_RESPONSE, Conflict, EhcaseAutoSchema, ErrorSerializer

SEARCH_PARAMETERS = {"q", "date_of_birth"}
SEARCH_BY_POST = (
    "Search with POST /api/families/search/ and the terms in a JSON body: names and dates of birth "
    "are not accepted in URLs."
)
ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The record's id")


class Pagination(PageNumberPagination):
    """DRF's page numbers, but strict: `?page=` and `?page=last` are 404s like `?page=x`,
    rather than quietly meaning page 1 or the last page."""

    last_page_strings = ()

    def get_page_number(self, request, paginator):
        return request.query_params.get(self.page_query_param, 1)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


class ApiViewSet(viewsets.GenericViewSet):
    # Token first, so that a request without credentials gets 401 with `WWW-Authenticate: Token`
    # (DRF answers 403 when the first authenticator names no challenge).
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [parsers.JSONParser]
    renderer_classes = [renderers.JSONRenderer]
    pagination_class = Pagination
    schema = EhcaseAutoSchema()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # NoStoreForAuthenticatedMiddleware cannot see token users (DRF authenticates inside
        # the view), and every API response may hold case data: never cache one.
        add_never_cache_headers(response)
        return response

    @property
    def user(self) -> User:
        return self.request.user  # type: ignore[return-value]


class ApiRootView(routers.APIRootView):
    """GET /api/: links to the collections, with the same authentication as the rest of the API."""

    authentication_classes = ApiViewSet.authentication_classes
    renderer_classes = ApiViewSet.renderer_classes


# --- Reference data ----------------------------------------------------------------------------


@extend_schema_view(retrieve=extend_schema(parameters=[ID_PARAMETER]))
class AgencyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Agencies in the partnership. Not case data: any signed-in user may read them."""

    queryset = Agency.objects.order_by("name", "id")
    serializer_class = s.AgencySerializer


@extend_schema_view(retrieve=extend_schema(parameters=[ID_PARAMETER]))
class HubViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Locality hubs and the areas they cover. Not case data: any signed-in user may read them."""

    queryset = Hub.objects.prefetch_related("areas").order_by("name", "id")
    serializer_class = s.HubSerializer


# --- Families ----------------------------------------------------------------------------------


def _family_detail(*, user: User, family: Family) -> dict:
    """The family with its current members, in a fixed number of queries."""
    members = list(
        FamilyMember.objects.filter(family=family, end_date__isnull=True)
        .select_related("person")
        .order_by("role", "person__date_of_birth", "id")
    )
    family.current_member_list = members  # type: ignore[attr-defined]
    family.current_members = len(members)  # type: ignore[attr-defined]
    family.can_change = can_change_family(user=user, family=family)  # type: ignore[attr-defined]
    return s.FamilyDetailSerializer(family).data


def _require_change(*, user: User, family: Family) -> None:
    if not can_change_family(user=user, family=family):
        raise PermissionDenied("You can see this family's record but not change it")


class FamilyViewSet(ApiViewSet):
    """Families the caller may see (ehcase.permissions), with search and audited reads."""

    serializer_class = s.FamilySerializer

    def get_queryset(self) -> QuerySet[Family]:
        # Only for schema generation and DRF's introspection; each action below reads through
        # the access layer itself.
        return families_visible_to(user=self.user)

    @extend_schema(
        summary="List the families you may see",
        description="To search, use POST /api/families/search/: search terms sent here as query "
        "parameters (`q`, `date_of_birth`) are refused with 400, so that names and dates of birth "
        "never appear in URLs or logs.",
        responses={200: s.FamilySerializer(many=True), 400: ErrorSerializer},
    )
    def list(self, request: Request) -> Response:
        """The families you may see, by name."""
        if SEARCH_PARAMETERS & set(request.query_params):
            raise ValidationError({"detail": SEARCH_BY_POST})
        page = self.paginate_queryset(selectors.family_search(user=self.user))
        return self.get_paginated_response(s.FamilySerializer(page, many=True).data)

    @extend_schema(
        summary="Search the families you may see",
        description="The same search as the web page, with the terms in a JSON body. Further pages: "
        "send the same body to `?page=N`.",
        request=s.FamilySearchSerializer,
        responses=s.FamilySerializer(many=True),
    )
    @action(detail=False, methods=["post"], url_path="search")
    def search(self, request: Request) -> Response:
        """Families you may see matching every word of `q` and, when given, with a member born on
        `date_of_birth`."""
        search = s.FamilySearchSerializer(data=request.data)
        search.is_valid(raise_exception=True)
        families = selectors.family_search(
            user=self.user,
            text=search.validated_data.get("q", ""),
            date_of_birth=search.validated_data.get("date_of_birth"),
        )
        page = self.paginate_queryset(families)
        return self.get_paginated_response(s.FamilySerializer(page, many=True).data)

    @extend_schema(
        summary="A family, with the people in the household",
        description="Reading a family is recorded in its audit trail, as on the web page.",
        parameters=[ID_PARAMETER],
        responses=s.FamilyDetailSerializer,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        family = family_for_user(user=self.user, family_id=pk)
        audit_view_family(actor=self.user, family_id=family.pk)
        return Response(_family_detail(user=self.user, family=family))

    @extend_schema(
        summary="Add a family",
        description="Practitioners and hub coordinators only. A practitioner can see and change "
        "the family they create.",
        request=s.FamilyWriteSerializer,
        responses={201: s.FamilyDetailSerializer},
    )
    def create(self, request: Request) -> Response:
        if not roles_for(self.user).can_create_families:
            raise PermissionDenied("Only practitioners and hub coordinators can add families")
        serializer = s.FamilyWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        family = services.family_create(actor=self.user, data=serializer.validated_data)
        return Response(_family_detail(user=self.user, family=family), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a family's details",
        parameters=[ID_PARAMETER],
        request=s.FamilyUpdateSerializer,
        responses={200: s.FamilyDetailSerializer, 409: CONFLICT_RESPONSE},
    )
    def update(self, request: Request, pk: str) -> Response:
        """Send every field and the `version` you read. Needs change rights on the family."""
        return self._update(request, pk, partial=False)

    @extend_schema(
        summary="Change some of a family's details",
        parameters=[ID_PARAMETER],
        request=s.FamilyUpdateSerializer,
        responses={200: s.FamilyDetailSerializer, 409: CONFLICT_RESPONSE},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Send the fields to change and the `version` you read. Needs change rights on the family."""
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: str, *, partial: bool) -> Response:
        family = family_for_user(user=self.user, family_id=pk)
        _require_change(user=self.user, family=family)
        serializer = s.FamilyUpdateSerializer(family, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected_version = data.pop("version")
        try:
            family = services.family_update(
                actor=self.user, family=family, data=data, expected_version=expected_version
            )
        except services.ConcurrentEditError:
            raise Conflict from None
        return Response(_family_detail(user=self.user, family=family))

    @extend_schema(
        summary="Add a new person to a family's household",
        parameters=[ID_PARAMETER],
        request=s.MemberCreateSerializer,
        responses={201: s.FamilyMemberSerializer},
    )
    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request: Request, pk: str) -> Response:
        """Record a new person and their joining the household. Needs change rights on the family."""
        family = family_for_user(user=self.user, family_id=pk)
        _require_change(user=self.user, family=family)
        serializer = s.MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            member = services.person_add_to_family(
                actor=self.user,
                family=family,
                person_data=serializer.validated_data["person"],
                role=serializer.validated_data["role"],
                start_date=serializer.validated_data["start_date"],
            )
        except services.DuplicateIdentifierError as exc:
            raise ValidationError({"person": {exc.field: [exc.message]}}) from None
        return Response(s.FamilyMemberSerializer(member).data, status=status.HTTP_201_CREATED)


# --- People ------------------------------------------------------------------------------------


def _families_of(*, user: User, person: Person) -> list[Family]:
    """The visible families the person is or was a member of, current memberships first."""
    memberships = (
        FamilyMember.objects.filter(person=person, family__in=families_visible_to(user=user))
        .select_related("family")
        .order_by("start_date", "id")
    )
    seen: dict[int, Family] = {}
    for member in sorted(memberships, key=lambda m: not m.is_current):
        seen.setdefault(member.family_id, member.family)
    return list(seen.values())


class PersonViewSet(ApiViewSet):
    """People in the families the caller may see."""

    serializer_class = s.PersonSerializer

    def get_queryset(self) -> QuerySet[Person]:
        return people_visible_to(user=self.user)

    @extend_schema(summary="List the people you may see", responses=s.PersonSerializer(many=True))
    def list(self, request: Request) -> Response:
        """People who are or were in a household you may see."""
        page = self.paginate_queryset(people_visible_to(user=self.user))
        return self.get_paginated_response(s.PersonSerializer(page, many=True).data)

    @extend_schema(
        summary="A person",
        description="Reading a person is recorded in the audit trail of each of their families "
        "that you may see, as on the web page.",
        parameters=[ID_PARAMETER],
        responses=s.PersonSerializer,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        person = person_for_user(user=self.user, person_id=pk)
        for family in _families_of(user=self.user, person=person):
            audit_view_family(actor=self.user, family_id=family.pk, what=f"Person record {person.pk}")
        return Response(s.PersonSerializer(person).data)

    @extend_schema(
        summary="Change a person's details",
        parameters=[ID_PARAMETER],
        request=s.PersonUpdateSerializer,
        responses={200: s.PersonSerializer, 409: CONFLICT_RESPONSE},
    )
    def update(self, request: Request, pk: str) -> Response:
        """Send every field and the `version` you read. Needs change rights on one of the
        person's families."""
        return self._update(request, pk, partial=False)

    @extend_schema(
        summary="Change some of a person's details",
        parameters=[ID_PARAMETER],
        request=s.PersonUpdateSerializer,
        responses={200: s.PersonSerializer, 409: CONFLICT_RESPONSE},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Send the fields to change and the `version` you read. Needs change rights on one of
        the person's families."""
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: str, *, partial: bool) -> Response:
        person = person_for_user(user=self.user, person_id=pk)
        # As on the web page: a person is changed through a family of theirs that the caller
        # may change; that family's audit trail records it.
        families = _families_of(user=self.user, person=person)
        family = next((f for f in families if can_change_family(user=self.user, family=f)), None)
        if family is None:
            raise PermissionDenied("You can see this person's record but not change it")
        serializer = s.PersonUpdateSerializer(person, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected_version = data.pop("version")
        try:
            person = services.person_update(
                actor=self.user,
                person=person,
                data=data,
                expected_version=expected_version,
                family_id=family.pk,
            )
        except services.ConcurrentEditError:
            raise Conflict from None
        except services.DuplicateIdentifierError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        return Response(s.PersonSerializer(person).data)
