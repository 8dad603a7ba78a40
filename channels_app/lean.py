"""Provider webhooks served outside Django's middleware stack.

In a surge the inbound SMS webhook is the hottest path of the desk: every customer's message is a
signed form post, and each costs a share of one group-committed INSERT (`channels_app/inbox.py`).
Sessions, CSRF, authentication, locale, messages, htmx and static-file middleware do nothing for
such a request, yet together with the URL resolver they cost as much as the work itself.
Production's WSGI entry point (`helpdesk/wsgi.py`) therefore hands POSTs to these exact paths
straight to their handlers; everything else, GETs to the same paths included, goes to Django.

The handlers are the functions the Django views call (`channels_app.sms.webhooks.handle_*`), so
both doors behave the same; the webhook tests run every case through both. Host validation is
skipped on purpose: a webhook's signature covers PUBLIC_BASE_URL + path, never the Host header.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core import signals
from django.db import connections
from django.urls import get_script_prefix, reverse

from channels_app.sms.webhooks import Answer, Handler

logger = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Route:
    handler: Handler
    # The handler's only database work retries once on a dropped connection (`inbox.accept`),
    # so the per-request health-check round trip (CONN_HEALTH_CHECKS) can be skipped.
    retries_dropped_connection: bool = False


def default_routes() -> dict[str, Route]:
    from channels_app.sms import webhooks

    return {
        "sms:inbound": Route(webhooks.handle_inbound, retries_dropped_connection=True),
        "sms:status": Route(webhooks.handle_status),
    }


class LeanWebhooks:
    """WSGI middleware: POSTs to the routed paths skip Django's handler; the rest pass through."""

    def __init__(self, django_app: Callable, routes: Callable[[], dict[str, Route]] = default_routes) -> None:
        self.django_app = django_app
        self._route_names = routes
        self._routes: dict[str, Route] | None = None

    def routes(self) -> dict[str, Route]:
        if self._routes is None:
            prefix = get_script_prefix()
            resolved = {}
            for name, route in self._route_names().items():
                path = reverse(name)
                # PATH_INFO excludes SCRIPT_NAME: match what the server hands us.
                resolved["/" + path[len(prefix) :] if path.startswith(prefix) else path] = route
            self._routes = resolved
        return self._routes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.django_app(environ, start_response)
        route = self.routes().get(environ.get("PATH_INFO", ""))
        if route is None:
            return self.django_app(environ, start_response)
        # The same signals Django's handler sends: persistent connections are aged and checked.
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            if route.retries_dropped_connection:
                for conn in connections.all(initialized_only=True):
                    conn.health_check_done = True  # type: ignore[attr-defined]
            answer = self.dispatch(route.handler, environ)
        except Exception:  # noqa: BLE001 - answer like Django would, with the traceback in the log
            logger.exception("webhook %s failed", environ.get("PATH_INFO"))
            answer = Answer(500, "Server error.")
        finally:
            signals.request_finished.send(sender=self.__class__)
        body = answer.body.encode()
        start_response(
            f"{answer.status} {HTTPStatus(answer.status).phrase}",
            [("Content-Type", answer.content_type), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def dispatch(handler: Handler, environ: dict[str, Any]) -> Answer:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return Answer(400, "Content-Length must be a number.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return Answer(413, "Request body too large.")
        raw = environ["wsgi.input"].read(length) if length else b""
        params: dict[str, str] = {}
        if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() == FORM:
            try:
                pairs = parse_qsl(
                    raw.decode("utf-8", "replace"),
                    keep_blank_values=True,
                    max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
                )
            except ValueError:
                return Answer(400, "Too many fields.")
            params = dict(pairs)
        # What Twilio signed: the public base URL + the path (and query) it called.
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        return handler(path, params, environ.get("HTTP_X_TWILIO_SIGNATURE", ""))
