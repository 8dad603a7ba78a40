"""When nobody can chat now: the visitor leaves a phone number or an email address, proves it with a
one-time code (helpdesk.customers.codes), and the desk answers there; or asks for the conversation
by email, to an address proven the same way.

A contact point receives messages only once verified: the code is the one message that goes to an
address before that (an outbound event on the visitor's ticket that shows where it went, never the
code). A proven address joins the visitor's customer, verified. If it is another customer's, nothing
is attached: the ticket says so, and an agent merges the two.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from channels_app.chat import selectors
from channels_app.chat.inbound import ChatRefused
from channels_app.chat.tokens import Visitor
from helpdesk.customers import codes
from helpdesk.customers.models import ContactKind, ContactPoint
from helpdesk.errors import ApplicationError
from helpdesk.messaging import outbox
from helpdesk.tickets.models import DeliveryStatus, Direction, EventKind, Ticket, TimelineEvent
from helpdesk.windowcount import WindowCounter

FOLLOW_UP, TRANSCRIPT = "follow_up", "transcript"
PURPOSES = {FOLLOW_UP: "chat-follow-up", TRANSCRIPT: "chat-transcript"}
TRANSCRIPTS_PER_HOUR = 3
KIND_OF = {"sms": ContactKind.PHONE, "email": ContactKind.EMAIL}


def _subject(visitor: Visitor) -> str:
    return f"{visitor.widget_key}:{visitor.visitor_id}"


def _ticket(visitor: Visitor) -> Ticket:
    ticket_id = selectors.open_ticket_id(visitor)
    if ticket_id is None:
        raise ChatRefused("no_conversation", _("Write your question first; then we can answer elsewhere."))
    return Ticket.objects.select_related("customer").get(pk=ticket_id)


def send_code(visitor: Visitor, *, channel: object, value: object, purpose: object, language: str) -> str:
    """Send a code to the address; returns the address as normalized."""
    from helpdesk.customers.services import normalize_contact

    if purpose not in PURPOSES or channel not in KIND_OF or (purpose == TRANSCRIPT and channel != "email"):
        raise ChatRefused("invalid", _("Choose SMS or email."))
    try:
        address = normalize_contact(KIND_OF[str(channel)], str(value or "")[:254])
    except ApplicationError as exc:
        raise ChatRefused("invalid_address", exc.message) from exc
    ticket = _ticket(visitor)
    known = ContactPoint.objects.filter(kind=KIND_OF[str(channel)], value=address).first()
    if known is not None and (known.opted_out_at or known.invalid_at or known.bouncing_at):
        # Consent and delivery hold for the code too: an address that said STOP gets nothing.
        raise ChatRefused("cannot_send", _("We cannot send messages to this address; choose another."))
    # codes.CodeRefused is a Refused: the widget's views answer it as they answer ChatRefused.
    code = codes.issue(
        purpose=PURPOSES[str(purpose)], subject=_subject(visitor), kind=KIND_OF[str(channel)], value=address
    )
    with override(language or ticket.language):
        text = _("Your code for the chat with us: %(code)s. It works once, for 10 minutes.") % {"code": code}
        shown = _("A one-time code was sent to %(address)s (asked from the chat).") % {"address": address}
    with transaction.atomic():
        event = TimelineEvent.objects.create(
            customer_id=ticket.customer_id, ticket=ticket, channel=str(channel), direction=Direction.OUT,
            kind=EventKind.CONSENT, body=shown,
            payload={"verification_code": {"to": address, "for": purpose}},
            delivery_status=DeliveryStatus.PENDING, created_at=timezone.now(),
        )  # fmt: skip
        outbox.enqueue(event=event, to=address, body=text, subject=text, language=language or ticket.language)
    return address


def verify(visitor: Visitor, *, code: object, purpose: object) -> ContactPoint | None:
    """Check the code; the proven address joins the visitor's customer, verified (None: it is
    another customer's). For a follow-up, the ticket is answered on that channel from now on."""
    from helpdesk.customers.services import add_contact_point, verify_contact_point
    from helpdesk.tickets.services import add_system_event

    if purpose not in PURPOSES:
        raise ChatRefused("invalid", _("Choose SMS or email."))
    ticket = _ticket(visitor)
    proven = codes.check(purpose=PURPOSES[str(purpose)], subject=_subject(visitor), code=code)
    channel = "sms" if proven.kind == ContactKind.PHONE else "email"
    with transaction.atomic():
        existing = ContactPoint.objects.filter(kind=proven.kind, value=proven.value).first()
        if existing is not None and existing.customer_id != ticket.customer_id:
            add_system_event(
                customer_id=ticket.customer_id, ticket=ticket, kind=EventKind.CONSENT,
                body=_(
                    "The visitor proved by a code that %(address)s is theirs; it belongs to another "
                    "customer. Merge the two to answer there."
                ) % {"address": proven.value},
                payload={"proven_elsewhere": {"kind": proven.kind, "customer": existing.customer_id}},
            )  # fmt: skip
            return None
        if existing is None:
            point = add_contact_point(
                customer=ticket.customer, kind=proven.kind, value=proven.value, verified=True
            )
        else:
            point = existing
            verify_contact_point(contact_point=point)
        if purpose == FOLLOW_UP:
            add_system_event(
                customer_id=ticket.customer_id, ticket=ticket, kind=EventKind.CONSENT, contact_point=point,
                body=_("The visitor asked to be answered at %(address)s (proved by a code).")
                % {"address": point.value},
                payload={"follow_up": {"channel": channel, "contact_point": point.pk}},
            )  # fmt: skip
            Ticket.objects.filter(pk=ticket.pk).update(channel=channel)
    return point


def send_transcript(visitor: Visitor, *, language: str) -> str:
    """Email the conversation to the visitor's proven address; returns it. ChatRefused
    ("needs_email") when they have none yet: prove one first (purpose transcript)."""
    from helpdesk.tickets.services import SystemMessage, send_system_messages

    ticket = _ticket(visitor)
    point = (
        ContactPoint.objects.filter(
            customer_id=ticket.customer_id, kind=ContactKind.EMAIL, verified=True,
            opted_out_at__isnull=True, bouncing_at__isnull=True, invalid_at__isnull=True,
        )
        .order_by("-id")
        .first()
    )  # fmt: skip
    if point is None:
        raise ChatRefused("needs_email", _("Give an email address and the code we send to it first."))
    sent = WindowCounter("tourniquet:chat:transcript:" + _subject(visitor), TRANSCRIPTS_PER_HOUR, 3600)
    if not sent.allow(time.time()):
        raise ChatRefused(
            "rate_limited", _("The conversation was sent a moment ago."), sent.retry_after(time.time())
        )
    with override(language or ticket.language):
        you, desk = _("You"), _("Us")
        lines = [_("Your conversation with us:"), ""]
        for row in selectors.history(visitor):
            when = timezone.localtime(datetime.fromisoformat(row["at"])).strftime("%Y-%m-%d %H:%M")
            lines.append(f"[{when}] {you if row['from'] == 'visitor' else desk}: {row['text']}")
    with transaction.atomic():
        send_system_messages(
            [SystemMessage(ticket=ticket, channel="email", body="\n".join(lines), contact_point=point,
                           payload={"transcript": True})]
        )  # fmt: skip
    return point.value
