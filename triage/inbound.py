"""Inbound handler for triage (filled by the triage work): answers to an active run."""

from __future__ import annotations


def handle_inbound(event) -> bool:
    """Return True when the event answered the customer's active triage run."""
    return False
