"""The audit record: one immutable event per change and per message, exported as safe CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from helpdesk.customers.services import opt_out
from helpdesk.tickets.models import AuditEvent, Priority, TicketStatus
from helpdesk.tickets.services import send_reply, update_ticket
from tests.factories import ContactPointFactory, QueueFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_each_change_and_message_is_one_audit_event_with_actor_and_time(agent):
    from helpdesk.crisis.models import Crisis

    ticket = TicketFactory(status=TicketStatus.NEW)
    point = ContactPointFactory(customer=ticket.customer)
    crisis = Crisis.objects.create(title="Flood", severity=3)
    update_ticket(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
    update_ticket(ticket=ticket, actor=agent, priority=Priority.URGENT, assignee=agent)
    update_ticket(ticket=ticket, actor=agent, queue=QueueFactory(), tags=["flood"], severity=4)
    update_ticket(ticket=ticket, actor=agent, crisis=crisis, subject="Basement flooded")
    update_ticket(ticket=ticket, actor=agent, tags=["flood"])  # no change: nothing recorded
    send_reply(ticket=ticket, author=agent, body="Help is on its way.")
    opt_out(contact_point=point)
    send_reply(ticket=ticket, author=agent, body="Are you safe?")
    rows = list(AuditEvent.objects.filter(ticket_id=ticket.pk).order_by("id"))
    fields = [r.field for r in rows if r.action == "change"]
    assert fields == ["status", "priority", "assignee", "queue", "severity", "tags", "crisis", "subject"]
    assert [r.action for r in rows if r.action != "change"] == ["message_sent", "message_blocked"]
    sent, blocked = (r for r in rows if r.action != "change")
    assert (sent.new, sent.channel, sent.recipient, sent.actor_name) == (
        "Help is on its way.", "sms", point.value, agent.get_full_name() or agent.get_username(),
    )  # fmt: skip
    assert blocked.old  # why it did not leave
    assert all(r.actor_id == agent.pk and r.at <= timezone.now() for r in rows)
    ticket.refresh_from_db()
    assert ticket.version == 5  # one per write that changed something


def test_the_database_refuses_to_change_or_delete_an_audit_event(agent):
    ticket = TicketFactory()
    update_ticket(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
    event = AuditEvent.objects.get(ticket_id=ticket.pk)
    for attempt in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(new="closed"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
        lambda: connection.cursor().execute("UPDATE tickets_auditevent SET actor_name = 'x'"),
        lambda: connection.cursor().execute("DELETE FROM tickets_auditevent"),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert AuditEvent.objects.get(pk=event.pk).new == event.new


def test_the_export_is_a_streamed_csv_a_spreadsheet_cannot_run(client, agent):
    manager = UserFactory(username="boss", role="manager")
    ticket = TicketFactory(subject="x")
    ContactPointFactory(customer=ticket.customer)
    send_reply(ticket=ticket, author=agent, body='=HYPERLINK("http://evil.example","click")')
    update_ticket(ticket=ticket, actor=agent, tags=["+1", "@home"])
    client.force_login(manager)
    day = timezone.localdate().isoformat()
    response = client.get(reverse("tickets:audit_export"), {"start": day, "end": day})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["at", "ticket", "customer", "action"]
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil.example","click")' in cells
    assert "'+1, @home" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    client.force_login(agent)
    assert client.get(reverse("tickets:audit_export"), {"start": day, "end": day}).status_code == 403


def test_the_ticket_history_page_shows_the_record_to_those_who_see_the_ticket(agent_client, agent):
    ticket = TicketFactory()
    update_ticket(ticket=ticket, actor=agent, priority=Priority.HIGH)
    page = agent_client.get(reverse("tickets:history", args=[ticket.pk])).content.decode()
    assert "priority" in page and "High" in page


def test_a_customers_history_spans_their_tickets_the_agent_may_see(agent_client, agent):
    from helpdesk.accounts.models import Team

    customer = ContactPointFactory().customer
    mine = TicketFactory(customer=customer)
    theirs = TicketFactory(customer=customer, queue=QueueFactory(team=Team.objects.create(name="Fraud")))
    update_ticket(ticket=mine, actor=agent, priority=Priority.HIGH)
    update_ticket(ticket=theirs, actor=agent, priority=Priority.URGENT)
    page = agent_client.get(reverse("tickets:customer_history", args=[customer.pk])).content.decode()
    assert f"#{mine.pk}" in page and f"#{theirs.pk}<" not in page
    assert "High" in page and "Urgent" not in page
