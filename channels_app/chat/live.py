"""The visitor's side of the channel layer: one group per visitor, every open widget tab in it."""

from __future__ import annotations

from helpdesk.tickets.realtime import send_to_groups


def visitor_group(visitor_id: str) -> str:
    return f"chat.{visitor_id}"


def push(visitor_id: str, message: dict) -> None:
    """Send to every socket of the visitor (none open: the widget reads its history on return)."""
    send_to_groups([(visitor_group(visitor_id), message)], what=f"chat to {visitor_id[:6]}…")
