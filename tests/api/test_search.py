"""/api/v1/search/{messages,tickets,customers}/: the page's search, for API clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.accounts.models import AgentProfile, Role, Team
from helpdesk.tickets.models import TimelineEvent
from tests.factories import (
    ContactPointFactory,
    CustomerFactory,
    QueueFactory,
    TicketFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _events(n: int, body: str = "flood") -> list[int]:
    ticket = TicketFactory()
    start = timezone.now() - timedelta(days=1)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            ticket=ticket, customer_id=ticket.customer_id, channel="sms", direction="in",
            body=f"{body} {i}", created_at=start + timedelta(seconds=i),
        )
        for i in range(n)
    )  # fmt: skip
    return list(TimelineEvent.objects.filter(ticket=ticket).values_list("pk", flat=True))


def test_messages_are_paged_to_the_end_by_next_links(api):
    ids = _events(130)
    url, seen = "/api/v1/search/messages/?q=flood&page_size=50", []
    while url:
        body = api.get(url).json()
        assert body["count"] == 130 and body["count_exact"] is True and body["sort"] == "relevance"
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(ids)


def test_normalized_query_finds_the_message(api):
    event = TimelineEventFactory(body="كارت من کار نمی‌کند ۹۱۲")
    body = api.get("/api/v1/search/messages/", {"q": "کارت من کار نمیکند 912"}).json()
    assert [r["id"] for r in body["results"]] == [event.pk]


def test_tickets_and_customers_are_searched_too(api):
    ticket = TicketFactory(subject="مريم needs help")
    point = ContactPointFactory(value="+989121234567", customer=CustomerFactory(name="Someone"))
    assert [r["id"] for r in api.get("/api/v1/search/tickets/", {"q": "مریم"}).json()["results"]] == [
        ticket.pk
    ]
    found = api.get("/api/v1/search/customers/", {"q": "۰۹۱۲۱۲۳"}).json()["results"]
    assert [r["id"] for r in found] == [point.customer_id]


def test_filters_apply(api):
    hit = TimelineEventFactory(body="flood", channel="email", ticket=TicketFactory(status="open"))
    TimelineEventFactory(body="flood", channel="sms", ticket=TicketFactory(status="open"))
    TimelineEventFactory(body="flood", channel="email", ticket=TicketFactory(status="closed"))
    body = api.get("/api/v1/search/messages/", {"q": "flood", "channel": "email", "status": "open"}).json()
    assert [r["id"] for r in body["results"]] == [hit.pk]


def test_a_bad_cursor_is_a_404_naming_the_cursor(api):
    _events(3)
    response = api.get("/api/v1/search/messages/", {"q": "flood", "cursor": "junk"})
    assert response.status_code == 404
    assert response.json()["code"] == "invalid_cursor" and "cursor" in response.json()["fields"]


def test_a_query_that_normalizes_to_nothing_is_a_422(api):
    response = api.get("/api/v1/search/messages/", {"q": "\u200c\u0640 "})
    assert response.status_code == 422 and response.json()["code"] == "query_too_short"


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "flood", "page_size": "0"}, {"q": "x" * 201}])
def test_requests_the_schema_refuses_are_400(api, params):
    assert api.get("/api/v1/search/messages/", params).status_code == 400


def test_another_teams_tickets_and_messages_are_never_found(db):
    from rest_framework.test import APIClient

    fraud, flood = Team.objects.create(name="Fraud"), Team.objects.create(name="Flood")
    theirs = TicketFactory(subject="Zebra stolen", queue=QueueFactory(team=fraud))
    TimelineEventFactory(ticket=theirs, body="Zebra fraud")
    ours = TicketFactory(subject="Zebra basement", queue=QueueFactory(team=flood))
    seen = TimelineEventFactory(ticket=ours, body="Zebra water")
    agent = UserFactory(username="flood-agent", role=Role.AGENT)
    AgentProfile.objects.filter(user=agent).update(team=flood)
    client = APIClient()
    client.force_login(agent)
    messages = client.get("/api/v1/search/messages/", {"q": "zebra"}).json()
    tickets = client.get("/api/v1/search/tickets/", {"q": "zebra"}).json()
    assert [r["id"] for r in messages["results"]] == [seen.pk] and messages["count"] == 1
    assert [r["id"] for r in tickets["results"]] == [ours.pk] and tickets["count"] == 1


@pytest.mark.parametrize("n", [10, 1000])
@pytest.mark.parametrize("kind", ["messages", "tickets", "customers"])
def test_query_count_is_fixed(api, django_assert_max_num_queries, n, kind):
    _events(n)
    for i in range(min(n, 50)):
        ContactPointFactory(customer=CustomerFactory(name=f"flood family {i}"))
        TicketFactory(subject=f"flood {i}")
    # Session, user, profile and hidden queues (visibility), the capped count, the page's keys,
    # its rows and one prefetch (tags or contact points).
    with django_assert_max_num_queries(9):
        response = api.get(f"/api/v1/search/{kind}/", {"q": "flood"})
    assert response.status_code == 200 and response.json()["results"]
