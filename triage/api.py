"""Triage API: flows (list, export, import, publish) and runs (start, answer, read)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.accounts import guards
from helpdesk.api import StrictJson
from helpdesk.tickets.models import Ticket
from triage import services
from triage.models import Flow, Run, RunMode


class IsManager(guards.IsManager):
    message = "Only managers may change flows."


class FlowSerializer(serializers.ModelSerializer):
    published_version = serializers.SerializerMethodField()

    class Meta:
        model = Flow
        fields = ["id", "name", "slug", "description", "is_active", "published_version"]

    def get_published_version(self, flow: Flow) -> int | None:
        numbers = [v.number for v in flow.versions.all() if v.published_at]
        return max(numbers) if numbers else None


@extend_schema_field(
    {"type": "object", "description": "A flow as export gives it: steps, questions, routes."}
)
class FlowDefinitionField(serializers.JSONField):
    """An object; whether its steps make a flow is the importer's check (a 422 naming the step)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return super().to_internal_value(data)


class FlowImportSerializer(StrictJson, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    slug = serializers.SlugField(max_length=80, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    definition = FlowDefinitionField()
    publish = serializers.BooleanField(default=True)


class RunSerializer(serializers.ModelSerializer):
    flow = serializers.CharField(source="flow_version.flow.slug", read_only=True)
    version = serializers.IntegerField(source="flow_version.number", read_only=True)
    step = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id", "flow", "version", "customer", "ticket", "mode", "channel", "source", "status", "language",
            "step", "answers", "severity", "outcome", "started_at", "last_activity_at", "ended_at",
        ]  # fmt: skip

    def get_step(self, run: Run) -> str | None:
        return run.state.get("step")

    def get_answers(self, run: Run) -> dict:
        return run.state.get("answers") or {}


def _runs(request):
    """Runs on tickets the user may see (a run with no ticket: managers only)."""
    from helpdesk.accounts.guards import is_manager
    from helpdesk.tickets.selectors import visible_tickets

    if is_manager(request.user):
        return Run.objects.all()
    return Run.objects.filter(ticket__in=visible_tickets(request.user))


@extend_schema_field(OpenApiTypes.INT)
class VisibleTicketField(serializers.PrimaryKeyRelatedField):
    """A ticket the requesting user may see: another team's ticket is "does not exist"."""

    def get_queryset(self):
        from helpdesk.tickets.selectors import visible_tickets

        request = self.context.get("request")
        return visible_tickets(request.user) if request is not None else Ticket.objects.none()


class StartRunSerializer(StrictJson, serializers.Serializer):
    flow = serializers.SlugRelatedField(slug_field="slug", queryset=Flow.objects.all())
    ticket = VisibleTicketField()
    mode = serializers.ChoiceField(choices=RunMode.choices, default=RunMode.SMS)
    channel = serializers.CharField(
        max_length=16,
        required=False,
        help_text="By message: the channel the questions go out on (default sms).",
    )
    language = serializers.CharField(max_length=8, required=False, allow_blank=True)


class AnswerSerializer(StrictJson, serializers.Serializer):
    answer = serializers.CharField(max_length=1000)


class FlowListApi(APIView):
    @extend_schema(responses=FlowSerializer(many=True))
    def get(self, request):
        flows = Flow.objects.prefetch_related("versions").order_by("name")
        return Response(FlowSerializer(flows, many=True).data)


class FlowImportApi(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=FlowImportSerializer, responses={201: FlowSerializer})
    def post(self, request):
        serializer = FlowImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        publish = data.pop("publish")
        version = services.import_flow(data=data, actor=request.user, publish=publish)
        return Response(FlowSerializer(version.flow).data, status=status.HTTP_201_CREATED)


class FlowExportApi(APIView):
    @extend_schema(responses=FlowImportSerializer)
    def get(self, request, slug: str):
        return Response(services.export_flow(flow=get_object_or_404(Flow, slug=slug)))


class FlowPublishApi(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=None, responses=FlowSerializer)
    def post(self, request, slug: str):
        flow = get_object_or_404(Flow, slug=slug)
        services.publish_version(version=services.draft_for(flow=flow), actor=request.user)
        return Response(FlowSerializer(flow).data)


class RunStartApi(APIView):
    @extend_schema(request=StartRunSerializer, responses={201: RunSerializer})
    def post(self, request):
        serializer = StartRunSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.start_run(
            flow=data["flow"],
            customer=data["ticket"].customer,
            ticket=data["ticket"],
            mode=data["mode"],
            channel=data.get("channel") or "sms",
            actor=request.user,
            language=data.get("language", ""),
        )
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    @extend_schema(responses=RunSerializer)
    def get(self, request, pk: int):
        return Response(
            RunSerializer(get_object_or_404(_runs(request).select_related("flow_version__flow"), pk=pk)).data
        )


class RunAnswerApi(APIView):
    @extend_schema(request=AnswerSerializer, responses=RunSerializer)
    def post(self, request, pk: int):
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = get_object_or_404(_runs(request), pk=pk)
        result = services.answer_run(run=run, answer=serializer.validated_data["answer"], actor=request.user)
        data = RunSerializer(result.run).data
        data["valid"] = result.valid
        data["prompts"] = result.prompts
        return Response(data)
