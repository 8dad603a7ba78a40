"""Customer pages: keyset list, profile with tickets and timeline, fixed queries."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk.customers.models import ContactPoint, Customer
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10


@pytest.mark.parametrize("size", [10, 1000])
def test_customer_list_runs_fixed_queries(agent_client, django_assert_max_num_queries, size):
    customers = Customer.objects.bulk_create([Customer(name=f"C {i}") for i in range(size)])
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(customer=c, kind="phone", value=f"+1415666{i:04d}", verified=True)
            for i, c in enumerate(customers)
        ]
    )
    with django_assert_max_num_queries(MAX_QUERIES):
        response = agent_client.get(reverse("customers:list"))
    assert response.status_code == 200
    assert response.content.decode().count("/customers/") >= min(size, 50)


def test_customer_list_pages_by_keyset(agent_client):
    Customer.objects.bulk_create([Customer(name=f"C {i}") for i in range(60)])
    first = agent_client.get(reverse("customers:list")).context["page"]
    second = agent_client.get(reverse("customers:list"), {"before": first.next_cursor}).context["page"]
    ids = [c.pk for c in first.customers] + [c.pk for c in second.customers]
    assert len(ids) == len(set(ids)) == 60
    assert ids == sorted(ids, reverse=True)


def test_customer_page_shows_profile_points_tickets_and_timeline(agent_client):
    customer = CustomerFactory(name="Sokha")
    ContactPointFactory(customer=customer, value="+85512345678", opted_out_at=timezone.now())
    ticket = TicketFactory(customer=customer, subject="Roof damage")
    TimelineEventFactory(ticket=ticket, body="ផ្ទះខ្ញុំរងការខូចខាត")
    body = agent_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Sokha" in body and "+85512345678" in body and "opted out" in body
    assert "Roof damage" in body and "ផ្ទះខ្ញុំរងការខូចខាត" in body


def test_missing_customer_is_404(agent_client):
    assert agent_client.get(reverse("customers:detail", args=[424242])).status_code == 404


def test_customer_pages_need_staff(client):
    customer = CustomerFactory()
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 302
