"""Small display helpers for the workspace templates."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils import timezone

from helpdesk.tickets.models import OPEN_STATUSES

register = template.Library()

SLA_SOON = timedelta(hours=1)


@register.filter
def sla_state(ticket) -> str:
    """Return 'overdue', 'soon' or 'ok' for an open ticket's SLA ('' when it is closed)."""
    if ticket.status not in OPEN_STATUSES or ticket.sla_due_at is None:
        return ""
    left = ticket.sla_due_at - timezone.now()
    if left <= timedelta(0):
        return "overdue"
    return "soon" if left <= SLA_SOON else "ok"


@register.simple_tag
def status_count(counts: dict, status: str) -> int:
    return counts.get(status, 0)
