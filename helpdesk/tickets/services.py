"""Actions on tickets and the timeline. The only place that writes them."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from channels_app.base import (
    DELIVERY_RANK,
    DeliveryReport,
    InboundMessage,
    channel_spec,
    contact_kind_of,
    gateway_configured,
    reply_channel_of,
    reply_channels,
)
from helpdesk import events as domain_events
from helpdesk.bulkwrite import update_each
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.customers.services import normalize_contact, resolve_customer, resolve_unproven_sender
from helpdesk.errors import ApplicationError
from helpdesk.messaging import outbox
from helpdesk.tickets import realtime, sla
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    AuditAction,
    AuditEvent,
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    Macro,
    Priority,
    Queue,
    QueueCounter,
    Tag,
    Ticket,
    TicketStatus,
    TimelineEvent,
)

# Sent inside the transaction that solves a ticket (kwargs ticket, actor): apps record what follows
# (helpdesk.feedback asks for a survey), so it is kept or rolled back with the change itself.
ticket_solved = Signal()

logger = logging.getLogger(__name__)

_UNSET: Any = object()


# --- Queues and counters ------------------------------------------------------------------


def default_queue() -> Queue:
    """Return the queue for work nobody routed, creating 'General' on a fresh install."""
    queue = Queue.objects.filter(is_default=True).first() or Queue.objects.order_by("id").first()
    if queue is None:
        queue, _created = Queue.objects.get_or_create(
            slug="general", defaults={"name": "General", "is_default": True}
        )
    return queue


def ensure_queue(*, slug: str, name: str, sla_minutes: int, urgent_sla_minutes: int) -> Queue:
    """Return the queue with this slug, creating it when missing (a seed's routing target)."""
    queue = Queue.objects.filter(slug=slug).first()
    if queue is not None:
        return queue
    default_queue()  # first, so that on a fresh install unrouted work does not land in this one
    if Queue.objects.filter(name=name).exists():
        name = f"{name} ({slug})"[:100]  # names are unique too; someone's own queue keeps its name
    queue, _created = Queue.objects.get_or_create(
        slug=slug,
        defaults={"name": name, "sla_minutes": sla_minutes, "urgent_sla_minutes": urgent_sla_minutes},
    )
    return queue


def queue_for_address(address: str) -> Queue:
    """Return the queue that our receiving number or address routes to (asked once per drain
    batch: helpdesk.batchmemo)."""
    from helpdesk import batchmemo

    return batchmemo.remember(("queue_for_address", address), lambda: _queue_for_address(address))


def _queue_for_address(address: str) -> Queue:
    if address:
        queue = Queue.objects.filter(inbound_address=address).first()
        if queue is not None:
            return queue
    return default_queue()


def _bump_counter(queue_id: int, status: str, delta: int) -> None:
    if status not in OPEN_STATUSES or delta == 0:
        return
    updated = QueueCounter.objects.filter(queue_id=queue_id, status=status).update(count=F("count") + delta)
    if not updated:
        try:
            with transaction.atomic():
                QueueCounter.objects.create(queue_id=queue_id, status=status, count=delta)
        except IntegrityError:  # created concurrently; add to theirs
            QueueCounter.objects.filter(queue_id=queue_id, status=status).update(count=F("count") + delta)


def recount_queue_counters() -> None:
    """Rebuild every counter from the tickets (after bulk loads or repairs)."""
    from django.db.models import Count

    with transaction.atomic():
        QueueCounter.objects.all().delete()
        rows = (
            Ticket.objects.filter(status__in=OPEN_STATUSES)
            .values("queue_id", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        QueueCounter.objects.bulk_create(
            [QueueCounter(queue_id=r["queue_id"], status=r["status"], count=r["n"]) for r in rows]
        )


# --- Tickets ------------------------------------------------------------------------------


# No savepoint of its own: nothing catches its errors inside a caller's transaction, and inside the
# inbound path's it saved two round trips a message (bench.email_ingest).
@transaction.atomic(savepoint=False)
def create_ticket(
    *,
    customer: Customer,
    subject: str,
    channel: str = Channel.WEB,
    queue: Queue | None = None,
    priority: int = Priority.NORMAL,
    language: str = "",
    crisis=None,
    assignee=None,
    tags: list[str] | None = None,
    now: datetime | None = None,
    notify: bool = True,
) -> Ticket:
    """Open a ticket for the customer with its SLA due time from the queue's policy."""
    now = now or timezone.now()
    queue = queue or default_queue()
    if crisis is None:
        from helpdesk.crisis.selectors import crisis_for_customer
        from helpdesk.crisis.services import thread_broadcast_reply

        # A reply to a recent crisis broadcast joins that crisis, tagged so agents see why.
        crisis = (
            thread_broadcast_reply(customer=customer, channel=channel, now=now)
            if broadcasts_recently(now)
            else None
        )
        if crisis is not None:
            tags = [*(tags or []), "broadcast-reply"]
        else:
            crisis = crisis_for_customer(customer=customer)
    ticket = _new_ticket(
        customer=customer, subject=subject, channel=channel, queue=queue, priority=priority,
        language=language, crisis=crisis, assignee=assignee, now=now,
    )  # fmt: skip
    if assignee is None:
        from helpdesk.tickets import assignment

        ticket.assignee = assignment.choose(ticket)  # the queue's rule, when it has one
    ticket.save(force_insert=True)
    _bump_counter(queue.pk, ticket.status, +1)
    if tags:
        set_tags(ticket=ticket, names=tags)
    domain_events.publish("ticket.created", ticket_data(ticket))
    if notify:
        realtime.ticket_changed(ticket)
    return ticket


def ticket_data(ticket: Ticket) -> dict:
    """What a webhook says of a ticket (helpdesk.events)."""
    fields = ("customer_id", "status", "priority", "queue_id", "channel", "language", "crisis_id", "severity")
    return {"ticket": ticket.pk, "subject": ticket.subject} | {
        name.removesuffix("_id"): getattr(ticket, name) for name in fields
    }


def _new_ticket(
    *, customer: Customer, subject: str, channel: str, queue: Queue, priority: int, language: str,
    crisis, assignee, now: datetime,
) -> Ticket:  # fmt: skip
    """The unsaved ticket `create_ticket` opens, with its SLA due times."""
    ticket = Ticket(
        customer=customer,
        subject=(subject or _("(no subject)"))[:250],
        channel=channel,
        queue=queue,
        priority=priority,
        language=language or customer.language or "en",
        crisis=crisis,
        assignee=assignee,
        last_activity_at=now,
        created_at=now,
    )
    sla.apply_due_times(ticket)
    return ticket


def set_tags(*, ticket: Ticket, names: list[str]) -> None:
    """Replace the ticket's tags with these names, creating new tags as needed."""
    clean = sorted({Tag.normalize(n) for n in names if n and n.strip()})
    existing = {t.name: t for t in Tag.objects.filter(name__in=clean)}
    missing = [Tag(name=n) for n in clean if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=clean)}
    ticket.tags.set(list(existing.values()))


def add_system_event(
    *,
    customer_id: int,
    ticket: Ticket | None,
    kind: str,
    body: str,
    author=None,
    payload: dict | None = None,
    contact_point: ContactPoint | None = None,
) -> TimelineEvent:
    """Append an internal event (status change, consent, merge…) to the customer's timeline."""
    return TimelineEvent.objects.create(
        customer_id=customer_id,
        ticket=ticket,
        contact_point=contact_point,
        channel=Channel.SYSTEM,
        direction=Direction.INTERNAL,
        kind=kind,
        author=author,
        body=body,
        payload=payload or {},
        created_at=timezone.now(),
    )


def update_inbound_event(
    *, event_id: int, payload: dict, body: str | None = None, ticket_id: int | None = None
) -> bool:
    """Merge `payload` into an inbound event's payload (and set its body): what a channel learns
    of a message after it was recorded (a call's status and duration, a voicemail's transcript).
    Never an outbound or audit event. True when the event was there. With the event's `ticket_id`
    known and no body, PostgreSQL merges in one statement (a call's every step does this)."""
    if ticket_id is not None and body is None and connection.vendor == "postgresql":
        merged = TimelineEvent.objects.filter(pk=event_id, direction=Direction.IN).update(
            payload=RawSQL("payload || %s::jsonb", [json.dumps(payload)])
        )
        if merged:
            realtime.ticket_id_changed(ticket_id, event_id=event_id)
        return bool(merged)
    with transaction.atomic():
        event = (
            TimelineEvent.objects.select_for_update()
            .filter(pk=event_id, direction=Direction.IN)
            .only("pk", "ticket_id", "payload", "body")
            .first()
        )
        if event is None:
            return False
        event.payload = {**(event.payload or {}), **payload}
        fields = ["payload"]
        if body is not None:
            event.body = body
            fields.append("body")
        event.save(update_fields=fields)
    if event.ticket_id:
        realtime.ticket_id_changed(event.ticket_id, event_id=event.pk)
    return True


def add_tags(*, ticket: Ticket, names: list[str], actor=None, **changes) -> Ticket:
    """`update_ticket` keeping the ticket's tags and adding these (with any other changes)."""
    kept = [t.name for t in ticket.tags.all()]
    return update_ticket(ticket=ticket, actor=actor, tags=kept + names, **changes)


AUDITED_FIELDS = ("status", "priority", "assignee", "queue", "crisis", "severity", "subject", "tags")


def _audit_value(ticket: Ticket, name: str) -> str:
    """A field's value as the audit record and the conflict message show it."""
    if name == "tags":
        return ", ".join(sorted(t.name for t in ticket.tags.all()))
    if name == "assignee":
        user = ticket.assignee
        return (user.get_full_name() or user.get_username()) if user else ""
    if name in ("queue", "crisis"):
        related = getattr(ticket, name)
        return str(related) if related else ""
    if name == "status":
        return str(ticket.get_status_display())
    if name == "priority":
        return str(ticket.get_priority_display())
    value = getattr(ticket, name)
    return "" if value is None else str(value)


def changes_since(*, ticket: Ticket, version: int) -> list[AuditEvent]:
    """The field changes made after the version a page or client saw, oldest first."""
    return list(
        AuditEvent.objects.filter(
            ticket_id=ticket.pk, version__gt=version, action=AuditAction.CHANGE
        ).order_by("version", "id")
    )


def _refuse_stale(ticket: Ticket, seen_version: int, writing: set[str], *, strict: bool) -> None:
    """Refuse a write made on a stale page: any newer change (strict: the API's If-Match), or a
    newer change of a field this write sets (the ticket page, which saves one field at a time)."""
    if seen_version >= ticket.version:
        return
    newer = changes_since(ticket=ticket, version=seen_version)
    clashing = newer if strict else [c for c in newer if c.field in writing]
    if not clashing and not strict:
        return  # only other fields changed meanwhile: this write overwrites nobody
    described = [
        _("%(who)s changed %(field)s: %(old)s → %(new)s")
        % {"who": c.actor_name or _("the system"), "field": _(FIELD_LABELS.get(c.field, c.field)),
           "old": c.old or "—", "new": c.new or "—"}
        for c in clashing
    ]  # fmt: skip
    raise ApplicationError(
        _("This ticket changed since you opened it; nothing was saved."),
        code="conflict",
        fields={c.field: [described[i]] for i, c in enumerate(clashing)},
    )


FIELD_LABELS = {
    "status": gettext_noop("Status"),
    "priority": gettext_noop("Priority"),
    "assignee": gettext_noop("Assignee"),
    "queue": gettext_noop("Queue"),
    "crisis": gettext_noop("Crisis"),
    "severity": gettext_noop("Severity"),
    "subject": gettext_noop("Subject"),
    "tags": gettext_noop("Tags"),
}


@transaction.atomic
def update_ticket(
    *,
    ticket: Ticket,
    actor=None,
    status: str = _UNSET,
    priority: int = _UNSET,
    assignee=_UNSET,
    queue: Queue = _UNSET,
    crisis=_UNSET,
    severity: int | None = _UNSET,
    tags: list[str] = _UNSET,
    subject: str = _UNSET,
    now: datetime | None = None,
    seen_version: int | None = None,
    strict: bool = False,
) -> Ticket:
    """Change a ticket: each change becomes a timeline event and an immutable audit event, the
    version goes up once, counters stay exact. With `seen_version` (the version the page or
    client read), a write that would overwrite a newer change is refused (code "conflict");
    `strict` refuses it after any newer change (HTTP If-Match)."""
    now = now or timezone.now()
    # Locks the ticket's row only (of=self): assignee and crisis are outer joins.
    locked = Ticket.objects.select_for_update(of=("self",)).select_related("assignee", "queue", "crisis")
    ticket = locked.get(pk=ticket.pk)
    asked = {
        name
        for name, value in (("status", status), ("priority", priority), ("assignee", assignee),
                            ("queue", queue), ("crisis", crisis), ("severity", severity),
                            ("tags", tags), ("subject", subject))
        if value is not _UNSET
    }  # fmt: skip
    if seen_version is not None:
        _refuse_stale(ticket, seen_version, asked, strict=strict)
    before = {name: _audit_value(ticket, name) for name in asked}
    old_status, old_queue_id = ticket.status, ticket.queue_id
    changes: list[tuple[str, str, dict]] = []
    if status is not _UNSET and status != ticket.status:
        if status not in TicketStatus.values:
            raise ApplicationError(
                _("Unknown status."), code="invalid_status", fields={"status": [_("Unknown status.")]}
            )
        changes.append(
            (
                EventKind.STATUS_CHANGE,
                _("Status: %(old)s → %(new)s")
                % {"old": ticket.get_status_display(), "new": TicketStatus(status).label},
                {"from": ticket.status, "to": status},
            )
        )
        if ticket.status == TicketStatus.PENDING:
            sla.resume(ticket, now)  # the wait on the customer does not count against us
        elif status == TicketStatus.PENDING:
            sla.pause(ticket, now)
        ticket.status = status
        if status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            ticket.solved_at = ticket.solved_at or now
        else:
            ticket.solved_at = None
    if priority is not _UNSET and int(priority) != ticket.priority:
        if int(priority) not in Priority.values:
            raise ApplicationError(
                _("Unknown priority."), code="invalid_priority", fields={"priority": [_("Unknown priority.")]}
            )
        changes.append(
            (
                EventKind.PRIORITY_CHANGE,
                _("Priority: %(old)s → %(new)s")
                % {"old": ticket.get_priority_display(), "new": Priority(int(priority)).label},
                {"from": ticket.priority, "to": int(priority)},
            )
        )
        ticket.priority = int(priority)
        sla.apply_due_times(ticket)  # the new priority's targets, from creation, pauses kept
    if assignee is not _UNSET and (assignee.pk if assignee else None) != ticket.assignee_id:
        name = (assignee.get_full_name() or assignee.get_username()) if assignee else _("nobody")
        changes.append(
            (
                EventKind.ASSIGNMENT,
                _("Assigned to %(name)s") % {"name": name},
                {"to": assignee.pk if assignee else None},
            )
        )
        ticket.assignee = assignee
    if queue is not _UNSET and queue.pk != ticket.queue_id:
        changes.append(
            (EventKind.ASSIGNMENT, _("Moved to queue %(queue)s") % {"queue": queue.name}, {"queue": queue.pk})
        )
        ticket.queue = queue
        sla.apply_due_times(ticket)  # the new queue's targets and calendar
    if crisis is not _UNSET and (crisis.pk if crisis else None) != ticket.crisis_id:
        ticket.crisis = crisis
    if severity is not _UNSET and severity != ticket.severity:
        ticket.severity = severity
    if subject is not _UNSET and subject and subject != ticket.subject:
        ticket.subject = subject[:250]
    if tags is not _UNSET:
        set_tags(ticket=ticket, names=tags)
    after = {name: _audit_value(ticket, name) for name in asked}
    changed = [name for name in AUDITED_FIELDS if name in asked and before[name] != after[name]]
    if changed:
        ticket.version += 1
    ticket.save()
    if ticket.status != old_status or ticket.queue_id != old_queue_id:
        _bump_counter(old_queue_id, old_status, -1)
        _bump_counter(ticket.queue_id, ticket.status, +1)
    actor_name = _actor_name(actor)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                ticket_id=ticket.pk,
                customer_id=ticket.customer_id,
                version=ticket.version,
                action=AuditAction.CHANGE,
                field=name,
                old=before[name],
                new=after[name],
                actor_id=getattr(actor, "pk", None),
                actor_name=actor_name,
                at=now,
            )  # fmt: skip
            for name in changed
        ]
    )
    for kind, body, payload in changes:
        add_system_event(
            customer_id=ticket.customer_id, ticket=ticket, kind=kind, body=body, author=actor, payload=payload
        )
    for name in changed:
        if name in ("tags", "severity", "crisis", "subject"):  # the others have their own events
            add_system_event(
                customer_id=ticket.customer_id,
                ticket=ticket,
                kind=EventKind.NOTE,
                body=_("%(field)s: %(old)s → %(new)s")
                % {"field": _(FIELD_LABELS[name]), "old": before[name] or "—", "new": after[name] or "—"},
                author=actor,
                payload={"action": "field_change", "field": name, "from": before[name], "to": after[name]},
            )
    if changed:
        domain_events.publish("ticket.updated", {**ticket_data(ticket), "changed": changed})
    if ticket.status == TicketStatus.SOLVED and old_status != TicketStatus.SOLVED:
        ticket_solved.send(sender=Ticket, ticket=ticket, actor=actor)
    realtime.ticket_changed(ticket)
    return ticket


