from __future__ import annotations

import pytest
from django.utils import timezone

from channels_app.base import DeliveryReport, DeliveryStatus
from helpdesk.crisis import services
from helpdesk.crisis.models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryState
from helpdesk.crisis.selectors import broadcast_progress, channel_directory_lines, preview_broadcast
from helpdesk.crisis.services import create_broadcast, dispatch_broadcast, plan_broadcast
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.errors import ApplicationError
from helpdesk.messaging.delivery import record_delivery_report
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def _phones(n, *, tags=None, language="en"):
    return [
        ContactPointFactory(customer=CustomerFactory(tags=tags or [], language=language)) for _ in range(n)
    ]


def _planned(broadcast):
    broadcast.status = BroadcastStatus.PLANNING
    broadcast.save(update_fields=["status"])
    return plan_broadcast(broadcast_id=broadcast.pk)


def test_crisis_lifecycle_sets_times_and_status():
    crisis = services.create_crisis(
        title="Outage", severity=4, texts={"en": {"summary": "Down"}, "xx": {"a": "b"}}
    )
    assert crisis.texts == {"en": {"summary": "Down"}}
    services.activate_crisis(crisis=crisis)
    assert crisis.status == "active" and crisis.starts_at is not None
    services.resolve_crisis(crisis=crisis)
    assert crisis.status == "resolved" and crisis.ends_at is not None


def test_crisis_severity_outside_1_to_5_is_refused():
    with pytest.raises(ApplicationError):
        services.create_crisis(title="x", severity=9)


def test_publish_bumps_version_so_dismissed_banners_show_again():
    crisis = services.create_crisis(title="Outage")
    banner = services.save_banner(crisis=crisis, texts={"en": {"title": "Outage", "message": "We are on it"}})
    services.publish_banner(banner=banner)
    services.publish_banner(banner=banner)
    assert banner.version == 2


def test_banner_with_a_javascript_link_is_refused():
    crisis = services.create_crisis(title="Outage")
    with pytest.raises(ApplicationError) as err:
        services.save_banner(crisis=crisis, texts={"en": {"title": "x", "link": "javascript:alert(1)"}})
    assert err.value.code == "invalid_link"


def test_directory_lines_are_short_ordered_and_translated_need():
    services.save_directory_entry(
        need={"en": "Emergency", "fa": "اضطراری"},
        channel="call",
        target="+15551230000",
        hours="24/7",
        position=0,
    )
    services.save_directory_entry(
        need={"en": "Rescheduling"}, channel="link", target="https://x.test/r", position=1
    )
    assert channel_directory_lines("en") == [
        "Emergency: Call +15551230000 (24/7)",
        "Rescheduling: Go to https://x.test/r",
    ]
    fa = channel_directory_lines("fa")
    assert fa[0].startswith("اضطراری") and fa[1].startswith("Rescheduling")
    assert all(len(line) <= 160 for line in fa)


def test_audience_by_tags_languages_queue_crisis_and_open_tickets():
    crisis = services.create_crisis(title="Storm")
    flood = _phones(2, tags=["flood"])
    _phones(2, tags=["other"])
    persian = _phones(1, language="fa")
    with_ticket = _phones(1)[0]
    ticket = TicketFactory(customer=with_ticket.customer, crisis=crisis)
    qs = services.audience_queryset
    assert set(qs({"tags": ["flood"]})) == set(flood)
    assert set(qs({"languages": ["fa"]})) == set(persian)
    assert set(qs({"crisis": crisis.pk})) == {with_ticket}
    assert set(qs({"queues": [ticket.queue_id]})) == {with_ticket}
    assert set(qs({"has_open_tickets": True})) == {with_ticket}
    assert qs({}).count() == 0  # an empty spec is nobody, never everyone


