"""Celery entry points for outbound webhooks."""

from __future__ import annotations

from celery import shared_task


@shared_task
def deliver_due() -> int:
    """After a commit that recorded deliveries, and by beat every minute (retries)."""
    from helpdesk.integrations import webhooks

    return webhooks.deliver_due()
