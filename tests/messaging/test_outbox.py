"""The outbox relay: claim before work, retry what is transient, record why it failed."""

from __future__ import annotations

import pytest
from django.utils import timezone

from channels_app.base import ChannelError, OutboundMessage, SendResult
from helpdesk.customers.models import ContactKind
from helpdesk.messaging import outbox
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import DeliveryStatus, TimelineEvent
from helpdesk.tickets.services import send_reply
from tests.factories import ContactPointFactory, TicketFactory

pytestmark = pytest.mark.django_db


class ScriptedGateway:
    """A gateway that answers from a script: each item is a SendResult or a ChannelError."""

    provider = "scripted"
    script: list = []
    sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> SendResult:
        ScriptedGateway.sent.append(message)
        outcome = ScriptedGateway.script.pop(0)
        if isinstance(outcome, ChannelError):
            raise outcome
        return outcome


@pytest.fixture
def scripted(settings):
    settings.CHANNEL_GATEWAYS = {
        **settings.CHANNEL_GATEWAYS,
        "sms": "tests.messaging.test_outbox.ScriptedGateway",
    }
    ScriptedGateway.script = []
    ScriptedGateway.sent = []
    return ScriptedGateway


@pytest.fixture
def ticket():
    ticket = TicketFactory()
    ContactPointFactory(customer=ticket.customer, kind=ContactKind.PHONE, value="+14155550123")
    return ticket


def queue_reply(ticket, agent, settings) -> TimelineEvent:
    # Keep the relay from running on commit so each test drives it explicitly.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from helpdesk.celery import app

    app.conf.task_always_eager = False
    event = send_reply(ticket=ticket, author=agent, body="Sandbags arrive at 5 pm", channel="sms")
    app.conf.task_always_eager = True
    return event


def test_success_stores_provider_id_and_status(scripted, ticket, agent, settings):
    event = queue_reply(ticket, agent, settings)
    scripted.script = [SendResult(provider="scripted", provider_id="P1", status="queued")]
    assert outbox.relay(event.outbox.pk) is None
    event.refresh_from_db()
    assert (event.provider, event.provider_id, event.delivery_status) == ("scripted", "P1", "queued")
    assert Outbox.objects.get(pk=event.outbox.pk).status == "sent"


def test_a_claimed_row_is_not_sent_twice(scripted, ticket, agent, settings):
    event = queue_reply(ticket, agent, settings)
    scripted.script = [SendResult(provider="scripted", provider_id="P2")]
    outbox.relay(event.outbox.pk)
    outbox.relay(event.outbox.pk)
    assert len(scripted.sent) == 1


def test_transient_error_schedules_a_retry_then_succeeds(scripted, ticket, agent, settings):
    event = queue_reply(ticket, agent, settings)
    scripted.script = [
        ChannelError("rate limited", permanent=False, code="20429"),
        SendResult(provider="scripted", provider_id="P3", status="sent"),
    ]
    delay = outbox.relay(event.outbox.pk)
    assert delay is not None and delay >= 0
    row = Outbox.objects.get(pk=event.outbox.pk)
    assert row.status == "pending" and row.last_error == "rate limited"
    Outbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    outbox.relay(row.pk)
    event.refresh_from_db()
    assert event.provider_id == "P3" and event.delivery_status == "sent"


def test_permanent_error_fails_with_a_reason_and_opts_out(scripted, ticket, agent, settings):
    event = queue_reply(ticket, agent, settings)
    scripted.script = [
        ChannelError("unsubscribed recipient", permanent=True, code="21610", contact_state="opted_out")
    ]
    outbox.relay(event.outbox.pk)
    event.refresh_from_db()
    assert event.delivery_status == DeliveryStatus.FAILED
    assert "21610" in event.delivery_error
    event.contact_point.refresh_from_db()
    assert event.contact_point.opted_out_at is not None


def test_retries_are_bounded(scripted, ticket, agent, settings):
    event = queue_reply(ticket, agent, settings)
    scripted.script = [ChannelError("5xx", permanent=False) for _ in range(outbox.MAX_ATTEMPTS)]
    for _ in range(outbox.MAX_ATTEMPTS):
        Outbox.objects.filter(pk=event.outbox.pk).update(next_attempt_at=timezone.now())
        outbox.relay(event.outbox.pk)
    assert Outbox.objects.get(pk=event.outbox.pk).status == "failed"
    assert len(scripted.sent) == outbox.MAX_ATTEMPTS