def test_plan_counts_opted_out_and_invalid_and_runs_once():
    points = _phones(5, tags=["t"])
    ContactPoint.objects.filter(pk=points[0].pk).update(opted_out_at=timezone.now())
    ContactPoint.objects.filter(pk=points[1].pk).update(invalid_at=timezone.now())
    broadcast = create_broadcast(name="b", bodies={"en": "Hello"}, audience={"tags": ["t"]})
    broadcast = _planned(broadcast)
    assert (broadcast.planned_count, broadcast.skipped_opted_out, broadcast.skipped_invalid) == (5, 1, 1)
    assert broadcast.status == BroadcastStatus.SENDING
    # A second plan (a retried task) adds nothing: UNIQUE(broadcast, contact_point).
    Broadcast.objects.filter(pk=broadcast.pk).update(status=BroadcastStatus.PLANNING)
    plan_broadcast(broadcast_id=broadcast.pk)
    assert BroadcastDelivery.objects.filter(broadcast=broadcast).count() == 5


def test_plan_walks_id_ranges_in_chunks(monkeypatch):
    monkeypatch.setattr(services, "PLAN_CHUNK", 2)
    _phones(7, tags=["t"])
    broadcast = _planned(create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}))
    assert broadcast.planned_count == 7


def test_opted_out_and_invalid_numbers_never_receive(recording_gateway):
    points = _phones(6, tags=["t"])
    ContactPoint.objects.filter(pk=points[0].pk).update(opted_out_at=timezone.now())
    ContactPoint.objects.filter(pk=points[1].pk).update(invalid_at=timezone.now())
    broadcast = _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )
    outcome = dispatch_broadcast(broadcast_id=broadcast.pk)
    received = [m["to"] for m in recording_gateway.sent()]
    assert sorted(received) == sorted(p.value for p in points[2:])
    assert points[0].value not in received and points[1].value not in received
    assert outcome.sent == 4
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.COMPLETED


def test_bodies_fall_back_to_english_per_recipient_language(recording_gateway):
    _phones(1, tags=["t"], language="fa")
    _phones(1, tags=["t"], language="km")
    broadcast = _planned(
        create_broadcast(
            name="b", bodies={"en": "Hello", "fa": "سلام"}, audience={"tags": ["t"]}, rate_per_second=0
        )
    )
    dispatch_broadcast(broadcast_id=broadcast.pk)
    assert sorted(m["body"] for m in recording_gateway.sent()) == ["Hello", "سلام"]


def test_no_delivery_is_sent_twice_by_two_dispatchers(recording_gateway):
    _phones(30, tags=["t"])
    broadcast = _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )
    dispatch_broadcast(broadcast_id=broadcast.pk)
    dispatch_broadcast(broadcast_id=broadcast.pk)
    sent = [m["to"] for m in recording_gateway.sent()]
    assert len(sent) == len(set(sent)) == 30


def test_permanent_error_fails_the_delivery_without_retry(recording_gateway):
    point = _phones(1, tags=["t"])[0]
    recording_gateway.fail(point.value, "permanent")
    broadcast = _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )
    dispatch_broadcast(broadcast_id=broadcast.pk)
    delivery = BroadcastDelivery.objects.get(broadcast=broadcast)
    assert delivery.status == DeliveryState.SKIPPED_INVALID and delivery.attempts == 1


def test_paused_broadcast_sends_nothing(recording_gateway):
    _phones(3, tags=["t"])
    broadcast = _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )
    services.pause_broadcast(broadcast=broadcast)
    outcome = dispatch_broadcast(broadcast_id=broadcast.pk)
    assert outcome.stopped == "paused" and recording_gateway.sent() == []


def test_cancelled_broadcast_cannot_resume():
    _phones(1, tags=["t"])
    broadcast = _planned(create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}))
    services.cancel_broadcast(broadcast=broadcast)
    with pytest.raises(ApplicationError):
        services.resume_broadcast(broadcast=broadcast)


def test_body_over_segment_limit_is_refused_and_nothing_created():
    _phones(1, tags=["t"])
    with pytest.raises(ApplicationError) as err:
        create_broadcast(
            name="b", bodies={"en": "x" * 200, "fa": "س" * 20}, audience={"tags": ["t"]}, max_segments=1
        )
    assert err.value.code == "body_too_long" and "2 SMS segments" in err.value.message
    assert not Broadcast.objects.exists()


