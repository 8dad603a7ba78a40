"""A long timeline shows its latest page, loads older ones by keyset, and live updates fetch only
what is new (and shown events whose delivery moved on)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from helpdesk.tickets import selectors, services
from helpdesk.tickets.models import DeliveryStatus, TimelineEvent
from tests.factories import ContactPointFactory, TicketFactory
from tests.tickets.test_views import _bulk_events

pytestmark = pytest.mark.django_db

EVENT = re.compile(r'data-event-id="(\d+)"')


def _ids(html: str) -> list[int]:
    return [int(i) for i in EVENT.findall(html)]


def test_load_older_walks_back_to_the_first_event_with_nothing_twice(agent_client, agent):
    ticket = TicketFactory()
    _bulk_events(ticket, 250, agent)
    page = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    seen = _ids(page)
    assert len(seen) == selectors.TIMELINE_PAGE
    cursor = re.search(r"\?before=([^\"]+)\"", page).group(1)
    while cursor:
        older = agent_client.get(f"{reverse('tickets:timeline', args=[ticket.pk])}?before={cursor}")
        html = older.content.decode()
        seen = _ids(html) + seen
        match = re.search(r"\?before=([^\"]+)\"", html)
        cursor = match.group(1) if match else ""
    expected = list(
        TimelineEvent.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("id", flat=True)
    )
    assert seen == expected


def test_a_bad_cursor_is_400(agent_client):
    ticket = TicketFactory()
    response = agent_client.get(f"{reverse('tickets:timeline', args=[ticket.pk])}?before=nonsense")
    assert response.status_code == 400


def test_a_live_update_carries_only_the_new_events_and_the_changed_ones(agent_client, agent):
    ticket = TicketFactory()
    ContactPointFactory(customer=ticket.customer)
    _bulk_events(ticket, 300, agent)
    reply = services.send_reply(ticket=ticket, author=agent, body="We are on it")
    last = TimelineEvent.objects.filter(ticket=ticket).order_by("-id").values_list("id", flat=True).first()
    services.add_note(ticket=ticket, author=agent, body="Called the branch")
    TimelineEvent.objects.filter(pk=reply.pk).update(delivery_status=DeliveryStatus.DELIVERED)

    response = agent_client.get(
        f"{reverse('tickets:timeline', args=[ticket.pk])}?after={last}&changed={reply.pk},999999"
    )
    html = response.content.decode()
    new_note = TimelineEvent.objects.get(body="Called the branch")
    assert _ids(html) == [new_note.pk, reply.pk]
    assert f'id="event-{reply.pk}" data-event-id="{reply.pk}" hx-swap-oob="true"' in html
    assert "delivery-delivered" in html
    assert len(response.content) < 3_000  # not the 300 events again


def test_the_ticket_page_of_a_huge_ticket_stays_small(agent_client, agent):
    ticket = TicketFactory()
    _bulk_events(ticket, 3_000, agent)
    response = agent_client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert len(response.content) < 300_000
    assert response.content.decode().count('class="event ') == selectors.TIMELINE_PAGE
