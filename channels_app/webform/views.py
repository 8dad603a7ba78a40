"""Public contact form: anyone can write to us without an account."""

from __future__ import annotations

import logging
import time

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from channels_app.webform.forms import ContactForm
from channels_app.webform.services import submit_contact_form
from helpdesk.net import client_address, counting_key
from helpdesk.tickets.models import Ticket
from helpdesk.windowcount import WindowCounter

logger = logging.getLogger(__name__)

# Per-IP limit: generous for a family sharing one connection, tight for a script.
RATE_LIMIT = 10
RATE_WINDOW_SECONDS = 10 * 60
SIGNING_SALT = "webform.thanks"


def _client_ip(request: HttpRequest) -> str:
    return client_address(request)


def _over_limit(ip: str) -> bool:
    counter = WindowCounter(f"webform:rate:{counting_key(ip)}", RATE_LIMIT, RATE_WINDOW_SECONDS)
    try:
        return not counter.allow(time.time())
    except Exception:  # noqa: BLE001 - the cache is down: take the message (a crisis line stays open)
        logger.warning("contact form rate limit unavailable; not limiting", exc_info=True)
        return False


@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    """Show the form; on a valid submit record it and send the writer to the thank-you page."""
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            if _over_limit(_client_ip(request)):
                form.add_error(None, _("Too many messages from this connection. Please try again later."))
                return render(request, "webform/contact.html", {"form": form}, status=429)
            data = form.cleaned_data
            submission = submit_contact_form(
                name=data["name"],
                email=data["email"],
                phone=data["phone"],
                language=data["language"],
                subject=data["subject"],
                message=data["message"],
                token=data["token"],
                remote_addr=_client_ip(request),
            )
            ref = signing.dumps(submission.ticket.pk, salt=SIGNING_SALT)
            return redirect("webform:thanks", ref=ref)
        return render(request, "webform/contact.html", {"form": form}, status=400)
    return render(request, "webform/contact.html", {"form": ContactForm()})


def thanks(request: HttpRequest, ref: str) -> HttpResponse:
    """Confirm receipt with the ticket number; the signed reference hides other tickets."""
    try:
        ticket_id = signing.loads(ref, salt=SIGNING_SALT, max_age=24 * 3600)
    except signing.BadSignature as exc:
        raise Http404 from exc
    ticket = Ticket.objects.filter(pk=ticket_id).only("id", "language").first()
    if ticket is None:
        raise Http404
    return render(request, "webform/thanks.html", {"ticket": ticket})
