"""Surge mode: switched by inbound volume with hysteresis, forced by managers, read on every
webhook; deflections counted. Traffic goes in through the real signed Twilio webhooks (SMS and
voice); the passage of time is injected (`now`) and simulated by ageing the recorded events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from helpdesk import redis_client
from helpdesk.accounts.models import Role
from helpdesk.crisis import surge
from helpdesk.crisis.models import Crisis, CrisisAudit, CrisisStatus, DeflectionKind, Surge
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import Direction, Ticket, TimelineEvent
from tests.channels_app.sms.conftest import Twilio
from tests.channels_app.voice.conftest import INBOUND as VOICE_INBOUND
from tests.channels_app.voice.conftest import call_sid
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ON_AT, OFF_AT = 12, 4


@pytest.fixture(autouse=True)
def _fresh_surge_state(settings):
    """Each test starts with no surge state in Redis or in this process's cache."""
    settings.SURGE_EVALUATION_SECONDS = 60
    client = redis_client.get()
    client.delete(surge.STATE_KEY)
    surge.forget_known_state()  # the process's copy outlives a test
    yield
    client.delete(surge.STATE_KEY)
    surge.forget_known_state()


@pytest.fixture
def twilio(client) -> Twilio:
    return Twilio(client)


@pytest.fixture
def thresholds(manager):
    return surge.set_thresholds(scope="all", on_at=ON_AT, off_at=OFF_AT, actor=manager)


class Traffic:
    """Customers texting and calling in through the signed webhooks, each from a number of their own."""

    def __init__(self, twilio: Twilio) -> None:
        self.twilio = twilio
        self.numbers = 0

    def _number(self) -> str:
        self.numbers += 1
        return f"+1415555{self.numbers:04d}"

    def texts(self, n: int) -> None:
        for _ in range(n):
            assert self.twilio.sms(sender=self._number(), body="Is the bridge open?").status_code == 200

    def calls(self, n: int) -> None:
        for _ in range(n):
            form = {"CallSid": call_sid(), "From": self._number(), "To": "+15005550006"}
            response = self.twilio.post(VOICE_INBOUND, {**form, "CallStatus": "ringing"})
            assert response.status_code == 200

    def minute(self, *, texts: int, calls: int) -> None:
        """A period's traffic; what came before it is aged by a period (time passes)."""
        TimelineEvent.objects.update(created_at=F("created_at") - surge.surge_period())
        self.texts(texts)
        self.calls(calls)


@pytest.fixture
def traffic(twilio) -> Traffic:
    return Traffic(twilio)


def _evaluate(capture, *, now=None):
    with capture(execute=True):
        return surge.evaluate_surges(now=now or timezone.now())


def _switches() -> list[tuple[str, str]]:
    return list(
        CrisisAudit.objects.filter(action__in=["surge_on", "surge_off"])
        .order_by("at", "id")
        .values_list("action", "detail__scope")
    )


def test_the_webhooks_record_one_inbound_contact_per_text_and_call(traffic):
    traffic.texts(2)
    traffic.calls(1)
    inbound = TimelineEvent.objects.filter(direction=Direction.IN)
    assert sorted(inbound.values_list("channel", "kind")) == [
        ("sms", "message"),
        ("sms", "message"),
        ("voice", "call"),
    ]
    now = timezone.now()
    counts = surge.contact_counts(since=now - surge.surge_period(), until=now)
    assert counts["all"] == 3
    assert counts["channel:sms"] == 2
    assert counts["channel:voice"] == 1


def test_a_burst_switches_surge_on_once_and_it_stays_on_until_volume_falls_to_off_at(
    traffic, thresholds, django_capture_on_commit_callbacks
):
    assert _evaluate(django_capture_on_commit_callbacks) == []  # quiet: stays off
    assert surge.surge_on() is False

    traffic.minute(texts=10, calls=4)  # 14 contacts >= 12
    changes = _evaluate(django_capture_on_commit_callbacks)
    assert [(c.scope, c.is_on, c.count) for c in changes] == [("all", True, 14)]
    assert surge.surge_on() and surge.surge_on(channel="sms", queue_id=1)

    for texts, calls in ((6, 2), (4, 1), (3, 2)):  # 8, 5, 5: between off_at and on_at
        traffic.minute(texts=texts, calls=calls)
        assert _evaluate(django_capture_on_commit_callbacks) == []
        assert surge.surge_on()

    traffic.minute(texts=3, calls=1)  # 4 <= off_at
    changes = _evaluate(django_capture_on_commit_callbacks)
    assert [(c.scope, c.is_on, c.count) for c in changes] == [("all", False, 4)]
    assert surge.surge_on() is False

    traffic.minute(texts=8, calls=3)  # 11: below on_at, stays off
    assert _evaluate(django_capture_on_commit_callbacks) == []
    assert _switches() == [("surge_on", "all"), ("surge_off", "all")]
    on = CrisisAudit.objects.get(action="surge_on")
    assert on.actor_id is None and on.actor_name == ""
    assert {k: on.detail[k] for k in ("count", "on_at", "off_at", "forced")} == {
        "count": 14, "on_at": ON_AT, "off_at": OFF_AT, "forced": None
    }  # fmt: skip


