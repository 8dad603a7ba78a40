"""Reads for the managers' mailbox page."""

from __future__ import annotations

from django.db.models import QuerySet

from channels_app.email.models import Mailbox
from helpdesk.messaging.models import InboxMessage

# The page shows the newest unrecorded mail; older rows stay in the admin.
UNRECORDED_LIMIT = 200


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
