"""A broadcast through the real Twilio SDK to the project's fake Twilio: counted at the fake."""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone

from helpdesk.crisis import services
from helpdesk.crisis.models import BroadcastDelivery, BroadcastStatus, DeliveryState
from helpdesk.customers.models import ContactPoint
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _sent_broadcast(audience_tag: str, body: str = "Flood: text HELP"):
    """Create, plan and dispatch a broadcast to the tag's customers, in this process."""
    broadcast = services.create_broadcast(
        name="b", bodies={"en": body}, audience={"tags": [audience_tag]}, rate_per_second=0
    )
    broadcast.status = BroadcastStatus.PLANNING
    broadcast.save(update_fields=["status"])
    services.plan_broadcast(broadcast_id=broadcast.pk)
    services.dispatch_broadcast(broadcast_id=broadcast.pk)
    return broadcast


def _as_if_its_worker_died(delivery) -> None:
    """Twilio accepted the message, but the worker died before recording it."""
    BroadcastDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryState.SENDING,
        provider_id="",
        attempt_at=timezone.now() - timezone.timedelta(minutes=1),
    )


def test_broadcast_through_the_sdk_reaches_the_fake_once_and_skips_opted_out_and_invalid(fake_twilio):
    points = [ContactPointFactory(customer=CustomerFactory(tags=["north"])) for _ in range(12)]
    ContactPoint.objects.filter(pk=points[0].pk).update(opted_out_at=timezone.now())
    ContactPoint.objects.filter(pk=points[1].pk).update(invalid_at=timezone.now())
    broadcast = _sent_broadcast("north", "Outage: text HELP")

    at_fake = Counter(m["to"] for m in fake_twilio.messages())
    assert set(at_fake) == {p.value for p in points[2:]}
    assert set(at_fake.values()) == {1}
    sids = set(
        BroadcastDelivery.objects.filter(broadcast=broadcast, status=DeliveryState.SENT).values_list(
            "provider_id", flat=True
        )
    )
    assert len(sids) == 10 and all(sid.startswith("SM") for sid in sids)


def test_reconciler_adopts_a_message_the_fake_already_has(fake_twilio):
    point = ContactPointFactory(customer=CustomerFactory(tags=["north"]))
    broadcast = _sent_broadcast("north", "Outage: text HELP")
    delivery = BroadcastDelivery.objects.get(broadcast=broadcast)
    sid = delivery.provider_id
    _as_if_its_worker_died(delivery)
    assert services.reconcile_stuck_deliveries() == {"adopted": 1, "resent": 0, "unknown": 0}
    delivery.refresh_from_db()
    assert delivery.provider_id == sid and delivery.status == DeliveryState.SENT
    assert len(fake_twilio.messages(point.value)) == 1


def test_fake_twilio_status_callback_marks_the_broadcast_delivery_delivered(fake_twilio, client, settings):
    """The fake's signed status callback reaches our webhook; the broadcast delivery moves on."""
    from twilio.request_validator import RequestValidator

    ContactPointFactory(customer=CustomerFactory(tags=["north"]))
    broadcast = services.create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["north"]})
    broadcast.status = BroadcastStatus.PLANNING
    broadcast.save(update_fields=["status"])
    services.plan_broadcast(broadcast_id=broadcast.pk)
    services.dispatch_broadcast(broadcast_id=broadcast.pk)
    sid = BroadcastDelivery.objects.get(broadcast=broadcast).provider_id
    url = "http://testserver/webhooks/twilio/sms/status/"
    settings.PUBLIC_BASE_URL = "http://testserver"
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    response = client.post("/webhooks/twilio/sms/status/", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 204
    assert BroadcastDelivery.objects.get(broadcast=broadcast).status == DeliveryState.DELIVERED


def test_reconciler_adopts_a_message_still_queued_at_twilio_instead_of_sending_it_again(fake_twilio):
    """Twilio keeps DateSent empty while a message waits in the account's queue: a lookup by
    DateSent would not see it and the reconciler would send a second copy."""
    fake_twilio.configure(queue_seconds=3600, callbacks=False)
    point = ContactPointFactory(customer=CustomerFactory(tags=["north"]))
    broadcast = _sent_broadcast("north", "Outage: text HELP")
    delivery = BroadcastDelivery.objects.get(broadcast=broadcast)
    sid = delivery.provider_id
    [queued] = fake_twilio.messages(point.value)
    assert queued["status"] == "queued" and queued["date_sent"] is None
    _as_if_its_worker_died(delivery)
    assert services.reconcile_stuck_deliveries() == {"adopted": 1, "resent": 0, "unknown": 0}
    delivery.refresh_from_db()
    assert delivery.provider_id == sid and delivery.status == DeliveryState.SENT
    services.dispatch_broadcast(broadcast_id=broadcast.pk)  # nothing is left to send
    assert len(fake_twilio.messages(point.value)) == 1


def test_what_twilio_says_of_a_number_holds_for_the_next_broadcast(fake_twilio, client, settings):
    """21610 when sending opts the number out; 30006 on a status callback marks it invalid; the next
    broadcast skips both and pays only for the number that can receive."""
    from twilio.request_validator import RequestValidator

    opted_out = ContactPointFactory(value="+15005550009", customer=CustomerFactory(tags=["delta"]))  # 21610
    landline = ContactPointFactory(value="+14155550161", customer=CustomerFactory(tags=["delta"]))
    mobile = ContactPointFactory(value="+14155550162", customer=CustomerFactory(tags=["delta"]))
    first = _sent_broadcast("delta")

    opted_out.refresh_from_db()
    assert opted_out.opted_out_at is not None and "21610" in opted_out.opt_out_reason
    assert BroadcastDelivery.objects.get(broadcast=first, contact_point=opted_out).status == (
        DeliveryState.SKIPPED_OPTED_OUT
    )
    # The carrier reports the landline undeliverable (30006), on Twilio's signed status callback.
    sid = BroadcastDelivery.objects.get(broadcast=first, contact_point=landline).provider_id
    settings.PUBLIC_BASE_URL = "http://testserver"
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    url = "http://testserver/webhooks/twilio/sms/status/"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    assert (
        client.post("/webhooks/twilio/sms/status/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code
        == 204
    )
    landline.refresh_from_db()
    assert landline.invalid_at is not None
    assert BroadcastDelivery.objects.get(broadcast=first, contact_point=landline).status == (
        DeliveryState.SKIPPED_INVALID
    )

    fake_twilio.reset()
    second = _sent_broadcast("delta")
    states = dict(
        BroadcastDelivery.objects.filter(broadcast=second).values_list("contact_point_id", "status")
    )
    assert states == {
        opted_out.pk: DeliveryState.SKIPPED_OPTED_OUT,
        landline.pk: DeliveryState.SKIPPED_INVALID,
        mobile.pk: DeliveryState.SENT,
    }
    assert [m["to"] for m in fake_twilio.messages()] == [mobile.value]