def test_persian_body_counts_ucs2_segments():
    _phones(1, tags=["t"])
    with pytest.raises(ApplicationError):
        create_broadcast(name="b", bodies={"fa": "س" * 71}, audience={"tags": ["t"]}, max_segments=1)
    assert create_broadcast(name="b", bodies={"fa": "س" * 70}, audience={"tags": ["t"]}, max_segments=1)


def test_no_audience_is_refused():
    with pytest.raises(ApplicationError) as err:
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={})
    assert err.value.code == "no_audience"
    with pytest.raises(ApplicationError) as err:
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["nobody-has-this"]})
    assert err.value.code == "no_audience"
    assert not Broadcast.objects.exists()


def test_csv_report_counts_invalid_duplicates_opted_out_and_creates_unknown_only_at_start(
    django_capture_on_commit_callbacks,
):
    known = ContactPointFactory(value="+14155550100", verified=False)
    opted = ContactPointFactory(value="+14155550101", opted_out_at=timezone.now())
    data = b"name,phone\nA,+1 415 555 0100\nB,4155550100\nC,not-a-number\nD,+14155550101\nE,+14155550199\n"
    customers_before = Customer.objects.count()
    broadcast = create_broadcast(name="csv", bodies={"en": "Hi"}, audience={}, csv_data=data)
    report = broadcast.csv_report
    assert (report["rows"], report["invalid"], report["duplicates"], report["opted_out"]) == (5, 1, 1, 1)
    assert report["created_customers"] == 1 and report["accepted"] == 2
    # A draft writes nothing: no customer, and the listed point is not verified yet.
    assert Customer.objects.count() == customers_before
    assert broadcast.audience["new_numbers"] == ["+14155550199"]
    known.refresh_from_db()
    assert not known.verified
    assert preview_broadcast(broadcast=broadcast).recipients == 2  # known + the new number
    with django_capture_on_commit_callbacks(execute=True):
        services.start_broadcast(broadcast=broadcast)
    broadcast.refresh_from_db()
    assert Customer.objects.count() == customers_before + 1
    new_point = ContactPoint.objects.get(value="+14155550199")
    assert new_point.verified and "new_numbers" not in broadcast.audience
    assert set(broadcast.audience["contact_point_ids"]) == {known.pk, opted.pk, new_point.pk}
    known.refresh_from_db()
    assert known.verified


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00binary",
        b"\xff\xfe\xfa bad utf8",
        b"",
        b"name,email\nA,a@x.test\n",
        b'phone\n"+1415',
    ],
)
def test_unparsable_csv_gives_a_clear_message_and_creates_nothing(data):
    before = (Customer.objects.count(), ContactPoint.objects.count())
    with pytest.raises(ApplicationError) as err:
        create_broadcast(name="csv", bodies={"en": "Hi"}, audience={}, csv_data=data)
    assert err.value.code.startswith("csv_") and err.value.message
    assert (Customer.objects.count(), ContactPoint.objects.count()) == before
    assert not Broadcast.objects.exists()


def test_preview_shows_recipients_exclusions_segments_and_cost(settings):
    settings.SMS_PRICE_PER_SEGMENT = 0.01
    points = _phones(3, tags=["t"]) + _phones(2, tags=["t"], language="fa")
    ContactPoint.objects.filter(pk=points[0].pk).update(opted_out_at=timezone.now())
    broadcast = create_broadcast(name="b", bodies={"en": "x" * 200, "fa": "س" * 10}, audience={"tags": ["t"]})
    preview = preview_broadcast(broadcast=broadcast)
    assert preview.recipients == 4 and preview.opted_out == 1 and preview.invalid == 0
    assert preview.by_language["en"]["segments"] == 2 and preview.by_language["fa"]["encoding"] == "UCS-2"
    assert preview.segments_total == 2 * 2 + 2 * 1
    assert preview.estimated_cost == 0.06


