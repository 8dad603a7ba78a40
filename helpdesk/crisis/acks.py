"""Auto-acknowledgements in a surge: a customer who opens a new ticket about the crisis while surge
mode is on hears at once, on the channel they used, what the published statement says ("we know
about the flood; here is what to do"), where the crisis page is, and that an agent will answer.

One per ticket (only the ticket's first message asks), only to a contact point we may send to
(verified, not opted out), in the ticket's language, through the outbox like every message.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from helpdesk import languages as desk_languages
from helpdesk.crisis import public, surge

logger = logging.getLogger(__name__)

ACK_CHANNELS = ("sms", "email", "chat")
STATEMENT_CHARS = 320


def acknowledgement_text(crisis: dict, language: str) -> str:
    """The acknowledgement in the language, from the published statement."""
    language = language if desk_languages.is_known(language) else "en"
    title = public.statement_text(crisis, language, "title") or crisis.get("title", "")
    todo = public.statement_text(crisis, language, "what_to_do")
    statement = f"{title}: {todo}" if todo else title
    if len(statement) > STATEMENT_CHARS:
        statement = statement[: STATEMENT_CHARS - 1].rstrip() + "…"
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/crisis/?lang={language}"
    with translation.override(language):
        return "\n".join(
            [
                _("We know about this and are working on it."),
                statement,
                _("Updates: %(link)s") % {"link": link},
                _("An agent will answer you here. Reply HELP for other ways to reach us."),
            ]
        )


def acknowledge_new_ticket(*, ticket, contact_point, channel: str) -> bool:
    """Send the acknowledgement for a ticket just opened by an inbound message (the caller's
    transaction); False when surge mode is off, the crisis has no published statement, or the
    contact point cannot receive it."""
    from helpdesk.tickets import services as tickets

    if channel not in ACK_CHANNELS or ticket.crisis_id is None or contact_point is None:
        return False
    if not surge.surge_on(channel=channel, queue_id=ticket.queue_id):
        return False
    crisis = public.crisis_entry(public.current(), ticket.crisis_id)
    if crisis is None or not crisis.get("version"):
        return False
    if tickets.blocked_reason(contact_point, channel):
        return False
    tickets.send_system_messages(
        [
            tickets.SystemMessage(
                ticket=ticket,
                channel=channel,
                body=acknowledgement_text(crisis, ticket.language),
                contact_point=contact_point,
                payload={"auto_ack": {"crisis": ticket.crisis_id, "version": crisis["version"]}},
            )
        ]
    )
    return True
