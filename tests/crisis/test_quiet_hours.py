"""Quiet hours: a non-emergency broadcast waits for each recipient's local morning (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from helpdesk.crisis import services
from helpdesk.crisis.models import Broadcast, BroadcastDelivery, BroadcastStatus
from helpdesk.crisis.selectors import broadcast_progress
from helpdesk.crisis.services import create_broadcast, dispatch_broadcast, plan_broadcast
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db

TEHRAN = ZoneInfo("Asia/Tehran")
# 23:30 in Tehran (UTC+03:30) is 20:00 UTC and 12:00 in Los Angeles.
TEHRAN_NIGHT = datetime(2025, 3, 10, 23, 30, tzinfo=TEHRAN)
TEHRAN_MORNING = datetime(2025, 3, 11, 8, 0, tzinfo=TEHRAN)


@pytest.fixture(autouse=True)
def _quiet_hours(settings):
    settings.BROADCAST_QUIET_HOURS = (21, 8)
    settings.TIME_ZONE = "UTC"


def _customer(time_zone: str, language: str = "en"):
    return ContactPointFactory(customer=CustomerFactory(time_zone=time_zone, language=language, tags=["q"]))


def _planned(*, crisis=None, now: datetime) -> Broadcast:
    broadcast = create_broadcast(
        name="Outage", bodies={"en": "Power is back.", "fa": "برق وصل شد."}, audience={"tags": ["q"]},
        crisis=crisis, rate_per_second=0,
    )  # fmt: skip
    Broadcast.objects.filter(pk=broadcast.pk).update(status=BroadcastStatus.PLANNING)
    return plan_broadcast(broadcast_id=broadcast.pk, now=now)


def _held_until(broadcast: Broadcast) -> dict[str, datetime | None]:
    return dict(BroadcastDelivery.objects.filter(broadcast=broadcast).values_list("to", "next_attempt_at"))


@pytest.mark.parametrize("emergency", [None, False], ids=["no crisis", "non-emergency crisis"])
def test_a_broadcast_planned_at_2330_in_tehran_holds_a_tehran_customer_until_0800_there(emergency):
    persian = _customer("Asia/Tehran", language="fa")
    daytime = _customer("America/Los_Angeles")
    crisis = None if emergency is None else services.create_crisis(title="Outage", is_emergency=False)
    held = _held_until(_planned(crisis=crisis, now=TEHRAN_NIGHT))
    assert held[persian.value] == TEHRAN_MORNING == datetime(2025, 3, 11, 4, 30, tzinfo=UTC)
    assert held[daytime.value] is None


def test_an_emergency_crisis_broadcast_holds_nobody():
    persian = _customer("Asia/Tehran", language="fa")
    crisis = services.create_crisis(title="Flood warning", is_emergency=True)
    assert _held_until(_planned(crisis=crisis, now=TEHRAN_NIGHT)) == {persian.value: None}


@pytest.mark.parametrize(
    "time_zone", ["", "Mars/Olympus_Mons", "Asia"], ids=["empty", "unknown", "a directory"]
)
def test_a_customer_without_a_usable_time_zone_is_held_by_the_desks(time_zone):
    unknown = _customer(time_zone)
    persian = _customer("Asia/Tehran")
    late_in_utc = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)  # 01:30 in Tehran
    held = _held_until(_planned(now=late_in_utc))
    assert held[unknown.value] == datetime(2025, 3, 11, 8, 0, tzinfo=UTC)
    assert held[persian.value] == datetime(2025, 3, 11, 4, 30, tzinfo=UTC)


def test_quiet_hours_turned_off_hold_nobody(settings):
    settings.BROADCAST_QUIET_HOURS = None
    persian = _customer("Asia/Tehran")
    assert _held_until(_planned(now=TEHRAN_NIGHT)) == {persian.value: None}


def test_quiet_hours_end_is_the_next_local_morning_from_either_side_of_midnight():
    end = services.quiet_hours_end
    assert end(now=datetime(2025, 3, 11, 0, 30, tzinfo=TEHRAN), time_zone="Asia/Tehran") == TEHRAN_MORNING
    assert end(now=datetime(2025, 3, 11, 7, 59, tzinfo=TEHRAN), time_zone="Asia/Tehran") == TEHRAN_MORNING
    assert end(now=datetime(2025, 3, 11, 8, 0, tzinfo=TEHRAN), time_zone="Asia/Tehran") is None
    assert end(now=datetime(2025, 3, 10, 20, 59, tzinfo=TEHRAN), time_zone="Asia/Tehran") is None


def _next_tehran_night() -> datetime:
    """The next 23:30 in Tehran: planned then, its held rows are still held when the test dispatches."""
    local = timezone.now().astimezone(TEHRAN)
    night = local.replace(hour=23, minute=30, second=0, microsecond=0)
    return night if night > local else night + timedelta(days=1)


@pytest.fixture
def queued_dispatchers(monkeypatch):
    """Dispatch tasks the sweep queues, recorded instead of run."""
    from helpdesk.crisis import tasks

    queued: list[tuple] = []
    monkeypatch.setattr(tasks.dispatch_broadcast_task, "delay", lambda *args: queued.append(args))
    return queued


def test_a_dispatch_sends_nothing_to_a_held_customer_and_leaves_without_finishing(recording_gateway):
    persian = _customer("Asia/Tehran", language="fa")
    daytime = _customer("America/Los_Angeles")
    broadcast = _planned(now=_next_tehran_night())
    outcome = dispatch_broadcast(broadcast_id=broadcast.pk)
    assert [m["to"] for m in recording_gateway.sent()] == [daytime.value]
    assert persian.value not in [m["to"] for m in recording_gateway.sent()]
    # Left at once rather than polling till morning; still sending, with one row held.
    assert outcome.stopped == "waiting" and outcome.sent == 1
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.SENDING
    assert broadcast_progress(broadcast=broadcast).held == 1


def test_the_sweep_wakes_a_held_broadcast_only_once_its_morning_comes(recording_gateway, queued_dispatchers):
    persian = _customer("Asia/Tehran", language="fa")
    broadcast = _planned(now=_next_tehran_night())
    assert dispatch_broadcast(broadcast_id=broadcast.pk).stopped == "waiting"
    assert services.wake_stalled_broadcasts() == 0  # night in Tehran: no dispatcher queued
    morning = BroadcastDelivery.objects.get(broadcast=broadcast).next_attempt_at
    assert services.wake_stalled_broadcasts(now=morning) == 1
    # Morning: the hold moved into the past, as the database's clock (which a test cannot set) sees it.
    BroadcastDelivery.objects.filter(broadcast=broadcast).update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    assert dispatch_broadcast(broadcast_id=broadcast.pk, token=queued_dispatchers[0][1]).stopped == "done"
    assert [m["to"] for m in recording_gateway.sent()] == [persian.value]
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.COMPLETED
