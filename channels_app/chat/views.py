"""The widget's HTTP side: the script, the session it starts, and the long-polling fallback.

Every answer carries CORS for the widget's allowed origins only; a page elsewhere gets 403. No
cookies and no CSRF: the visitor token (header X-Chat-Token) is the credential, and it names one
conversation.
"""

from __future__ import annotations

import functools
import json
import time

from django.conf import settings
from django.contrib import messages as messages_framework
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from channels_app.chat import followup, inbound, selectors, tokens, uploads
from channels_app.chat.forms import WidgetForm
from channels_app.chat.models import ChatWidget
from helpdesk import languages as desk_languages
from helpdesk.accounts.guards import manager_required
from helpdesk.embed import embed_file
from helpdesk.errors import Refused
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


def _allowed_widget(request: HttpRequest, key: str) -> tuple[ChatWidget | None, str]:
    """The widget, when the calling page's origin is one it allows (None otherwise)."""
    origin = request.headers.get("Origin", "")
    widget = ChatWidget.objects.filter(key=key[:24], is_active=True).select_related("queue").first()
    return (widget if widget is not None and widget.allows(origin) else None), origin


def _guard(
    request: HttpRequest, key: str, *, need_token: bool
) -> tuple[ChatWidget, str, tokens.Visitor | None]:
    widget, origin = _allowed_widget(request, key)
    if widget is None:
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


def _widget_endpoint(methods: tuple[str, ...], *, need_token: bool, json_body: bool):
    """The prologue every widget call shares: the CORS preflight, the method, the origin and
    token guard, (for a POST with `json_body`) the JSON object it sends, and the answer to a
    refusal (`helpdesk.errors.Refused`, raised by the chat's services). The view gets
    (request, widget, origin, visitor, data)."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def endpoint(request: HttpRequest, key: str) -> HttpResponse:
            if request.method == "OPTIONS":
                widget, origin = _allowed_widget(request, key)
                return _cors(HttpResponse(status=204), origin) if widget else HttpResponse(status=403)
            if request.method not in methods:
                return HttpResponse(status=405, headers={"Allow": ", ".join((*methods, "OPTIONS"))})
            try:
                widget, origin, visitor = _guard(request, key, need_token=need_token)
            except _Refused as refused:
                return refused.response
            data: dict = {}
            if json_body and request.method == "POST":
                try:
                    data = _body(request)
                except ValueError:
                    return _error(400, "invalid", "The body must be a JSON object.", origin)
            try:
                return view(request, widget, origin, visitor, data)
            except Refused as refused:  # a limit, a code, a file: the widget shows why
                return _refusal(refused, origin)

        return endpoint

    return decorate


def agents_online() -> bool:
    from helpdesk.accounts.models import AgentProfile

    return AgentProfile.objects.filter(available=True, user__is_active=True).exists()


def _availability(widget: ChatWidget) -> dict:
    """open: within the widget's business hours (opens_at: when they next begin, else null);
    online: open and an agent is available. Either false: the widget offers a follow-up."""
    now = timezone.now()
    opens_at = widget.opens_at(now)
    is_open = opens_at <= now
    return {
        "open": is_open,
        "opens_at": None if is_open else opens_at.isoformat(),
        "online": is_open and agents_online(),
    }


def _socket_base(request: HttpRequest) -> str:
    """Where the widget opens its socket: WEBSOCKET_BASE_URL, else this server."""
    base = settings.WEBSOCKET_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    return "ws" + base[4:] if base.startswith("http") else base


def _crisis_notice(snapshot: dict) -> dict:
    """What the widget shows before the chat: each active crisis's published statement (the words
    every channel says), the banners and the directory, from the snapshot that outlives the database."""
    from helpdesk.crisis import public

    banner = public.with_open_flags(snapshot.get("banner") or {})
    statements = [
        {
            "id": c["id"],
            "version": c.get("version"),
            "texts": {
                lang: {k: v for k, v in values.items() if k in ("title", "summary", "what_to_do")}
                for lang, values in (c.get("texts") or {}).items()
            },
        }
        for c in snapshot.get("crises", [])
    ]
    return {
        "statements": statements,
        "banners": banner.get("banners", []),
        "directory": banner.get("directory", []),
    }


@_widget_endpoint(("POST",), need_token=False, json_body=True)
def session(request: HttpRequest, widget: ChatWidget, origin: str, visitor, data: dict) -> HttpResponse:
    """POST: start a conversation (or go on with the token the widget kept): token, the widget's
    look, whether anyone is online, the crisis banners and directory, and the history so far."""
    from helpdesk.crisis import public

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
        **_availability(widget),
        "crisis": _crisis_notice(public.current()),
        "history": selectors.history(visitor),
        "socket": _socket_base(request) + "/ws/chat/?widget=" + widget.key,
    }
    return _cors(JsonResponse(payload, json_dumps_params={"ensure_ascii": False}), origin)


@_widget_endpoint(("GET", "POST"), need_token=True, json_body=True)
def messages(request: HttpRequest, widget: ChatWidget, origin: str, visitor, data: dict) -> HttpResponse:
    """GET ?after=<id>&wait=1: the conversation after an event id, waiting up to 20 s for news
    (the fallback where websockets are blocked). POST {client_id, text}: send one message."""
    if request.method == "POST":
        accepted = inbound.accept(
            visitor,
            widget,
            client_id=data.get("client_id"),
            text=data.get("text"),
            ip=client_address(request),
            language=str(data.get("language", "")),
            name=str(data.get("name", "")),
        )
        return _cors(JsonResponse({"ack": accepted.client_id}, status=202), origin)
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


@_widget_endpoint(("POST",), need_token=True, json_body=True)
def delivered(request: HttpRequest, widget: ChatWidget, origin: str, visitor, data: dict) -> HttpResponse:
    """POST {ids}: the widget showed these replies."""
    return _cors(JsonResponse({"ids": inbound.mark_delivered(visitor, data.get("ids"))}), origin)


@_widget_endpoint(("POST",), need_token=True, json_body=True)
def follow_up(request: HttpRequest, widget: ChatWidget, origin: str, visitor, data: dict) -> HttpResponse:
    """POST {channel: sms|email, value, purpose: follow_up|transcript}: send a one-time code there.
    POST {code, purpose} to follow-up/verify/ proves it."""
    address = followup.send_code(
        visitor, channel=data.get("channel"), value=data.get("value"), purpose=data.get("purpose"),
        language=str(data.get("language", "")),
    )  # fmt: skip
    return _cors(JsonResponse({"sent_to": address}, status=202), origin)


@_widget_endpoint(("POST",), need_token=True, json_body=True)
def follow_up_verify(
    request: HttpRequest, widget: ChatWidget, origin: str, visitor, data: dict
) -> HttpResponse:
    point = followup.verify(visitor, code=data.get("code"), purpose=data.get("purpose"))
    answer: dict = {"verified": True, "address": point.value if point is not None else ""}
    if data.get("purpose") == followup.TRANSCRIPT and point is not None:
        answer["transcript_to"] = followup.send_transcript(visitor, language=str(data.get("language", "")))
    return _cors(JsonResponse(answer), origin)


@_widget_endpoint(("POST",), need_token=True, json_body=True)
def transcript(request: HttpRequest, widget: ChatWidget, origin: str, visitor, data: dict) -> HttpResponse:
    """POST: email the conversation to the visitor's proven address (409 needs_email: prove one)."""
    address = followup.send_transcript(visitor, language=str(data.get("language", "")))
    return _cors(JsonResponse({"sent_to": address}, status=202), origin)


