"""The webhook door: every channel's webhooks under /webhooks/, routed by the channel registry.

Two doors lead to the same handlers (`WebhookRoute.handler`, one `WebhookRequest` in, one
`WebhookAnswer` out; the signature check is the adapter's):

- `webhook_view`, a Django view behind `/webhooks/<path>`: the whole middleware stack.
- `FastDoor`, WSGI middleware around production's Django app (`helpdesk/wsgi.py`): POSTs to the
  routes a channel marks `fast` skip Django's handler. In a surge the inbound SMS webhook is the
  hottest path of the desk, and sessions, CSRF, authentication, locale, messages, htmx and static
  middleware do nothing for a signed provider post, yet with the URL resolver they cost as much as
  the work itself (bench/README.md). Host validation is skipped on purpose: a provider's signature
  covers PUBLIC_BASE_URL + path, never the Host header.

A channel registered in settings.CHANNELS gets its webhooks on both doors with no change here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import get_script_prefix
from django.views.decorators.csrf import csrf_exempt

from channels_app.base import WebhookAnswer, WebhookRequest, WebhookRoute, webhook_routes

logger = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
SERVER_ERROR = WebhookAnswer(500, "Server error.")


def _answer(route: WebhookRoute, request: WebhookRequest) -> WebhookAnswer:
    """Run the route's handler; a handler's bug is a 500 with the traceback logged, never a leak."""
    try:
        return route.resolve()(request)
    except Exception:  # noqa: BLE001 - answer like Django would, with the traceback in the log
        logger.exception("webhook %s failed", route.name)
        return SERVER_ERROR


@csrf_exempt
def webhook_view(request: HttpRequest, route_path: str) -> HttpResponse:
    """Django's door: find the registered route for the path and hand it the request."""
    route = webhook_routes().get(route_path)
    if route is None:
        return HttpResponse("No such webhook.", status=404, content_type="text/plain; charset=utf-8")
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    content_type = (request.content_type or "").lower()
    multipart = content_type == "multipart/form-data"
    if route.max_body is not None:  # a raw message (an email): read as a stream up to its limit
        if _too_long(request.META.get("CONTENT_LENGTH"), route.max_body):
            return HttpResponse(
                "Request body too large.", status=413, content_type="text/plain; charset=utf-8"
            )
        body = request.read(route.max_body + 1)
        if len(body) > route.max_body:
            return HttpResponse(
                "Request body too large.", status=413, content_type="text/plain; charset=utf-8"
            )
        return _respond(route, request, body, content_type, {}, {})
    try:
        # The raw body first (what providers sign); Django parses the form from it afterwards.
        body = b"" if multipart else request.body
        form = request.POST.dict() if content_type == FORM or multipart else {}
        files = (
            {name: f.read() for name, f in request.FILES.items()}  # type: ignore[union-attr]
            if multipart
            else {}
        )
    except RequestDataTooBig:
        return HttpResponse("Request body too large.", status=413, content_type="text/plain; charset=utf-8")
    except (MultiPartParserError, TooManyFieldsSent) as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return _respond(route, request, body, content_type, form, files)


def _too_long(length: str | None, limit: int) -> bool:
    try:
        return int(length or 0) > limit
    except ValueError:
        return False  # read and counted instead


def _respond(
    route: WebhookRoute, request: HttpRequest, body: bytes, content_type: str, form: dict, files: dict
) -> HttpResponse:
    hook = WebhookRequest(
        method="POST",
        path=request.get_full_path(),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        content_type=content_type,
        form=form,
        files=files,
    )
    answer = _answer(route, hook)
    return HttpResponse(answer.body, content_type=answer.content_type, status=answer.status)


def _environ_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


class FastDoor:
    """WSGI middleware: POSTs to the registry's fast routes skip Django's handler; the rest pass."""

    def __init__(self, django_app: Callable) -> None:
        self.django_app = django_app
        self._routes: dict[str, WebhookRoute] | None = None

    def routes(self) -> dict[str, WebhookRoute]:
        if self._routes is None:
            # PATH_INFO excludes SCRIPT_NAME: match what the server hands us.
            prefix = get_script_prefix()
            self._routes = {
                "/" + route.url_path[len(prefix) :]
                if route.url_path.startswith(prefix)
                else route.url_path: route
                for route in webhook_routes().values()
                if route.fast
            }
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
            answer = self.dispatch(route, environ)
        finally:
            signals.request_finished.send(sender=self.__class__)
        body = answer.body.encode()
        start_response(
            f"{answer.status} {HTTPStatus(answer.status).phrase}",
            [("Content-Type", answer.content_type), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def dispatch(route: WebhookRoute, environ: dict[str, Any]) -> WebhookAnswer:
        """Read the request the way Django would (size limits, form parsing), then run the route."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return WebhookAnswer(400, "Content-Length must be a number.")
        limit = route.max_body if route.max_body is not None else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return WebhookAnswer(413, "Request body too large.")
        raw = environ["wsgi.input"].read(length) if length else b""
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        form: dict[str, str] = {}
        if content_type == FORM:
            try:
                form = dict(
                    parse_qsl(
                        raw.decode("utf-8", "replace"),
                        keep_blank_values=True,
                        max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
                    )
                )
            except ValueError:
                return WebhookAnswer(400, "Too many fields.")
        # What providers sign: the public base URL + the path (and query) they called.
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        hook = WebhookRequest(
            method="POST",
            path=path,
            headers=_environ_headers(environ),
            body=raw,
            content_type=content_type,
            form=form,
        )
        return _answer(route, hook)
