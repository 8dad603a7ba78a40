"""The drain records a batch of mail from unproven senders set-based (tickets.services.
open_unproven_many): what it writes must be what record_inbound writes one message at a time."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from channels_app.base import InboundMessage
from channels_app.email import inbound as mail_inbound
from channels_app.email.parse import PROVIDER, message_key
from helpdesk.crisis.models import Crisis, CrisisStatus
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.messaging import inbox, tasks
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import QueueCounter, Ticket, TimelineEvent
from helpdesk.tickets.services import record_inbound
from tests.channels_app.email.mails import mail

pytestmark = pytest.mark.django_db


def batch() -> list[bytes]:
    """Unauthenticated mail: a new address twice, a known customer's address, a Persian name."""
    return [
        mail(
            sender="Sara <sara@example.org>",
            subject="Basement",
            body="Water in the basement",
            authenticated=False,
        ),
        mail(sender="sara@example.org", subject="", body="Second mail\nstill water", authenticated=False),
        mail(
            sender="Known <known@example.org>", subject="Card", body="My card is frozen", authenticated=False
        ),
        mail(sender="مریم <maryam@example.ir>", subject="سیل", body="آب آمد", authenticated=False),
    ]


def known_customer() -> Customer:
    customer = Customer.objects.create(name="Known")
    ContactPoint.objects.create(customer=customer, kind="email", value="known@example.org", verified=True)
    return customer


def what_was_written(known: Customer) -> list[tuple]:
    """Everything the messages wrote, without ids: per event, its customer, point, ticket."""
    rows = []
    for event in TimelineEvent.objects.exclude(customer=known).select_related(
        "customer", "ticket", "contact_point"
    ):
        payload = {k: v for k, v in event.payload.items() if k != "inbox_id"}
        point = event.contact_point
        ticket = event.ticket
        rows.append(
            (
                event.customer.name, event.customer.language, event.customer.search_text,
                point and (point.value, point.verified, point.language),
                ticket.subject, ticket.status, ticket.queue.slug, ticket.language, ticket.channel,
                ticket.first_response_due_at is not None, ticket.search_text, ticket.crisis_id,
                event.body, event.channel, event.direction, event.kind, sorted(payload.items()),
                event.provider, event.provider_id, event.delivery_status, event.search_text,
            )
        )  # fmt: skip
    return sorted(rows, key=repr)


def one_by_one(raws: list[bytes]) -> None:
    for raw in raws:
        envelope = InboundMessage(
            channel="email", sender_kind="email", sender="", provider=PROVIDER, provider_id=message_key(raw),
            kind="message", payload={"door": "webhook"},
        )  # fmt: skip
        record_inbound(message=mail_inbound.parse_raw(raw, envelope).message, offer_later=False)


def drained(raws: list[bytes]) -> list[int]:
    """Stored by the door, then drained as one batch (no eager drain per message)."""
    tasks.drain_inbox.app.conf.task_always_eager = False  # tests/conftest.py restores it
    for raw in raws:
        mail_inbound.accept(raw, source="webhook")
    ids = list(InboxMessage.objects.order_by("id").values_list("id", flat=True))
    assert not InboxMessage.objects.filter(processed_at__isnull=False).exists()
    inbox.process_many(ids)
    return ids


def marked(ids: list[int]) -> int:
    return InboxMessage.objects.filter(pk__in=ids, processed_at__isnull=False, event_id__isnull=False).count()


def test_a_drained_batch_writes_what_record_inbound_writes_one_by_one():
    known = known_customer()
    raws = batch()
    with transaction.atomic():
        one_by_one(raws)
        expected = what_was_written(known)
        counted = list(QueueCounter.objects.values_list("queue__slug", "status", "count"))
        transaction.set_rollback(True)
    assert len(expected) == 4
    with CaptureQueriesContext(connection) as queries:
        ids = drained(raws)
    assert what_was_written(known) == expected
    # Set-based: the four tickets and their events in one INSERT each.
    inserts = [q["sql"].split("(")[0] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert inserts.count('INSERT INTO "tickets_ticket" ') == 1
    assert inserts.count('INSERT INTO "tickets_timelineevent" ') == 1
    assert list(QueueCounter.objects.values_list("queue__slug", "status", "count")) == counted
    # The new address got its point once (unverified); the known one stays its customer's alone.
    assert list(ContactPoint.objects.filter(value="sara@example.org").values_list("verified", flat=True)) == [
        False
    ]
    assert ContactPoint.objects.get(value="known@example.org").customer == known
    assert marked(ids) == 4


def test_a_batch_swept_again_after_a_dead_worker_records_nothing_twice():
    """The worker died after the batch committed, before the marks: the sweep meets recorded mail."""
    known = known_customer()
    ids = drained(batch())
    first = what_was_written(known)
    InboxMessage.objects.filter(pk__in=ids).update(processed_at=None, event_id=None)
    inbox.process_many(ids)
    assert what_was_written(known) == first
    assert Ticket.objects.exclude(customer=known).count() == 4
    assert marked(ids) == 4


def test_while_a_crisis_is_active_each_mail_joins_it_one_by_one():
    crisis = Crisis.objects.create(title="River flood", status=CrisisStatus.ACTIVE)
    known = known_customer()
    drained(batch())
    assert set(Ticket.objects.exclude(customer=known).values_list("crisis_id", flat=True)) == {crisis.pk}