def test_switching_on_stores_a_capacity_alert_with_the_expected_wait(
    traffic, thresholds, settings, django_capture_on_commit_callbacks
):
    settings.SURGE_HANDLE_SECONDS = 300
    for name in ("dara", "sina"):
        user = UserFactory(username=name, role=Role.AGENT, is_staff=True)
        user.profile.available = True
        user.profile.save()
    traffic.texts(ON_AT)  # 12 new tickets, nobody assigned
    _evaluate(django_capture_on_commit_callbacks)
    [alert] = surge.capacity_alerts()
    assert (alert.scope, alert.count, alert.open_unassigned, alert.agents_available) == ("all", 12, 12, 2)
    assert alert.expected_wait_seconds == 12 * 300 // 2


def test_a_channel_scope_counts_only_its_channel(traffic, manager, django_capture_on_commit_callbacks):
    surge.set_thresholds(scope="channel:voice", on_at=3, off_at=1, actor=manager)
    traffic.texts(5)
    traffic.calls(3)
    changes = _evaluate(django_capture_on_commit_callbacks)
    assert [(c.scope, c.count) for c in changes] == [("channel:voice", 3)]  # "all" needs its 60
    assert surge.surge_on(channel="voice") and not surge.surge_on(channel="sms")


def test_an_evaluation_older_than_the_last_one_switches_nothing(
    traffic, thresholds, django_capture_on_commit_callbacks
):
    traffic.texts(ON_AT)
    now = timezone.now()
    assert len(_evaluate(django_capture_on_commit_callbacks, now=now)) == 1
    # A beat run that started earlier and got the lock late sees the later decision and leaves it.
    assert _evaluate(django_capture_on_commit_callbacks, now=now - timedelta(seconds=1)) == []
    assert _evaluate(django_capture_on_commit_callbacks, now=now) == []
    assert _switches() == [("surge_on", "all")]


