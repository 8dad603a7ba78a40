"""Build raw test mail with the standard library (the corpus builds on these)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

PASS = "mx.desk.test; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass"


def message(
    *,
    sender: str = "Maryam Ahmadi <maryam@example.com>",
    to: str = "help@desk.test",
    subject: str = "Flooded basement, claim help",
    message_id: str | None = None,
    authenticated: bool = True,
) -> EmailMessage:
    """A message with its headers set and no body yet (tests add parts)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    if authenticated:
        msg["Authentication-Results"] = PASS
    return msg


def mail(
    *,
    sender: str = "Maryam Ahmadi <maryam@example.com>",
    to: str = "help@desk.test",
    subject: str = "Flooded basement, claim help",
    body: str = "Our basement is flooded. What do we do first?",
    html: str = "",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    authenticated: bool = True,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = message(sender=sender, to=to, subject=subject, message_id=message_id, authenticated=authenticated)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()
