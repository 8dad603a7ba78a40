"""Ticket API shapes: tickets, timeline events, queues and macros; inputs validated here."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels_app.base import reply_channels
from helpdesk.api import CURSOR_DESCRIPTION, StrictJson
from helpdesk.crisis.models import Crisis
from helpdesk.customers.models import Customer
from helpdesk.customers.serializers import CustomerSerializer
from helpdesk.tickets import sla
from helpdesk.tickets.models import (
    Channel,
    DeliveryStatus,
    Macro,
    Priority,
    Queue,
    Tag,
    Ticket,
    TicketStatus,
    TimelineEvent,
)

# Named module constants so the OpenAPI schema can give each choice set its own enum name.
TICKET_STATUS_FILTER_CHOICES = [*TicketStatus.choices, ("active", "new, open or pending")]


def _staff():
    return get_user_model().objects.filter(is_staff=True, is_active=True)


class SlaTargetStateSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=sla.STATES, help_text="met, due, breached or paused.")


class SlaSerializer(serializers.Serializer):
    first_response = SlaTargetStateSerializer()
    resolution = SlaTargetStateSerializer()


class TicketSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    sla = serializers.SerializerMethodField(
        help_text="Each target's due time and state, in business time with pauses while pending."
    )
    assignee_name = serializers.SerializerMethodField()
    tags: serializers.SlugRelatedField[Tag] = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True
    )

    class Meta:
        model = Ticket
        fields = [
            "id", "customer", "customer_name", "subject", "status", "priority", "queue", "assignee",
            "assignee_name", "tags", "crisis", "channel", "language", "severity", "sla_due_at",
            "first_response_at", "last_activity_at", "solved_at", "created_at", "updated_at", "sla",
            "version",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(SlaSerializer)
    def get_sla(self, ticket: Ticket) -> dict:
        return sla.states(ticket)

    def get_assignee_name(self, ticket: Ticket) -> str | None:
        user = ticket.assignee
        return (user.get_full_name() or user.get_username()) if user else None


class TicketCreateSerializer(StrictJson, serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.filter(merged_into__isnull=True))
    subject = serializers.CharField(max_length=250)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.WEB)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    queue = serializers.PrimaryKeyRelatedField(queryset=Queue.objects.all(), required=False)
    assignee = serializers.PrimaryKeyRelatedField(queryset=_staff(), required=False, allow_null=True)
    crisis = serializers.PrimaryKeyRelatedField(
        queryset=Crisis.objects.all(), required=False, allow_null=True
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50, required=False)
    first_message = serializers.CharField(
        max_length=10000,
        required=False,
        allow_blank=True,
        help_text="Optional: what the customer said, kept on the timeline as the first internal note.",
    )


class TicketUpdateSerializer(StrictJson, serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(queryset=_staff(), required=False, allow_null=True)
    queue = serializers.PrimaryKeyRelatedField(queryset=Queue.objects.all(), required=False)
    crisis = serializers.PrimaryKeyRelatedField(
        queryset=Crisis.objects.all(), required=False, allow_null=True
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50, required=False)
    subject = serializers.CharField(max_length=250, required=False)


class TicketFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TICKET_STATUS_FILTER_CHOICES, required=False)
    queue = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    assignee = serializers.RegexField(
        r"^(me|unassigned|[0-9]{1,18})$", required=False, help_text='"me", "unassigned" or a user id.'
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    language = serializers.CharField(max_length=8, required=False)
    crisis = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    tag = serializers.CharField(max_length=64, required=False)
    customer = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class TimelineEventSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    # "" for events that are not deliveries (notes, system events): part of the enum, as sent.
    delivery_status = serializers.ChoiceField(
        choices=[("", "Not a delivery"), *DeliveryStatus.choices],
        read_only=True,
    )

    class Meta:
        model = TimelineEvent
        fields = [
            "id", "ticket", "customer", "channel", "direction", "kind", "author", "author_name",
            "contact_point", "subject", "body", "delivery_status", "delivery_error", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_author_name(self, event: TimelineEvent) -> str | None:
        user = event.author
        return (user.get_full_name() or user.get_username()) if user else None

    def get_subject(self, event: TimelineEvent) -> str:
        subject = event.payload.get("subject", "") if isinstance(event.payload, dict) else ""
        return subject if isinstance(subject, str) else ""


class NoteSerializer(StrictJson, serializers.Serializer):
    body = serializers.CharField(max_length=10000)


class ReplyChannelField(serializers.ChoiceField):
    """One of the channels this desk can send on; any other is refused saying what to configure."""

    def to_internal_value(self, data):
        if isinstance(data, str) and data not in self.choices:
            from helpdesk.tickets.services import cannot_send_reason

            raise serializers.ValidationError(cannot_send_reason(data), code="invalid_choice")
        return super().to_internal_value(data)


class ReplySerializer(StrictJson, serializers.Serializer):
    body = serializers.CharField(max_length=10000)
    # The channels this installation can send on (CHANNEL_GATEWAYS), read when the serializer is
    # made, so the schema's enum is this desk's own.
    channel = ReplyChannelField(
        choices=[],
        required=False,
        help_text="A channel with a configured gateway. Default: the channel the customer last wrote on.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = reply_channels()


class QueueSerializer(serializers.ModelSerializer):
    class Meta:
        model = Queue
        fields = ["id", "name", "slug", "sla_minutes", "urgent_sla_minutes", "inbound_address", "is_default"]
        read_only_fields = fields


class MacroSerializer(serializers.ModelSerializer):
    class Meta:
        model = Macro
        fields = ["id", "title", "body", "language", "created_at"]
        read_only_fields = fields


class SearchParamsSerializer(serializers.Serializer):
    # Not trimmed, so the length DRF checks is the one sent; what normalizes to fewer than two
    # characters (spaces, ZWNJ) is a business rule, answered 422 with code query_too_short.
    q = serializers.CharField(
        min_length=1,
        max_length=200,
        trim_whitespace=False,
        help_text="Words, a name, phone digits or an email. Letters, digits and case are normalized "
        "on both sides: ي/ی, ك/ک, ة/ه, أ/إ/آ/ا are one letter, ZWNJ and tatweel are ignored, "
        "Persian, Arabic-Indic, Khmer and Kannada digits are 0-9, accents do not matter.",
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    status = serializers.ChoiceField(
        choices=TicketStatus.choices, required=False, help_text="The ticket's status."
    )
    queue = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    crisis = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    since = serializers.DateField(required=False, help_text="Created on or after this day.")
    until = serializers.DateField(required=False, help_text="Created on or before this day.")
    sort = serializers.ChoiceField(
        choices=[("relevance", "relevance"), ("newest", "newest"), ("oldest", "oldest")],
        required=False,
        help_text="relevance (default) while the count is exact; past it the results come newest first.",
    )
    cursor = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text=CURSOR_DESCRIPTION
    )


def _search_page_serializer(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The shape of one page of search results of a kind (for the schema; views build the dict)."""
    fields = {
        "count": serializers.IntegerField(help_text="Exact when count_exact, else an estimate."),
        "count_exact": serializers.BooleanField(),
        "sort": serializers.ChoiceField(
            choices=["relevance", "newest", "oldest"], help_text="The order used."
        ),
        "next": serializers.URLField(allow_null=True),
        "results": item(many=True),
    }
    return type(name, (serializers.Serializer,), fields)


SearchMessagesPageSerializer = _search_page_serializer(
    "SearchMessagesPageSerializer", TimelineEventSerializer
)
SearchTicketsPageSerializer = _search_page_serializer("SearchTicketsPageSerializer", TicketSerializer)
SearchCustomersPageSerializer = _search_page_serializer("SearchCustomersPageSerializer", CustomerSerializer)
