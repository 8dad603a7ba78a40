"""Inbound handler for triage: a message is first an answer to the customer's active run on its channel.

Runs after the SMS consent handler (settings.INBOUND_HANDLERS), so STOP never reaches here;
the opt-out hook (triage.apps) ends the run when that happens.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from helpdesk.messaging import keywords
from helpdesk.tickets.models import Channel, Direction, TimelineEvent
from triage import engine, selectors, services
from triage.models import RunMode, RunStatus

logger = logging.getLogger(__name__)

# Messages that are not part of a conversation a run can hold (a contact form is answered by email).
NOT_CONVERSATIONS = frozenset({Channel.WEB, Channel.SYSTEM})


def handle_inbound(event: TimelineEvent) -> bool:
    """Return True when the event answered, resumed or started the customer's triage run."""
    if event.direction != Direction.IN or event.channel in NOT_CONVERSATIONS:
        return False
    point = event.contact_point
    if point is not None and point.opted_out_at is not None:
        services.end_runs_for_opt_out(contact_point=point)
        return False
    run = selectors.active_run(customer_id=event.customer_id, mode=RunMode.SMS)
    if run is not None and run.channel != event.channel:
        run = None  # the run talks on another channel: this message is for an agent
    if run is not None and keywords.is_stop(event.body or ""):
        # Normally the consent handler consumed STOP before us; never answer a STOP with a question.
        services.cancel_run(run=run, status=RunStatus.OPTED_OUT)
        return False
    if run is not None:
        services.answer_run(run=run, answer=event.body or "", event=event)
        return True
    if engine.normalize(event.body or "") in engine.RESUME_WORDS:
        expired = selectors.resumable_run(
            customer_id=event.customer_id,
            since=timezone.now() - services.resume_window(),
            channel=event.channel,
        )
        if expired is not None:
            services.resume_run(run=expired)
            return True
    return services.start_runs_for_yes_reply(event) is not None
