"""Reads for the managers' mailbox page."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from channels_app.email.models import Mailbox
from helpdesk.messaging.models import InboxMessage

# The page shows the newest unrecorded mail; older rows stay in the admin.
UNRECORDED_LIMIT = 200


def inbound_domains() -> set[str]:
    """The domains the desk takes mail for and sends from: its active mailboxes' and
    EMAIL_INBOUND_DOMAINS (default: the domain of DEFAULT_FROM_EMAIL)."""
    configured = {d.strip().lower() for d in settings.EMAIL_INBOUND_DOMAINS if d.strip()}
    if not configured:
        configured = {settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >").lower()}
    return configured | {box.domain for box in Mailbox.objects.filter(active=True).only("address")}


def mailboxes() -> QuerySet[Mailbox]:
    """Every mailbox, by address, with its queue."""
    return Mailbox.objects.select_related("queue").order_by("address")


def unrecorded_mail(*, limit: int = UNRECORDED_LIMIT) -> QuerySet[InboxMessage]:
    """Email the inbox kept but could not record (an error set), newest first, without the raw bytes."""
    return (
        InboxMessage.objects.filter(channel="email")
        .exclude(error="")
        .only("id", "received_at", "provider_id", "error")
        .order_by("-received_at", "-id")[:limit]
    )