def test_approval_needs_a_second_manager():
    first = UserFactory(username="m1", role="manager")
    second = UserFactory(username="m2", role="manager")
    _phones(1, tags=["t"])
    broadcast = create_broadcast(
        name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, requires_approval=True, created_by=first
    )
    broadcast = services.start_broadcast(broadcast=broadcast, actor=first)
    assert broadcast.status == BroadcastStatus.PENDING_APPROVAL
    with pytest.raises(ApplicationError) as err:
        services.approve_broadcast(broadcast=broadcast, approver=first)
    assert err.value.code == "same_approver"
    broadcast = services.approve_broadcast(broadcast=broadcast, approver=second)
    assert broadcast.status == BroadcastStatus.PLANNING and broadcast.approved_by == second


def test_scheduled_broadcast_waits_then_starts(django_capture_on_commit_callbacks):
    _phones(1, tags=["t"])
    later = timezone.now() + timezone.timedelta(minutes=5)
    broadcast = create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, scheduled_at=later)
    assert services.start_broadcast(broadcast=broadcast).status == BroadcastStatus.SCHEDULED
    assert services.start_due_broadcasts(now=timezone.now()) == 0
    assert services.start_due_broadcasts(now=later + timezone.timedelta(seconds=1)) == 1
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.PLANNING


def test_progress_counts_states_and_replies(recording_gateway):
    points = _phones(3, tags=["t"])
    ContactPoint.objects.filter(pk=points[0].pk).update(opted_out_at=timezone.now())
    broadcast = _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )
    dispatch_broadcast(broadcast_id=broadcast.pk)
    assert services.note_broadcast_reply(to=points[1].value).pk == broadcast.pk
    progress = broadcast_progress(broadcast=broadcast)
    assert (progress.total, progress.sent, progress.opted_out, progress.replies, progress.percent) == (
        3,
        2,
        1,
        1,
        100,
    )


def test_stuck_sending_row_without_lookup_is_failed_not_resent(recording_gateway):
    _phones(1, tags=["t"])
    broadcast = _planned(create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}))
    BroadcastDelivery.objects.filter(broadcast=broadcast).update(
        status=DeliveryState.SENDING, attempt_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    result = services.reconcile_stuck_deliveries()
    assert result == {"adopted": 0, "resent": 0, "unknown": 1}
    assert BroadcastDelivery.objects.get(broadcast=broadcast).status == DeliveryState.FAILED
    assert recording_gateway.sent() == []


def test_reply_to_a_broadcast_opens_a_ticket_in_its_crisis_tagged_broadcast_reply(recording_gateway):
    from helpdesk.tickets.services import create_ticket

    crisis = services.create_crisis(title="Storm")
    other = services.create_crisis(title="Other")
    services.activate_crisis(crisis=other)  # the only active crisis is not the broadcast's
    point = _phones(1, tags=["t"])[0]
    broadcast = _planned(
        create_broadcast(
            name="b", crisis=crisis, bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0
        )
    )
    dispatch_broadcast(broadcast_id=broadcast.pk)
    ticket = create_ticket(customer=point.customer, subject="re: storm", channel="sms")
    assert ticket.crisis == crisis
    assert list(ticket.tags.values_list("name", flat=True)) == ["broadcast-reply"]
    assert broadcast_progress(broadcast=broadcast).replies == 1
    email_ticket = create_ticket(customer=point.customer, subject="mail", channel="email")
    assert email_ticket.crisis == other


def test_sms_ticket_without_a_recent_broadcast_keeps_the_usual_crisis_rule():
    from helpdesk.tickets.services import create_ticket

    point = _phones(1)[0]
    assert create_ticket(customer=point.customer, subject="hi", channel="sms").crisis is None


@pytest.mark.django_db(transaction=True)
def test_transient_errors_are_retried_with_backoff_then_sent_once(recording_gateway):
    point = _phones(1, tags=["t"])[0]
    recording_gateway.fail(point.value, "transient:2")  # two 429s, then accepted
    # Committed for real here, so planning wakes the (eager) dispatchers on commit.
    broadcast = _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )
    dispatch_broadcast(broadcast_id=broadcast.pk, time_budget=10)
    delivery = BroadcastDelivery.objects.get(broadcast=broadcast)
    assert delivery.status == DeliveryState.SENT and delivery.attempts == 3
    assert [m["to"] for m in recording_gateway.sent()] == [point.value]


