"""The inbound inbox: stored once, recorded by a worker, never lost when a task is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.base import InboundMessage
from helpdesk import redis_client
from helpdesk.messaging import inbox, tasks
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets import inbound
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
        sender_proven=True,
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
    monkeypatch.setattr(tasks.drain_inbox, "delay", lambda *a, **k: None)
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

    monkeypatch.setattr(tasks.drain_inbox, "delay", broker_down)
    assert inbox.accept(message(sid="SM" + "c" * 32)) is True
    assert InboxMessage.objects.filter(provider_id="SM" + "c" * 32, processed_at__isnull=True).exists()


@pytest.fixture
def queued_drains(monkeypatch, django_capture_on_commit_callbacks):
    """A real deployment: Celery not eager, the wake flag in Redis, drain tasks counted not run.
    Each `accept` commits (its on-commit wake-up runs), as the autocommit webhook does."""
    published = []
    accept = inbox.accept

    def accept_and_commit(msg):
        with django_capture_on_commit_callbacks(execute=True):
            return accept(msg)

    monkeypatch.setattr(inbox, "accept", accept_and_commit)
    tasks.drain_inbox.app.conf.task_always_eager = False  # tests/conftest.py restores it
    monkeypatch.setattr(tasks.drain_inbox, "delay", lambda *a, **k: published.append(1))
    monkeypatch.setattr(tasks.drain_inbox, "apply_async", lambda *a, **k: published.append(k))
    redis_client.get().delete(inbox.WAKE_KEY)
    monkeypatch.setattr(inbox, "_wake_skip_until", 0.0)
    yield published
    redis_client.get().delete(inbox.WAKE_KEY)


@pytest.fixture
def clock(monkeypatch):
    """The inbox's clock, moved by hand; sleeping moves it too (and runs `during_sleep` once)."""

    class Clock:
        now = 1000.0
        slept: list[float] = []
        during_sleep = None

        def sleep(self, seconds: float) -> None:
            self.slept.append(seconds)
            self.now += seconds
            if self.during_sleep is not None:
                action, self.during_sleep = self.during_sleep, None
                action()

    c = Clock()
    monkeypatch.setattr(inbox, "_monotonic", lambda: c.now)
    monkeypatch.setattr(inbox, "_sleep", c.sleep)
    return c


def test_a_surge_publishes_one_drain_until_a_worker_takes_it(queued_drains):
    for i in range(5):
        assert inbox.accept(message(sid=f"SM{i:032x}"))
    assert len(queued_drains) == 1
    assert inbox.drain() == 5  # the worker clears the flag first, then claims all five
    assert TimelineEvent.objects.filter(direction="in").count() == 5
    # The drain ran the handlers too: each "کمک" (HELP) got its answer.
    assert TimelineEvent.objects.filter(direction="out").count() == 5
    assert InboxMessage.objects.filter(processed_at__isnull=True).count() == 0
    inbox.accept(message(sid="SM" + "d" * 32))
    assert len(queued_drains) == 2  # the flag was cleared: the next message wakes a new drain
    assert inbox.drain() == 1


def test_a_full_batch_hands_the_rest_to_another_worker(queued_drains):
    for i in range(inbox.DRAIN_BATCH + 7):
        inbox.accept(message(sid=f"SM{i:032x}"))
    assert len(queued_drains) == 1
    assert inbox.drain() == inbox.DRAIN_BATCH
    assert len(queued_drains) == 2  # published before this worker started recording its batch
    assert inbox.drain() == 7
    assert len(queued_drains) == 2
    assert inbox.drain() == 0


def test_rows_a_drain_claimed_are_not_claimed_twice(queued_drains):
    for i in range(3):
        inbox.accept(message(sid=f"SM{i:032x}"))
    first = inbox.claim()
    assert len(first) == 3 and inbox.claim() == []


def test_a_row_claimed_by_a_worker_that_died_is_swept(queued_drains):
    inbox.accept(message(sid="SM" + "e" * 32))
    assert len(inbox.claim()) == 1  # claimed, then the worker is killed before recording it
    assert tasks.sweep_inbox() == 0  # not yet: it may still be working
    InboxMessage.objects.update(queued_at=timezone.now() - inbox.SWEEP_AFTER - timedelta(seconds=1))
    assert tasks.sweep_inbox() == 1
    assert TimelineEvent.objects.filter(provider_id="SM" + "e" * 32).count() == 1


