"""Inbound handler for triage: a message is first an answer to the customer's active run on its channel.

Runs after the SMS consent handler (settings.INBOUND_HANDLERS), so STOP never reaches here;
the opt-out hook (triage.apps) ends the run when that happens. `answer_many` is the same for a
drained batch (settings.INBOUND_BATCH_HANDLER), set-based for the plain answers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from channels_app.base import InboundMessage
from helpdesk.messaging import flood, keywords
from helpdesk.tickets import services as ticket_services
from helpdesk.tickets.inbound import announce_inbound_event
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


# The handlers that `answer_many` stands in for, in this order, at the head of INBOUND_HANDLERS (what
# it takes, these consume: no later handler would have been asked); with any other head it takes
# nothing, so a handler put before them is never skipped by the batch.
STANDS_FOR = ["helpdesk.messaging.consent.handle_inbound", "triage.inbound.handle_inbound"]


def answer_many(messages: Sequence[InboundMessage]) -> list[TimelineEvent | None]:
    """Record, announce and answer the messages that are plain answers to their customer's active
    run, as `record_inbound`, the consent handler and `handle_inbound` would one by one, in a dozen
    statements for the batch (bench.triage); in the caller's transaction. Returns each message's
    inbound event, or None for the others (not an answer, a keyword, a new sender, the answer that
    ends a run, any message after a customer's first): record and offer those one by one, after these."""
    results: list[TimelineEvent | None] = [None] * len(messages)
    if list(settings.INBOUND_HANDLERS)[: len(STANDS_FOR)] != STANDS_FOR:
        return results
    plans = [
        (i, plan)
        for i, plan in enumerate(ticket_services.plan_inbound_many(messages))
        if plan is not None
        and plan.message.channel not in NOT_CONVERSATIONS
        and plan.contact_point.opted_out_at is None
        # STOP, START and HELP are the consent handler's (and a STOP ends the run): one by one.
        and keywords.keyword_of(plan.message.body or "") is None
    ]
    runs = services.lock_active_runs(customer_ids=[plan.customer.pk for _i, plan in plans])
    taken = []
    for i, plan in plans:
        run = runs.get(plan.customer.pk)
        if run is None or run.channel != plan.message.channel or run.contact_point is None:
            continue
        turn = services.next_turn(run=run, answer=plan.message.body or "")
        if turn.outcome is None:  # the last answer routes the ticket and picks a playbook: one by one
            taken.append((i, plan, run, turn))
    if taken:  # a flooded ticket's messages go one by one, where only consent answers them
        flooded = flood.flooded_tickets(plan.ticket.pk for _i, plan, _run, _turn in taken)
        taken = [entry for entry in taken if entry[1].ticket.pk not in flooded]
    if not taken:
        return results
    events = ticket_services.append_inbound_many([plan for _i, plan, _run, _turn in taken])
    for event in events:
        announce_inbound_event(event)
    services.answer_runs(
        [(run, turn, event) for (_i, _p, run, turn), event in zip(taken, events, strict=True)]
    )
    for (i, _plan, _run, _turn), event in zip(taken, events, strict=True):
        results[i] = event
    return results
