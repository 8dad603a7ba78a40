"""Customer API shapes: what clients send (validated here) and what they read."""

from __future__ import annotations

from rest_framework import serializers

from helpdesk.api import StrictJson
from helpdesk.customers.models import ContactKind, ContactPoint, Customer
from helpdesk.localformat import available_time_zones

# Quiet hours are computed in the customer's zone; the schema lists the names this server knows.
TIME_ZONES = list(available_time_zones())


class ContactPointSerializer(serializers.ModelSerializer):
    can_receive = serializers.BooleanField(read_only=True)

    class Meta:
        model = ContactPoint
        fields = [
            "id", "kind", "value", "verified", "opted_out_at", "opt_out_reason", "invalid_at",
            "language", "can_receive", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ContactPointInputSerializer(StrictJson, serializers.Serializer):
    kind = serializers.ChoiceField(choices=ContactKind.choices)
    value = serializers.CharField(max_length=254, help_text="Phone numbers become E.164; emails lower-case.")
    verified = serializers.BooleanField(default=False)


class CustomerSerializer(serializers.ModelSerializer):
    contact_points = ContactPointSerializer(many=True, read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id", "name", "language", "tags", "notes", "time_zone", "merged_into",
            "contact_points", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class CustomerUpdateSerializer(StrictJson, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    language = serializers.RegexField(
        r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$",
        max_length=8,
        required=False,
        help_text='A language code: "en", "km".',
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=False), max_length=50, required=False
    )
    notes = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    time_zone = serializers.ChoiceField(
        choices=TIME_ZONES,
        required=False,
        allow_blank=True,
        help_text='An IANA zone, e.g. "Asia/Phnom_Penh".',
    )


class CustomerCreateSerializer(CustomerUpdateSerializer):
    # DRF passes max_length to the list serializer; the stubs do not know that keyword.
    contact_points = ContactPointInputSerializer(many=True, required=False, max_length=20)  # type: ignore[call-arg]


class MergeSerializer(StrictJson, serializers.Serializer):
    # The field is named for the API contract ({"source": id}); DRF pops declared fields off the
    # class, so it never shadows Field.source at runtime.
    source = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Customer.objects.all(), help_text="The customer merged into this one and then retired."
    )


class CustomerFilterSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, required=False, help_text="Part of a name or contact value.")
    language = serializers.CharField(max_length=8, required=False)
    tag = serializers.CharField(max_length=64, required=False)
