"""The phone simulator: play the customer. Messages go through the real signed webhook path.

The server signs each message with the auth token on the customer's behalf and posts it to its own
/webhooks/twilio/sms/ through Django's handler, so signature checks, parsing and recording are the
exact code Twilio's requests meet. Replies are read where they really went: the fake Twilio's
records when TWILIO_API_BASE is set, else the console gateway's outbound events in the timeline.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import httpx
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.test import Client
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from twilio.request_validator import RequestValidator

from channels_app.base import webhook_url_path
from helpdesk.customers.services import normalize_phone
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import Direction, TimelineEvent

DEFAULT_NUMBER = "+14155550100"
THREAD_LIMIT = 50


def _enabled() -> None:
    if not (settings.DEBUG or getattr(settings, "DEMO_PHONE_ENABLED", False)):
        raise Http404("The phone simulator is only available on demo machines.")


def _number(raw: str) -> str:
    try:
        return normalize_phone(raw or DEFAULT_NUMBER)
    except (ApplicationError, ValueError):
        return ""


def deliver_as_twilio(*, sender: str, body: str) -> int:
    """Post a signed inbound webhook to ourselves, exactly as Twilio would. Returns the status code."""
    path = webhook_url_path("sms:inbound")
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "From": sender,
        "To": settings.TWILIO_FROM,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        settings.PUBLIC_BASE_URL + path, params
    )
    host = (
        settings.ALLOWED_HOSTS[0]
        if settings.ALLOWED_HOSTS and settings.ALLOWED_HOSTS[0] != "*"
        else "localhost"
    )
    response = Client(HTTP_HOST=host).post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    return response.status_code


def _replies(number: str) -> list[dict]:
    if settings.TWILIO_API_BASE:
        try:
            found = httpx.get(
                f"{settings.TWILIO_API_BASE}/_fake/messages", params={"to": number}, timeout=3
            ).json()
        except (httpx.HTTPError, ValueError):
            return []
        return [
            {"body": m["body"], "at": _parse(m["date_created"]), "status": m["status"], "mine": False}
            for m in found[-THREAD_LIMIT:]
        ]
    events = TimelineEvent.objects.filter(
        direction=Direction.OUT, channel="sms", contact_point__value=number
    ).order_by("-created_at")[:THREAD_LIMIT]
    return [{"body": e.body, "at": e.created_at, "status": e.delivery_status, "mine": False} for e in events]


def _parse(value: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return parse_datetime(value or "")


def _thread(number: str) -> list[dict]:
    sent = TimelineEvent.objects.filter(
        direction=Direction.IN, channel="sms", contact_point__value=number
    ).order_by("-created_at")[:THREAD_LIMIT]
    items = [{"body": e.body, "at": e.created_at, "status": "", "mine": True} for e in sent] + _replies(
        number
    )
    items = [i for i in items if i["at"] is not None]
    return sorted(items, key=lambda i: i["at"])[-THREAD_LIMIT:]


@require_GET
def phone(request: HttpRequest) -> HttpResponse:
    _enabled()
    number = _number(request.GET.get("number", "")) or DEFAULT_NUMBER
    return render(
        request,
        "sms/phone.html",
        {"number": number, "thread": _thread(number), "via_fake": bool(settings.TWILIO_API_BASE)},
    )


@require_GET
def thread(request: HttpRequest) -> HttpResponse:
    _enabled()
    number = _number(request.GET.get("number", ""))
    return render(
        request, "sms/_thread.html", {"number": number, "thread": _thread(number) if number else []}
    )


@require_POST
def send(request: HttpRequest) -> HttpResponse:
    _enabled()
    number = _number(request.POST.get("number", ""))
    body = (request.POST.get("body") or "").strip()
    error = ""
    if not number:
        error = _("Enter a phone number in international format, e.g. +14155550100.")
    elif not body:
        error = _("Type a message first.")
    else:
        status = deliver_as_twilio(sender=number, body=body[:1600])
        if status != 200:
            error = _("The webhook refused the message (HTTP %(status)s).") % {"status": status}
    # Errors are shown in the thread (htmx swaps only 2xx), with role="alert".
    return render(
        request,
        "sms/_thread.html",
        {"number": number, "thread": _thread(number) if number else [], "error": error},
    )
