"""Celery entry points for the report rollups."""

from __future__ import annotations

from celery import shared_task


@shared_task
def refresh_rollups() -> int:
    """Beat, every minute: roll up the timeline's new events (safe on two machines at once)."""
    from helpdesk.staffing import rollups

    return rollups.refresh()