def save_macro(*, macro: Macro | None, title: str, language: str, body: str) -> Macro:
    """Create or change a canned reply (managers); only known placeholders are allowed."""
    from django.core.exceptions import ValidationError

    macro = macro or Macro()
    macro.title, macro.language, macro.body = title.strip()[:120], language, body.strip()
    try:
        macro.full_clean(exclude=["uses"])
    except ValidationError as exc:
        raise ApplicationError(
            " ".join(m for msgs in exc.message_dict.values() for m in msgs),
            code="invalid_macro",
            fields={k: list(v) for k, v in exc.message_dict.items()},
        ) from exc
    macro.save()
    return macro


# --- Merge and split ---------------------------------------------------------------------


@transaction.atomic
def merge_tickets(*, source: Ticket, target: Ticket, actor, tell_customer: str = "") -> Ticket:
    """Move every event of `source` onto `target` (moved, never copied: each event stays exactly
    once), close `source` pointing at `target`, and keep the tags and triage runs. The customer is
    told nothing unless `tell_customer` holds the message to send them on the target."""
    if source.pk == target.pk:
        raise ApplicationError(_("A ticket cannot be merged into itself."), code="merge_same")
    locked = {
        t.pk: t for t in Ticket.objects.select_for_update(of=("self",)).filter(pk__in=[source.pk, target.pk])
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id or target.merged_into_id:
        raise ApplicationError(_("That ticket was merged already."), code="merge_already")
    if source.customer_id != target.customer_id:
        raise ApplicationError(
            _("Only tickets of one customer can be merged; merge the customers first."),
            code="merge_other_customer",
        )
    moved = TimelineEvent.objects.filter(ticket=source).update(ticket=target)
    _repoint_references(source, target)
    tags = sorted({t.name for t in source.tags.all()} | {t.name for t in target.tags.all()})
    first = min(filter(None, [source.first_response_at, target.first_response_at]), default=None)
    if first and target.first_response_at != first:
        Ticket.objects.filter(pk=target.pk).update(first_response_at=first)
    update_ticket(ticket=target, actor=actor, tags=tags)
    update_ticket(ticket=source, actor=actor, status=TicketStatus.CLOSED)
    Ticket.objects.filter(pk=source.pk).update(merged_into=target, version=F("version") + 1)
    _record_move(
        actor,
        (source, source.version + 2, "merged_into", f"#{target.pk}",
         _("Merged into ticket #%(n)s.") % {"n": target.pk}),
        (target, target.version, "merged_from", f"#{source.pk} ({moved})",
         _("Ticket #%(n)s merged into this one (%(m)s events moved).") % {"n": source.pk, "m": moved}),
        payload={"action": "ticket_merge", "source": source.pk, "target": target.pk},
    )  # fmt: skip
    if tell_customer.strip():
        send_reply(ticket=target, author=actor, body=tell_customer)
    target.refresh_from_db()
    realtime.ticket_changed(source)
    realtime.ticket_changed(target)
    return target


def _record_move(actor, *sides: tuple[Ticket, int, str, str, str], payload: dict) -> None:
    """A merge or split, on both tickets: an audit event (ticket, version, field, what) and a
    timeline note (the last item) each."""
    now, name = timezone.now(), _actor_name(actor)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                ticket_id=ticket.pk,
                customer_id=ticket.customer_id,
                version=version,
                action=AuditAction.MERGE,
                field=field,
                new=what,
                actor_id=getattr(actor, "pk", None),
                actor_name=name,
                at=now,
            )  # fmt: skip
            for ticket, version, field, what, _note in sides
        ]
    )
    for ticket, _version, _field, _what, note in sides:
        add_system_event(
            customer_id=ticket.customer_id,
            ticket=ticket,
            kind=EventKind.MERGE,
            body=note,
            author=actor,
            payload=payload,
        )


