"""Reads of crises for pages, tickets and the API."""

from __future__ import annotations

from helpdesk.crisis.models import Crisis, CrisisStatus


def active_crises():
    """Return active crises, most severe first."""
    return Crisis.objects.filter(status=CrisisStatus.ACTIVE).order_by("-severity", "-created_at")


def crisis_for_customer(*, customer) -> Crisis | None:
    """Return the crisis a new ticket of this customer belongs to: the active one, if exactly one."""
    crises = list(active_crises()[:2])
    return crises[0] if len(crises) == 1 else None
