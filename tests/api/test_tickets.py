"""Tickets over the API: create, filters, partial update, timeline, notes and replies."""

from __future__ import annotations

import pytest

from helpdesk.crisis.models import Crisis
from helpdesk.customers.services import opt_out
from helpdesk.tickets.models import EventKind, QueueCounter, Ticket, TimelineEvent
from tests.api.conftest import error_shape
from tests.factories import (
    ContactPointFactory,
    CustomerFactory,
    QueueFactory,
    TicketFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_create_goes_through_the_service_with_counters_and_a_first_note(api, agent):
    customer, queue = CustomerFactory(), QueueFactory()
    response = api.post(
        "/api/v1/tickets/",
        {
            "customer": customer.pk,
            "subject": "Shop flooded",
            "queue": queue.pk,
            "priority": 1,
            "tags": ["Flood"],
            "first_message": "Water is rising",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "new" and body["priority"] == 1 and body["tags"] == ["flood"]
    assert QueueCounter.objects.get(queue=queue, status="new").count == 1
    note = TimelineEvent.objects.get(ticket_id=body["id"])
    assert note.kind == EventKind.NOTE and note.body == "Water is rising" and note.author == agent


def test_create_with_unknown_customer_or_missing_subject_is_400(api):
    response = api.post("/api/v1/tickets/", {"customer": 10**12}, format="json")
    assert response.status_code == 400
    assert {"customer", "subject"} <= set(error_shape(response)["fields"])
    assert not Ticket.objects.exists()


def test_list_filters(api, agent):
    other_agent = UserFactory()
    q1, q2 = QueueFactory(), QueueFactory()
    a = TicketFactory(queue=q1, status="open", priority=1, assignee=agent, channel="sms", language="km")
    b = TicketFactory(queue=q2, status="solved", priority=3, assignee=other_agent, channel="email")
    c = TicketFactory(queue=q2, status="new", priority=3, channel="chat")
    a.tags.create(name="flood")
    crisis = Crisis.objects.create(title="River flood")
    Ticket.objects.filter(pk=b.pk).update(crisis=crisis)

    def ids(**params):
        response = api.get("/api/v1/tickets/", params)
        assert response.status_code == 200, response.json()
        return sorted(t["id"] for t in response.json()["results"])

    assert ids() == sorted([a.pk, b.pk, c.pk])
    assert ids(status="solved") == [b.pk]
    assert ids(status="active") == sorted([a.pk, c.pk])
    assert ids(queue=q2.pk) == sorted([b.pk, c.pk])
    assert ids(assignee="me") == [a.pk]
    assert ids(assignee="unassigned") == [c.pk]
    assert ids(assignee=str(other_agent.pk)) == [b.pk]
    assert ids(priority=1) == [a.pk]
    assert ids(channel="email") == [b.pk]
    assert ids(language="km") == [a.pk]
    assert ids(tag="Flood") == [a.pk]
    assert ids(customer=c.customer_id) == [c.pk]
    assert ids(crisis=crisis.pk) == [b.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"priority": "abc"},
        {"assignee": "xyz"},
        {"status": "exploded"},
        {"queue": "1e9"},
        {"crisis": str(10**30)},
    ],
)
def test_unknown_filter_values_are_400_not_500(api, params):
    response = api.get("/api/v1/tickets/", params)
    assert response.status_code == 400
    assert set(params) <= set(error_shape(response)["fields"])


def test_partial_update_records_events_and_moves_counters(api, agent):
    ticket = TicketFactory(status="new")
    QueueCounter.objects.create(queue=ticket.queue, status="new", count=1)
    target_queue = QueueFactory()
    response = api.patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"status": "pending", "priority": 2, "assignee": agent.pk, "queue": target_queue.pk, "tags": ["x"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["priority"], body["assignee"], body["queue"], body["tags"]) == (
        "pending",
        2,
        agent.pk,
        target_queue.pk,
        ["x"],
    )
    kinds = set(TimelineEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"status_change", "priority_change", "assignment"} <= kinds
    assert QueueCounter.objects.get(queue=target_queue, status="pending").count == 1
    assert QueueCounter.objects.get(queue=ticket.queue, status="new").count == 0


@pytest.mark.parametrize(
    "payload",
    [{"status": "exploded"}, {"priority": 9}, {"priority": "high"}, {"assignee": "me"}, {"queue": 10**20}],
)
def test_bad_update_values_are_400_and_change_nothing(api, payload):
    ticket = TicketFactory(status="open", priority=3)
    response = api.patch(f"/api/v1/tickets/{ticket.pk}/", payload, format="json")
    assert response.status_code == 400
    assert set(payload) <= set(error_shape(response)["fields"])
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("open", 3)


def test_non_staff_user_cannot_be_assigned(api):
    ticket = TicketFactory()
    user = UserFactory(is_staff=False)
    response = api.patch(f"/api/v1/tickets/{ticket.pk}/", {"assignee": user.pk}, format="json")
    assert response.status_code == 400 and "assignee" in error_shape(response)["fields"]


def test_timeline_is_oldest_first_and_keyset_paginated(api):
    ticket = TicketFactory()
    events = [TimelineEventFactory(ticket=ticket) for _ in range(5)]
    TimelineEventFactory()  # another ticket's event never shows
    first = api.get(f"/api/v1/tickets/{ticket.pk}/timeline/", {"page_size": 3}).json()
    assert [e["id"] for e in first["results"]] == [e.pk for e in events[:3]]
    second = api.get(first["next"]).json()
    assert [e["id"] for e in second["results"]] == [e.pk for e in events[3:]]
    assert second["next"] is None


def test_note_is_added_via_the_service(api, agent):
    ticket = TicketFactory()
    response = api.post(f"/api/v1/tickets/{ticket.pk}/notes/", {"body": "Called back"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "note" and body["direction"] == "internal" and body["author"] == agent.pk
    empty = api.post(f"/api/v1/tickets/{ticket.pk}/notes/", {"body": "   "}, format="json")
    assert empty.status_code == 400 and "body" in error_shape(empty)["fields"]


def test_reply_is_queued_with_a_delivery_status(api):
    customer = CustomerFactory()
    ContactPointFactory(customer=customer, kind="phone", value="+14155550123")
    ticket = TicketFactory(customer=customer, channel="sms")
    response = api.post(f"/api/v1/tickets/{ticket.pk}/replies/", {"body": "We are on it"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["direction"] == "out" and body["channel"] == "sms"
    assert body["delivery_status"] not in ("", "blocked") and body["delivery_error"] == ""


def test_reply_to_opted_out_customer_is_201_blocked_with_the_reason(api):
    customer = CustomerFactory()
    point = ContactPointFactory(customer=customer, kind="phone")
    opt_out(contact_point=point, reason="STOP")
    ticket = TicketFactory(customer=customer, channel="sms")
    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/replies/", {"body": "Hello", "channel": "sms"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["delivery_status"] == "blocked" and "opted out" in body["delivery_error"]


def test_reply_on_an_unknown_channel_is_400(api):
    ticket = TicketFactory()
    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/replies/", {"body": "Hi", "channel": "pigeon"}, format="json"
    )
    assert response.status_code == 400 and "channel" in error_shape(response)["fields"]


def test_queues_and_macros_are_read_only_lists(api):
    queue = QueueFactory()
    assert [q["id"] for q in api.get("/api/v1/queues/").json()["results"]] == [queue.pk]
    assert api.get("/api/v1/macros/").json()["results"] == []
    assert api.post("/api/v1/queues/", {"name": "x"}, format="json").status_code == 405


def test_unknown_ticket_is_404_everywhere(api):
    for method, url in [
        ("get", "/api/v1/tickets/424242/"),
        ("patch", "/api/v1/tickets/424242/"),
        ("get", f"/api/v1/tickets/{10**25}/timeline/"),
        ("post", "/api/v1/tickets/424242/notes/"),
        ("post", "/api/v1/tickets/424242/replies/"),
    ]:
        response = getattr(api, method)(url, {"body": "x"}, format="json")
        assert response.status_code == 404, (method, url)
        assert error_shape(response)["code"] == "not_found"


def test_non_json_body_is_400(api):
    ticket = TicketFactory()
    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/notes/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert error_shape(response)["code"] == "parse_error"


def test_a_ticket_has_a_version_and_an_etag_and_if_match_guards_the_patch(api, agent):
    from helpdesk.tickets.models import Priority
    from helpdesk.tickets.services import update_ticket

    ticket = TicketFactory()
    read = api.get(f"/api/v1/tickets/{ticket.pk}/")
    assert read.json()["version"] == 1 and read["ETag"] == '"v1"'
    update_ticket(ticket=ticket, actor=agent, priority=Priority.HIGH)  # someone else, meanwhile
    stale = api.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"status": "solved"}, format="json", HTTP_IF_MATCH=read["ETag"]
    )
    assert stale.status_code == 409
    assert error_shape(stale)["code"] == "conflict" and "priority" in error_shape(stale)["fields"]
    ticket.refresh_from_db()
    assert ticket.status != "solved"
    fresh = api.get(f"/api/v1/tickets/{ticket.pk}/")
    ok = api.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"status": "solved"}, format="json", HTTP_IF_MATCH=fresh["ETag"]
    )
    assert ok.status_code == 200 and ok.json()["status"] == "solved" and ok["ETag"] == '"v3"'
    bad = api.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"status": "open"}, format="json", HTTP_IF_MATCH="yesterday"
    )
    assert bad.status_code == 400 and "If-Match" in error_shape(bad)["fields"]
