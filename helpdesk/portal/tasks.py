"""Celery entry points for self-service calls."""

from __future__ import annotations

from celery import shared_task


@shared_task
def call_due_actions() -> int:
    """After a use is recorded, and by beat every minute (retries)."""
    from helpdesk.portal import services

    return services.call_due_actions()
