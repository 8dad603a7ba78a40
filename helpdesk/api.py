"""API plumbing shared by every app: permissions, the error shape, pagination."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from helpdesk.errors import ApplicationError

M = TypeVar("M", bound=Model)
# PostgreSQL bigint: a larger id in a URL cannot exist, so it is a 404 rather than a query error.
MAX_ID = 2**63 - 1


# Field classes and the JSON types they take, first match wins (a ChoiceField is worked out from
# its choices). Read once per field of every request: built once, here.
_JSON_TYPES: tuple[tuple[type | tuple[type, ...], tuple[type, ...] | None], ...] = (
    (serializers.BooleanField, (bool,)),
    (serializers.IntegerField, (int,)),
    (serializers.FloatField, (int, float)),
    (serializers.DecimalField, (int, float, str)),
    ((serializers.MultipleChoiceField, serializers.ListField, serializers.ListSerializer), (list,)),
    (serializers.ManyRelatedField, (list,)),
    (serializers.PrimaryKeyRelatedField, (int,)),
    (serializers.SlugRelatedField, (str,)),
    ((serializers.DictField, serializers.Serializer), (dict,)),
    (serializers.JSONField, None),
    (
        (
            serializers.CharField,
            serializers.DateTimeField,
            serializers.DateField,
            serializers.TimeField,
            serializers.DurationField,
            serializers.UUIDField,
        ),
        (str,),
    ),  # fmt: skip
)


def json_types(field: serializers.Field) -> tuple[type, ...] | None:
    """The JSON types a writable field takes, as the schema states them; None: any JSON value.

    DRF is lenient where the schema is not: a CharField takes 12, an IntegerField "12", a
    BooleanField "yes" or 1, a PrimaryKeyRelatedField "7". Clients are generated from the schema,
    so what it calls a string must be a string."""
    if isinstance(field, serializers.ChoiceField) and not isinstance(field, serializers.MultipleChoiceField):
        kinds = {type(value) for value in field.choices}
        return tuple(kinds) if kinds and kinds <= {str, int} else None
    for classes, types in _JSON_TYPES:
        if isinstance(field, classes):
            return types
    return None


_JSON_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def json_type_errors(field: serializers.Field, value) -> list[str] | dict | None:
    """Why the value is not of the field's JSON type (also inside lists and maps), or None."""
    if value is None:
        return None  # the field's own allow_null decides
    types = json_types(field)
    if types is not None and (
        not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
    ):
        names = {
            bool: "boolean",
            int: "integer",
            float: "number",
            str: "string",
            list: "array",
            dict: "object",
        }
        return [f"Must be a JSON {' or '.join(names[t] for t in types)}."]
    max_length = getattr(field, "max_length", None)
    is_text = isinstance(value, str) and isinstance(field, serializers.CharField)
    # As sent: DRF trims before it checks the length, the schema's maxLength does not.
    if is_text and max_length is not None and len(value) > max_length:
        return [f"Ensure this field has no more than {max_length} characters."]
    child = getattr(field, "child", None) or getattr(field, "child_relation", None)
    if isinstance(value, list) and child is not None:
        items = {i: e for i, item in enumerate(value) if (e := json_type_errors(child, item))}
        return items or None
    if isinstance(value, dict) and isinstance(field, serializers.DictField):
        errors = {str(k): e for k, item in value.items() if (e := json_type_errors(field.child, item))}
        return errors or None
    return None


class StrictJson:
    """Serializer mixin: every value must already have the JSON type the schema gives its field
    (see json_types); nested serializers with the mixin check their own fields. A serializer that
    refuses keys it does not know sets `closed = True`, and its schema says so."""

    closed = False

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():  # type: ignore[attr-defined]
                if field.read_only or field.field_name not in data:
                    continue
                problem = json_type_errors(field, data[field.field_name])
                if problem:
                    errors[name] = problem
            if errors:
                raise serializers.ValidationError(errors, code="invalid_type")
        return super().to_internal_value(data)  # type: ignore[misc]