# Rows that belong to the ticket they were made on, not to whatever it merges into.
_KEEP_ON_MERGE = {"SlaEscalation", "Ticket"}


def _repoint_references(source: Ticket, target: Ticket) -> None:
    """Every other app's rows that point at `source` (triage runs, later surveys…) follow the
    events to `target`; found from the model graph, so tickets need not import those apps."""
    for relation in Ticket._meta.related_objects:
        model = relation.related_model
        if not relation.many_to_one or model is TimelineEvent or model.__name__ in _KEEP_ON_MERGE:
            continue
        name = relation.field.name
        model._default_manager.filter(**{name: source}).update(**{name: target})


@transaction.atomic
def split_event(*, event: TimelineEvent, actor, subject: str = "") -> Ticket:
    """Move one event off its ticket into a new ticket of the same customer (a second matter
    raised in the same thread); both tickets note it."""
    event = TimelineEvent.objects.select_for_update().get(pk=event.pk)  # where it is now
    if event.ticket_id is None or event.direction == Direction.INTERNAL:
        raise ApplicationError(_("Only a message on a ticket can be split off."), code="split_invalid")
    old = Ticket.objects.select_related("queue").get(pk=event.ticket_id)
    if TimelineEvent.objects.filter(ticket=old).exclude(direction=Direction.INTERNAL).count() < 2:
        raise ApplicationError(_("The ticket's only message cannot be split off."), code="split_invalid")
    first_line = ((event.body or "").strip().splitlines() or [""])[0][:80]
    new = create_ticket(
        customer=old.customer, subject=subject or first_line or old.subject, channel=event.channel,
        queue=old.queue, priority=old.priority, language=old.language, crisis=old.crisis,
        now=event.created_at,
    )  # fmt: skip
    TimelineEvent.objects.filter(pk=event.pk).update(ticket=new)
    _record_move(
        actor,
        (old, old.version, "split_to", f"#{new.pk} (event {event.pk})",
         _("A message was split off into ticket #%(n)s.") % {"n": new.pk}),
        (new, new.version, "split_from", f"#{old.pk} (event {event.pk})",
         _("Split off ticket #%(n)s.") % {"n": old.pk}),
        payload={"action": "ticket_split", "from": old.pk, "to": new.pk, "event": event.pk},
    )  # fmt: skip
    realtime.ticket_changed(old)
    realtime.ticket_changed(new)
    return new


