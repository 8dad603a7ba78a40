"""Record a contact-form submission through the one inbound path."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from channels_app.base import InboundMessage
from helpdesk.customers.models import ContactKind
from helpdesk.customers.services import add_contact_point
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import record_inbound

PROVIDER = "webform"


@dataclass(frozen=True)
class Submission:
    ticket: Ticket
    created: bool


def submit_contact_form(
    *,
    name: str,
    email: str,
    subject: str,
    message: str,
    language: str,
    token: str,
    phone: str = "",
    remote_addr: str = "",
) -> Submission:
    """Record the message as a new ticket (once per token) and note the phone it gives.

    Nobody vouches for a form's writer: the core never files it into a known customer's record
    (see `resolve_unproven_sender`), and the phone is kept unverified on the new customer, or only
    in the event's payload when it is somebody else's."""
    payload = {"phone": phone} if phone else {}
    if remote_addr:
        payload["remote_addr"] = remote_addr
    inbound = InboundMessage(
        channel="web",
        sender_kind=ContactKind.EMAIL,
        sender=email,
        sender_name=name,
        subject=subject,
        body=message,
        language=language,
        provider=PROVIDER,
        provider_id=token,
        payload=payload,
        new_ticket=False,
    )
    with transaction.atomic():
        result = record_inbound(message=inbound)
        event = result.event
        if result.created and phone:
            try:
                # A savepoint: a number that belongs to someone else must not undo the message.
                with transaction.atomic():
                    add_contact_point(customer=event.customer, kind=ContactKind.PHONE, value=phone)
            except ApplicationError:
                pass  # taken by another customer: kept in the event's payload for an agent to merge
    assert event.ticket is not None  # record_inbound always threads or opens a ticket
    return Submission(ticket=event.ticket, created=result.created)
