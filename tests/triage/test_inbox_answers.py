"""SMS answers arriving through the inbox: the drain runs the inbound handlers itself, once each."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from channels_app.base import InboundMessage
from helpdesk.messaging import inbox, tasks
from helpdesk.messaging.models import InboxMessage, Outbox
from helpdesk.tickets import tasks as ticket_tasks
from helpdesk.tickets.models import EventKind, TimelineEvent
from helpdesk.tickets.realtime import ticket_group
from helpdesk.tickets.services import record_inbound
from tests.factories import ContactPointFactory, CustomerFactory
from triage import services
from triage.models import RunStatus

pytestmark = pytest.mark.django_db


def sms(body: str, sid: str, sender: str = "+14155550199") -> InboundMessage:
    return InboundMessage(
        channel="sms",
        sender_kind="phone",
        sender=sender,
        body=body,
        provider="twilio",
        provider_id=sid,
        sender_proven=True,
    )


@pytest.fixture
def store(monkeypatch):
    """Store a message in the inbox as the webhook does, its drain not run yet."""

    def store(message: InboundMessage) -> None:
        conf = tasks.drain_inbox.app.conf
        eager, conf.task_always_eager = conf.task_always_eager, False
        try:
            with monkeypatch.context() as m:
                m.setattr(tasks.drain_inbox, "delay", lambda *a, **k: None)
                assert inbox.accept(message)
        finally:
            conf.task_always_eager = eager

    return store


def answers() -> int:
    return TimelineEvent.objects.filter(kind=EventKind.TRIAGE_ANSWER).count()


def test_a_drained_answer_is_fed_to_the_run_without_another_task(
    small_flow, phone, store, monkeypatch, django_capture_on_commit_callbacks
):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    published = []
    monkeypatch.setattr(ticket_tasks.process_inbound_event, "delay", lambda *a: published.append(a))
    store(sms("1", "SMdrain1"))
    with django_capture_on_commit_callbacks(execute=True):
        assert inbox.drain() == 1
    run.refresh_from_db()
    assert run.state["step"] == "people" and answers() == 1
    assert published == []
    assert Outbox.objects.filter(body__startswith="How many people?").count() == 1
    assert InboxMessage.objects.get().processed_at is not None


def test_an_answer_recorded_by_a_worker_that_died_is_answered_by_the_sweep(small_flow, phone, store):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    store(sms("1", "SMdied1"))
    assert inbox.claim()  # a worker claims the row, records the event, and is killed before its handlers ran
    record_inbound(message=sms("1", "SMdied1"), offer_later=False)
    assert answers() == 0
    InboxMessage.objects.update(queued_at=timezone.now() - inbox.SWEEP_AFTER - timedelta(seconds=1))
    assert tasks.sweep_inbox() == 1
    run.refresh_from_db()
    assert run.state["step"] == "people" and answers() == 1
    assert tasks.sweep_inbox() == 0
    InboxMessage.objects.update(processed_at=None)  # swept once more (a slow worker): still one answer
    inbox.process(InboxMessage.objects.get().pk)
    assert answers() == 1


def test_stop_through_the_inbox_ends_the_run_without_a_question(small_flow, phone, store):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    sent = Outbox.objects.count()
    store(sms("STOP", "SMstop1"))
    inbox.drain()
    run.refresh_from_db()
    phone.refresh_from_db()
    assert run.status == RunStatus.OPTED_OUT and phone.opted_out_at is not None
    assert Outbox.objects.count() == sent and answers() == 0


# Per answer: the inbox row, the duplicate check, customer, thread, event and ticket in one
# transaction, the row marked; then the run (found, locked), its answer, its state, the next
# question's event, outbox row and ticket update in another, with their BEGIN/COMMIT.
QUERIES_PER_ANSWER = 20


@pytest.mark.parametrize("size", [1, 10])
def test_answers_through_the_drain_run_a_fixed_number_of_queries_each(
    small_flow, store, django_assert_max_num_queries, size
):
    for i in range(size):
        point = ContactPointFactory(value=f"+1415555{i:04d}", customer=CustomerFactory(language="en"))
        services.start_run(flow=small_flow, customer=point.customer)
        store(sms("1", f"SMq{i}", sender=point.value))
    with django_assert_max_num_queries(1 + QUERIES_PER_ANSWER * size):
        assert inbox.drain() == size
    assert answers() == size


def _drain_layer(channel: str) -> list[dict]:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def receive_all() -> list[dict]:
        out = []
        while True:
            try:
                out.append(await asyncio.wait_for(layer.receive(channel), timeout=0.05))
            except TimeoutError:
                return out

    return _in_own_thread(async_to_sync(receive_all))


def _in_own_thread(call):
    # Another test may leave an event loop running in this thread, where async_to_sync refuses.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_drained_answer_announces_its_ticket_once(small_flow):
    from channels.layers import get_channel_layer

    phone = ContactPointFactory(value="+14155550199", customer=CustomerFactory(language="en"))
    run = services.start_run(flow=small_flow, customer=phone.customer)
    layer = get_channel_layer()
    channel = _in_own_thread(async_to_sync(layer.new_channel))
    _in_own_thread(lambda: async_to_sync(layer.group_add)(ticket_group(run.ticket_id), channel))
    inbox.accept(sms("1", "SMlive1"))  # committed; eager Celery drains it here
    assert answers() == 1
    notices = _drain_layer(channel)
    assert [n["ticket_id"] for n in notices] == [run.ticket_id]
