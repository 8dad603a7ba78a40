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
from tests.factories import ContactPointFactory, CustomerFactory, inbound_sms
from triage import services
from triage.models import RunStatus

pytestmark = pytest.mark.django_db


def sms(body: str, sid: str, sender: str = "+14155550199") -> InboundMessage:
    return inbound_sms(body, sid, sender)


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


# --- A drained batch: the set-based path must leave exactly what one by one leaves ----------------

# (body of each message in arrival order, answers fed before the batch) per customer of the scenario.
SCENARIO = [
    (["1"], []),  # a plain answer
    (["لغو"], []),  # Persian STOP inside a run: opted out, the run ends, no question
    (["y"], ["1", "60"]),  # the last answer: the run completes and routes the ticket
    (["banana"], []),  # not understood: the question again
    (["2", "7"], []),  # two answers from one person in one batch: in order
    (["HELP"], []),  # a consent keyword inside a run
    (["1"], None),  # a customer without a run
]
STRANGER = "hello"  # and a sender the desk has never seen


def _scenario(small_flow, prefix: str, store) -> list[str]:
    phones = []
    for n, (_bodies, fed) in enumerate(SCENARIO):
        point = ContactPointFactory(value=f"{prefix}{n}", customer=CustomerFactory(language="en"))
        phones.append(point.value)
        if fed is not None:
            run = services.start_run(flow=small_flow, customer=point.customer)
            for answer in fed:
                services.answer_run(run=run, answer=answer)
    longest = max(len(bodies) for bodies, _fed in SCENARIO)
    for turn in range(longest):  # interleaved, as answers arrive from many people at once
        for n, (bodies, _fed) in enumerate(SCENARIO):
            if turn < len(bodies):
                store(sms(bodies[turn], f"SM{prefix[1:]}{n:02d}{turn}", sender=phones[n]))
    store(sms(STRANGER, f"SM{prefix[1:]}stranger", sender=f"{prefix}9"))
    return [*phones, f"{prefix}9"]


def _without_ids(value):
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in ("run", "event", "triage_run", "id")}
    return value


def _what_the_customer_has(phone: str) -> dict:
    from helpdesk.customers.models import ContactPoint
    from triage.models import Run

    point = ContactPoint.objects.select_related("customer").get(value=phone)
    customer = point.customer
    events = TimelineEvent.objects.filter(customer=customer).order_by("id")
    runs = Run.objects.filter(customer=customer).order_by("id")
    return {
        "opted_out": point.opted_out_at is not None,
        "events": [
            (
                e.kind,
                e.direction,
                e.channel,
                e.body.replace(phone, "<phone>"),
                e.delivery_status,
                _without_ids(e.payload),
            )
            for e in events
        ],
        "outbox": [
            (body, to == phone)
            for body, to in Outbox.objects.filter(event__customer=customer)
            .order_by("id")
            .values_list("body", "to")
        ],
        "runs": [
            (
                r.status,
                r.severity,
                {k: v for k, v in r.state.items() if k != "last_event_id"},
                _without_ids(r.outcome),
            )
            for r in runs
        ],
        "tickets": [
            (t.status, t.priority, t.severity, t.queue_id, sorted(t.tags.values_list("name", flat=True)))
            for t in customer.tickets.order_by("id")
        ],
        "answers_fed_in_order": all(
            int(r.state.get("last_event_id") or 0)
            == max([e.pk for e in events if e.direction == "in"] or [0])
            for r in runs
            if r.state.get("last_event_id")
        ),
    }


