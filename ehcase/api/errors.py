"""Errors of the API: the exception handler, the 409 for stale versions, and the OpenAPI schema
class that documents the error responses every operation can give (so that the schema lists
every status a client can receive, and schemathesis can hold the API to it)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, is_patched_serializer
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, parsers, permissions, serializers
from rest_framework.views import exception_handler as drf_exception_handler

CONFLICT_MESSAGE = (
    "Someone else changed this record after you read it, so your changes have not been saved. "
    "Read the record again, reapply your changes and send them with the new version."
)


class Conflict(exceptions.APIException):
    """The client's `version` is stale: optimistic locking refused the change."""

    status_code = 409
    default_detail = CONFLICT_MESSAGE
    default_code = "conflict"


def exception_handler(exc, context):
    """DRF's handler, with the same boring 404 for every object a user may not see."""
    if isinstance(exc, Http404):
        exc = Http404("Not found.")
    if isinstance(exc, PermissionDenied):
        # The messages raised by ehcase.permissions are safe to show: they only tell a user
        # who can already see the record that they may not change it.
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)


# --- OpenAPI -----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """What went wrong, in words a user can act on."""

    detail = serializers.CharField()

    class Meta:
        ref_name = "Error"


_VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Field errors: each key is a field name (or `non_field_errors`) with a list of messages; "
        "nested fields give nested objects. A body that is not valid JSON gives `detail`."
    ),
    "additionalProperties": {},
}
_ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: see the field errors",
    "401": "Not signed in: send `Authorization: Token <key>` (see /api/token/) or a session cookie",
    "403": "Signed in, but not allowed to do this",
    "404": "Not found, or not visible to you (the API does not say which)",
    "409": "The record changed after you read it (stale `version`); nothing was saved",
    "429": "Too many requests (ehcase.api.throttling): wait the seconds given in `Retry-After`",
}
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class EhcaseAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, adding the error responses an operation can give:

    - 401 when the operation needs a signed-in user;
    - 403 on writes (permission checks, CSRF for session users);
    - 404 when there is an id in the path or a page number in the query;
    - 400 when there is a request body or a query parameter to validate;
    - 409 is declared by the view (extend_schema) where optimistic locking applies;
    - 429 on every operation: the rate limits (ehcase.api.throttling).

    It also honours `Meta.required_when_partial` on serializers: fields (the record's
    `version`) that a PATCH must still send.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        in_path = any(p.get("in") == "path" for p in parameters)
        query = {p["name"] for p in parameters if p.get("in") == "query"}
        security = operation.get("security", [])
        codes = []
        if operation.get("requestBody") or query - {"page"}:
            codes.append("400")
        if security and {} not in security:
            codes.append("401")
        if self.method in _UNSAFE_METHODS:
            codes.append("403")
        if in_path or "page" in query:
            codes.append("404")
        codes.append("429")
        responses = operation["responses"]
        for code in codes:
            responses.setdefault(code, self._error_response(code))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_response(self, code: str) -> dict:
        if code == "400":
            component = ResolvedComponent(
                name="ValidationError",
                type=ResolvedComponent.SCHEMA,
                object="ValidationError",
                schema=_VALIDATION_ERROR_SCHEMA,
            )
            self.registry.register_on_missing(component)
        else:
            component = self.resolve_serializer(ErrorSerializer, "response")
        return {
            "content": {"application/json": {"schema": component.ref}},
            "description": _ERROR_DESCRIPTIONS[code],
        }

    def _map_basic_serializer(self, serializer, direction):
        result = super()._map_basic_serializer(serializer, direction)
        always = getattr(getattr(serializer, "Meta", None), "required_when_partial", ())
        if always and is_patched_serializer(serializer, direction):
            result["required"] = sorted(set(result.get("required", [])) | set(always))
        return result


# The 409 response, for extend_schema(responses=...) on views that take a `version`.
CONFLICT_RESPONSE = OpenApiResponse(response=ErrorSerializer, description=_ERROR_DESCRIPTIONS["409"])


class ObtainAuthTokenSchema(OpenApiViewExtension):
    """Documents /api/token/ (DRF's obtain_auth_token, routed in ehcase/urls.py) as it behaves:
    no authentication needed, a JSON body, 400 for a wrong username or password."""

    target_class = "rest_framework.authtoken.views.ObtainAuthToken"
    match_subclasses = True
    priority = 1  # ahead of drf-spectacular's own contrib extension for this view

    def view_replacement(self):
        class TokenSchema(EhcaseAutoSchema):
            def get_summary(self):
                return "Exchange a username, password and current code for an API token"

            def get_description(self):
                return (
                    "Send the token on every request as `Authorization: Token <key>`. "
                    "`otp` is the code the authenticator app shows now, or a recovery code "
                    "(docs/two-factor.md). A wrong username, password or code gives 400."
                )

        class DocumentedObtainAuthToken(self.target):
            schema = TokenSchema()
            authentication_classes = ()
            permission_classes = (permissions.AllowAny,)
            parser_classes = (parsers.JSONParser,)

        return DocumentedObtainAuthToken
