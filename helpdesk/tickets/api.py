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

from helpdesk.api import KeysetIdPagination, KeysetOldestFirstPagination, get_object_by_pk, query_values
from helpdesk.tickets import selectors, services
from helpdesk.tickets.models import Macro, Queue, Ticket, TimelineEvent
from helpdesk.tickets.serializers import (
    MacroSerializer,
    NoteSerializer,
    QueueSerializer,
    ReplySerializer,
    TicketCreateSerializer,
    TicketFilterSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
    TimelineEventSerializer,
)


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
