"""Which ticket an email continues, in this order: our own Message-IDs in In-Reply-To/References
(then those of a forwarded message inside it); the ticket reference in the subject (`[#123]`); the
reply address token (`help+t123.<hmac>@…`); else none, and it opens a ticket of its own.

Replies to a crisis email broadcast name the delivery's own Message-ID, which belongs to no ticket:
each customer's reply goes to their own ticket (the core threads it by sender), never to a thread
shared by every recipient. `record_inbound` takes the hint only into the sender's own ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

from channels_app.email.parse import OUTBOUND_PROVIDER, PROVIDER, ParsedMail

SUBJECT_REF = re.compile(r"\[#(\d{1,12})\]")
TOKEN = re.compile(r"\+t(\d{1,12})\.([0-9a-f]{12})@", re.IGNORECASE)


def _token_mac(ticket_id: int) -> str:
    key = (settings.SECRET_KEY + ":email-reply-token").encode()
    return hmac.new(key, f"t{ticket_id}".encode(), hashlib.sha256).hexdigest()[:12]


def reply_address(address: str, ticket_id: int) -> str:
    """`help@desk` → `help+t123.<mac>@desk`: a reply to it names the ticket even without headers."""
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}+t{ticket_id}.{_token_mac(ticket_id)}@{domain}"


def ticket_of_token(addresses: list[str]) -> int | None:
    for address in addresses:
        match = TOKEN.search(address)
        if match and hmac.compare_digest(match.group(2).lower(), _token_mac(int(match.group(1)))):
            return int(match.group(1))
    return None


def ticket_of_ids(ids: list[str]) -> int | None:
    """The ticket of the newest of these Message-IDs that is one of ours (sent or received)."""
    from helpdesk.tickets.models import TimelineEvent

    if not ids:
        return None
    found = (
        TimelineEvent.objects.filter(
            provider__in=(OUTBOUND_PROVIDER, PROVIDER), provider_id__in=ids[-50:], ticket__isnull=False
        )
        .order_by("-created_at", "-id")
        .values_list("ticket_id", flat=True)
        .first()
    )
    return found


def ticket_of_subject(subject: str) -> int | None:
    from helpdesk.tickets.models import Ticket

    for match in SUBJECT_REF.finditer(subject or ""):
        ticket_id = int(match.group(1))
        if Ticket.objects.filter(pk=ticket_id).exists():
            return ticket_id
    return None


def thread_hint(mail: ParsedMail, recipients: list[str]) -> tuple[int | None, str]:
    """(ticket id, the rule that found it) or (None, '')."""
    found = ticket_of_ids(mail.in_reply_to + mail.references)
    if found:
        return found, "headers"
    for forwarded in mail.forwarded:
        found = ticket_of_ids([forwarded["message_id"], *forwarded["in_reply_to"], *forwarded["references"]])
        if found:
            return found, "forwarded"
    subjects = [mail.subject] + [f["subject"] for f in mail.forwarded]
    for subject in subjects:
        found = ticket_of_subject(subject)
        if found:
            return found, "subject"
    found = ticket_of_token(recipients)
    if found:
        return found, "token"
    return None, ""
