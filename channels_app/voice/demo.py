"""The call simulator: play a caller. The local fake Twilio rings the desk's real voice webhook and
walks the TwiML it answers (channels_app/fake_twilio/voice.py); the keypad sends the caller's keys
to the fake, and the page shows, step by step, what the IVR said and what the caller pressed.

Only on demo machines (DEBUG or DEMO_PHONE_ENABLED), and only with TWILIO_API_BASE pointing at the
fake: there is no real call to simulate otherwise.
"""

from __future__ import annotations

import re

import httpx
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from channels_app.voice.urls import absolute
from helpdesk.customers.services import normalize_phone
from helpdesk.errors import ApplicationError

DEFAULT_NUMBER = "+14155550100"
SID = re.compile(r"^CA[0-9a-f]{32}$")
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")


def _enabled() -> str:
    if not (settings.DEBUG or getattr(settings, "DEMO_PHONE_ENABLED", False)):
        raise Http404("The call simulator is only available on demo machines.")
    return settings.TWILIO_API_BASE.rstrip("/")


def _fake(method: str, path: str, **kwargs) -> dict | None:
    base = _enabled()
    if not base:
        return None
    try:
        response = httpx.request(method, base + path, timeout=5, **kwargs)
        return response.json() if response.status_code < 400 else None
    except (httpx.HTTPError, ValueError):
        return None


def _state(sid: str) -> dict | None:
    if not SID.match(sid):
        raise Http404
    return _fake("GET", f"/_fake/calls/{sid}")


@require_GET
def simulator(request: HttpRequest) -> HttpResponse:
    base = _enabled()
    number = request.GET.get("number") or DEFAULT_NUMBER
    return render(request, "voice/call.html", {"number": number, "via_fake": bool(base), "keys": KEYS})


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    _enabled()
    try:
        number = normalize_phone(request.POST.get("number", "") or DEFAULT_NUMBER)
    except ApplicationError:
        return render(
            request, "voice/_call.html", {"error": _("Enter a phone number in international format.")}
        )
    spec = {
        "from": number,
        "to": settings.TWILIO_FROM,
        "url": absolute("voice:inbound"),
        "status_callback": absolute("voice:status"),
        "interactive": True,
        "input_timeout": 45,
        "recording_text": request.POST.get("voicemail", "")[:500] or _("Please call me back about my card."),
    }
    state = _fake("POST", "/_fake/calls", json=spec)
    if state is None:
        return render(request, "voice/_call.html", {"error": _("The local fake Twilio did not answer.")})
    return render(request, "voice/_call.html", {"call": state, "keys": KEYS})


@require_GET
def state(request: HttpRequest, sid: str) -> HttpResponse:
    return render(request, "voice/_call.html", {"call": _state(sid), "keys": KEYS})


@require_POST
def press(request: HttpRequest, sid: str) -> HttpResponse:
    if not SID.match(sid):
        raise Http404
    key = request.POST.get("key", "")
    if key == "hangup":
        item: dict = {"hangup": True}
    elif key == "agent":
        item = {"agent": True}
    elif request.POST.get("speech"):
        item = {"speech": request.POST["speech"][:200]}
    elif key in KEYS or (key.isdigit() and len(key) <= 6):
        item = {"digits": key}
    else:
        item = {}
    if item:
        _fake("POST", f"/_fake/calls/{sid}/input", json=item)
    return render(request, "voice/_call.html", {"call": _state(sid), "keys": KEYS})