def query_values(request) -> dict[str, str]:
    """The query string as a plain dict, for a filter serializer: DRF reads a QueryDict as a
    form, where an empty value means "not sent", so `?tag=` passed as no filter while the schema
    says a tag is at least one character. Validated as JSON values, `?tag=` is a 400 naming it."""
    return request.query_params.dict()


def strict_page_size(request, default: int, maximum: int) -> int:
    """`page_size` as the schema says: an integer from 1 to `maximum`; anything else is a 400."""
    raw = request.query_params.get("page_size")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise exceptions.ValidationError(
            {"page_size": [f"A whole number from 1 to {maximum}."]}, code="invalid_page_size"
        )
    return int(raw)


CURSOR_DESCRIPTION = "The page after this one, as given in `next`; any other value is a 404."


class InvalidCursor(exceptions.NotFound):
    """A cursor we did not hand out (altered, or from another list): the page it names does not
    exist, so 404, with `fields.cursor` saying which parameter. Cursors are opaque: the schema can
    only call them strings, so a well-formed request may carry a bad one (not a 400)."""

    default_code = "invalid_cursor"


class KeysetIdPagination(CursorPagination):
    """Keyset pagination on id: the cost of a page does not grow with the table."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = "This page link is not valid."

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request) -> int:
        return strict_page_size(request, self.page_size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == "cursor":
                parameter["description"] = CURSOR_DESCRIPTION
            if parameter["name"] == "page_size":
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters

    def decode_cursor(self, request):
        """Decode the cursor and check its position fits the sort column, so a forged one is a 400."""
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise self._invalid() from exc
        if cursor is None or cursor.position is None:
            return cursor
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            value = field.to_python(cursor.position)
        except DjangoValidationError as exc:
            raise self._invalid() from exc
        if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
            raise self._invalid()
        return cursor

    def _invalid(self) -> InvalidCursor:
        return InvalidCursor(self.invalid_cursor_message)


class KeysetOldestFirstPagination(BasePagination):
    """Keyset pagination on (created_at, id), oldest first, for timelines.

    The cursor carries the last row's (created_at, id) and the next page is the rows after it in
    one row-value comparison, an index condition on (ticket, created_at, id): page 100 costs what
    page 1 does, and events sharing a timestamp (bulk inserts) are neither skipped nor repeated.
    Forward links only: a timeline is read from its start.
    """

    page_size = 50
    max_page_size = 200
    invalid_cursor_message = KeysetIdPagination.invalid_cursor_message

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self._page_size(request)
        if cursor := request.query_params.get("cursor"):
            created_at, pk = self._decode(cursor)
            table = queryset.model._meta.db_table
            # Safe: the table name comes from model metadata, the values travel as parameters.
            after = RawSQL(  # noqa: S611
                f'("{table}"."created_at", "{table}"."id") > (%s, %s)', [created_at, pk], BooleanField()
            )
            queryset = queryset.filter(after)
        rows = list(queryset.order_by("created_at", "id")[: size + 1])
        self.next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            self.next_cursor = self._encode(rows[-1].created_at, rows[-1].pk)
        return rows

    def get_paginated_response(self, data):
        next_url = None
        if self.next_cursor:
            next_url = replace_query_param(self.request.build_absolute_uri(), "cursor", self.next_cursor)
        return Response({"next": next_url, "previous": None, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "required": False, "in": "query", "schema": {"type": "string"},
             "description": CURSOR_DESCRIPTION},
            {"name": "page_size", "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
             "description": f"Rows per page, at most {self.max_page_size}."},
        ]  # fmt: skip

    def _page_size(self, request) -> int:
        return strict_page_size(request, self.page_size, self.max_page_size)

    @staticmethod
    def _encode(created_at: datetime, pk: int) -> str:
        raw = json.dumps([created_at.isoformat(), pk]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, cursor: str) -> tuple[datetime, int]:
        try:
            created_at, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            when = parse_datetime(created_at) if isinstance(created_at, str) else None
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise self._invalid() from exc
        if when is None or not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk <= MAX_ID:
            raise self._invalid()
        return when, pk

    def _invalid(self) -> InvalidCursor:
        return InvalidCursor(self.invalid_cursor_message)


def get_object_by_pk(queryset: QuerySet[M], pk: int) -> M:
    """Return the row with this id, or raise NotFound (also for ids no row could have)."""
    if not 0 < pk <= MAX_ID:
        raise exceptions.NotFound()
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise exceptions.NotFound()
    return obj


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
            if not isinstance(v, dict)
            else [str(v)]
            for k, v in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(x) for x in detail]}
    return {}


# Business-rule refusals that are about the object's present state, not about the request: the
# same request can succeed once the state changes (another manager approves, the run ends…).
CONFLICT_CODES = frozenset(
    {
        "already_published",
        "conflict",  # a write made on a version someone changed since (tickets' If-Match)
        "flow_not_published",
        "invalid_state",
        "merge_already",
        "merge_into_retired",
        "opted_out",
        "run_active",
        "run_not_active",
        "run_not_expired",
    }
)


def application_status(exc: ApplicationError) -> int:
    """The status a service's refusal answers with. 400 is kept for requests that break the
    schema (types, enums, lengths, required fields: the serializers' errors); a request the schema
    allows but a business rule refuses (a phone number no numbering plan has, a flow whose steps
    lead nowhere, a customer merged into itself) is a 422, one that conflicts with the object's
    state a 409. Clients generated from the schema can tell their own bug from a refusal."""
    if exc.code == "not_found":
        return 404
    return 409 if exc.code in CONFLICT_CODES else 422


def exception_handler(exc, context):
    """Answer every error as {"message", "code", "fields"} with a 4xx a person can act on."""
    if isinstance(exc, ApplicationError):
        return Response(
            {"message": exc.message, "code": exc.code, "fields": exc.fields}, status=application_status(exc)
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"message": "Invalid input.", "code": "invalid", "fields": _flatten(exc.detail)}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        fields = {"cursor": [message]} if isinstance(exc, InvalidCursor) else {}
        response.data = {"message": message, "code": getattr(exc, "default_code", "error"), "fields": fields}
    return response


ERROR_SCHEMA = {
    "type": "object",
    "required": ["message", "code", "fields"],
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
ERROR_RESPONSES = {
    "400": "The request is not valid: `fields` says what to change.",
    "401": "No credentials, or a token that expired or was revoked.",
    "403": "Signed in, but not allowed (e.g. not a manager).",
    "404": "No such object, or one this user may not see.",
    "409": "The object changed state meanwhile (e.g. a broadcast already started).",
    "422": "Well formed, but a business rule refuses it: `code` says which, `fields` where.",
    "429": "Too many attempts: wait Retry-After seconds.",
}


def _closed_component_names() -> set[str]:
    """The schema component names of StrictJson serializers with `closed = True`."""
    found, todo = set(), list(StrictJson.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.closed:
            found.add(cls.__name__.removesuffix("Serializer"))
    return found


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the errors every view can
    answer, all in the one shape of `exception_handler` (clients are generated from the schema)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for name in _closed_component_names():
        for component in (name, f"{name}Request"):
            if component in components:
                components[component]["additionalProperties"] = False
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = ["400", "401", "403", "422", "429"]
            if "{" in path:
                codes += ["404", "409"]
            elif method in ("post", "patch", "put", "delete"):
                codes.append("409")
            if any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                codes.append("404")  # a cursor we did not hand out (InvalidCursor)
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "description": ERROR_RESPONSES[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result


def not_found(request, exception=None):
    """Django's 404 for a URL no route matched (e.g. /api/v1/tickets/abc/): JSON under /api/, in
    the API's one error shape; the usual page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "code": "not_found", "fields": {}}, status=404)
    return page_not_found(request, exception)