# --- Inbound: one path for every channel --------------------------------------------------


@dataclass(frozen=True)
class InboundResult:
    event: TimelineEvent
    created: bool


def _existing_event(message: InboundMessage) -> TimelineEvent | None:
    if not (message.provider and message.provider_id):
        return None
    # Asked of every message and almost always absent: the bare key first, the row only on a hit.
    found = TimelineEvent.objects.filter(provider=message.provider, provider_id=message.provider_id)
    pk = found.values_list("pk", flat=True).first()
    return None if pk is None else TimelineEvent.objects.get(pk=pk)


def find_thread(*, customer: Customer, channel: str, now: datetime) -> Ticket | None:
    """Return the customer's open ticket that a new message on this channel continues."""
    window = timedelta(hours=settings.TICKET_THREAD_WINDOW_HOURS)
    return (
        Ticket.objects.filter(customer=customer, status__in=OPEN_STATUSES, last_activity_at__gte=now - window)
        .order_by("-last_activity_at")
        .first()
    )


def held_thread(*, customer: Customer, channel: str, now: datetime) -> Ticket | None:
    """A ticket that takes the customer's next message on this channel without reopening, when an
    app waits on an answer there (settings.INBOUND_THREAD_HOLDS: a survey's score): its handler
    decides later whether the message was that answer."""
    for path in settings.INBOUND_THREAD_HOLDS:
        ticket = import_string(path)(customer=customer, channel=channel, now=now)
        if ticket is not None:
            return ticket
    return None


def record_inbound(
    *, message: InboundMessage, offer_later: bool = True, seen_once: bool = False
) -> InboundResult:
    """Resolve the customer, thread into their open ticket and append the event, exactly once.

    With `offer_later`, a Celery task offers a new event to the inbound handlers after commit;
    without, the caller offers it (`tickets.inbound.offer_inbound_event`), as the inbox drain does.
    `seen_once`: the caller stored the message once by the same provider id (the inbox), so an
    event for it exists only if an earlier attempt recorded it; the look-up before is skipped and
    the unique key answers on that rare retry (a query less for every message of a drain)."""
    existing = None if seen_once else _existing_event(message)
    if existing is not None:
        return InboundResult(existing, created=False)
    try:
        with transaction.atomic():
            event = _record_inbound(message)
    except IntegrityError:
        existing = _existing_event(message)
        if existing is None:
            raise
        return InboundResult(existing, created=False)
    if offer_later:
        from helpdesk.tickets import tasks

        transaction.on_commit(lambda: tasks.process_inbound_event.delay(event.pk))
    return InboundResult(event, created=True)


