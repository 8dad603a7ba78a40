"""After an inbound event is recorded: offer it to each handler in INBOUND_HANDLERS, in order.

A handler is `handle(event) -> bool`; True means it consumed the event (e.g. a triage answer),
and later handlers are not asked. Channels and apps add handlers in settings, not here.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from helpdesk.messaging import flood
from helpdesk.tickets import realtime
from helpdesk.tickets.models import TimelineEvent

logger = logging.getLogger(__name__)


def process_inbound_event(event_id: int) -> None:
    """Offer the recorded event with this id to the handlers (the Celery task's body)."""
    event = (
        TimelineEvent.objects.select_related("ticket", "customer", "contact_point")
        .filter(pk=event_id)
        .first()
    )
    if event is not None:
        offer_inbound_event(event)


def offer_inbound_event(event: TimelineEvent) -> None:
    """Announce the event to agents, then offer it to each handler until one consumes it.

    Past the ticket's inbound limit (helpdesk.messaging.flood) only INBOUND_FLOOD_HANDLERS are
    asked: the event is kept and shown, but nothing answers it automatically.

    At least once: a retry after a crash offers the event again. A triage answer is still fed once
    (`answer_run` skips an event it has seen); a repeated consent keyword notes itself again."""
    announce_inbound_event(event)
    if event.payload.get("automated"):
        return  # an auto-reply or a loop: shown to agents, never answered automatically
    handlers = settings.INBOUND_HANDLERS
    if event.ticket_id and event.ticket_id in flood.flooded_tickets([event.ticket_id]):
        handlers = settings.INBOUND_FLOOD_HANDLERS  # kept and shown; only consent still acts
    for path in handlers:
        handler = import_string(path)
        if handler(event):
            logger.debug("inbound event %s consumed by %s", event.pk, path)
            return


def announce_inbound_event(event: TimelineEvent) -> None:
    """Tell agents' browsers (once the transaction commits) and subscribers (helpdesk.events)."""
    if event.ticket_id:
        realtime.ticket_id_changed(event.ticket_id, event_id=event.pk)
    from helpdesk import events
    from helpdesk.tickets.services import message_data

    events.publish("message.received", message_data(event))
