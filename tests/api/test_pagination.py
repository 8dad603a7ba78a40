"""Cursor pagination: forged or broken page links are a 404 (the page they name does not exist;
the schema can only call a cursor a string) with the error shape naming `cursor`, never a 500."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from helpdesk.tickets.models import TimelineEvent
from tests.api.conftest import error_shape
from tests.factories import CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def forged(querystring: dict) -> str:
    """A cursor as DRF encodes one (base64 of a query string), with whatever we put inside."""
    return base64.b64encode(urlencode(querystring).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["garbage", forged({"p": "abc"}), forged({"p": str(10**30)}), forged({"p": "1", "o": "x"})],
)
def test_forged_cursor_on_an_id_sort_is_404(api, cursor):
    CustomerFactory()
    TicketFactory()
    for url in ("/api/v1/customers/", "/api/v1/tickets/", "/api/v1/queues/"):
        response = api.get(url, {"cursor": cursor})
        assert response.status_code == 404, (url, cursor)
        assert "cursor" in error_shape(response)["fields"]


@pytest.mark.parametrize("position", ["2026", "yesterday", "9" * 40])
def test_forged_cursor_on_the_timeline_is_404(api, position):
    event = TimelineEventFactory()
    response = api.get(f"/api/v1/tickets/{event.ticket_id}/timeline/", {"cursor": forged({"p": position})})
    assert response.status_code == 404
    assert "cursor" in error_shape(response)["fields"]


def test_cursor_links_walk_every_row_once(api):
    made = [CustomerFactory().pk for _ in range(7)]
    seen, url, params = [], "/api/v1/customers/", {"page_size": 3}
    while url:
        body = api.get(url, params).json()
        seen += [c["id"] for c in body["results"]]
        url, params = body["next"], None
    assert seen == sorted(made, reverse=True)


def test_a_page_size_the_schema_does_not_allow_is_a_400_not_silently_ignored(api):
    # It used to fall back to the default: a client asking for 500 rows believed it had them all.
    CustomerFactory()
    for size in ("abc", "0", "201", "-5", "1.5"):
        response = api.get("/api/v1/customers/", {"page_size": size})
        assert response.status_code == 400, size
        assert response.json()["fields"]["page_size"]
    assert api.get("/api/v1/customers/", {"page_size": "200"}).status_code == 200


def test_timeline_pages_through_events_sharing_one_timestamp_without_loss(api):
    ticket = TimelineEventFactory().ticket
    same = timezone.now()
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                customer=ticket.customer, ticket=ticket, channel="sms", direction="in", created_at=same
            )
            for _ in range(8)
        ]
    )
    expected = list(
        TimelineEvent.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("id", flat=True)
    )
    seen, url, params = [], f"/api/v1/tickets/{ticket.pk}/timeline/", {"page_size": 3}
    while url:
        body = api.get(url, params).json()
        seen += [e["id"] for e in body["results"]]
        url, params = body["next"], None
    assert seen == expected and len(seen) == 9


@pytest.mark.parametrize(
    "cursor", ["", "!!", forged({"p": "1"}), "WyJ4IiwgMV0", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwWiIsICIxIl0"]
)
def test_broken_timeline_cursor_is_404_or_the_first_page(api, cursor):
    event = TimelineEventFactory()
    response = api.get(f"/api/v1/tickets/{event.ticket_id}/timeline/", {"cursor": cursor})
    if cursor:
        assert response.status_code == 404 and "cursor" in error_shape(response)["fields"]
    else:
        assert [e["id"] for e in response.json()["results"]] == [event.pk]