def test_provider_status_callback_marks_a_broadcast_delivery_delivered(recording_gateway):
    _phones(1, tags=["t"])
    broadcast = _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )
    dispatch_broadcast(broadcast_id=broadcast.pk)
    sid = recording_gateway.sent()[0]["sid"]

    def report(status):
        return record_delivery_report(DeliveryReport(provider="recording", provider_id=sid, status=status))

    assert report(DeliveryStatus.DELIVERED) is True
    assert report(DeliveryStatus.SENT) is False  # never backwards
    assert broadcast_progress(broadcast=broadcast).delivered == 1


@pytest.fixture
def queued_dispatchers(monkeypatch):
    """Dispatch tasks the services queue, recorded instead of run (as if no worker were free)."""
    from helpdesk.crisis import tasks

    queued: list[tuple] = []
    monkeypatch.setattr(tasks.dispatch_broadcast_task, "delay", lambda *args: queued.append(args))
    return queued


def _sending(n=3):
    _phones(n, tags=["t"])
    return _planned(
        create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0)
    )


def test_sweep_tops_a_sending_broadcast_up_to_its_dispatcher_count_once(queued_dispatchers, settings):
    settings.BROADCAST_DISPATCHERS = 2
    broadcast = _sending()
    assert broadcast.status == BroadcastStatus.SENDING
    assert services.wake_stalled_broadcasts() == 1
    assert services.wake_stalled_broadcasts() == 0  # a second sweep (another machine) adds none
    assert [args[0] for args in queued_dispatchers] == [broadcast.pk, broadcast.pk]
    assert len({args[1] for args in queued_dispatchers}) == 2


def test_a_dispatch_task_beyond_the_dispatcher_count_leaves_without_sending(
    queued_dispatchers, recording_gateway, settings
):
    settings.BROADCAST_DISPATCHERS = 2
    broadcast = _sending()
    services.wake_stalled_broadcasts()  # both places are taken by queued tasks
    outcome = dispatch_broadcast(broadcast_id=broadcast.pk, token="a-redelivered-task")
    assert outcome.stopped == "crowded" and recording_gateway.sent() == []
    token = queued_dispatchers[0][1]
    assert dispatch_broadcast(broadcast_id=broadcast.pk, token=token).stopped == "done"
    assert len(recording_gateway.sent()) == 3