def _record_inbound(message: InboundMessage) -> TimelineEvent:
    now = message.received_at or timezone.now()
    sender = {"kind": message.sender_kind, "value": message.sender, "name": message.sender_name}
    if message.sender_proven:
        resolved = resolve_customer(**sender, language=message.language, proven=message.proves_contact)
    else:
        resolved = resolve_unproven_sender(**sender, language=message.language)
    customer = resolved.customer
    if customer.merged_into_id:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    ticket = None
    if message.sender_proven and message.ticket_id:
        # A thread hint (an email's In-Reply-To): only into the sender's own ticket, never a closed one.
        ticket = (
            Ticket.objects.filter(pk=message.ticket_id, customer=customer)
            .exclude(status=TicketStatus.CLOSED)
            .first()
        )
    if ticket is None and message.sender_proven and not message.new_ticket:
        ticket = find_thread(customer=customer, channel=message.channel, now=now)
    held = None
    if message.sender_proven and (ticket is None or ticket.status == TicketStatus.SOLVED):
        held = held_thread(customer=customer, channel=message.channel, now=now)
        if ticket is None:
            ticket = held
        elif held is not None and held.pk != ticket.pk:
            held = None
    created = ticket is None
    if ticket is None:
        ticket = create_ticket(
            customer=customer,
            subject=_subject_of(message),
            channel=message.channel,
            queue=queue_for_address(message.recipient),
            language=message.language or customer.language,
            now=now,
            notify=False,  # the inbound worker announces it (see tickets.inbound)
        )
    event = _inbound_event(message, customer=customer, ticket=ticket, point=resolved.contact_point, now=now)
    if held is not None:
        event.payload = {**event.payload, "held": True}
    event.save(force_insert=True)
    if not created:  # a new ticket has both already
        Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=now, channel=message.channel)
    if message.automated:
        pass  # an auto-reply changes nothing: a solved ticket stays solved, a pending one pending
    elif held is not None:
        pass  # a survey waits on this answer: its handler reopens the ticket if it is not one
    elif ticket.status in (TicketStatus.PENDING, TicketStatus.SOLVED):
        # The customer answered (a solved ticket is reached only by a thread hint): the ball is ours.
        update_ticket(ticket=ticket, status=TicketStatus.OPEN)
    if ticket.crisis_id is None and not created and broadcasts_recently():
        _join_broadcast_crisis(ticket, customer=customer, channel=message.channel, now=now)
    if created and not message.automated and ticket.crisis_id is not None:
        from helpdesk.crisis.acks import acknowledge_new_ticket

        # In a surge, the crisis's published statement answers at once (helpdesk.crisis.acks).
        acknowledge_new_ticket(ticket=ticket, contact_point=resolved.contact_point, channel=message.channel)
    # No realtime notice here: the webhook must answer fast; offering the event to the handlers
    # announces it to agents' browsers (helpdesk.tickets.inbound.offer_inbound_event).
    return event


BROADCASTS_RECENTLY_KEY = "tourniquet:broadcasts-recently"


def broadcasts_recently(now: datetime | None = None) -> bool:
    """Whether any broadcast went out within the reply window (cached a minute per process): in
    ordinary times a reply cannot be a broadcast's, and nothing is looked up per message."""
    from django.core.cache import cache

    from helpdesk.crisis.models import Broadcast

    known = cache.get(BROADCASTS_RECENTLY_KEY)
    if known is None:
        since = (now or timezone.now()) - timedelta(hours=settings.BROADCAST_REPLY_WINDOW_HOURS)
        known = Broadcast.objects.filter(Q(started_at__gte=since) | Q(completed_at__gte=since)).exists()
        cache.set(BROADCASTS_RECENTLY_KEY, known, 60)
    return bool(known)


def forget_broadcasts_recently() -> None:
    """A broadcast began: ask the database again (crisis.services calls this)."""
    from django.core.cache import cache

    cache.delete(BROADCASTS_RECENTLY_KEY)


def _join_broadcast_crisis(ticket: Ticket, *, customer: Customer, channel: str, now: datetime) -> None:
    """A reply to a crisis broadcast threaded into the customer's open ticket: that ticket joins
    the crisis and is tagged, as a new ticket for the reply would have been."""
    from helpdesk.crisis.services import thread_broadcast_reply

    crisis = thread_broadcast_reply(customer=customer, channel=channel, now=now)
    if crisis is not None:
        add_tags(ticket=ticket, names=["broadcast-reply"], crisis=crisis)


def _subject_of(message: InboundMessage) -> str:
    """A new ticket's subject: the message's own, else its first line."""
    return message.subject or (message.body.strip().splitlines() or [""])[0][:80]


def _inbound_event(
    message: InboundMessage, *, customer: Customer, ticket: Ticket, point: ContactPoint | None, now: datetime
) -> TimelineEvent:
    payload = dict(message.payload)
    if point is None or not point.verified:
        payload["unverified_sender"] = {"kind": message.sender_kind, "value": message.sender}
    if message.media:
        payload["media"] = list(message.media)
    if message.subject:
        payload.setdefault("subject", message.subject)
    if message.automated:
        payload["automated"] = True
    return TimelineEvent(
        customer=customer,
        ticket=ticket,
        channel=message.channel,
        direction=Direction.IN,
        kind=message.kind,
        contact_point=point,
        body=message.body,
        body_html=message.body_html,
        payload=payload,
        provider=message.provider,
        provider_id=message.provider_id or None,
        delivery_status=DeliveryStatus.RECEIVED,
        created_at=now,
    )


# --- Inbound in batches: the drain's set-based path for plain appends ---------------------


@dataclass(frozen=True)
class InboundPlan:
    """Where `record_inbound` would append a message when that is all it would do."""

    message: InboundMessage
    contact_point: ContactPoint
    customer: Customer
    ticket: Ticket
    now: datetime


