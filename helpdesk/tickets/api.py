"""Ticket API: tickets, their timeline, notes and replies, queues and macros.

Views validate with serializers and call helpdesk.tickets.services; they never write models.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from helpdesk.api import (
    InvalidCursor,
    KeysetIdPagination,
    KeysetOldestFirstPagination,
    get_object_by_pk,
    query_values,
    strict_page_size,
)
from helpdesk.customers.serializers import CustomerSerializer
from helpdesk.errors import ApplicationError
from helpdesk.tickets import selectors, services
from helpdesk.tickets.models import Macro, Queue, Ticket, TimelineEvent
from helpdesk.tickets.serializers import (
    MacroSerializer,
    NoteSerializer,
    QueueSerializer,
    ReplySerializer,
    SearchCustomersPageSerializer,
    SearchMessagesPageSerializer,
    SearchParamsSerializer,
    SearchTicketsPageSerializer,
    TicketCreateSerializer,
    TicketFilterSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
    TimelineEventSerializer,
)

SEARCH_MAX_PAGE_SIZE = 100


def _tickets(user) -> QuerySet[Ticket]:
    """The tickets this user may see (a hidden one answers 404, like a missing one)."""
    return selectors.visible_tickets(user).select_related("customer", "assignee").prefetch_related("tags")


def _ticket(request, pk: int) -> Ticket:
    return get_object_by_pk(selectors.visible_tickets(request.user), pk)


def _filtered(qs: QuerySet[Ticket], filters: dict, agent) -> QuerySet[Ticket]:
    """The queue's own filters (selectors.filtered_tickets); the API lists every status unless asked,
    and says "active" for the queue's default of new, open and pending."""
    state = filters.get("status", "")
    matching = selectors.filtered_tickets(
        agent=agent,
        filters=selectors.QueueFilters(
            status="" if state == "active" else (state or "all"),
            queue=filters.get("queue"),
            assignee=filters.get("assignee", ""),
            priority=filters.get("priority"),
            channel=filters.get("channel", ""),
            language=filters.get("language", ""),
            crisis=filters.get("crisis"),
            tag=filters.get("tag", ""),
            customer=filters.get("customer"),
        ),
    )
    return qs & matching


class TicketListCreateApi(generics.GenericAPIView):
    serializer_class = TicketSerializer
    pagination_class = KeysetIdPagination

    @extend_schema(
        parameters=[TicketFilterSerializer],
        responses=TicketSerializer(many=True),
        summary="List tickets, newest first (status=active for new, open and pending)",
    )
    def get(self, request):
        filters = TicketFilterSerializer(data=query_values(request))
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(_filtered(_tickets(request.user), filters.validated_data, request.user))
        return self.get_paginated_response(TicketSerializer(page, many=True).data)

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketSerializer})
    def post(self, request):
        data = TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        first_message = fields.pop("first_message", "").strip()
        # One action for the client: the ticket and its first note exist together or not at all.
        with transaction.atomic():
            ticket = services.create_ticket(**fields)
            if first_message:
                services.add_note(ticket=ticket, author=request.user, body=first_message)
        return Response(TicketSerializer(_ticket(request, ticket.pk)).data, status=status.HTTP_201_CREATED)


IF_MATCH = re.compile(r'^(?:W/)?"v?([0-9]{1,9})"$|^([0-9]{1,9})$')
ETAG_HEADER = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=True,
    description='The ticket\'s version, `"v<version>"`: send it back as If-Match.',
)  # fmt: skip
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    pattern=r'^(W/)?"v?[0-9]{1,9}"$|^[0-9]{1,9}$',
    description="The ETag (or version) you read: a ticket changed since answers 409 `conflict`.",
)  # fmt: skip


def _with_etag(response: Response, ticket_data: dict) -> Response:
    response["ETag"] = f'"v{ticket_data["version"]}"'
    return response


