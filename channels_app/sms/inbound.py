"""Inbound handler for SMS, first in settings.INBOUND_HANDLERS: consent keywords win."""

from __future__ import annotations

from channels_app.sms import consent


def handle_inbound(event) -> bool:
    """Return True when the event was a consent keyword (STOP/START/HELP) and is fully handled."""
    if event.channel != "sms" or event.direction != "in":
        return False
    return consent.handle(event)