def plan_inbound_many(messages: Sequence[InboundMessage]) -> list[InboundPlan | None]:
    """For each message, where `record_inbound` would append it, read in three queries for all of them.

    None where it would do more than append to an open ticket (a new, unproven or unverified sender,
    a merged customer, a new or reopened ticket, a chosen ticket, a message recorded already, an
    impossible sender), and for
    every message after a customer's first: each one's thread depends on the one before. Record
    those with `record_inbound`, after the planned ones."""
    plans: list[InboundPlan | None] = [None] * len(messages)
    simple: list[tuple[int, InboundMessage, str]] = []
    for i, message in enumerate(messages):
        if not (message.provider and message.provider_id) or message.ticket_id or message.new_ticket:
            continue
        if not message.sender_proven:
            continue  # an unproven sender never threads into a known customer: record_inbound decides
        try:
            simple.append((i, message, normalize_contact(message.sender_kind, message.sender)))
        except ApplicationError:
            continue
    if not simple:
        return plans
    by_provider: dict[str, list[str]] = {}
    by_kind: dict[str, list[str]] = {}
    for _i, message, value in simple:
        by_provider.setdefault(message.provider, []).append(message.provider_id or "")
        by_kind.setdefault(message.sender_kind, []).append(value)
    recorded = set(
        TimelineEvent.objects.filter(_any_of("provider", "provider_id", by_provider)).values_list(
            "provider", "provider_id"
        )
    )
    points = {
        (p.kind, p.value): p
        for p in ContactPoint.objects.select_related("customer").filter(_any_of("kind", "value", by_kind))
    }
    now = timezone.now()
    window = timedelta(hours=settings.TICKET_THREAD_WINDOW_HOURS)
    oldest = min((message.received_at or now) for _i, message, _v in simple)
    threads: dict[int, Ticket] = {}
    for ticket in Ticket.objects.filter(
        customer_id__in={p.customer_id for p in points.values()},
        status__in=OPEN_STATUSES,
        last_activity_at__gte=oldest - window,
    ).order_by("customer_id", "-last_activity_at"):
        threads.setdefault(ticket.customer_id, ticket)  # find_thread's choice: the latest activity
    seen: set[int] = set()
    recent_broadcasts = broadcasts_recently()
    for i, message, value in simple:
        point = points.get((message.sender_kind, value))
        if point is None:
            continue
        first = point.customer_id not in seen
        seen.add(point.customer_id)
        received = message.received_at or now
        thread = threads.get(point.customer_id)
        if (
            first
            and point.verified  # proving an unverified point is record_inbound's (it marks it)
            and not point.customer.merged_into_id
            and (message.provider, message.provider_id) not in recorded
            and thread is not None
            and thread.last_activity_at >= received - window
            and thread.status != TicketStatus.PENDING
            # A possible reply to a broadcast may join its crisis: record_inbound decides.
            and not (thread.crisis_id is None and message.channel == "sms" and recent_broadcasts)
        ):
            plans[i] = InboundPlan(message, point, point.customer, thread, received)
    return plans


def _any_of(outer: str, inner: str, values: dict[str, list[str]]) -> Q:
    match = Q(pk__in=[])
    for key, keys in values.items():
        match |= Q(**{outer: key, f"{inner}__in": keys})
    return match


def append_inbound_many(plans: Sequence[InboundPlan]) -> list[TimelineEvent]:
    """Append the planned messages as `record_inbound` would, in one INSERT and one UPDATE of their
    tickets; in the caller's transaction. The caller offers the events to the handlers."""
    events = TimelineEvent.objects.bulk_create(
        [
            _inbound_event(p.message, customer=p.customer, ticket=p.ticket, point=p.contact_point, now=p.now)
            for p in plans
        ]
    )
    for plan in plans:
        plan.ticket.last_activity_at = plan.now
        plan.ticket.channel = plan.message.channel
    update_each([p.ticket for p in plans], ["last_activity_at", "channel"])
    return events


def open_unproven_many(messages: Sequence[InboundMessage]) -> list[TimelineEvent | None]:
    """Record, set-based, the messages `record_inbound` would give a customer and a ticket of their
    own: senders nobody vouches for (an email without a passing DMARC or DKIM), when nothing else
    applies. In the caller's transaction: customers, their new points, tickets and events in one
    INSERT each, one counter update per queue. The caller offers the events to the handlers.

    None for every message record_inbound must take: a proven sender, a chosen or recorded thread,
    an impossible sender, a queue that assigns, and all of them while a crisis is active (its acks)
    or a broadcast went out lately (a reply may join its crisis). At 17 statements a mail, one by
    one, a drain opened about 40 mail tickets a second (bench.email_ingest, bench/README.md)."""
    from helpdesk.crisis.selectors import crisis_for_customer

    out: list[TimelineEvent | None] = [None] * len(messages)
    if broadcasts_recently() or crisis_for_customer(customer=None) is not None:
        return out
    chosen: list[tuple[int, InboundMessage, str, Queue]] = []
    for i, message in enumerate(messages):
        if message.sender_proven or message.ticket_id or not (message.provider and message.provider_id):
            continue
        try:
            value = normalize_contact(message.sender_kind, message.sender)
        except ApplicationError:
            continue  # record_inbound says why, and the drain keeps the reason
        queue = queue_for_address(message.recipient)
        if queue.assignment == "manual":
            chosen.append((i, message, value, queue))
    if not chosen:
        return out
    by_kind: dict[str, list[str]] = {}
    for _i, message, value, _queue in chosen:
        by_kind.setdefault(message.sender_kind, []).append(value)
    # resolve_unproven_sender's rule: a known address gets a customer without it, a new one its point.
    known = set(ContactPoint.objects.filter(_any_of("kind", "value", by_kind)).values_list("kind", "value"))
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [Customer(name=m.sender_name[:200], language=m.language or "en") for _i, m, _v, _q in chosen]
    )
    points: list[ContactPoint | None] = []
    for (_i, message, value, _queue), customer in zip(chosen, customers, strict=True):
        key = (message.sender_kind, value)
        new = key not in known
        known.add(key)
        points.append(
            ContactPoint(
                customer=customer, kind=key[0], value=value, language=message.language, verified=False
            )
            if new
            else None
        )
    ContactPoint.objects.bulk_create([p for p in points if p is not None])
    tickets = Ticket.objects.bulk_create(
        [
            _new_ticket(
                customer=customer,
                subject=_subject_of(message),
                channel=message.channel,
                queue=queue,
                priority=Priority.NORMAL,
                language=message.language or customer.language,
                crisis=None,
                assignee=None,
                now=message.received_at or now,
            )  # fmt: skip
            for (_i, message, _v, queue), customer in zip(chosen, customers, strict=True)
        ]
    )
    opened: dict[tuple[int, str], int] = {}
    for ticket in tickets:
        opened[(ticket.queue_id, ticket.status)] = opened.get((ticket.queue_id, ticket.status), 0) + 1
    for (queue_id, status), count in sorted(opened.items()):
        _bump_counter(queue_id, status, count)
    for ticket in tickets:
        domain_events.publish("ticket.created", ticket_data(ticket))
    events = TimelineEvent.objects.bulk_create(
        [
            _inbound_event(
                message, customer=customer, ticket=ticket, point=point, now=message.received_at or now
            )
            for (_i, message, _v, _q), customer, ticket, point in zip(
                chosen, customers, tickets, points, strict=True
            )
        ]
    )
    for (i, _m, _v, _q), event in zip(chosen, events, strict=True):
        out[i] = event
    return out


def append_plain_many(messages: Sequence[InboundMessage]) -> list[TimelineEvent | None]:
    """Record, set-based, the messages that only append to their sender's open ticket (a chat
    visitor's next line, an SMS on an open thread): `plan_inbound_many`'s choice, less a reply
    that may join a broadcast's crisis (any channel a broadcast reaches). In the caller's
    transaction; the caller offers the events to the handlers. None for the others."""
    out: list[TimelineEvent | None] = [None] * len(messages)
    recent = broadcasts_recently()
    chosen = [
        (i, plan)
        for i, plan in enumerate(plan_inbound_many(messages))
        if plan is not None
        and not (recent and plan.ticket.crisis_id is None and plan.message.channel in ("sms", "email"))
    ]
    if chosen:
        for (i, _plan), event in zip(chosen, append_inbound_many([p for _i, p in chosen]), strict=True):
            out[i] = event
    return out