@_widget_endpoint(("POST",), need_token=True, json_body=False)
def upload(request: HttpRequest, widget: ChatWidget, origin: str, visitor, data: dict) -> HttpResponse:
    """POST multipart {file, client_id}: a photo or PDF, sent as the visitor's message (413 too
    big, 400 not a photo or PDF)."""
    if int(request.headers.get("Content-Length") or 0) > settings.CHAT_UPLOAD_MAX_BYTES + 65536:
        return _error(413, "too_large", _("The file is too large."), origin)
    file = request.FILES.get("file")
    if file is None:
        return _error(400, "invalid", _("Choose a file to send."), origin)
    accepted = uploads.store(
        visitor, widget, name=file.name or "", data=file.read(settings.CHAT_UPLOAD_MAX_BYTES + 1),
        client_id=request.POST.get("client_id"), ip=client_address(request),
        language=request.POST.get("language", ""), visitor_name=request.POST.get("name", ""),
    )  # fmt: skip
    return _cors(JsonResponse({"ack": accepted.client_id}, status=202), origin)


def _refusal(refused: Refused, origin: str) -> HttpResponse:
    status = {
        "rate_limited": 429,
        "too_many_codes": 429,
        "needs_email": 409,
        "no_conversation": 409,
        "too_large": 413,
    }.get(  # fmt: skip
        refused.code, 400
    )
    return _error(status, refused.code, refused.message, origin, retry_after=refused.retry_after)


# --- The managers' pages ------------------------------------------------------------------


@manager_required
def manage_widgets(request: HttpRequest) -> HttpResponse:
    """The widgets, each with the script tag a website embeds."""
    widgets = ChatWidget.objects.select_related("queue").order_by("name", "id")
    return render(request, "chat/widgets.html", {"widgets": widgets, "script_base": _script_base(request)})


@manager_required
def edit_widget(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or change a widget: sites, colour, position, greetings, hours."""
    widget = get_object_or_404(ChatWidget, pk=pk) if pk is not None else ChatWidget()
    form = WidgetForm(request.POST or None, instance=widget)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages_framework.success(request, _("Widget saved."))
        return redirect("chat_manage:widgets")
    return render(
        request, "chat/widget_form.html",
        {"form": form, "widget": widget if widget.pk else None, "script_base": _script_base(request)},
    )  # fmt: skip


def _script_base(request: HttpRequest) -> str:
    return (settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")).rstrip("/")
