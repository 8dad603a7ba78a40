"""API contracts other tools rely on: agents needed by Erlang C, and contact volumes per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api import query_values
from helpdesk.errors import ApplicationError
from helpdesk.staffing import erlang, reports


class AgentsNeededQuery(serializers.Serializer):
    volume = serializers.FloatField(min_value=0, max_value=10_000_000)
    interval_minutes = serializers.IntegerField(min_value=1, max_value=1440, default=30)
    aht_seconds = serializers.FloatField(min_value=1, max_value=86_400)
    target_level = serializers.FloatField(min_value=0.01, max_value=0.999, default=0.8)
    target_seconds = serializers.FloatField(min_value=0, max_value=86_400, default=20)
    concurrency = serializers.IntegerField(min_value=1, max_value=20, default=1)
    patience_seconds = serializers.FloatField(min_value=1, max_value=86_400, required=False)


def _too_big(exc: ValueError) -> ApplicationError:
    """Schema-valid, but past what the desk computes: a business-rule refusal (422)."""
    return ApplicationError(str(exc), code="out_of_range", fields={"volume": [str(exc)]})


class AgentsNeededApi(APIView):
    @extend_schema(
        parameters=[AgentsNeededQuery],
        responses=inline_serializer(
            "AgentsNeeded",
            {"agents": serializers.IntegerField(), "service_level": serializers.FloatField(),
             "asa_seconds": serializers.FloatField(), "occupancy": serializers.FloatField(),
             "abandon_rate": serializers.FloatField(required=False)},
        ),
        summary="Agents needed for a service level (Erlang C)",
    )  # fmt: skip
    def get(self, request):
        query = AgentsNeededQuery(data=query_values(request))
        query.is_valid(raise_exception=True)
        q = query.validated_data
        if "patience_seconds" in q:  # callers who hang up while they wait: Erlang A
            try:
                a = erlang.agents_needed_with_abandonment(
                    volume=q["volume"], interval_seconds=q["interval_minutes"] * 60,
                    aht_seconds=q["aht_seconds"], patience_seconds=q["patience_seconds"],
                    target_level=q["target_level"],
                    target_seconds=q["target_seconds"],
                )  # fmt: skip
            except ValueError as exc:
                raise _too_big(exc) from exc
            return Response(
                {"agents": a.agents, "service_level": round(a.service_level, 4),
                 "asa_seconds": round(a.average_wait_seconds, 2), "occupancy": round(a.occupancy, 4),
                 "abandon_rate": round(a.abandon_rate, 4)}
            )  # fmt: skip
        try:
            staffing = erlang.agents_needed(
                volume=q["volume"], interval_seconds=q["interval_minutes"] * 60, aht_seconds=q["aht_seconds"],
                target_level=q["target_level"], target_seconds=q["target_seconds"],
                    concurrency=q["concurrency"],
            )  # fmt: skip
        except ValueError as exc:
            raise _too_big(exc) from exc
        return Response(
            {"agents": staffing.agents, "service_level": round(staffing.service_level, 4),
             "asa_seconds": round(staffing.asa_seconds, 2), "occupancy": round(staffing.occupancy, 4)}
        )  # fmt: skip


class VolumeQuery(serializers.Serializer):
    # `from` is a Python keyword: the field is renamed below.
    start = serializers.DateTimeField(required=False)
    to = serializers.DateTimeField(required=False)
    interval = serializers.ChoiceField(choices=["30min", "hour", "day"], default="hour")
    channel = serializers.CharField(required=False, default="", allow_blank=True, max_length=16)

    def to_internal_value(self, data):
        data = dict(data)
        if "from" in data:
            data["start"] = data.pop("from")
        return super().to_internal_value(data)

    def validate(self, attrs):
        """The schema's part; the range rules are the view's (a 422, as the API's business rules are)."""
        to = attrs.get("to") or datetime.now(UTC)
        start = attrs.get("start")
        if start is None:
            start = (
                to - timedelta(days=1) if to > datetime.min.replace(tzinfo=UTC) + timedelta(days=2) else to
            )
        attrs["start"], attrs["to"] = start, to
        return attrs


def _check_range(start: datetime, to: datetime, interval: str) -> None:
    def refuse(message: str) -> ApplicationError:
        return ApplicationError(message, code="invalid_range", fields={"to": [message]})

    if to <= start:
        raise refuse("`to` must come after `from`.")
    if to - start > timedelta(days=400):
        raise refuse("At most 400 days at once.")
    if interval == "30min" and to - start > timedelta(days=31):
        raise refuse("30-minute intervals for at most 31 days.")


class VolumeApi(APIView):
    @extend_schema(
        parameters=[
            inline_serializer("VolumeParams", {
                "from": serializers.DateTimeField(required=False),
                    "to": serializers.DateTimeField(required=False),
                "interval": serializers.ChoiceField(choices=["30min", "hour", "day"], required=False),
                "channel": serializers.CharField(required=False, allow_blank=True),
            })
        ],
        responses=inline_serializer("Volume", {
            "interval": serializers.CharField(),
            "results": inline_serializer("VolumeRow", {
                "start": serializers.DateTimeField(), "contacts": serializers.IntegerField(),
                "opened": serializers.IntegerField(), "solved": serializers.IntegerField(),
            }, many=True),
        }),
        summary="Contacts per interval (from the rollups)",
    )  # fmt: skip
    def get(self, request):
        query = VolumeQuery(data=query_values(request))
        query.is_valid(raise_exception=True)
        q = query.validated_data
        _check_range(q["start"], q["to"], q["interval"])
        rows = reports.volume(since=q["start"], until=q["to"], interval=q["interval"], channel=q["channel"])
        return Response({"interval": q["interval"], "results": rows})