def test_opt_out_after_queueing_blocks_at_send_time(scripted, ticket, agent, settings):
    from helpdesk.customers.services import opt_out

    event = queue_reply(ticket, agent, settings)
    opt_out(contact_point=event.contact_point, reason="STOP")
    outbox.relay(event.outbox.pk)
    event.refresh_from_db()
    assert scripted.sent == []
    assert event.delivery_status == "blocked" and "opted out" in event.delivery_error


def test_abandoned_sending_row_is_swept_back(scripted, ticket, agent, settings):
    event = queue_reply(ticket, agent, settings)
    Outbox.objects.filter(pk=event.outbox.pk).update(
        status="sending", claimed_at=timezone.now() - outbox.CLAIM_TIMEOUT * 2
    )
    assert event.outbox.pk in outbox.due_ids()


def test_rows_queued_together_are_relayed_in_chunks_each_sent_once(
    ticket, monkeypatch, django_capture_on_commit_callbacks
):
    from helpdesk.messaging import tasks

    chunks = []
    relay_chunk = tasks.relay_outbox_messages.delay
    monkeypatch.setattr(
        tasks.relay_outbox_messages, "delay", lambda ids: chunks.append(ids) or relay_chunk(ids)
    )
    point = ticket.customer.contact_points.get()
    events = TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                customer=ticket.customer,
                ticket=ticket,
                channel="sms",
                direction="out",
                body=f"Reply {i}",
                contact_point=point,
                delivery_status=DeliveryStatus.PENDING,
                created_at=timezone.now(),
            )  # fmt: skip
            for i in range(outbox.RELAY_CHUNK * 2 + 1)
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue_many([outbox.Outgoing(event=e, to=point.value, body=e.body) for e in events])
    assert [len(c) for c in chunks] == [outbox.RELAY_CHUNK, outbox.RELAY_CHUNK, 1]
    assert set(Outbox.objects.values_list("status", flat=True)) == {"sent"}
    assert sorted(i for c in chunks for i in c) == sorted(Outbox.objects.values_list("id", flat=True))


def test_a_transient_failure_in_a_chunk_is_retried_alone(ticket, scripted):
    point = ticket.customer.contact_points.get()
    events = TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                customer=ticket.customer,
                ticket=ticket,
                channel="sms",
                direction="out",
                body=f"Reply {i}",
                contact_point=point,
                delivery_status=DeliveryStatus.PENDING,
                created_at=timezone.now(),
            )  # fmt: skip
            for i in range(3)
        ]
    )
    rows = outbox.enqueue_many([outbox.Outgoing(event=e, to=point.value, body=e.body) for e in events])
    scripted.script = [
        SendResult(provider="scripted", provider_id="S1", status="sent"),
        ChannelError("busy", permanent=False, code="20429"),
        SendResult(provider="scripted", provider_id="S3", status="sent"),
    ]
    retries = outbox.relay_many([row.pk for row in rows])
    assert list(retries) == [rows[1].pk]
    statuses = dict(Outbox.objects.values_list("id", "status"))
    assert [statuses[row.pk] for row in rows] == ["sent", "pending", "sent"]


def test_a_chunk_sends_only_its_rows_that_are_due_and_not_taken(ticket):
    from datetime import timedelta

    point = ticket.customer.contact_points.get()
    events = TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                customer=ticket.customer,
                ticket=ticket,
                channel="sms",
                direction="out",
                body=f"Reply {i}",
                contact_point=point,
                delivery_status=DeliveryStatus.PENDING,
                created_at=timezone.now(),
            )  # fmt: skip
            for i in range(3)
        ]
    )
    due, taken, later = outbox.enqueue_many(
        [outbox.Outgoing(event=e, to=point.value, body=e.body) for e in events]
    )
    assert outbox.claim(taken.pk)  # another worker has it
    Outbox.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert outbox.relay_many([due.pk, taken.pk, later.pk]) == {}
    statuses = dict(Outbox.objects.values_list("id", "status"))
    assert (statuses[due.pk], statuses[taken.pk], statuses[later.pk]) == ("sent", "sending", "pending")
    assert Outbox.objects.get(pk=due.pk).attempts == 1
    assert outbox.relay_many([]) == {}