def test_a_drained_batch_leaves_what_one_by_one_leaves(small_flow, store, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.INBOUND_BATCH_HANDLER = ""
    one_by_one = _scenario(small_flow, "+1415555012", store)
    with CaptureQueriesContext(connection) as slow:
        assert inbox.drain() == 9
    settings.INBOUND_BATCH_HANDLER = "triage.inbound.answer_many"
    batched = _scenario(small_flow, "+1415555013", store)
    with CaptureQueriesContext(connection) as fast:
        assert inbox.drain() == 9
    for slow_phone, fast_phone in zip(one_by_one, batched, strict=True):
        assert _what_the_customer_has(fast_phone) == _what_the_customer_has(slow_phone), fast_phone
    assert len(fast) < len(slow)  # the plain answers went together
    assert not InboxMessage.objects.filter(processed_at__isnull=True).exists()


def test_two_answers_from_one_person_in_one_batch_are_fed_in_order(small_flow, phone, store):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    store(sms("2", "SMorder1"))
    store(sms("7", "SMorder2"))
    assert inbox.drain() == 2
    run.refresh_from_db()
    assert run.state["answers"] == {"hurt": "staff", "people": 7}
    assert run.state["step"] == "urgent"
    questions = list(Outbox.objects.order_by("id").values_list("body", flat=True))
    assert questions[-2].startswith("How many people?") and questions[-1].startswith("Is anyone in danger?")


def test_stop_in_persian_in_a_batch_of_answers_opts_out_and_asks_nothing(small_flow, store):
    points = [
        ContactPointFactory(value=f"+14155550{n:03d}", customer=CustomerFactory(language="fa"))
        for n in range(3)
    ]
    runs = [services.start_run(flow=small_flow, customer=p.customer) for p in points]
    sent = Outbox.objects.count()
    last = Outbox.objects.order_by("id").last()
    store(sms("۱", "SMfa0", sender=points[0].value))
    store(sms("لغو", "SMfa1", sender=points[1].value))
    store(sms("۲", "SMfa2", sender=points[2].value))
    assert inbox.drain() == 3
    for run in runs:
        run.refresh_from_db()
    points[1].refresh_from_db()
    assert [r.status for r in runs] == [RunStatus.ACTIVE, RunStatus.OPTED_OUT, RunStatus.ACTIVE]
    assert points[1].opted_out_at is not None
    assert Outbox.objects.count() == sent + 2
    assert not Outbox.objects.filter(to=points[1].value, id__gt=last.pk).exists()


# The batch path: the claim, the rows, three reads (events, senders, threads), whether any
# broadcast went out lately (cached after), the runs locked, five INSERTs (answers in, triage
# answers, questions, their audit records, outbox rows), three UPDATEs (tickets twice, runs) and
# the rows marked, with BEGIN/COMMIT: the same for 10 answers as for 40.
QUERIES_PER_BATCH = 18


@pytest.mark.parametrize("size", [10, 40])
def test_a_batch_of_answers_runs_a_fixed_number_of_queries(
    small_flow, store, django_assert_max_num_queries, size
):
    for i in range(size):
        point = ContactPointFactory(value=f"+1415556{i:04d}", customer=CustomerFactory(language="en"))
        services.start_run(flow=small_flow, customer=point.customer)
        store(sms("1", f"SMb{i}", sender=point.value))
    with django_assert_max_num_queries(QUERIES_PER_BATCH):
        assert inbox.drain() == size
    assert answers() == size
    assert Outbox.objects.filter(body__startswith="How many people?").count() == size


def broken_batch_handler(messages):
    """An INBOUND_BATCH_HANDLER with a bug: it writes, then fails."""
    TimelineEvent.objects.create(customer_id=CustomerFactory().pk, channel="system", direction="internal")
    raise RuntimeError("a bug in the batch handler")


def test_a_batch_that_fails_is_rolled_back_and_recorded_one_by_one(small_flow, phone, store, settings):
    settings.INBOUND_BATCH_HANDLER = "tests.triage.test_inbox_answers.broken_batch_handler"
    run = services.start_run(flow=small_flow, customer=phone.customer)
    store(sms("1", "SMbroken1"))
    assert inbox.drain() == 1
    run.refresh_from_db()
    assert run.state["step"] == "people" and answers() == 1
    assert not TimelineEvent.objects.filter(channel="system", direction="internal", body="").exists()
    assert InboxMessage.objects.get().processed_at is not None


def test_an_answer_on_a_pending_ticket_reopens_it_in_a_batch(small_flow, phone, store):
    from helpdesk.tickets.models import TicketStatus

    other = ContactPointFactory(value="+14155550188", customer=CustomerFactory(language="en"))
    runs = [services.start_run(flow=small_flow, customer=p.customer) for p in (phone, other)]
    runs[0].ticket.status = TicketStatus.PENDING
    runs[0].ticket.save()
    store(sms("1", "SMpending1"))
    store(sms("2", "SMpending2", sender=other.value))
    assert inbox.drain() == 2
    for run in runs:
        run.refresh_from_db()
        run.ticket.refresh_from_db()
    assert runs[0].ticket.status == TicketStatus.OPEN
    assert [r.state["answers"] for r in runs] == [{"hurt": "cash"}, {"hurt": "staff"}]
    assert answers() == 2


SEEN_BY_EXTRA_HANDLER: list[str] = []


def extra_handler(event) -> bool:
    """A handler a deployment added between consent and triage (surveys, say)."""
    SEEN_BY_EXTRA_HANDLER.append(event.body)
    return False


def test_a_handler_added_to_inbound_handlers_still_sees_every_answer(small_flow, phone, store, settings):
    settings.INBOUND_HANDLERS = [
        "helpdesk.messaging.consent.handle_inbound",
        "tests.triage.test_inbox_answers.extra_handler",
        "triage.inbound.handle_inbound",
    ]
    SEEN_BY_EXTRA_HANDLER.clear()
    run = services.start_run(flow=small_flow, customer=phone.customer)
    store(sms("1", "SMextra1"))
    assert inbox.drain() == 1
    run.refresh_from_db()
    assert SEEN_BY_EXTRA_HANDLER == ["1"]
    assert run.state["step"] == "people" and answers() == 1
