"""Celery entry points for crises and broadcasts."""

from __future__ import annotations

from celery import shared_task


@shared_task
def sweep_broadcasts() -> None:
    """Start due scheduled broadcasts and reconcile stuck deliveries (filled by the crisis work)."""
