"""The widget's HTTP side: the script, the session it starts, and the long-polling fallback.

Every answer carries CORS for the widget's allowed origins only; a page elsewhere gets 403. No
cookies and no CSRF: the visitor token (header X-Chat-Token) is the credential, and it names one
conversation.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from channels_app.chat import inbound, selectors, tokens
from channels_app.chat.models import ChatWidget
from helpdesk import languages as desk_languages
from helpdesk.embed import embed_file
from helpdesk.net import client_address

LONG_POLL_SECONDS = 20
POLL_STEP = 0.5
MAX_JSON = 16_384


@require_GET
def chat_js(request: HttpRequest) -> HttpResponse:
    """The embed script: hand-written, no framework."""
    return embed_file("chat", "widget.js")


@require_GET
def chat_css(request: HttpRequest) -> HttpResponse:
    return embed_file("chat", "widget.css")


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type, X-Chat-Token"
    response["Access-Control-Max-Age"] = "600"
    patch_vary_headers(response, ["Origin"])
    patch_cache_control(response, no_store=True)
    return response


def _error(status: int, code: str, message: str, origin: str = "", **extra) -> HttpResponse:
    response = JsonResponse({"error": code, "message": message, **extra}, status=status)
    return _cors(response, origin) if origin else response


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _guard(
    request: HttpRequest, key: str, *, need_token: bool
) -> tuple[ChatWidget, str, tokens.Visitor | None]:
    origin = request.headers.get("Origin", "")
    widget = ChatWidget.objects.filter(key=key[:24], is_active=True).select_related("queue").first()
    if widget is None or not widget.allows(origin):
        raise _Refused(_error(403, "origin_not_allowed", "This page may not open this chat."))
    visitor = tokens.read(request.headers.get("X-Chat-Token", ""))
    if visitor is not None and visitor.widget_key != widget.key:
        visitor = None
    if need_token and visitor is None:
        raise _Refused(_error(403, "invalid_token", "The conversation token is missing or invalid.", origin))
    return widget, origin, visitor


def _body(request: HttpRequest) -> dict:
    if len(request.body) > MAX_JSON:
        raise ValueError("too long")
    data = json.loads(request.body or b"{}")
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def _preflight(request: HttpRequest, key: str) -> HttpResponse | None:
    if request.method != "OPTIONS":
        return None
    widget = ChatWidget.objects.filter(key=key[:24], is_active=True).first()
    origin = request.headers.get("Origin", "")
    if widget is None or not widget.allows(origin):
        return HttpResponse(status=403)
    return _cors(HttpResponse(status=204), origin)


def agents_online() -> bool:
    from helpdesk.accounts.models import AgentProfile

    return AgentProfile.objects.filter(available=True, user__is_active=True).exists()


def _socket_base(request: HttpRequest) -> str:
    """Where the widget opens its socket: WEBSOCKET_BASE_URL, else this server."""
    base = settings.WEBSOCKET_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    return "ws" + base[4:] if base.startswith("http") else base


@csrf_exempt
def session(request: HttpRequest, key: str) -> HttpResponse:
    """POST: start a conversation (or go on with the token the widget kept): token, the widget's
    look, whether anyone is online, the crisis banners and directory, and the history so far."""
    if (answer := _preflight(request, key)) is not None:
        return answer
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"})
    try:
        widget, origin, visitor = _guard(request, key, need_token=False)
    except _Refused as refused:
        return refused.response
    try:
        _body(request)
    except ValueError:
        return _error(400, "invalid", "The body must be a JSON object.", origin)
    from helpdesk.crisis.selectors import banner_payload

    visitor = visitor or tokens.new_visitor(widget.key)
    greeting = {code: widget.greeting_for(code) for code in desk_languages.codes()}
    payload = {
        "token": tokens.issue(visitor),
        "widget": {
            "name": widget.name,
            "colour": widget.colour,
            "position": widget.position,
            "greeting": greeting,
            "reply_minutes": widget.reply_minutes,
        },
        "online": agents_online(),
        "crisis": banner_payload(),
        "history": selectors.history(visitor),
        "socket": _socket_base(request) + "/ws/chat/?widget=" + widget.key,
    }
    return _cors(JsonResponse(payload, json_dumps_params={"ensure_ascii": False}), origin)


@csrf_exempt
def messages(request: HttpRequest, key: str) -> HttpResponse:
    """GET ?after=<id>&wait=1: the conversation after an event id, waiting up to 20 s for news
    (the fallback where websockets are blocked). POST {client_id, text}: send one message."""
    if (answer := _preflight(request, key)) is not None:
        return answer
    try:
        widget, origin, visitor = _guard(request, key, need_token=True)
    except _Refused as refused:
        return refused.response
    assert visitor is not None
    if request.method == "POST":
        try:
            data = _body(request)
        except ValueError:
            return _error(400, "invalid", "The body must be a JSON object.", origin)
        try:
            accepted = inbound.accept(
                visitor,
                widget,
                client_id=data.get("client_id"),
                text=data.get("text"),
                ip=client_address(request),
                language=str(data.get("language", "")),
                name=str(data.get("name", "")),
            )
        except inbound.ChatRefused as refused:
            status = 429 if refused.code == "rate_limited" else 400
            return _error(status, refused.code, refused.message, origin, retry_after=refused.retry_after)
        return _cors(JsonResponse({"ack": accepted.client_id}, status=202), origin)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST, OPTIONS"})
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return _error(400, "invalid", "after is an event id.", origin)
    deadline = time.monotonic() + (LONG_POLL_SECONDS if request.GET.get("wait") else 0)
    while True:
        rows = selectors.history(visitor, after=after)
        if rows or time.monotonic() >= deadline:
            break
        close_old_connections()
        time.sleep(POLL_STEP)
    return _cors(JsonResponse({"messages": rows}, json_dumps_params={"ensure_ascii": False}), origin)


@csrf_exempt
def delivered(request: HttpRequest, key: str) -> HttpResponse:
    """POST {ids}: the widget showed these replies."""
    if (answer := _preflight(request, key)) is not None:
        return answer
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"})
    try:
        widget, origin, visitor = _guard(request, key, need_token=True)
    except _Refused as refused:
        return refused.response
    try:
        data = _body(request)
    except ValueError:
        return _error(400, "invalid", "The body must be a JSON object.", origin)
    assert visitor is not None
    return _cors(JsonResponse({"ids": inbound.mark_delivered(visitor, data.get("ids"))}), origin)
