"""Merge and split move events: every event stays exactly once, on exactly one ticket."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.errors import ApplicationError
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import AuditEvent, Direction, Ticket, TicketStatus, TimelineEvent
from helpdesk.tickets.services import merge_tickets, split_event
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def _events(ticket: Ticket) -> set[int]:
    return set(TimelineEvent.objects.filter(ticket=ticket).values_list("pk", flat=True))


def _inbound(ticket: Ticket, n: int) -> list[TimelineEvent]:
    return [
        TimelineEventFactory(ticket=ticket, customer=ticket.customer, direction=Direction.IN, body=f"m{i}")
        for i in range(n)
    ]


def test_merge_moves_every_event_once_and_closes_the_source(agent):
    customer = CustomerFactory()
    source, target = TicketFactory(customer=customer), TicketFactory(customer=customer)
    source.tags.create(name="flood")
    _inbound(source, 3)
    _inbound(target, 2)
    before = _events(source) | _events(target)
    total = TimelineEvent.objects.count()
    merge_tickets(source=source, target=target, actor=agent)
    source.refresh_from_db()
    assert source.merged_into == target and source.status == TicketStatus.CLOSED
    moved = _events(target)
    assert before <= moved  # every event now on the survivor
    assert not (_events(source) & before)  # none left behind, none copied
    assert TimelineEvent.objects.filter(pk__in=before).count() == len(before)
    # Only the two merge notes and the status notes were added; nothing duplicated.
    assert TimelineEvent.objects.count() - total == len(_events(source)) + len(moved) - len(before)
    assert list(target.tags.values_list("name", flat=True)) == ["flood"]
    assert AuditEvent.objects.filter(action="merge").count() == 2
    assert not Outbox.objects.exists()  # the customer is told nothing unless the agent chooses


def test_merge_refuses_itself_another_customer_and_a_second_time(agent):
    a, b = TicketFactory(), TicketFactory()
    with pytest.raises(ApplicationError):
        merge_tickets(source=a, target=a, actor=agent)
    with pytest.raises(ApplicationError) as other:
        merge_tickets(source=a, target=b, actor=agent)
    assert other.value.code == "merge_other_customer"
    c = TicketFactory(customer=a.customer)
    merge_tickets(source=a, target=c, actor=agent)
    with pytest.raises(ApplicationError) as again:
        merge_tickets(source=a, target=c, actor=agent)
    assert again.value.code == "merge_already"


def test_split_moves_one_event_to_a_new_ticket(agent):
    ticket = TicketFactory()
    first, second, third = _inbound(ticket, 3)
    everything = _events(ticket)
    new = split_event(event=second, actor=agent)
    assert new.customer_id == ticket.customer_id and new.pk != ticket.pk
    assert second.pk in _events(new) and second.pk not in _events(ticket)
    assert {first.pk, third.pk} <= _events(ticket)
    assert TimelineEvent.objects.filter(pk__in=everything).count() == len(everything)
    with pytest.raises(ApplicationError):  # the new ticket's only message stays
        split_event(event=second, actor=agent)


def test_merge_and_split_from_the_ticket_page(agent_client, agent):
    customer = CustomerFactory()
    ContactPointFactory(customer=customer)
    source, target = TicketFactory(customer=customer), TicketFactory(customer=customer)
    _inbound(source, 2)
    page = agent_client.get(reverse("tickets:detail", args=[source.pk])).content.decode()
    assert reverse("tickets:merge", args=[source.pk]) in page
    response = agent_client.post(
        reverse("tickets:merge", args=[source.pk]),
        {"target": target.pk, "tell": "We joined your two requests."},
    )
    assert response.status_code == 302 and response["Location"] == reverse("tickets:detail", args=[target.pk])
    assert Outbox.objects.filter(body="We joined your two requests.").count() == 1
    event = TimelineEvent.objects.filter(ticket=target, direction=Direction.IN).first()
    response = agent_client.post(reverse("tickets:split", args=[target.pk]), {"event": event.pk})
    new = Ticket.objects.order_by("-pk").first()
    assert response["Location"] == reverse("tickets:detail", args=[new.pk])
    assert TimelineEvent.objects.get(pk=event.pk).ticket_id == new.pk
