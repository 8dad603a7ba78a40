"""Inbound handler for SMS (filled by the SMS work): consent keywords."""

from __future__ import annotations


def handle_inbound(event) -> bool:
    """Return True when the event was a consent keyword and is fully handled."""
    return False
