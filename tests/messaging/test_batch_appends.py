"""The drain appends plain messages to their senders' open tickets set-based
(tickets.services.append_plain_many): the same events and tickets as record_inbound one by one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.base import InboundMessage
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.messaging import inbox, tasks
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import Ticket, TimelineEvent
from helpdesk.tickets.services import create_ticket

pytestmark = pytest.mark.django_db


def line(visitor: str, n: int, body: str) -> InboundMessage:
    return InboundMessage(
        channel="chat", sender_kind="chat", sender=visitor, body=body, provider="chat",
        provider_id=f"{visitor}:{n}", sender_proven=True, payload={"client_id": str(n)},
    )  # fmt: skip


def visitor_with_ticket(visitor: str) -> Ticket:
    customer = Customer.objects.create(name=visitor)
    ContactPoint.objects.create(customer=customer, kind="chat", value=visitor, verified=True)
    return create_ticket(customer=customer, subject="Flight", channel="chat")


def test_next_lines_of_many_visitors_are_appended_in_one_insert_each_in_order():
    tickets = {v: visitor_with_ticket(v) for v in ("v-ana", "v-bo", "v-chen")}
    tasks.drain_inbox.app.conf.task_always_eager = False  # stored now, drained below as one batch
    for n, (visitor, body) in enumerate(
        [("v-ana", "Still waiting"), ("v-bo", "Gate changed?"), ("v-ana", "Hello?"), ("v-chen", "سلام")]
    ):
        inbox.accept(line(visitor, n, body))
    ids = list(InboxMessage.objects.order_by("id").values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        inbox.process_many(ids)
    inserts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('INSERT INTO "tickets_timelineevent"')
    ]
    assert len(inserts) == 2  # the first line of each visitor together; Ana's second after it
    for visitor, bodies in {
        "v-ana": ["Still waiting", "Hello?"],
        "v-bo": ["Gate changed?"],
        "v-chen": ["سلام"],
    }.items():
        events = TimelineEvent.objects.filter(ticket=tickets[visitor], direction="in").order_by("pk")
        assert [e.body for e in events] == bodies
        assert all(e.contact_point.value == visitor and e.delivery_status == "received" for e in events)
        ticket = Ticket.objects.get(pk=tickets[visitor].pk)
        assert ticket.last_activity_at == events.last().created_at and ticket.channel == "chat"
    assert not InboxMessage.objects.filter(pk__in=ids, processed_at__isnull=True).exists()
    assert Ticket.objects.count() == 3  # nobody got a new ticket
