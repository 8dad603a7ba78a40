"""Voice pages: the ticket's calls with a call-back button, the IVR editor with live numbers, and
the IVR's recordings (public: Twilio fetches them to <Play> to callers)."""

from __future__ import annotations

import re
import secrets

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels_app.base import ChannelError
from channels_app.voice import calls
from channels_app.voice.forms import IvrForm
from channels_app.voice.models import Call, IvrConfig
from helpdesk.accounts.guards import manager_required, staff_required
from helpdesk.crisis.models import Crisis
from helpdesk.crisis.selectors import active_crises
from helpdesk.tickets.selectors import customer_contact_points, visible_tickets

RECORDING_NAME = re.compile(r"^[a-z]{2}-[A-Za-z0-9_-]{16}\.(mp3|wav)$")


def _panel(request: HttpRequest, ticket, **extra) -> HttpResponse:
    phones = [p for p in customer_contact_points(customer_id=ticket.customer_id) if p.kind == "phone"]
    context = {
        "ticket": ticket,
        "calls": Call.objects.filter(ticket=ticket)
        .select_related("answered_by")
        .order_by("-started_at")[:10],
        "phones": phones,
        **extra,
    }
    return render(request, "voice/_ticket_panel.html", context)


@staff_required
def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket's calls and a "call back" button, in the sidebar (loaded by htmx)."""
    ticket = get_object_or_404(visible_tickets(request.user), pk=ticket_id)
    return _panel(request, ticket)


@staff_required
@require_POST
def call_back(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Place the agent's call back to one of the customer's numbers, through Twilio."""
    ticket = get_object_or_404(visible_tickets(request.user), pk=ticket_id)
    phones = {
        p.value: p for p in customer_contact_points(customer_id=ticket.customer_id) if p.kind == "phone"
    }
    number = request.POST.get("to", "")
    if number not in phones:
        return _panel(request, ticket, error=_("Choose one of the customer's numbers."))
    try:
        call = calls.place_call_back(ticket=ticket, agent=request.user, to_number=number)
    except ChannelError as exc:
        return _panel(request, ticket, error=exc.message)
    return _panel(request, ticket, placed=call)


@manager_required
def ivr_editor(request: HttpRequest) -> HttpResponse:
    """What callers hear during a crisis (?crisis=<id>; the active one when none is named) or on
    ordinary days (?crisis=), with live numbers."""
    crisis = None
    if request.GET.get("crisis"):
        crisis = get_object_or_404(Crisis, pk=request.GET["crisis"])
    elif "crisis" not in request.GET:
        crisis = active_crises().first()
    config = IvrConfig.objects.filter(crisis=crisis).first() or IvrConfig(crisis=crisis)
    form = IvrForm(request.POST or None, request.FILES or None, instance=config)
    if request.method == "POST" and form.is_valid():
        _save(form)
        messages.success(request, _("The IVR is saved: the next caller hears it."))
        return redirect(request.get_full_path())
    since = crisis.starts_at if crisis else None
    context = {
        "form": form,
        "config": config,
        "crisis": crisis,
        "crises": Crisis.objects.order_by("-created_at")[:20],
        "stats": calls.stats(since=since),
        "languages": [
            {
                "code": code,
                "name": name,
                "fields": [form[f"message_{code}"], form[f"sms_{code}"], form[f"recording_{code}"]],
                "recording": config.recordings.get(code, ""),
            }
            for code, name in form.language_choices
        ],
    }
    return render(request, "voice/ivr.html", context)


def _save(form: IvrForm) -> IvrConfig:
    config = form.save(commit=False)
    for code, _name in form.language_choices:
        config.messages[code] = form.cleaned_data.get(f"message_{code}", "").strip()
        config.sms_steps[code] = form.cleaned_data.get(f"sms_{code}", "").strip()
        upload = form.cleaned_data.get(f"recording_{code}")
        if upload is not None:
            extension = "wav" if upload.read(4) == b"RIFF" else "mp3"
            upload.seek(0)
            name = default_storage.save(f"ivr/{code}-{secrets.token_urlsafe(12)[:16]}.{extension}", upload)
            config.recordings[code] = reverse("voice:recording", args=[name.rsplit("/", 1)[1]])
    config.messages = {k: v for k, v in config.messages.items() if v}
    config.sms_steps = {k: v for k, v in config.sms_steps.items() if v}
    config.save()
    return config


@manager_required
def ivr_stats(request: HttpRequest) -> HttpResponse:
    crisis = Crisis.objects.filter(pk=request.GET.get("crisis") or 0).first()
    return render(
        request,
        "voice/_ivr_stats.html",
        {"stats": calls.stats(since=crisis.starts_at if crisis else None), "crisis": crisis},
    )


def recording(request: HttpRequest, name: str) -> FileResponse:
    """An IVR recording, for Twilio's <Play>: public, as the crisis message it holds is."""
    if not RECORDING_NAME.match(name) or not default_storage.exists(f"ivr/{name}"):
        raise Http404
    content_type = "audio/wav" if name.endswith(".wav") else "audio/mpeg"
    response = FileResponse(default_storage.open(f"ivr/{name}"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=300"
    return response
