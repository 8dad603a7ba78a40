"""Feedback API for staff: survey responses, recovery cases (with their plan) and incentives."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from helpdesk.api import KeysetIdPagination, query_values
from helpdesk.feedback.models import Coupon, RecoveryCase, RecoveryStatus, RecoveryStep, Survey, SurveyState


class SurveySerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    ticket = serializers.IntegerField(source="ticket_id", allow_null=True)
    queue = serializers.IntegerField(source="queue_id", allow_null=True)
    agent = serializers.IntegerField(source="agent_id", allow_null=True)
    crisis = serializers.IntegerField(source="crisis_id", allow_null=True)

    class Meta:
        model = Survey
        fields = [
            "id", "customer", "ticket", "channel", "trigger", "scale", "language", "state", "score",
            "comment", "queue", "agent", "crisis", "asked_at", "answered_at",
        ]  # fmt: skip


class SurveyFilterSerializer(serializers.Serializer):
    channel = serializers.CharField(required=False)
    answered = serializers.BooleanField(required=False, allow_null=True, default=None)
    customer = serializers.IntegerField(required=False)
    ticket = serializers.IntegerField(required=False)


class SurveyListApi(generics.GenericAPIView):
    serializer_class = SurveySerializer
    pagination_class = KeysetIdPagination

    @extend_schema(
        parameters=[SurveyFilterSerializer],
        responses=SurveySerializer(many=True),
        summary="List survey responses, newest first",
    )
    def get(self, request):
        filters = SurveyFilterSerializer(data=query_values(request))
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        qs = Survey.objects.exclude(state__in=(SurveyState.DUE, SurveyState.SKIPPED))
        if data.get("channel"):
            qs = qs.filter(channel=data["channel"])
        if data.get("answered") is not None:
            qs = qs.filter(score__isnull=not data["answered"])
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        if data.get("ticket"):
            qs = qs.filter(ticket_id=data["ticket"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(SurveySerializer(page, many=True).data)


class StepSerializer(serializers.ModelSerializer):
    owner = serializers.IntegerField(source="owner_id", allow_null=True)

    class Meta:
        model = RecoveryStep
        fields = ["id", "position", "title", "owner", "due_at", "tell_customer", "done_at"]


class CaseSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    ticket = serializers.IntegerField(source="ticket_id", allow_null=True)
    survey = serializers.IntegerField(source="survey_id", allow_null=True)
    review = serializers.IntegerField(source="review_id", allow_null=True)
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = RecoveryCase
        fields = [
            "id", "customer", "ticket", "survey", "review", "reason", "status", "owner", "channel",
            "language", "apology", "apology_sent_at", "score_before", "score_after", "due_at", "fixed_at",
            "created_at", "steps",
        ]  # fmt: skip


class CaseFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RecoveryStatus.choices, required=False)


class CaseListApi(generics.GenericAPIView):
    serializer_class = CaseSerializer
    pagination_class = KeysetIdPagination

    @extend_schema(
        parameters=[CaseFilterSerializer],
        responses=CaseSerializer(many=True),
        summary="List recovery cases with their plans, newest first",
    )
    def get(self, request):
        filters = CaseFilterSerializer(data=query_values(request))
        filters.is_valid(raise_exception=True)
        qs = RecoveryCase.objects.prefetch_related("steps")
        if status := filters.validated_data.get("status"):
            qs = qs.filter(status=status)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(CaseSerializer(page, many=True).data)


class IncentiveSerializer(serializers.ModelSerializer):
    pool = serializers.CharField(source="pool.name")
    kind = serializers.CharField(source="pool.kind")
    value = serializers.DecimalField(source="pool.value", max_digits=10, decimal_places=2)
    currency = serializers.CharField(source="pool.currency")
    expires_at = serializers.DateTimeField(source="pool.expires_at", allow_null=True)
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    case = serializers.IntegerField(source="case_id", allow_null=True)

    class Meta:
        model = Coupon
        fields = [
            "id", "code", "state", "pool", "kind", "value", "currency", "expires_at", "customer", "case",
            "granted_at", "sent_at", "redeemed_at",
        ]  # fmt: skip


class IncentiveListApi(generics.GenericAPIView):
    serializer_class = IncentiveSerializer
    pagination_class = KeysetIdPagination

    @extend_schema(
        responses=IncentiveSerializer(many=True),
        summary="List incentives given to customers (granted or redeemed), newest first",
    )
    def get(self, request):
        qs = Coupon.objects.select_related("pool").exclude(state="available")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(IncentiveSerializer(page, many=True).data)
