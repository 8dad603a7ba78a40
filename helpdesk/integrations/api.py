"""Webhook subscriptions for managers: GET/POST /api/v1/webhooks/ ({"url", "events", "secret"}), the
delivery log at /api/v1/webhooks/<id>/deliveries/ and a replay at .../deliveries/<id>/replay/."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.accounts.guards import IsManager
from helpdesk.api import KeysetIdPagination
from helpdesk.events import NAMES
from helpdesk.integrations import netguard, webhooks
from helpdesk.integrations.models import WebhookDelivery, WebhookSubscription


class SubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=NAMES), min_length=1, max_length=len(NAMES)
    )
    secret = serializers.CharField(write_only=True, min_length=16, max_length=200)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "secret", "is_active", "consecutive_failures", "disabled_at",
                  "disabled_reason", "created_at"]  # fmt: skip
        read_only_fields = [
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]

    def validate_url(self, value: str) -> str:
        """The address guard, at subscription time: a refused address is a 400 on `url`."""
        try:
            netguard.check(value)
        except netguard.Refused as exc:
            raise serializers.ValidationError(exc.message) from exc
        return value


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event", "status", "attempts", "next_attempt_at", "last_status_code",
                  "last_error", "delivered_at", "created_at"]  # fmt: skip


class SubscriptionListApi(generics.GenericAPIView):
    permission_classes = [IsManager]
    serializer_class = SubscriptionSerializer
    pagination_class = KeysetIdPagination

    @extend_schema(responses=SubscriptionSerializer(many=True), summary="List webhook subscriptions")
    def get(self, request):
        page = self.paginate_queryset(WebhookSubscription.objects.all())
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(
        request=SubscriptionSerializer,
        responses={201: SubscriptionSerializer},
        summary="Subscribe an address to events (400 when the address guard refuses it)",
    )
    def post(self, request):
        data = SubscriptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhooks.subscribe(actor=request.user, **data.validated_data)
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)


class DeliveryListApi(generics.GenericAPIView):
    permission_classes = [IsManager]
    serializer_class = DeliverySerializer
    pagination_class = KeysetIdPagination

    @extend_schema(
        responses=DeliverySerializer(many=True), summary="A subscription's delivery log, newest first"
    )
    def get(self, request, pk: int):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        page = self.paginate_queryset(subscription.deliveries.all())
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class ReplayApi(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=None, responses={202: DeliverySerializer}, summary="Send a delivery again (same event id)"
    )
    def post(self, request, pk: int, delivery_id: int):
        delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, subscription_id=pk)
        return Response(
            DeliverySerializer(webhooks.replay(delivery=delivery)).data, status=status.HTTP_202_ACCEPTED
        )