# --- Outbound: replies and notes ----------------------------------------------------------


def reply_channel_for(ticket: Ticket) -> str:
    """Return the channel a reply defaults to: the one the customer last wrote on, or asked to be
    answered on since (a chat visitor's proven follow-up address: channels_app.chat.followup)."""
    last = (
        TimelineEvent.objects.filter(ticket=ticket)
        .filter(
            (Q(direction=Direction.IN) & ~Q(channel=Channel.SYSTEM))
            | Q(kind=EventKind.CONSENT, payload__has_key="follow_up")
        )
        .order_by("-created_at", "-id")
        .values_list("channel", "payload")
        .first()
    )
    if last is not None and last[0] == Channel.SYSTEM:
        return str(last[1]["follow_up"]["channel"])
    return reply_channel_of(last[0] if last is not None else ticket.channel)


def contact_point_for(*, ticket: Ticket, channel: str) -> ContactPoint | None:
    """Return where a reply on this channel goes: the point the customer last used, else any."""
    kind = contact_kind_of(channel)
    if not kind:
        return None
    last = (
        TimelineEvent.objects.filter(ticket=ticket, direction=Direction.IN, contact_point__kind=kind)
        .order_by("-created_at", "-id")
        .select_related("contact_point")
        .first()
    )
    point = last.contact_point if last is not None else None
    if point is not None and point.customer_id == ticket.customer_id and point.verified:
        return point
    points = ContactPoint.objects.filter(customer_id=ticket.customer_id, kind=kind)
    return points.order_by("-verified", "id").first()


def blocked_reason(point: ContactPoint | None, channel: str) -> str:
    """Say in words why nothing can be sent to this point, or return '' when it can."""
    if point is None:
        spec = channel_spec(channel)
        return _("Not sent: the customer has no contact point for %(channel)s.") % {
            "channel": spec.label if spec else channel
        }
    if point.opted_out_at:
        return _("Not sent: %(value)s opted out (%(reason)s) on %(when)s.") % {
            "value": point.value,
            "reason": point.opt_out_reason or "STOP",
            "when": timezone.localtime(point.opted_out_at).strftime("%Y-%m-%d %H:%M"),
        }
    if point.invalid_at:
        return _("Not sent: the provider reported %(value)s as invalid.") % {"value": point.value}
    if point.bouncing_at:
        return _("Not sent: mail to %(value)s bounces.") % {"value": point.value}
    if not point.verified:
        return _(
            "Not sent: %(value)s is not verified. Confirm it on the customer's page once you know "
            "it is theirs."
        ) % {"value": point.value}
    return ""


@transaction.atomic
def send_message(
    *,
    ticket: Ticket,
    channel: str,
    body: str,
    author=None,
    subject: str = "",
    kind: str = EventKind.MESSAGE,
    payload: dict | None = None,
    contact_point: ContactPoint | None = None,
) -> TimelineEvent:
    """Append an outbound event and queue it in the outbox; a blocked point records why instead."""
    body = (body or "").strip()
    if not body:
        raise ApplicationError(
            _("A reply needs a message."), code="empty_body", fields={"body": [_("This field is required.")]}
        )
    check_can_send(channel)
    point = contact_point or contact_point_for(ticket=ticket, channel=channel)
    now = timezone.now()
    event = _outbound_event(
        ticket=ticket, channel=channel, body=body, point=point, author=author, kind=kind,
        payload={**(payload or {}), **({"subject": subject} if subject else {})}, now=now,
    )  # fmt: skip
    event.save(force_insert=True)
    AuditEvent.objects.create(**message_audit(ticket, event, author))
    if event.delivery_status == DeliveryStatus.PENDING:
        assert point is not None
        outbox.enqueue(
            event=event,
            to=point.value,
            body=body,
            subject=subject or ticket.subject,
            language=ticket.language,
        )
    updates: dict[str, Any] = {"last_activity_at": now}
    if author is not None and ticket.first_response_at is None:
        # Answered: the queue now sorts it by its resolution target.
        updates["first_response_at"] = now
        updates["sla_due_at"] = Coalesce(F("resolution_due_at"), F("sla_due_at"))
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    if author is not None and ticket.status == TicketStatus.NEW:
        update_ticket(ticket=ticket, actor=author, status=TicketStatus.OPEN)
    realtime.ticket_changed(ticket, event=event)
    domain_events.publish("message.sent", message_data(event))
    return event


def message_data(event: TimelineEvent) -> dict:
    """What a webhook says of a message (helpdesk.events)."""
    return {
        "event": event.pk, "ticket": event.ticket_id, "customer": event.customer_id, "channel": event.channel,
        "direction": event.direction, "kind": event.kind, "body": event.body,
        "delivery_status": event.delivery_status, "created_at": event.created_at.isoformat(),
    }  # fmt: skip


def _actor_name(actor) -> str:
    return (actor.get_full_name() or actor.get_username()) if getattr(actor, "pk", None) else ""


def message_audit(ticket: Ticket, event: TimelineEvent, author) -> dict:
    """The audit record of a message sent (queued to leave) or blocked: what was said, to whom,
    on which channel, when and by whom."""
    blocked = event.delivery_status == DeliveryStatus.BLOCKED
    return {
        "ticket_id": ticket.pk,
        "customer_id": ticket.customer_id,
        "version": ticket.version,
        "action": AuditAction.MESSAGE_BLOCKED if blocked else AuditAction.MESSAGE_SENT,
        "new": event.body,
        "old": event.delivery_error if blocked else "",
        "channel": event.channel,
        "recipient": event.contact_point.value if event.contact_point else "",
        "event_id": event.pk,
        "actor_id": getattr(author, "pk", None),
        "actor_name": (author.get_full_name() or author.get_username())
        if getattr(author, "pk", None)
        else "",
        "at": event.created_at,
    }


def _outbound_event(
    *,
    ticket: Ticket,
    channel: str,
    body: str,
    point: ContactPoint | None,
    author,
    kind: str,
    payload: dict,
    now: datetime,
) -> TimelineEvent:
    # A blocked point records why instead of queueing anything.
    reason = blocked_reason(point, channel)
    return TimelineEvent(
        customer_id=ticket.customer_id,
        ticket=ticket,
        channel=channel,
        direction=Direction.OUT,
        kind=kind,
        author=author,
        contact_point=point,
        body=body,
        payload=payload,
        delivery_status=DeliveryStatus.BLOCKED if reason else DeliveryStatus.PENDING,
        delivery_error=reason[:300],
        created_at=now,
    )


