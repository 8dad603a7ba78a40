"""Celery entry points for triage."""

from __future__ import annotations

from celery import shared_task


@shared_task
def remind_and_expire_runs() -> None:
    """Remind silent runs once and expire stale ones (filled by the triage work)."""