def test_a_manager_forces_surge_on_and_off_over_the_volume(
    traffic, manager, thresholds, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        surge.set_surge(scope="all", forced=True, actor=manager)
    assert surge.surge_on()
    assert _evaluate(django_capture_on_commit_callbacks) == []  # quiet, but forced: stays on

    traffic.texts(ON_AT + 5)
    with django_capture_on_commit_callbacks(execute=True):
        surge.set_surge(scope="all", forced=False, actor=manager)
    assert _evaluate(django_capture_on_commit_callbacks) == []  # busy, but forced off
    assert surge.surge_on() is False

    with django_capture_on_commit_callbacks(execute=True):
        surge.set_surge(scope="all", forced=None, actor=manager)  # back to volume: 17 >= 12
    assert [c.is_on for c in _evaluate(django_capture_on_commit_callbacks)] == [True]

    rows = list(CrisisAudit.objects.filter(action__startswith="surge_").order_by("at", "id"))
    assert [(r.action, r.detail.get("forced"), r.actor_id, r.actor_name) for r in rows] == [
        ("surge_thresholds", None, manager.pk, "manager"),
        ("surge_on", True, manager.pk, "manager"),
        ("surge_off", False, manager.pk, "manager"),
        ("surge_forced", None, manager.pk, "manager"),
        ("surge_on", None, None, ""),
    ]


def test_only_a_manager_switches_surge_mode(agent):
    with pytest.raises(ApplicationError) as refused:
        surge.set_surge(scope="all", forced=True, actor=agent)
    assert refused.value.code == "forbidden"
    assert not Surge.objects.filter(is_on=True).exists()


@pytest.mark.parametrize(
    ("on_at", "off_at"),
    [(10, 10), (10, 12), (0, 0), (-1, -2), (5, -1)],
    ids=["equal", "above", "zero", "neg", "neg-off"],
)
def test_off_at_must_be_below_on_at(manager, on_at, off_at):
    with pytest.raises(ApplicationError) as refused:
        surge.set_thresholds(scope="all", on_at=on_at, off_at=off_at, actor=manager)
    assert refused.value.code == "invalid_thresholds"
    assert not CrisisAudit.objects.exists()


@pytest.mark.parametrize("scope", ["everything", "channel:fax", "queue:abc", "queue:999999", ""])
def test_an_unknown_scope_is_refused(manager, scope):
    with pytest.raises(ApplicationError) as refused:
        surge.set_thresholds(scope=scope, on_at=10, off_at=2, actor=manager)
    assert refused.value.code in ("invalid_scope", "not_found")


def test_thresholds_are_saved_and_audited_with_the_manager(manager):
    row = surge.set_thresholds(scope="all", on_at=30, off_at=10, actor=manager)
    assert (row.on_at, row.off_at) == (30, 10)
    audit = CrisisAudit.objects.get(action="surge_thresholds")
    assert (audit.actor_id, audit.actor_name) == (manager.pk, "manager")
    assert audit.detail["before"] == {"on_at": 60, "off_at": 20}


def test_surge_on_answers_the_last_known_state_when_redis_and_the_database_are_down(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(surge, "LOCAL_SECONDS", 0)  # every read goes to Redis
    with django_capture_on_commit_callbacks(execute=True):
        surge.set_surge(scope="channel:sms", forced=True, actor=manager)
    assert surge.surge_on(channel="sms")

    class Down:
        def hgetall(self, key):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(redis_client, "get", lambda url=None: Down())
    assert surge.surge_on(channel="sms") is True
    assert surge.surge_on(channel="chat") is False


def test_surge_on_reads_the_database_when_redis_has_no_state(manager):
    Surge.objects.create(scope="channel:chat", is_on=True)
    assert surge.surge_on(channel="chat") is True
    assert redis_client.get().hget(surge.STATE_KEY, "channel:chat") == b"1"


def test_deflections_are_counted_per_kind_on_the_single_active_crisis():
    flood = Crisis.objects.create(title="Flood", status=CrisisStatus.ACTIVE)
    now = timezone.now()
    surge.record_deflection(kind=DeflectionKind.IVR_SMS, channel="voice", now=now)
    surge.record_deflection(kind=DeflectionKind.IVR_SMS, channel="voice", now=now)
    surge.record_deflection(kind=DeflectionKind.HELP_ANSWER, channel="sms", now=now)
    surge.record_deflection(kind=DeflectionKind.BANNER_LINK, now=now - timedelta(hours=2))
    counts = surge.deflection_counts(crisis=flood)
    assert counts == {
        "ivr_sms": 2, "help_answer": 1, "banner_link": 1, "directory_link": 0, "self_service": 0
    }  # fmt: skip
    assert surge.deflection_counts(crisis=flood, since=now - timedelta(minutes=5))["banner_link"] == 0


def test_with_two_active_crises_a_deflection_belongs_to_none():
    Crisis.objects.create(title="Flood", status=CrisisStatus.ACTIVE)
    Crisis.objects.create(title="Outage", status=CrisisStatus.ACTIVE)
    row = surge.record_deflection(kind=DeflectionKind.SELF_SERVICE, channel="chat")
    assert row is not None and row.crisis_id is None
    assert surge.deflection_counts()["self_service"] == 1


def test_a_failing_deflection_never_raises_into_the_caller(monkeypatch):
    from helpdesk.crisis.models import Deflection

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(Deflection.objects, "create", broken)
    assert surge.record_deflection(kind=DeflectionKind.HELP_ANSWER, channel="sms") is None
    assert surge.record_deflection(kind="not-a-kind") is None


@pytest.mark.parametrize("queues", [1, 30])
def test_an_evaluation_costs_the_same_queries_for_1_and_30_scopes(
    traffic, queues, django_assert_max_num_queries
):
    from tests.factories import QueueFactory

    Surge.objects.bulk_create([Surge(scope=f"queue:{QueueFactory().pk}") for _ in range(queues)])
    traffic.texts(3)
    # Insert "all" if missing, lock the rows, count every scope, one UPDATE; plus the savepoint.
    with django_assert_max_num_queries(6):
        assert surge.evaluate_surges() == []
    counted = dict(Surge.objects.filter(evaluated_at__isnull=False).values_list("scope", "last_count"))
    texted = {f"queue:{q}": 3 for q in Ticket.objects.values_list("queue_id", flat=True).distinct()}
    assert counted == {"all": 3} | {scope: texted.get(scope, 0) for scope in counted if scope != "all"}
    assert len(counted) == queues + 1
