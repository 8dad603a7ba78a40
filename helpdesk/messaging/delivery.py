"""One delivery action: every send result, send error and status callback becomes a DeliveryReport
applied here. It moves the timeline event or the broadcast delivery forward (never backwards) and
applies what the provider learned about the recipient to the contact point, so no later message,
broadcast or triage prompt pays for that number again.
"""

from __future__ import annotations

import logging

from django.db import transaction

from channels_app.base import DELIVERY_RANK, ContactState, DeliveryReport

logger = logging.getLogger(__name__)


def _error_text(report: DeliveryReport) -> str:
    if report.error_code:
        return f"{report.error_code}: {report.error_message}" if report.error_message else report.error_code
    return report.error_message


def apply_contact_state(*, contact_point_ids: list[int], state: ContactState | None, reason: str) -> int:
    """Mark the points opted out, invalid or bouncing as the provider said; return how many changed."""
    from helpdesk.customers import services as customer_services
    from helpdesk.customers.models import ContactPoint

    if state is None or not contact_point_ids:
        return 0
    changed = 0
    for point in ContactPoint.objects.filter(pk__in=contact_point_ids):
        changed += customer_services.apply_contact_state(contact_point=point, state=state, reason=reason)
    return changed


def record_delivery_report(report: DeliveryReport) -> bool:
    """Apply one report to the message it names; True when a timeline event or delivery moved."""
    from helpdesk.crisis.services import advance_broadcast_delivery
    from helpdesk.tickets.models import TimelineEvent
    from helpdesk.tickets.services import advance_delivery_status

    if not report.provider_id or report.status not in DELIVERY_RANK:
        return False
    with transaction.atomic():
        event = advance_delivery_status(report)
        point_ids: list[int] = []
        if event is not None:
            moved = True
            if event.contact_point_id:
                point_ids.append(event.contact_point_id)
        else:
            moved = False
            known = (
                TimelineEvent.objects.filter(provider=report.provider, provider_id=report.provider_id)
                .values_list("contact_point_id", flat=True)
                .first()
            )
            if known:
                point_ids.append(known)
            else:
                # Not an outbox message: maybe a broadcast delivery (those skip the outbox).
                delivery_point = advance_broadcast_delivery(report)
                if delivery_point is not None:
                    moved = delivery_point.moved
                    point_ids.append(delivery_point.contact_point_id)
        if report.contact_state is not None:
            apply_contact_state(
                contact_point_ids=point_ids,
                state=report.contact_state,
                reason=f"{report.provider} {report.error_code}".strip(),
            )
    return moved