@dataclass(frozen=True)
class SystemMessage:
    """A message the desk itself sends (no author) to a known contact point, e.g. a triage question."""

    ticket: Ticket
    channel: str
    body: str
    contact_point: ContactPoint
    payload: dict


def send_system_messages(messages: Sequence[SystemMessage]) -> list[TimelineEvent]:
    """`send_message` without an author for many messages at once: one INSERT of events, one of
    outbox rows and one UPDATE of their tickets, in the caller's transaction."""
    for channel in {m.channel for m in messages}:
        check_can_send(channel)
    now = timezone.now()
    events = []
    for m in messages:
        body = (m.body or "").strip()
        if not body:
            raise ApplicationError(_("A reply needs a message."), code="empty_body")
        events.append(
            _outbound_event(
                ticket=m.ticket,
                channel=m.channel,
                body=body,
                point=m.contact_point,
                author=None,
                kind=EventKind.MESSAGE,
                payload=dict(m.payload),
                now=now,
            )
        )
    TimelineEvent.objects.bulk_create(events)
    AuditEvent.objects.bulk_create(
        [AuditEvent(**message_audit(m.ticket, e, None)) for m, e in zip(messages, events, strict=True)]
    )
    outbox.enqueue_many(
        [
            outbox.Outgoing(
                event=e,
                to=m.contact_point.value,
                body=e.body,
                subject=m.ticket.subject,
                language=m.ticket.language,
            )
            for m, e in zip(messages, events, strict=True)
            if e.delivery_status == DeliveryStatus.PENDING
        ]
    )
    Ticket.objects.filter(pk__in={m.ticket.pk for m in messages}).update(last_activity_at=now)
    for m, e in zip(messages, events, strict=True):
        realtime.ticket_changed(m.ticket, event=e)
    return events


def send_reply(*, ticket: Ticket, author, body: str, channel: str = "") -> TimelineEvent:
    """Send an agent's reply on the chosen channel (default: the customer's last channel)."""
    return send_message(ticket=ticket, channel=channel or reply_channel_for(ticket), body=body, author=author)


@transaction.atomic
def add_note(*, ticket: Ticket, author, body: str) -> TimelineEvent:
    """Add an internal note that the customer never sees."""
    body = (body or "").strip()
    if not body:
        raise ApplicationError(
            _("A note needs text."), code="empty_body", fields={"body": [_("This field is required.")]}
        )
    event = TimelineEvent.objects.create(
        customer_id=ticket.customer_id,
        ticket=ticket,
        channel=Channel.SYSTEM,
        direction=Direction.INTERNAL,
        kind=EventKind.NOTE,
        author=author,
        body=body,
        created_at=timezone.now(),
    )
    realtime.ticket_changed(ticket, event=event)
    return event


def _statement(ticket: Ticket, key: str) -> str:
    return ticket.crisis.text(ticket.language, key) if ticket.crisis is not None else ""


# The only placeholders a macro may use: plain values, never objects. A macro is text an agent
# or manager wrote; rendering it as a template over model objects let `{{ agent.password }}` out.
MACRO_PLACEHOLDERS: dict[str, Callable[[Ticket, Any], object]] = {
    "customer.name": lambda ticket, agent: ticket.customer.name,
    "ticket.id": lambda ticket, agent: ticket.pk,
    "ticket.subject": lambda ticket, agent: ticket.subject,
    "agent.first_name": lambda ticket, agent: (agent.first_name or agent.get_username()) if agent else "",
    "crisis.title": lambda ticket, agent: ticket.crisis.title if ticket.crisis is not None else "",
    # The crisis's published statement, in the ticket's language: canned replies say what every
    # channel says, and change with each published version.
    "crisis.what_happened": lambda ticket, agent: _statement(ticket, "summary"),
    "crisis.what_to_do": lambda ticket, agent: _statement(ticket, "what_to_do"),
    "crisis.unknowns": lambda ticket, agent: _statement(ticket, "unknowns"),
}
_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def unknown_placeholders(text: str) -> list[str]:
    """The `{{ … }}` names in the text that are not macro placeholders (for validation)."""
    return sorted(
        {m.group(1) for m in _PLACEHOLDER.finditer(text or "") if m.group(1) not in MACRO_PLACEHOLDERS}
    )


def render_macro(*, macro: Macro, ticket: Ticket, agent=None) -> str:
    """Fill a macro's placeholders (MACRO_PLACEHOLDERS); anything else stays as written. Counts
    one use (managers see which canned replies agents reach for)."""
    Macro.objects.filter(pk=macro.pk).update(uses=F("uses") + 1)

    def value(match: re.Match) -> str:
        fill = MACRO_PLACEHOLDERS.get(match.group(1))
        return match.group(0) if fill is None else str(fill(ticket, agent))

    return _PLACEHOLDER.sub(value, macro.body).strip()


def cannot_send_reason(channel: str) -> str:
    """Why nothing can send on the channel here, saying what to configure ('' when it can)."""
    if channel in reply_channels():
        return ""
    if contact_kind_of(channel) and not gateway_configured(channel):
        message = _(
            "Nothing can send on %(channel)s here: configure a gateway for it in CHANNEL_GATEWAYS."
        ) % {"channel": channel}
    else:
        message = _("Replies cannot be sent on this channel.")
    choices = ", ".join(reply_channels()) or _("none configured")
    return f"{message} " + _("Choose one of: %(choices)s.") % {"choices": choices}


def check_can_send(channel: str) -> None:
    """Refuse a channel nothing can send on here, saying what to configure."""
    if reason := cannot_send_reason(channel):
        raise ApplicationError(reason, code="invalid_channel", fields={"channel": [reason]})


def advance_delivery_status(report: DeliveryReport) -> TimelineEvent | None:
    """Move the outbound event the report names forward (queued → sent → delivered/failed), never
    backwards; return the event when it moved. Called only by messaging.delivery."""
    lower = [s for s, rank in DELIVERY_RANK.items() if rank < DELIVERY_RANK[report.status]]
    fields: dict[str, Any] = {"delivery_status": str(report.status)}
    if report.error_code or report.error_message:
        text = f"{report.error_code}: {report.error_message}" if report.error_code else report.error_message
        fields["delivery_error"] = text.strip(": ")[:300]
    updated = TimelineEvent.objects.filter(
        provider=report.provider, provider_id=report.provider_id, delivery_status__in=lower + [""]
    ).update(**fields)
    if not updated:
        return None
    event = (
        TimelineEvent.objects.filter(provider=report.provider, provider_id=report.provider_id)
        .only("id", "ticket_id", "contact_point_id")
        .first()
    )
    if event and event.ticket_id:
        realtime.ticket_id_changed(event.ticket_id, event_id=event.pk)
    return event
