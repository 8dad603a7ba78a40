"""Celery entry points for triage: thin, they call services."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def remind_and_expire_runs() -> dict[str, int]:
    """Remind silent runs once, expire stale ones, end runs of phones that opted out."""
    from triage import services

    return {
        "opted_out": services.end_opted_out_runs(),
        "reminded": services.remind_silent_runs(),
        "expired": services.expire_stale_runs(),
    }


@shared_task(acks_late=True)
def start_segment_runs(
    flow_id: int, customer_ids: list[int], actor_id: int | None = None, segment_id: int | None = None
) -> int:
    """Start SMS runs for one chunk of a manager's segment (counted on its SegmentRequest)."""
    from django.contrib.auth import get_user_model

    from triage import services
    from triage.models import Flow

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return services.start_segment_runs(
        flow=Flow.objects.get(pk=flow_id), customer_ids=customer_ids, actor=actor, segment_id=segment_id
    )
