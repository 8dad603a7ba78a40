"""Bulk work: one action on every ticket of a filter, through the same services as one ticket."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.customers.services import opt_out
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import AuditEvent, BulkAction, BulkStatus, Macro, Ticket, TicketStatus
from tests.factories import ContactPointFactory, CustomerFactory, QueueFactory, TicketFactory

pytestmark = pytest.mark.django_db


def _sms_ticket(queue, language: str):
    customer = CustomerFactory(language=language)
    point = ContactPointFactory(customer=customer)
    return TicketFactory(customer=customer, queue=queue, language=language, status=TicketStatus.OPEN), point


def test_preview_counts_the_filter_then_the_reply_goes_to_each_in_their_language(
    agent_client, agent, django_capture_on_commit_callbacks
):
    outage = QueueFactory(slug="outage")
    other = QueueFactory(slug="other")
    english = [_sms_ticket(outage, "en") for _ in range(3)]
    persian = [_sms_ticket(outage, "fa") for _ in range(2)]
    stopped_ticket, stopped = _sms_ticket(outage, "en")
    opt_out(contact_point=stopped)
    untouched, _p = _sms_ticket(other, "en")
    Macro.objects.create(title="Outage", language="en", body="Hello {{ customer.name }}: power is back.")
    Macro.objects.create(title="Outage", language="fa", body="سلام {{ customer.name }}: برق برگشت.")
    macro = Macro.objects.get(language="en")
    url = reverse("tickets:bulk_start") + f"?queue={outage.pk}"
    preview = agent_client.post(url, {"action": "reply", "macro": macro.pk}).content.decode()
    assert "This applies to 6 tickets" in preview and not Outbox.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(url, {"action": "reply", "macro": macro.pk, "confirm": "1"})
    job = BulkAction.objects.get()
    assert response["Location"] == reverse("tickets:bulk_progress", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.skipped) == (BulkStatus.DONE, 6, 5, 1)
    for ticket, point in english:
        (sent,) = Outbox.objects.filter(to=point.value)
        assert (
            sent.body == f"Hello {ticket.customer.name}: power is back." and sent.event.ticket_id == ticket.pk
        )
    for ticket, point in persian:
        assert Outbox.objects.get(to=point.value).body.startswith("سلام")
    assert not Outbox.objects.filter(to=stopped.value).exists()  # opted out: nothing
    assert not Outbox.objects.filter(event__ticket=untouched).exists()
    progress = agent_client.get(reverse("tickets:bulk_progress", args=[job.pk])).content.decode()
    assert "5 done, 1 skipped, of 6" in progress


def test_a_bulk_status_change_is_audited_per_ticket(agent_client, django_capture_on_commit_callbacks):
    queue = QueueFactory()
    tickets = [TicketFactory(queue=queue, status=TicketStatus.OPEN) for _ in range(4)]
    url = reverse("tickets:bulk_start") + f"?queue={queue.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(url, {"action": "status", "status": "solved", "confirm": "1"})
    assert set(Ticket.objects.filter(queue=queue).values_list("status", flat=True)) == {"solved"}
    assert AuditEvent.objects.filter(field="status", ticket_id__in=[t.pk for t in tickets]).count() == 4


def test_a_bulk_action_needs_its_parameters_and_matches(agent_client):
    queue = QueueFactory()
    url = reverse("tickets:bulk_start") + f"?queue={queue.pk}"
    empty = agent_client.post(url, {"action": "tag", "tag": "x", "confirm": "1"})
    assert empty.status_code == 400 and "No tickets match." in empty.content.decode()
    TicketFactory(queue=queue, status=TicketStatus.OPEN)
    blank = agent_client.post(url, {"action": "reply", "body": "  ", "confirm": "1"})
    assert blank.status_code == 400 and "Write the reply or choose a macro." in blank.content.decode()
    assert not BulkAction.objects.exists()
