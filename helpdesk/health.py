"""Liveness and readiness probes."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse

from helpdesk import redis_client


def healthz(request):
    """The process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The database and Redis answer; 503 names the one that does not."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        redis_client.get().ping()  # the process's pooled client: no new connection per probe
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
