"""Crisis API: crises, banners, the channel directory and broadcasts. Writes go through services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.accounts import guards
from helpdesk.api import StrictJson, get_object_by_pk
from helpdesk.crisis import selectors, services
from helpdesk.crisis.models import BROADCAST_CHANNEL_CHOICES, Banner, Broadcast, Crisis, DirectoryEntry
from helpdesk.errors import ApplicationError


class IsManagerForWrites(guards.IsManagerForWrites):
    message = "Only managers can change crises and broadcasts."


class CrisisSerializer(StrictJson, serializers.ModelSerializer):
    texts = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(max_length=2000, allow_blank=True)),
        required=False,
        help_text='Per language: {"en": {"summary": "…", "what_to_do": "…"}}.',
    )

    class Meta:
        model = Crisis
        fields = ["id", "title", "severity", "status", "starts_at", "ends_at", "affected_segment", "texts"]
        read_only_fields = ["status", "starts_at", "ends_at"]
        extra_kwargs = {"severity": {"min_value": 1, "max_value": 5}}


class BannerSerializer(StrictJson, serializers.ModelSerializer):
    class Meta:
        model = Banner
        fields = [
            "id",
            "crisis",
            "texts",
            "severity",
            "placement",
            "starts_at",
            "ends_at",
            "published_at",
            "version",
        ]
        read_only_fields = ["published_at", "version"]


class DirectoryEntrySerializer(StrictJson, serializers.ModelSerializer):
    class Meta:
        model = DirectoryEntry
        fields = ["id", "position", "need", "channel", "target", "hours", "languages", "is_active"]


class AudienceSerializer(StrictJson, serializers.Serializer):
    """Who a broadcast goes to (services.clean_audience checks the same for every caller)."""

    closed = True  # a misspelt key ("tag") must not quietly widen the audience

    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=100, required=False)
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=["en", "fa", "km", "kn"]), max_length=4, required=False
    )
    queues = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=100, required=False
    )
    crisis = serializers.IntegerField(min_value=1, required=False)
    has_open_tickets = serializers.BooleanField(required=False)
    all = serializers.BooleanField(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {k: ["Unknown audience key."] for k in sorted(map(str, unknown))}
                )
        return super().to_internal_value(data)


class BroadcastSerializer(StrictJson, serializers.ModelSerializer):
    audience = AudienceSerializer()
    bodies = serializers.DictField(
        child=serializers.CharField(max_length=services.MAX_EMAIL_BODY_CHARS, allow_blank=True),
        help_text="Language → text (en, fa, km, kn).",
    )
    channel = serializers.ChoiceField(choices=BROADCAST_CHANNEL_CHOICES, default="sms")
    subjects = serializers.DictField(
        child=serializers.CharField(max_length=services.MAX_SUBJECT_CHARS, allow_blank=True),
        required=False,
        help_text="Email only: language → subject line (the name where a language has none).",
    )
    max_segments = serializers.IntegerField(min_value=1, max_value=services.MAX_SEGMENTS_LIMIT, default=2)
    rate_per_second = serializers.IntegerField(
        min_value=0, max_value=services.MAX_RATE_PER_SECOND, default=50, help_text="0: the account's rate."
    )

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "name",
            "crisis",
            "channel",
            "audience",
            "bodies",
            "subjects",
            "max_segments",
            "rate_per_second",
            "status",
            "requires_approval",
            "approved_by",
            "scheduled_at",
            "planned_count",
            "skipped_opted_out",
            "skipped_invalid",
            "csv_report",
            "created_at",
        ]
        read_only_fields = [
            "status",
            "approved_by",
            "planned_count",
            "skipped_opted_out",
            "skipped_invalid",
            "csv_report",
            "created_at",
        ]


class CrisisListCreateApi(generics.ListCreateAPIView):
    permission_classes = [IsManagerForWrites]
    serializer_class = CrisisSerializer
    queryset = Crisis.objects.order_by("-id")

    def post(self, request):
        data = CrisisSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        crisis = services.create_crisis(
            title=data.validated_data["title"],
            severity=data.validated_data.get("severity", 3),
            texts=data.validated_data.get("texts", {}),
            affected_segment=data.validated_data.get("affected_segment", ""),
        )
        return Response(CrisisSerializer(crisis).data, status=status.HTTP_201_CREATED)


class CrisisActionApi(APIView):
    permission_classes = [IsManagerForWrites]

    @extend_schema(
        operation_id="crises_action",
        request=None,
        responses=CrisisSerializer,
        summary="Activate or resolve a crisis",
    )
    def post(self, request, pk: int, action: str):
        crisis = get_object_by_pk(Crisis.objects.all(), pk)
        if action == "activate":
            services.activate_crisis(crisis=crisis)
        elif action == "resolve":
            services.resolve_crisis(crisis=crisis)
        else:
            raise ApplicationError(f"Unknown action {action!r}.", code="unknown_action")
        return Response(CrisisSerializer(crisis).data)


class DirectoryApi(generics.ListAPIView):
    permission_classes = [IsManagerForWrites]
    serializer_class = DirectoryEntrySerializer
    pagination_class = None

    def get_queryset(self):
        return DirectoryEntry.objects.order_by("position", "id")


class BroadcastListCreateApi(generics.ListCreateAPIView):
    permission_classes = [IsManagerForWrites]
    serializer_class = BroadcastSerializer
    queryset = Broadcast.objects.order_by("-id")

    def post(self, request):
        data = BroadcastSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        broadcast = services.create_broadcast(
            name=v["name"],
            channel=v.get("channel", "sms"),
            bodies=v.get("bodies", {}),
            subjects=v.get("subjects", {}),
            audience=v.get("audience", {}),
            crisis=v.get("crisis"),
            max_segments=v.get("max_segments", 2),
            rate_per_second=v.get("rate_per_second", 50),
            requires_approval=v.get("requires_approval", False),
            scheduled_at=v.get("scheduled_at"),
            created_by=request.user,
        )
        return Response(BroadcastSerializer(broadcast).data, status=status.HTTP_201_CREATED)


class BroadcastProgressApi(APIView):
    permission_classes = [IsManagerForWrites]

    @extend_schema(responses=dict, summary="Delivery counts by state")
    def get(self, request, pk: int):
        broadcast = get_object_by_pk(Broadcast.objects.all(), pk)
        p = selectors.broadcast_progress(broadcast=broadcast)
        return Response(
            {
                "status": broadcast.status,
                "total": p.total,
                "planned": p.planned,
                "sending": p.sending,
                "sent": p.sent,
                "delivered": p.delivered,
                "failed": p.failed,
                "opted_out": p.opted_out,
                "invalid": p.invalid,
                "replies": p.replies,
                "percent": p.percent,
            }
        )


class BroadcastActionApi(APIView):
    permission_classes = [IsManagerForWrites]
    actions = {
        "start": lambda b, u: services.start_broadcast(broadcast=b, actor=u),
        "approve": lambda b, u: services.approve_broadcast(broadcast=b, approver=u),
        "pause": lambda b, u: services.pause_broadcast(broadcast=b),
        "resume": lambda b, u: services.resume_broadcast(broadcast=b),
        "cancel": lambda b, u: services.cancel_broadcast(broadcast=b),
    }

    @extend_schema(
        operation_id="broadcasts_action",
        request=None,
        responses=BroadcastSerializer,
        summary="start, approve, pause, resume or cancel",
    )
    def post(self, request, pk: int, action: str):
        broadcast = get_object_by_pk(Broadcast.objects.all(), pk)
        if action not in self.actions:
            raise ApplicationError(f"Unknown action {action!r}.", code="unknown_action")
        broadcast = self.actions[action](broadcast, request.user)
        return Response(BroadcastSerializer(broadcast).data)