def _if_match(request) -> int | None:
    """The version the client read, from If-Match; None when it sent none."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    match = IF_MATCH.match(raw.strip())
    if match is None:
        raise ValidationError({"If-Match": ['The ETag as given, e.g. "v3".']}, code="invalid")
    return int(match.group(1) or match.group(2))


class TicketDetailApi(generics.GenericAPIView):
    serializer_class = TicketSerializer

    @extend_schema(responses=TicketSerializer, parameters=[ETAG_HEADER])
    def get(self, request, pk: int):
        data = TicketSerializer(_ticket(request, pk)).data
        return _with_etag(Response(data), data)

    @extend_schema(
        request=TicketUpdateSerializer, responses=TicketSerializer, parameters=[IF_MATCH_HEADER, ETAG_HEADER]
    )
    def patch(self, request, pk: int):
        ticket = _ticket(request, pk)
        seen = _if_match(request)
        data = TicketUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.update_ticket(
            ticket=ticket, actor=request.user, seen_version=seen, strict=True, **data.validated_data
        )
        fresh = TicketSerializer(_ticket(request, pk)).data
        return _with_etag(Response(fresh), fresh)


class TimelineApi(generics.GenericAPIView):
    serializer_class = TimelineEventSerializer
    pagination_class = KeysetOldestFirstPagination

    @extend_schema(
        responses=TimelineEventSerializer(many=True), summary="The ticket's timeline, oldest first"
    )
    def get(self, request, pk: int):
        ticket = get_object_by_pk(selectors.visible_tickets(request.user), pk)
        events = TimelineEvent.objects.filter(ticket=ticket).select_related("author")
        page = self.paginate_queryset(events)
        return self.get_paginated_response(TimelineEventSerializer(page, many=True).data)


class NoteApi(generics.GenericAPIView):
    serializer_class = NoteSerializer

    @extend_schema(request=NoteSerializer, responses={201: TimelineEventSerializer})
    def post(self, request, pk: int):
        ticket = get_object_by_pk(selectors.visible_tickets(request.user), pk)
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.add_note(ticket=ticket, author=request.user, body=data.validated_data["body"])
        return Response(TimelineEventSerializer(event).data, status=status.HTTP_201_CREATED)


class ReplyApi(generics.GenericAPIView):
    serializer_class = ReplySerializer

    @extend_schema(
        request=ReplySerializer,
        responses={201: TimelineEventSerializer},
        summary="Send a reply; delivery_status is 'blocked' with delivery_error when it cannot go out",
    )
    def post(self, request, pk: int):
        ticket = get_object_by_pk(selectors.visible_tickets(request.user), pk)
        data = ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.send_reply(
            ticket=ticket,
            author=request.user,
            body=data.validated_data["body"],
            channel=data.validated_data.get("channel", ""),
        )
        return Response(TimelineEventSerializer(event).data, status=status.HTTP_201_CREATED)


class QueueListApi(generics.ListAPIView):
    serializer_class = QueueSerializer
    pagination_class = KeysetIdPagination
    queryset = Queue.objects.all()


class MacroListApi(generics.ListAPIView):
    serializer_class = MacroSerializer
    pagination_class = KeysetIdPagination
    queryset = Macro.objects.all()


_PAGE_SIZE_PARAMETER = OpenApiParameter(
    "page_size",
    {"type": "integer", "minimum": 1, "maximum": SEARCH_MAX_PAGE_SIZE},
    description=f"Results per page, 1 to {SEARCH_MAX_PAGE_SIZE} (default {selectors.SEARCH_PAGE_SIZE}).",
)


class SearchApi(generics.GenericAPIView):
    """One kind of search result, a page at a time (keyset cursor), with an exact or estimated count."""

    kind = "messages"
    item_serializer: type = TimelineEventSerializer

    def get(self, request):
        params = SearchParamsSerializer(data=query_values(request))
        params.is_valid(raise_exception=True)
        data = params.validated_data
        size = strict_page_size(request, selectors.SEARCH_PAGE_SIZE, SEARCH_MAX_PAGE_SIZE)
        filters = selectors.SearchFilters(
            channel=data.get("channel", ""),
            status=data.get("status", ""),
            queue=data.get("queue"),
            crisis=data.get("crisis"),
            since=data.get("since"),
            until=data.get("until"),
        )
        try:
            page = selectors.search_page(
                user=request.user, q=data["q"], kind=self.kind, filters=filters,
                sort=data.get("sort", "relevance"), after=data.get("cursor", ""), page_size=size,
            )  # fmt: skip
        except ApplicationError as exc:
            if exc.code == "invalid_cursor":
                raise InvalidCursor(exc.message) from exc
            raise
        assert page.count is not None
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        return Response(
            {
                "count": page.count.value,
                "count_exact": page.count.exact,
                "sort": page.sort,
                "next": next_url,
                "results": self.item_serializer(page.results, many=True).data,
            }
        )


class SearchMessagesApi(SearchApi):
    kind = "messages"
    item_serializer = TimelineEventSerializer
    serializer_class = TimelineEventSerializer

    @extend_schema(
        parameters=[SearchParamsSerializer, _PAGE_SIZE_PARAMETER],
        responses=SearchMessagesPageSerializer,
        summary="Search every message and note of the tickets this user sees, in any script",
    )
    def get(self, request):
        return super().get(request)


class SearchTicketsApi(SearchApi):
    kind = "tickets"
    item_serializer = TicketSerializer
    serializer_class = TicketSerializer

    @extend_schema(
        parameters=[SearchParamsSerializer, _PAGE_SIZE_PARAMETER],
        responses=SearchTicketsPageSerializer,
        summary="Search the subjects of the tickets this user sees",
    )
    def get(self, request):
        return super().get(request)


class SearchCustomersApi(SearchApi):
    kind = "customers"
    item_serializer = CustomerSerializer
    serializer_class = CustomerSerializer

    @extend_schema(
        parameters=[SearchParamsSerializer, _PAGE_SIZE_PARAMETER],
        responses=SearchCustomersPageSerializer,
        summary="Search customers by name, phone (any digits) or email; the ticket filters do not apply",
    )
    def get(self, request):
        return super().get(request)
