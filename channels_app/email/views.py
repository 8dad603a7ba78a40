"""The managers' page of the email doors: mailboxes and the mail that could not be recorded."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from channels_app.email import selectors
from helpdesk.accounts.guards import manager_required
from helpdesk.messaging.models import InboxMessage


@manager_required
def mailboxes(request: HttpRequest) -> HttpResponse:
    """Mailboxes with their last fetch, and the email rows the inbox kept with an error."""
    return render(
        request,
        "email/mailboxes.html",
        {"mailboxes": selectors.mailboxes(), "unrecorded": selectors.unrecorded_mail()},
    )


@manager_required
def raw_source(request: HttpRequest, pk: int) -> HttpResponse:
    """The raw message as it arrived (superusers only: it may hold anything a sender put in it)."""
    if not request.user.is_superuser:
        raise PermissionDenied(_("Only administrators may download a raw message."))
    row = get_object_or_404(InboxMessage.objects.only("id", "raw"), pk=pk, channel="email")
    response = HttpResponse(bytes(row.raw or b""), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inbox-{row.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
