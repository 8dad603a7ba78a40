"""Bulk work on the queue: one action on every ticket a filter matches (answer 300 customers about
the same outage at once).

`start` fixes the ticket ids the preview counted (visible to the agent, at most MAX_TICKETS) and
queues a worker task; `run_chunk` does CHUNK tickets per task through the same services as one
ticket (update_ticket: audited, versioned; send_reply: through the outbox and the sending
account's rate limit, recorded on each ticket), then queues the next chunk, so other work is not
starved and the page can show progress. A reply goes to each customer on their own channel, in
their language when the macro has a version in it (macros of one title are its translations);
a customer who opted out gets nothing (the blocked event says why) and is counted as skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import (
    BulkAction,
    BulkStatus,
    DeliveryStatus,
    Macro,
    Priority,
    Queue,
    Ticket,
    TicketStatus,
)

logger = logging.getLogger(__name__)

ACTIONS = ("assign", "status", "priority", "queue", "tag", "reply")
MAX_TICKETS = 10_000
CHUNK = 100


def start(*, actor, ticket_ids: list[int], action: str, params: dict[str, Any]) -> BulkAction:
    """Check the action and its parameters, then queue it for these tickets."""
    if not ticket_ids:
        raise ApplicationError(_("No tickets match."), code="bulk_empty")
    if len(ticket_ids) > MAX_TICKETS:
        raise ApplicationError(
            _("At most %(n)s tickets at once: narrow the filter.") % {"n": MAX_TICKETS}, code="bulk_too_many"
        )
    check(action, params)
    bulk = BulkAction.objects.create(
        action=action, params=params, ticket_ids=ticket_ids, total=len(ticket_ids), created_by=actor
    )
    from helpdesk.tickets import tasks

    transaction.on_commit(lambda: tasks.run_bulk_chunk.delay(bulk.pk, 0))
    return bulk


def check(action: str, params: dict[str, Any]) -> None:
    """Refuse an unknown action or missing parameters (the preview shows why)."""
    if action not in ACTIONS:
        raise ApplicationError(_("Choose an action."), code="bulk_action")
    if action == "status" and params.get("status") not in TicketStatus.values:
        raise ApplicationError(_("Choose a status."), code="bulk_params")
    if action == "priority" and params.get("priority") not in Priority.values:
        raise ApplicationError(_("Choose a priority."), code="bulk_params")
    queue = params.get("queue")
    if action == "queue" and not (isinstance(queue, int) and Queue.objects.filter(pk=queue).exists()):
        raise ApplicationError(_("Choose a queue."), code="bulk_params")
    staff = get_user_model().objects.filter(is_staff=True, is_active=True)
    assignee = params.get("assignee")
    if action == "assign" and assignee is not None and not staff.filter(pk=int(assignee)).exists():
        raise ApplicationError(_("Choose an agent."), code="bulk_params")
    if action == "tag" and not (params.get("tag") or "").strip():
        raise ApplicationError(_("Write a tag."), code="bulk_params")
    if action == "reply" and not ((params.get("body") or "").strip() or params.get("macro")):
        raise ApplicationError(_("Write the reply or choose a macro."), code="bulk_params")


def run_chunk(bulk_id: int, offset: int) -> int | None:
    """Apply the action to CHUNK tickets from `offset`; return the next offset, None when done."""
    bulk = BulkAction.objects.select_related("created_by").get(pk=bulk_id)
    if bulk.status != BulkStatus.RUNNING:
        return None
    ids = bulk.ticket_ids[offset : offset + CHUNK]
    done = skipped = 0
    tickets = Ticket.objects.select_related("customer", "queue", "assignee").in_bulk(ids)
    macros = _macros(bulk.params.get("macro"))
    for ticket_id in ids:
        ticket = tickets.get(ticket_id)
        if ticket is None:
            skipped += 1
            continue
        try:
            with transaction.atomic():
                sent = _apply(bulk, ticket, macros)
        except ApplicationError as exc:
            logger.info("bulk %s: ticket %s skipped: %s", bulk.pk, ticket_id, exc.code)
            sent = False
        if sent:
            done += 1
        else:
            skipped += 1
    from django.db.models import F

    BulkAction.objects.filter(pk=bulk.pk).update(done=F("done") + done, skipped=F("skipped") + skipped)
    following = offset + CHUNK
    if following >= len(bulk.ticket_ids):
        BulkAction.objects.filter(pk=bulk.pk).update(status=BulkStatus.DONE, finished_at=timezone.now())
        return None
    return following


def _macros(macro_id) -> dict[str, Macro]:
    """The chosen macro and its translations (macros of the same title), by language."""
    chosen = Macro.objects.filter(pk=macro_id).first() if macro_id else None
    if chosen is None:
        return {}
    versions = {m.language: m for m in Macro.objects.filter(title=chosen.title)}
    versions[""] = chosen
    return versions


def _apply(bulk: BulkAction, ticket: Ticket, macros: dict[str, Macro]) -> bool:
    """One ticket; False when there was nothing to do for it (e.g. a reply nobody can receive)."""
    from helpdesk.tickets import services

    actor, params = bulk.created_by, bulk.params
    if bulk.action == "reply":
        macro = macros.get(ticket.language) or macros.get("")
        body = services.render_macro(macro=macro, ticket=ticket, agent=actor) if macro else params["body"]
        event = services.send_reply(ticket=ticket, author=actor, body=body)
        return event.delivery_status != DeliveryStatus.BLOCKED
    if bulk.action == "assign":
        assignee = get_user_model().objects.filter(pk=params.get("assignee")).first()
        services.update_ticket(ticket=ticket, actor=actor, assignee=assignee)
    elif bulk.action == "status":
        services.update_ticket(ticket=ticket, actor=actor, status=params["status"])
    elif bulk.action == "priority":
        services.update_ticket(ticket=ticket, actor=actor, priority=params["priority"])
    elif bulk.action == "queue":
        services.update_ticket(ticket=ticket, actor=actor, queue=Queue.objects.get(pk=params["queue"]))
    elif bulk.action == "tag":
        services.add_tags(ticket=ticket, actor=actor, names=[params["tag"]])
    return True
