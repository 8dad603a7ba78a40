"""Broadcasts through real Celery worker processes, real PostgreSQL and Redis.

The SMS gateway here is the recording gateway (tests/crisis/gateways.py): it keeps what it was
handed in Redis so this process can count what the worker sent, per number and per second.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection

from helpdesk.crisis import services
from helpdesk.crisis.models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryState
from helpdesk.customers.models import ContactKind, ContactPoint, Customer
from tests.crisis import gateways, workers

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_celery(settings):
    """Tasks go to the broker, not in-process."""
    from helpdesk.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    workers.purge_queues(django_settings.REDIS_URL)
    gateways.reset()
    yield
    workers.purge_queues(django_settings.REDIS_URL)
    gateways.reset()


def _worker_env(gateway: str) -> dict:
    s = connection.settings_dict
    db_url = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    return workers.worker_env(database_url=db_url, redis_url=django_settings.REDIS_URL, gateway=gateway)


@pytest.fixture(autouse=True)
def _no_forced_approval(settings):
    """These broadcasts (1,500-3,000 recipients) are about dispatch, not the second manager."""
    settings.BROADCAST_APPROVAL_THRESHOLD = 0


def _audience(n: int, tag: str) -> None:
    customers = Customer.objects.bulk_create([Customer(tags=[tag]) for _ in range(n)])
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(customer=c, kind=ContactKind.PHONE, value=f"+1415{i:07d}", verified=True)
            for i, c in enumerate(customers)
        ]
    )


def _wait(predicate, *, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s")


def test_pause_stops_sending_within_one_second_and_resume_finishes_exactly_once(real_celery, tmp_path):
    _audience(1500, "north")
    # A slow provider: each batch takes 50 ms at the gateway; the limiter holds 300/s.
    gateways.set_latency(0.05)
    proc = workers.start_worker(
        _worker_env("tests.crisis.gateways.RecordingGateway"), name="pause", log=tmp_path / "w.log"
    )
    try:
        broadcast = services.create_broadcast(
            name="b", bodies={"en": "Outage: text HELP"}, audience={"tags": ["north"]}, rate_per_second=300
        )
        services.start_broadcast(broadcast=broadcast)
        _wait(lambda: len(gateways.sent()) >= 300, timeout=40)
        services.pause_broadcast(broadcast=broadcast)
        paused_at = time.time()
        time.sleep(2.0)
        sent = gateways.sent()
        last = max(m["at"] for m in sent)
        print(f"pause: last hand-off {last - paused_at:+.3f}s after the pause was committed")
        assert last - paused_at < 1.0, f"a message went out {last - paused_at:.3f}s after pause"
        assert len(sent) < 1500
        count_after_pause = len(sent)
        time.sleep(0.5)
        assert len(gateways.sent()) == count_after_pause

        services.resume_broadcast(broadcast=Broadcast.objects.get(pk=broadcast.pk))
        _wait(
            lambda: Broadcast.objects.get(pk=broadcast.pk).status == BroadcastStatus.COMPLETED,
            timeout=60,
            step=0.2,
        )
        per_number = Counter(m["to"] for m in gateways.sent())
        assert len(per_number) == 1500 and set(per_number.values()) == {1}
    finally:
        workers.stop(proc)


def test_kill_9_mid_dispatch_then_restart_every_delivery_once(real_celery, settings, tmp_path):
    gateway = "tests.crisis.gateways.LookupRecordingGateway"
    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "sms": gateway}
    _audience(2000, "south")
    gateways.set_latency(0.2)  # a batch is in flight most of the time
    env = _worker_env(gateway)
    proc = workers.start_worker(env, name="crash1", concurrency=2, log=tmp_path / "w1.log")
    try:
        broadcast = services.create_broadcast(
            name="b", bodies={"en": "Hi"}, audience={"tags": ["south"]}, rate_per_second=0
        )
        services.start_broadcast(broadcast=broadcast)
        _wait(lambda: len(gateways.sent()) >= 400, timeout=40)
        workers.kill_hard(proc)
        in_flight = BroadcastDelivery.objects.filter(
            broadcast=broadcast, status=DeliveryState.SENDING
        ).count()
        assert len(gateways.sent()) < 2000, "the dispatch finished before the kill"

        proc = workers.start_worker(env, name="crash2", concurrency=2, log=tmp_path / "w2.log")
        # What the beat's sweep does, with the timeout shortened for the test.
        time.sleep(1.0)
        result = services.reconcile_stuck_deliveries(timeout=timedelta(seconds=0.5))
        assert result["adopted"] + result["resent"] == in_flight
        assert services.wake_stalled_broadcasts(timeout=timedelta(0)) == 1
        _wait(
            lambda: Broadcast.objects.get(pk=broadcast.pk).status == BroadcastStatus.COMPLETED,
            timeout=90,
            step=0.2,
        )
        per_number = Counter(m["to"] for m in gateways.sent())
        assert len(per_number) == 2000, "some deliveries never reached the gateway"
        twice = [n for n, c in per_number.items() if c > 1]
        assert twice == [], f"{len(twice)} numbers got the broadcast twice"
        states = Counter(
            BroadcastDelivery.objects.filter(broadcast=broadcast).values_list("status", flat=True)
        )
        assert states == {DeliveryState.SENT: 2000}
    finally:
        workers.stop(proc)


def test_kill_9_with_beat_and_a_sweep_worker_settles_in_flight_rows_within_seconds(
    real_celery, settings, tmp_path
):
    """Production's recovery, nothing called by hand: the killed dispatcher's lease runs out, the
    beat's sweep (its own queue and worker) settles its rows and queues a new dispatcher."""
    gateway = "tests.crisis.gateways.LookupRecordingGateway"
    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "sms": gateway}
    _audience(3000, "west")
    gateways.set_latency(0.2)  # a batch is in flight most of the time
    env = _worker_env(gateway)
    procs = [workers.start_worker(env, name=f"lease{i}", log=tmp_path / f"w{i}.log") for i in range(2)]
    procs.append(workers.start_sweep_worker(env, name="lease-sweep", log=tmp_path / "sweep.log"))
    procs.append(workers.start_beat(env, schedule=tmp_path / "beat-schedule", log=tmp_path / "beat.log"))
    try:
        time.sleep(4)  # boot
        broadcast = services.create_broadcast(
            name="b", bodies={"en": "Hi"}, audience={"tags": ["west"]}, rate_per_second=0
        )
        services.start_broadcast(broadcast=broadcast)
        _wait(lambda: len(gateways.sent()) >= 600, timeout=40)
        workers.kill_hard(procs[0])
        killed_at = time.monotonic()
        in_flight = set(
            BroadcastDelivery.objects.filter(broadcast=broadcast, status=DeliveryState.SENDING).values_list(
                "pk", flat=True
            )
        )
        assert in_flight and len(gateways.sent()) < 3000, "nothing was in flight at the kill"
        procs[0] = workers.start_worker(env, name="lease0b", log=tmp_path / "w0b.log")  # compose restarts it
        _wait(
            lambda: (
                not BroadcastDelivery.objects.filter(pk__in=in_flight, status=DeliveryState.SENDING).exists()
            ),
            timeout=20,
            step=0.2,
        )
        settled_after = time.monotonic() - killed_at
        print(f"in-flight rows of the killed worker settled {settled_after:.1f}s after the kill")
        # The lease (5 s) plus a sweep tick (2 s) and some slack for a busy machine; was 30 s + 15 s.
        assert settled_after < 12
        _wait(
            lambda: Broadcast.objects.get(pk=broadcast.pk).status == BroadcastStatus.COMPLETED,
            timeout=90,
            step=0.2,
        )
        per_number = Counter(m["to"] for m in gateways.sent())
        assert len(per_number) == 3000, "some deliveries never reached the gateway"
        assert [n for n, c in per_number.items() if c > 1] == []
    finally:
        for proc in procs:
            workers.stop(proc)
