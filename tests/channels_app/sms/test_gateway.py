"""TwilioGateway through the real SDK against the fake Twilio process: results, errors, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.base import ChannelError, OutboundMessage, SendResult
from channels_app.sms.gateway import TwilioGateway
from helpdesk.customers.models import ContactPoint
from helpdesk.messaging import outbox
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import DeliveryStatus
from helpdesk.tickets.services import send_message
from tests.factories import ContactPointFactory, TicketFactory

pytestmark = pytest.mark.django_db


def msg(to: str, body: str = "hi") -> OutboundMessage:
    return OutboundMessage(outbox_id=0, channel="sms", to=to, body=body)


def test_send_returns_a_twilio_sid_and_reaches_the_fake(fake_twilio, settings):
    result = TwilioGateway().send(msg("+14155550100", "ಸಹಾಯ 🩸"))
    assert result.provider == "twilio" and result.provider_id.startswith("SM") and result.status == "queued"
    [sent] = fake_twilio.messages(to="+14155550100")
    assert sent["sid"] == result.provider_id and sent["body"] == "ಸಹಾಯ 🩸"
    assert sent["from"] == settings.TWILIO_FROM
    assert sent["status_callback"] == settings.PUBLIC_BASE_URL + "/webhooks/twilio/sms/status/"


@pytest.mark.parametrize(
    ("to", "code", "state"), [("+15005550009", "21610", "opted_out"), ("+15005550001", "21211", "invalid")]
)
def test_permanent_errors_carry_the_contact_state(fake_twilio, to, code, state):
    with pytest.raises(ChannelError) as err:
        TwilioGateway().send(msg(to))
    assert err.value.permanent and err.value.code == code and err.value.contact_state == state


def test_429_and_5xx_are_transient(fake_twilio):
    fake_twilio.configure(rate_429=1.0)
    with pytest.raises(ChannelError) as err:
        TwilioGateway().send(msg("+14155550100"))
    assert not err.value.permanent
    fake_twilio.configure(rate_429=0.0, rate_5xx=1.0)
    with pytest.raises(ChannelError) as err:
        TwilioGateway().send(msg("+14155550100"))
    assert not err.value.permanent


def test_unreachable_twilio_is_transient(settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(ChannelError) as err:
        TwilioGateway().send(msg("+14155550100"))
    assert not err.value.permanent


def _queued_reply(to: str):
    point = ContactPointFactory(value=to)
    ticket = TicketFactory(customer=point.customer)
    event = send_message(ticket=ticket, channel="sms", body="Are you safe?", contact_point=point)
    return event, Outbox.objects.get(event=event)


def test_429_then_success_is_retried_by_the_outbox(fake_twilio):
    event, row = _queued_reply("+14155550111")
    fake_twilio.configure(rate_429=1.0)
    retry_in = outbox.relay(row.pk)
    assert retry_in is not None and retry_in > 0
    assert fake_twilio.messages(to="+14155550111") == []
    fake_twilio.configure(rate_429=0.0)
    Outbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox.relay(row.pk) is None
    event.refresh_from_db()
    [sent] = fake_twilio.messages(to="+14155550111")
    assert event.provider_id == sent["sid"] and event.delivery_status == DeliveryStatus.QUEUED


def test_21610_on_send_marks_the_number_opted_out(fake_twilio):
    event, row = _queued_reply("+15005550009")
    outbox.relay(row.pk)
    event.refresh_from_db()
    assert event.delivery_status == DeliveryStatus.FAILED and "21610" in event.delivery_error
    assert ContactPoint.objects.get(value="+15005550009").opted_out_at is not None


def test_send_many_keeps_order_and_mixes_results(fake_twilio):
    numbers = [f"+1415556{i:04d}" for i in range(200)]
    numbers[7] = "+15005550001"
    results = TwilioGateway().send_many([msg(n, f"m{i}") for i, n in enumerate(numbers)])
    assert len(results) == 200
    assert isinstance(results[7], ChannelError) and results[7].contact_state == "invalid"
    ok = [r for r in results if isinstance(r, SendResult)]
    assert len(ok) == 199
    by_sid = {m["sid"]: m for m in fake_twilio.messages()}
    for i, result in enumerate(results):
        if isinstance(result, SendResult):
            assert by_sid[result.provider_id]["to"] == numbers[i]


def test_fake_twilio_leaves_a_queued_message_out_of_date_sent_filters_as_twilio_does(fake_twilio):
    """The fake is only a fair judge of lookups if it hides queued messages from DateSent filters."""
    from channels_app.sms.gateway import make_client

    fake_twilio.configure(queue_seconds=3600, callbacks=False)
    sent = TwilioGateway().send(msg("+14155550123", "queued for now"))
    client = make_client()
    since = timezone.now() - timedelta(minutes=5)
    assert client.messages.list(to="+14155550123", date_sent_after=since) == []
    [listed] = client.messages.list(to="+14155550123")
    assert listed.sid == sent.provider_id and listed.status == "queued" and listed.date_sent is None


def test_find_sent_returns_messages_still_queued_at_twilio(fake_twilio):
    from channels_app.base import SentMessage

    fake_twilio.configure(queue_seconds=3600, callbacks=False)
    before = timezone.now() - timedelta(seconds=5)
    sent = TwilioGateway().send(msg("+14155550124", "still queued"))
    TwilioGateway().send(msg("+14155550125", "someone else"))
    [found] = TwilioGateway().find_sent(to="+14155550124", since=before)
    assert isinstance(found, SentMessage)
    assert (found.provider_id, found.body, found.status) == (sent.provider_id, "still queued", "queued")
    assert TwilioGateway().find_sent(to="+14155550124", since=timezone.now() + timedelta(minutes=1)) == []


def test_send_many_reuses_its_connections_across_batches(fake_twilio):
    """One client and its keep-alive connections per process, not a new set for every batch."""
    gateway = TwilioGateway()
    for batch in range(3):
        results = gateway.send_many([msg(f"+1415557{batch}{i:03d}") for i in range(100)])
        assert all(isinstance(r, SendResult) for r in results)
    assert fake_twilio.stats()["connections"] <= 64


def test_no_phone_number_or_body_reaches_the_log_at_info(fake_twilio, caplog, settings):
    """The SDK logs every request at INFO (numbers and query strings included): kept at WARNING."""
    import logging
    import logging.config

    logging.config.dictConfig(settings.LOGGING)  # production's levels, as the server starts with
    number, body = "+14155550166", "Your card ending 4242 is frozen"
    with caplog.at_level(logging.INFO):
        TwilioGateway().send(msg(number, body))
        TwilioGateway().send_many([msg(number, body), msg("+14155550167", body)])
        TwilioGateway().find_sent(to=number, since=timezone.now() - timedelta(minutes=1))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert number not in logged and "4155550166" not in logged and body not in logged
