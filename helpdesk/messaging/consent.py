"""Inbound handler, first in settings.INBOUND_HANDLERS: a consent keyword wins over everything.

Each channel names what STOP/START/HELP do on it (`ChannelSpec.keywords_handler`); the words are
helpdesk.messaging.keywords'.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from channels_app.base import keyword_handlers


def handle_opt_out(event) -> bool:
    """Only STOP (in any language): what a flooded ticket still acts on (helpdesk.messaging.flood)."""
    from helpdesk.messaging.keywords import Keyword, keyword_of

    if keyword_of(event.body or "") is not Keyword.STOP:
        return False
    return handle_inbound(event)


def handle_inbound(event) -> bool:
    """Return True when the event was a consent keyword on its channel and is fully handled."""
    if event.direction != "in":
        return False
    path = keyword_handlers().get(event.channel)
    if not path:
        return False
    return bool(import_string(path)(event))
