"""Replies out by SMTP: our Message-ID, In-Reply-To and References of the ticket's thread, the
ticket reference in the subject, a reply address that names the ticket, text and HTML parts, the
agent's name. One SMTP connection serves a whole batch (`send_many`).

The SMTP server's answer is the delivery status: accepted → sent; a refused recipient (5xx) →
undelivered and the address marked bouncing; a 4xx or a lost connection → retried by the relay.
Later bounces (DSNs) arrive as mail and move the event on (`parse.delivery_reports`).
"""

from __future__ import annotations

import html
import smtplib
from collections.abc import Sequence
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend

from channels_app.base import ChannelError, ContactState, DeliveryStatus, OutboundMessage, SendResult
from channels_app.email import thread
from channels_app.email.parse import OUTBOUND_PROVIDER, normalize_id
from channels_app.email.selectors import inbound_domains


def new_message_id() -> str:
    return make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)


def text_to_html(text: str) -> str:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html><body dir="auto">{body}</body></html>'


def thread_context(outbox_id: int) -> dict:
    """What the ticket's thread says about this reply: ticket, subject, ids to reference, From."""
    from helpdesk.messaging.models import Outbox
    from helpdesk.tickets.models import Direction, TimelineEvent

    row = Outbox.objects.select_related("event__ticket", "event__author").filter(pk=outbox_id).first()
    if row is None or row.event.ticket is None:
        return {}
    ticket = row.event.ticket
    mails = list(
        TimelineEvent.objects.filter(ticket=ticket, channel="email", provider_id__isnull=False)
        .exclude(pk=row.event_id)
        .order_by("created_at", "id")
        .values_list("direction", "provider_id", "payload")
    )
    ids = [provider_id for _, provider_id, _ in mails if provider_id and "@" in provider_id]
    last_in = next((m for m in reversed(mails) if m[0] == Direction.IN), None)
    # Reply from the address the customer wrote to, when it is one of ours: the To header is the
    # sender's word, and a reply "from" someone else's domain would be a forgery we signed.
    ours = inbound_domains()
    addresses = (last_in[2].get("to") or []) if last_in else []
    recipient = next((a for a in addresses if isinstance(a, str) and a.rpartition("@")[2] in ours), "")
    author = row.event.author
    return {
        "ticket_id": ticket.pk,
        "subject": (last_in[2].get("subject") if last_in else "") or ticket.subject,
        "in_reply_to": last_in[1] if last_in and "@" in last_in[1] else (ids[-1] if ids else ""),
        "references": ids[-20:],
        "mailbox": recipient if "@" in recipient and "+" not in recipient else "",
        "author": (author.get_full_name() or author.get_username()) if author else "",
        "automated": author is None,
    }


def build(message: OutboundMessage, message_id: str) -> EmailMultiAlternatives:
    context = thread_context(message.outbox_id)
    ticket_id = context.get("ticket_id")
    subject = context.get("subject") or message.subject or settings.EMAIL_DESK_NAME
    if ticket_id and f"[#{ticket_id}]" not in subject:
        subject = f"{subject} [#{ticket_id}]"
    if context.get("in_reply_to") and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    mailbox = context.get("mailbox") or settings.DEFAULT_FROM_EMAIL
    author = context.get("author")
    sender_name = f"{author} via {settings.EMAIL_DESK_NAME}" if author else settings.EMAIL_DESK_NAME
    headers = {"Message-ID": message_id}
    if context.get("in_reply_to"):
        headers["In-Reply-To"] = f"<{context['in_reply_to']}>"
        headers["References"] = " ".join(f"<{i}>" for i in context["references"])
    if context.get("automated"):
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: a responder must not answer it
    if "broadcast_delivery_id" in message.metadata:
        from channels_app.email.unsubscribe import headers_for

        headers.update(headers_for(message.to))
    email = EmailMultiAlternatives(
        subject=subject.replace("\r", " ").replace("\n", " ")[:250],
        body=message.body,
        from_email=formataddr((sender_name, mailbox)),
        to=[message.to],
        reply_to=[thread.reply_address(mailbox, ticket_id)] if ticket_id else None,
        headers=headers,
    )
    email.attach_alternative(text_to_html(message.body), "text/html")
    return email


def _connection() -> EmailBackend:
    return EmailBackend(
        host=settings.EMAIL_HOST,
        port=settings.EMAIL_PORT,
        username=getattr(settings, "EMAIL_HOST_USER", "") or None,
        password=getattr(settings, "EMAIL_HOST_PASSWORD", "") or None,
        use_tls=getattr(settings, "EMAIL_USE_TLS", False),
        timeout=settings.EMAIL_TIMEOUT,
        fail_silently=False,
    )


def _error(exc: Exception) -> ChannelError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(exc.recipients.values()), (550, b""))
        text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
        permanent = 500 <= int(code) < 600
        return ChannelError(
            f"SMTP refused the recipient: {code} {text}"[:300],
            permanent=permanent,
            code=str(code),
            contact_state=ContactState.BOUNCING if permanent else None,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = 500 <= exc.smtp_code < 600
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
        return ChannelError(
            f"SMTP {exc.smtp_code} {text}"[:300], permanent=permanent, code=str(exc.smtp_code)
        )
    return ChannelError(f"SMTP unavailable: {type(exc).__name__}", permanent=False, code="smtp_unavailable")


class SmtpGateway:
    """CHANNEL_GATEWAYS["email"] = "channels_app.email.gateway.SmtpGateway"."""

    provider = OUTBOUND_PROVIDER

    def send(self, message: OutboundMessage) -> SendResult:
        result = self.send_many([message])[0]
        if isinstance(result, ChannelError):
            raise result
        return result

    def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult | ChannelError]:
        results: list[SendResult | ChannelError] = []
        connection = _connection()
        try:
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            return [_error(exc)] * len(messages)
        try:
            for message in messages:
                message_id = new_message_id()
                try:
                    email = build(message, message_id)
                    email.connection = connection
                    email.send()
                except (TimeoutError, smtplib.SMTPException, OSError) as exc:
                    results.append(_error(exc))
                    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                        connection.close()
                        connection = _connection()
                    continue
                results.append(
                    SendResult(
                        provider=self.provider,
                        provider_id=normalize_id(message_id),
                        status=DeliveryStatus.SENT,
                    )
                )
        finally:
            connection.close()
        return results