def test_rows_a_live_dispatcher_holds_are_left_alone_and_settled_once_it_goes_quiet(recording_gateway):
    import time

    from helpdesk.crisis.services import DispatcherLeases

    broadcast = _sending(2)
    ids = list(BroadcastDelivery.objects.filter(broadcast=broadcast).values_list("pk", flat=True))
    BroadcastDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryState.SENDING, attempt_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    leases = DispatcherLeases(broadcast.pk)
    token = leases.new_token()
    assert leases.join(token, limit=0)
    leases.hold(token, ids)  # a dispatcher mid-send, heard from just now
    assert services.reconcile_stuck_deliveries() == {"adopted": 0, "resent": 0, "unknown": 0}
    assert set(BroadcastDelivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sending"}
    time.sleep(0.3)  # it stops renewing (killed): once unheard for the timeout, its rows are settled
    assert services.reconcile_stuck_deliveries(timeout=timezone.timedelta(seconds=0.2))["unknown"] == 2
    assert recording_gateway.sent() == []


def test_two_sweeps_settle_a_dead_workers_row_once(recording_gateway, settings):
    settings.CHANNEL_GATEWAYS = {
        **settings.CHANNEL_GATEWAYS,
        "sms": "tests.crisis.gateways.LookupRecordingGateway",
    }
    broadcast = _sending(1)
    BroadcastDelivery.objects.filter(broadcast=broadcast).update(
        status=DeliveryState.SENDING, attempts=1, attempt_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    assert services.reconcile_stuck_deliveries()["resent"] == 1
    dispatch_broadcast(broadcast_id=broadcast.pk)
    assert services.reconcile_stuck_deliveries() == {"adopted": 0, "resent": 0, "unknown": 0}
    delivery = BroadcastDelivery.objects.get(broadcast=broadcast)
    assert delivery.status == DeliveryState.SENT and delivery.attempts == 2
    assert len(recording_gateway.sent()) == 1


def test_a_broadcast_past_the_threshold_waits_for_a_second_manager(settings):
    from helpdesk.crisis.models import BroadcastStatus
    from helpdesk.crisis.services import start_broadcast

    settings.BROADCAST_APPROVAL_THRESHOLD = 2
    for i in range(3):
        ContactPointFactory(customer=CustomerFactory(tags=["t"]), value=f"+1415777{i:04d}")
    big = create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, requires_approval=False)
    assert big.requires_approval
    assert start_broadcast(broadcast=big).status == BroadcastStatus.PENDING_APPROVAL
    settings.BROADCAST_APPROVAL_THRESHOLD = 3
    small = create_broadcast(name="s", bodies={"en": "Hi"}, audience={"tags": ["t"]})
    assert not small.requires_approval


def test_a_reply_to_a_broadcast_from_a_customer_with_an_open_ticket_joins_its_crisis(
    recording_gateway, django_capture_on_commit_callbacks
):
    from helpdesk.tickets.services import broadcasts_recently, record_inbound
    from tests.factories import TicketFactory, inbound_sms

    assert broadcasts_recently() is False  # read (and cached) before the broadcast
    crisis = services.create_crisis(title="Storm")
    point = _phones(1, tags=["t"])[0]
    open_ticket = TicketFactory(customer=point.customer, status="open", channel="sms")
    broadcast = create_broadcast(
        name="b", crisis=crisis, bodies={"en": "Hi"}, audience={"tags": ["t"]}, rate_per_second=0
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.start_broadcast(broadcast=broadcast)
    assert recording_gateway.sent()
    result = record_inbound(message=inbound_sms("YES", "SMreply1", point.value))
    assert result.event.ticket_id == open_ticket.pk
    open_ticket.refresh_from_db()
    assert open_ticket.crisis == crisis
    assert "broadcast-reply" in open_ticket.tags.values_list("name", flat=True)
    assert broadcast_progress(broadcast=broadcast).replies == 1


def test_a_sent_broadcast_is_on_each_recipients_timeline_once(recording_gateway):
    from helpdesk.tickets.models import EventKind, TimelineEvent
    from tests.factories import TicketFactory

    crisis = services.create_crisis(title="Storm")
    points = _phones(3, tags=["t"])
    open_ticket = TicketFactory(customer=points[0].customer, status="open")
    broadcast = _planned(
        create_broadcast(
            name="Storm warning",
            crisis=crisis,
            bodies={"en": "Reply YES for help"},
            audience={"tags": ["t"]},
            rate_per_second=0,
        )  # fmt: skip
    )
    dispatch_broadcast(broadcast_id=broadcast.pk)
    events = TimelineEvent.objects.filter(kind=EventKind.BROADCAST)
    assert sorted(events.values_list("customer_id", flat=True)) == sorted(p.customer_id for p in points)
    on_ticket = events.get(customer_id=points[0].customer_id)
    assert on_ticket.ticket_id == open_ticket.pk and on_ticket.body == "Reply YES for help"
    assert on_ticket.delivery_status == "sent" and on_ticket.payload["broadcast"] == broadcast.pk
    ids = list(broadcast.deliveries.values_list("pk", flat=True))
    assert services.timeline_broadcast_messages(ids) == 3 and events.count() == 3  # a retry adds none
