"""API plumbing shared by every app: permissions, the error shape, pagination."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from helpdesk.errors import ApplicationError

M = TypeVar("M", bound=Model)
# PostgreSQL bigint: a larger id in a URL cannot exist, so it is a 404 rather than a query error.
MAX_ID = 2**63 - 1


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

    def _invalid(self) -> exceptions.ValidationError:
        return exceptions.ValidationError({"cursor": [self.invalid_cursor_message]}, code="invalid_cursor")


class KeysetOldestFirstPagination(KeysetIdPagination):
    """Keyset pagination in the order things happened, for timelines (ties broken by id)."""

    ordering = ("created_at", "id")  # type: ignore[assignment]  # DRF takes a tuple; stubs say str


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


def exception_handler(exc, context):
    """Answer every error as {"message", "code", "fields"} with a 4xx a person can act on."""
    if isinstance(exc, ApplicationError):
        status = 404 if exc.code == "not_found" else 400
        return Response({"message": exc.message, "code": exc.code, "fields": exc.fields}, status=status)
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
        response.data = {"message": message, "code": getattr(exc, "default_code", "error"), "fields": {}}
    return response
