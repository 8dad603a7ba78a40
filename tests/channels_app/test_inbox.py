"""The inbound inbox: stored once, recorded by a worker, never lost when a task is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import inbox, tasks
from channels_app.base import InboundMessage
from channels_app.models import InboxMessage
from helpdesk.tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db


def message(sid: str = "SM" + "a" * 32, body: str = "کمک") -> InboundMessage:
    return InboundMessage(
        channel="sms",
        sender_kind="phone",
        sender="+14155550142",
        body=body,
        provider="twilio",
        provider_id=sid,
    )


def test_a_retried_message_is_stored_once():
    assert inbox.accept(message()) is True
    assert inbox.accept(message()) is False
    assert InboxMessage.objects.count() == 1
    assert TimelineEvent.objects.filter(provider_id="SM" + "a" * 32).count() == 1


def test_the_event_keeps_the_time_the_webhook_received_it():
    inbox.accept(message())
    row = InboxMessage.objects.get()
    event = TimelineEvent.objects.get(pk=row.event_id)
    assert event.created_at == row.received_at and row.processed_at is not None
    assert event.body == "کمک"


def test_a_row_whose_task_was_lost_is_swept(monkeypatch):
    # The publish is lost, as if Redis had been down when the webhook answered.
    monkeypatch.setattr(tasks.process_inbox_message, "delay", lambda *a, **k: None)
    inbox.accept(message(sid="SM" + "b" * 32))
    monkeypatch.undo()
    assert not TimelineEvent.objects.exists()
    InboxMessage.objects.update(received_at=timezone.now() - inbox.SWEEP_AFTER - timedelta(seconds=1))
    assert tasks.sweep_inbox() == 1
    assert TimelineEvent.objects.filter(provider_id="SM" + "b" * 32).count() == 1
    assert tasks.sweep_inbox() == 0


def test_a_broker_outage_still_stores_the_message_and_answers(monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.process_inbox_message, "delay", broker_down)
    assert inbox.accept(message(sid="SM" + "c" * 32)) is True
    assert InboxMessage.objects.filter(provider_id="SM" + "c" * 32, processed_at__isnull=True).exists()
