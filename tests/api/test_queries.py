"""Every list answers in a fixed number of queries, whether there are 10 rows or 1,000."""

from __future__ import annotations

import pytest
from django.utils import timezone

from helpdesk.customers.models import ContactKind, ContactPoint, Customer
from helpdesk.tickets.models import Channel, Direction, Tag, Ticket, TimelineEvent
from tests.factories import QueueFactory

pytestmark = pytest.mark.django_db

# Session + user, the page of rows, one prefetch (contact points, tags) or the ticket lookup;
# counting rows is never one of them.
MAX_QUERIES = 4
# Ticket endpoints also ask who sees what (visible_tickets): the agent's profile (role, team)
# and the queues of other teams.
TICKET_MAX_QUERIES = MAX_QUERIES + 2


def assert_no_count(queries) -> None:
    """A list page never counts the table: that cost grows with every row ever stored."""
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def make_customers(n: int) -> None:
    customers = Customer.objects.bulk_create([Customer(name=f"C{i}", tags=["t"]) for i in range(n)])
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(customer=c, kind=ContactKind.PHONE, value=f"+1415{c.pk:07d}", verified=True)
            for c in customers
        ]
        + [
            ContactPoint(customer=c, kind=ContactKind.EMAIL, value=f"c{c.pk}@example.org", verified=True)
            for c in customers
        ]
    )


def make_tickets(n: int, agent) -> Ticket:
    customer = Customer.objects.create(name="Busy")
    queue = QueueFactory()
    now = timezone.now()
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                customer=customer,
                subject=f"T{i}",
                queue=queue,
                assignee=agent,
                sla_due_at=now,
                last_activity_at=now,
            )
            for i in range(n)
        ]
    )
    tag = Tag.objects.create(name="flood")
    Ticket.tags.through.objects.bulk_create([Ticket.tags.through(ticket=t, tag=tag) for t in tickets])
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                customer=customer,
                ticket=tickets[0],
                channel=Channel.SMS,
                direction=Direction.OUT,
                author=agent,
                body=f"m{i}",
                created_at=now,
            )
            for i in range(n)
        ]
    )
    return tickets[0]


@pytest.mark.parametrize("rows", [10, 1000])
def test_customer_list_query_count_is_fixed(api, rows, django_assert_max_num_queries):
    make_customers(rows)
    with django_assert_max_num_queries(MAX_QUERIES) as queries:
        response = api.get("/api/v1/customers/", {"page_size": 200})
    assert_no_count(queries)
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(rows, 200)
    assert all(len(c["contact_points"]) == 2 for c in response.json()["results"])


@pytest.mark.parametrize("rows", [10, 1000])
def test_ticket_list_query_count_is_fixed(api, agent, rows, django_assert_max_num_queries):
    make_tickets(rows, agent)
    with django_assert_max_num_queries(TICKET_MAX_QUERIES) as queries:
        response = api.get("/api/v1/tickets/", {"page_size": 200, "tag": "flood", "status": "active"})
    assert_no_count(queries)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == min(rows, 200)
    assert all(t["tags"] == ["flood"] and t["assignee_name"] for t in results)


@pytest.mark.parametrize("rows", [10, 1000])
def test_timeline_query_count_is_fixed(api, agent, rows, django_assert_max_num_queries):
    ticket = make_tickets(rows, agent)
    with django_assert_max_num_queries(TICKET_MAX_QUERIES) as queries:
        response = api.get(f"/api/v1/tickets/{ticket.pk}/timeline/", {"page_size": 200})
    assert_no_count(queries)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == min(rows, 200)
    assert all(e["author_name"] for e in results)