def test_redis_down_still_stores_the_message(queued_drains, monkeypatch):
    def redis_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(redis_client.get(), "set", redis_down)
    assert inbox.accept(message(sid="SM" + "f" * 32)) is True
    assert queued_drains == []
    assert InboxMessage.objects.filter(provider_id="SM" + "f" * 32, processed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_webhooks_share_commits_and_store_each_message_once():
    """Real PostgreSQL, autocommit, 12 threads as in a gthread worker: every message stored once,
    retries answered as duplicates, each caller told the truth about its own message."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    sids = [f"SM{i:032x}" for i in range(60)]
    calls = sids + sids[:20]  # 20 provider retries racing their originals

    def post(sid: str) -> tuple[str, bool]:
        try:
            return sid, inbox.accept(message(sid=sid))
        finally:
            connection.close()

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(post, calls))
    assert InboxMessage.objects.count() == 60
    for sid in sids:
        assert [new for s, new in results if s == sid].count(True) == 1
    # Each batch woke the (eager) drain once: every stored message became one timeline event.
    assert TimelineEvent.objects.filter(provider_id__in=sids).count() == 60


@pytest.mark.django_db(transaction=True)
def test_batches_sharing_message_ids_wait_in_key_order_never_deadlock(caplog):
    """Two web processes' batches can hold the same MessageSids (a provider's retry racing its
    original). Another transaction holds SM…1 and has not committed; a batch [SM…2, SM…1] arrives.
    The batch must wait for SM…1 before it takes SM…2, so when the other transaction then takes
    SM…2 nobody waits in a cycle. In arrival order the batch would hold SM…2, PostgreSQL would
    detect a deadlock after deadlock_timeout (1 s) and abort one of them: the other side (an error
    here) or the batch (retried, which the warning shows)."""
    import threading
    import time

    import psycopg2
    from django.db import connection

    first, second = "SM" + "0" * 31 + "1", "SM" + "0" * 31 + "2"

    def row(sid: str) -> list:
        return ["twilio", sid, "sms", inbox._to_json(message(sid=sid)), timezone.now()]

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    other = psycopg2.connect(**params)
    found: dict = {}

    def batch() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                found["pid"] = cursor.fetchone()[0]
            found["inserted"] = inbox._insert_many([row(second), row(first)])
        except Exception as exc:  # noqa: BLE001 - reported below
            found["error"] = exc
        finally:
            connection.close()

    try:
        with other.cursor() as cur:
            cur.execute(inbox._INSERT, row(first))
            worker = threading.Thread(target=batch)
            worker.start()
            deadline = time.monotonic() + 5
            blocked = False
            with connection.cursor() as watch:  # wait until the batch waits for this transaction
                while not blocked and time.monotonic() < deadline:
                    time.sleep(0.02)
                    watch.execute(
                        "SELECT %s = ANY(pg_blocking_pids(%s))",
                        [other.get_backend_pid(), found.get("pid", 0)],
                    )
                    blocked = bool(watch.fetchone()[0])
            assert blocked, "the batch never waited for the other transaction"
            cur.execute(inbox._INSERT, row(second))  # raises on a deadlock if this side is aborted
        other.commit()
        worker.join(10)
    finally:
        other.close()
    assert "error" not in found, found.get("error")
    assert not [r for r in caplog.records if "INSERT failed" in r.getMessage()]
    assert found["inserted"] == set()  # the other transaction stored both first
    assert InboxMessage.objects.filter(provider_id__in=[first, second]).count() == 2


def _row(sid: str, body: str = "کمک") -> list:
    return ["twilio", sid, "sms", inbox._to_json(message(sid=sid, body=body)), timezone.now()]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "plain"])
def test_a_batch_stores_each_new_row_and_reports_only_those(settings, prepared):
    settings.DATABASE_PREPARED_STATEMENTS = prepared
    old = "SM" + "1" * 32
    assert inbox._insert_many([_row(old)]) == {("twilio", old)}
    sids = ["SM" + c * 32 for c in "234"]
    batch = [_row(sids[0], "سلام 👋"), _row(old), _row(sids[1], "ជំនួយ"), _row(sids[2], "ಸಹಾಯ"), _row(sids[0])]
    assert inbox._insert_many(batch) == {("twilio", sid) for sid in sids}
    stored = {r.provider_id: r for r in InboxMessage.objects.all()}
    assert set(stored) == {old, *sids}
    assert stored[sids[0]].message["body"] == "سلام 👋"  # jsonb, Unicode intact
    assert stored[sids[2]].message["body"] == "ಸಹಾಯ"
    assert stored[sids[1]].error == "" and stored[sids[1]].processed_at is None


@pytest.mark.django_db(transaction=True)
def test_the_prepared_insert_is_prepared_again_on_a_new_connection(settings):
    """A prepared statement belongs to one server session: after a reconnect it must be prepared
    again, not assumed (EXECUTE would fail with 'prepared statement does not exist')."""
    from django.db import connection

    settings.DATABASE_PREPARED_STATEMENTS = True
    assert inbox._insert_many([_row("SM" + "5" * 32)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [inbox._PREPARED])
        assert cursor.fetchone()[0] == 1
    connection.close()
    assert inbox._insert_many([_row("SM" + "6" * 32)])
    assert InboxMessage.objects.count() == 2


@pytest.fixture
def sets(monkeypatch):
    """The wake flag SETs sent to Redis (still sent)."""
    sent = []
    real_set = redis_client.get().set
    monkeypatch.setattr(redis_client.get(), "set", lambda *a, **k: sent.append(a) or real_set(*a, **k))
    return sent


def test_within_the_skip_window_a_webhook_does_not_ask_redis(queued_drains, clock, sets):
    inbox.accept(message(sid="SM" + "1" * 32))
    clock.now += inbox.wake_skip() / 2
    inbox.accept(message(sid="SM" + "2" * 32))
    assert len(sets) == 1 and len(queued_drains) == 1
    clock.now += inbox.wake_skip()  # the window is over: ask again (the flag is still set: no publish)
    inbox.accept(message(sid="SM" + "3" * 32))
    assert len(sets) == 2 and len(queued_drains) == 1
    assert inbox.drain() == 3


def test_a_drain_lingers_and_records_what_skipped_the_wake(queued_drains, clock, monkeypatch):
    """A message committed after the drain's first claim, by a webhook inside its skip window (no
    Redis, no publish), is still recorded by that drain: it claims again until its linger has
    passed since it cleared the flag, and only exits after a claim that started that late."""
    inbox.accept(message(sid="SM" + "1" * 32))
    late = "SM" + "2" * 32

    def webhook_during_the_linger():
        assert inbox.accept(message(sid=late))
        assert len(queued_drains) == 1  # skipped the wake: the window was still open

    clock.during_sleep = webhook_during_the_linger
    claims = []
    claim = inbox.claim
    monkeypatch.setattr(inbox, "claim", lambda: claims.append(clock.now) or claim())
    started = clock.now
    assert inbox.drain() == 2
    assert TimelineEvent.objects.filter(provider_id=late).count() == 1
    assert inbox.drain_linger() > inbox.wake_skip() > 0
    assert claims[-1] >= started + inbox.drain_linger()  # the last claim started after the linger
    assert all(c < started + inbox.drain_linger() for c in claims[:-1])


def test_a_drain_handing_off_a_full_batch_does_not_linger(queued_drains, clock):
    for i in range(inbox.DRAIN_BATCH):
        inbox.accept(message(sid=f"SM{i:032x}"))
    assert inbox.drain() == inbox.DRAIN_BATCH
    assert clock.slept == [] and len(queued_drains) == 2


def test_eager_mode_wakes_for_every_batch_and_never_lingers(clock):
    """Tests and the demo run the drain inline: no skip window, no waiting."""
    for i in range(3):
        clock.now += 0.001
        inbox.accept(message(sid=f"SM{i:032x}"))
        assert TimelineEvent.objects.filter(provider_id=f"SM{i:032x}").count() == 1
    assert clock.slept == []


def test_a_skip_window_of_zero_asks_redis_every_time_and_drains_do_not_linger(
    queued_drains, clock, sets, settings
):
    """INBOX_WAKE_SKIP_MS=0 (e.g. while workers of the previous release, which do not linger, still
    run): every batch asks Redis, and a drain claims once."""
    settings.INBOX_WAKE_SKIP_MS = 0
    for i in range(3):
        inbox.accept(message(sid=f"SM{i:032x}"))
    assert len(sets) == 3 and len(queued_drains) == 1
    assert inbox.drain() == 3
    assert clock.slept == []


def test_a_broken_message_does_not_stop_the_drain(queued_drains, clock, monkeypatch):
    for i in range(3):
        inbox.accept(message(sid=f"SM{i:032x}"))
    broken = InboxMessage.objects.get(provider_id=f"SM{1:032x}").pk
    offered = []
    offer = inbound.offer_inbound_event

    def offer_or_fail(event):
        if event.provider_id == f"SM{1:032x}":
            raise RuntimeError("a bug in one handler")
        offered.append(event.provider_id)
        offer(event)

    monkeypatch.setattr(inbound, "offer_inbound_event", offer_or_fail)
    assert inbox.drain() == 3
    assert offered == [f"SM{0:032x}", f"SM{2:032x}"]
    assert set(InboxMessage.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)) == {
        broken
    }
    # Left claimed for the sweep, which offers it again (recorded once) once the handler works.
    monkeypatch.setattr(inbound, "offer_inbound_event", offer)
    InboxMessage.objects.filter(pk=broken).update(queued_at=timezone.now() - inbox.SWEEP_AFTER * 2)
    assert tasks.sweep_inbox() == 1
    assert TimelineEvent.objects.filter(provider_id=f"SM{1:032x}").count() == 1
    assert InboxMessage.objects.get(pk=broken).processed_at is not None


def test_a_drain_that_fails_hands_its_linger_to_another(queued_drains, clock, monkeypatch):
    """Webhooks in a skip window count on the drain to keep claiming; if it cannot (the database
    went away), it publishes a successor before it fails."""
    inbox.accept(message(sid="SM" + "1" * 32))

    def claim_fails(limit=inbox.DRAIN_BATCH):
        raise ConnectionError("database gone")

    monkeypatch.setattr(inbox, "claim", claim_fails)
    with pytest.raises(ConnectionError):
        inbox.drain()
    assert queued_drains[-1] == {"countdown": 1}


@pytest.mark.django_db(transaction=True)
def test_a_session_that_lost_the_prepared_insert_still_stores_the_batch(settings, caplog):
    """DISCARD ALL from a pooler, or another server session behind it: EXECUTE finds no statement.
    The batch goes in plain on the same connection (no reconnect, which behind a pooler would not
    help) and the next one prepares again."""
    from django.db import connection

    settings.DATABASE_PREPARED_STATEMENTS = True
    assert inbox._insert_many([_row("SM" + "7" * 32)])
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE " + inbox._PREPARED)
    assert inbox._insert_many([_row("SM" + "8" * 32)]) == {("twilio", "SM" + "8" * 32)}
    assert inbox._insert_many([_row("SM" + "9" * 32)]) == {("twilio", "SM" + "9" * 32)}
    assert not [r for r in caplog.records if "INSERT failed" in r.getMessage()]  # no reconnect
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [inbox._PREPARED])
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_session_that_already_has_the_prepared_insert_uses_it(settings):
    """A pooler may hand over a server session on which an earlier client prepared it."""
    from django.db import connection

    settings.DATABASE_PREPARED_STATEMENTS = True
    assert inbox._insert_many([_row("SM" + "a" * 32)])
    connection._inbox_prepared_on = None  # this client forgot; the server session did not
    assert inbox._insert_many([_row("SM" + "b" * 32)]) == {("twilio", "SM" + "b" * 32)}


def test_a_wake_whose_redis_reply_was_lost_still_publishes(queued_drains, monkeypatch):
    """redis-py retries a command whose reply timed out. If the first SET had landed, a plain
    SET NX retry would answer "already set" and nobody would publish the drain."""
    client = redis_client.get()
    real_set = client.set

    def applied_then_retried(*args, **kwargs):
        real_set(*args, **kwargs)  # reached Redis; its reply was lost
        return real_set(*args, **kwargs)  # the client's retry

    monkeypatch.setattr(client, "set", applied_then_retried)
    inbox.accept(message(sid="SM" + "1" * 32))
    assert len(queued_drains) == 1


@pytest.mark.django_db(transaction=True)
def test_a_commit_whose_reply_was_lost_still_wakes_the_drain(queued_drains):
    """The first INSERT committed but the connection died before its answer: the retry finds the
    row already there (no new keys), yet its message must still be recorded without the sweep."""
    from django.db import OperationalError

    sid = "SM" + "c" * 32
    calls = []

    def write():
        calls.append(1)
        inserted = inbox._insert_many([_row(sid)])
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return inserted

    assert inbox._retrying_dropped_connection(write) == set()  # the retry saw it stored already
    assert len(queued_drains) == 1
    assert inbox.drain() == 1
    assert TimelineEvent.objects.filter(provider_id=sid).count() == 1
