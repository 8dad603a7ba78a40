"""Inbound and status webhooks: signatures, malformed input, idempotency, ordering, never a 5xx."""

from __future__ import annotations

import psycopg2
import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from helpdesk.customers.models import ContactPoint
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import DeliveryStatus, Direction, TimelineEvent
from tests.channels_app.sms.conftest import INBOUND, STATUS, LeanClient, Twilio, new_sid
from tests.factories import ContactPointFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def test_missing_signature_is_403(twilio):
    response = twilio.post(
        INBOUND, {"MessageSid": new_sid(), "From": "+14155550100", "Body": "hi"}, signature=""
    )
    assert response.status_code == 403
    assert not TimelineEvent.objects.exists()


def test_wrong_signature_is_403(twilio):
    response = twilio.post(INBOUND, {"MessageSid": new_sid(), "From": "+14155550100"}, signature="bm9wZQ==")
    assert response.status_code == 403


def test_right_signature_for_another_url_is_403(twilio):
    params = {"MessageSid": new_sid(), "From": "+14155550100", "Body": "hi"}
    signature = twilio.sign(INBOUND, params, base="https://attacker.example")
    assert twilio.post(INBOUND, params, signature=signature).status_code == 403
    assert twilio.post(STATUS, params, signature=twilio.sign(INBOUND, params)).status_code == 403


def test_signature_follows_public_base_url_at_call_time(twilio, settings):
    settings.PUBLIC_BASE_URL = "https://desk.example.org"
    response = twilio.sms(body="behind a proxy")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"From": "+14155550100", "Body": "no sid"},
        {"MessageSid": new_sid(), "Body": "no sender"},
        {"MessageSid": "not-a-sid", "From": "+14155550100"},
        {"MessageSid": new_sid(), "From": "+14155550100", "NumMedia": "lots"},
        {"junk": "\x00\x01"},
    ],
)
def test_malformed_is_400(twilio, params):
    assert twilio.post(INBOUND, params).status_code == 400
    assert not TimelineEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(INBOUND).status_code == 405


def test_answers_empty_twiml_and_records_one_event(twilio):
    response = twilio.sms(sender="+14155550100", body="I need help")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response/>" in response.content
    event = TimelineEvent.objects.get()
    assert (event.channel, event.direction, event.provider) == ("sms", Direction.IN, "twilio")
    assert event.contact_point.value == "+14155550100"
    assert event.ticket is not None


def test_five_replays_record_one_event(twilio):
    sid = new_sid()
    for _ in range(5):
        assert twilio.sms(sid=sid, body="once").status_code == 200
    assert TimelineEvent.objects.filter(provider_id=sid).count() == 1


def test_unicode_and_mms_media_are_kept(twilio):
    media = ["https://api.twilio.com/media/ME1", "https://api.twilio.com/media/ME2"]
    body = "خونریزی دارم 🩸 ជួយ ಸಹಾಯ"
    response = twilio.sms(body=body, NumMedia="2", MediaUrl0=media[0], MediaUrl1=media[1])
    assert response.status_code == 200
    event = TimelineEvent.objects.get()
    assert event.body == body
    assert event.payload["media"] == media
    assert event.ticket.language == "fa"  # the script says Persian


def test_status_callbacks_in_reverse_order_end_delivered(twilio):
    event = TimelineEventFactory(
        direction=Direction.OUT,
        provider="twilio",
        provider_id=new_sid(),
        delivery_status=DeliveryStatus.QUEUED,
    )
    for status in ("delivered", "sent", "sending", "queued"):
        assert twilio.status(sid=event.provider_id, status=status).status_code == 204
    event.refresh_from_db()
    assert event.delivery_status == DeliveryStatus.DELIVERED


def test_status_for_unknown_sid_is_ignored(twilio):
    assert twilio.status(sid=new_sid(), status="delivered").status_code == 204


def test_status_21610_marks_opted_out_with_a_reason(twilio):
    point = ContactPointFactory(value="+14155550999")
    ticket = TicketFactory(customer=point.customer)
    event = TimelineEventFactory(
        ticket=ticket, contact_point=point, direction=Direction.OUT, provider="twilio", provider_id=new_sid()
    )
    assert twilio.status(sid=event.provider_id, status="failed", error_code="21610").status_code == 204
    event.refresh_from_db()
    point.refresh_from_db()
    assert event.delivery_status == DeliveryStatus.FAILED
    assert "STOP" in event.delivery_error
    assert point.opted_out_at is not None


def test_status_30005_marks_invalid(twilio):
    point = ContactPointFactory(value="+14155550998")
    event = TimelineEventFactory(
        ticket=TicketFactory(customer=point.customer),
        contact_point=point,
        direction=Direction.OUT,
        provider="twilio",
        provider_id=new_sid(),
    )
    twilio.status(sid=event.provider_id, status="undelivered", error_code="30005")
    assert ContactPoint.objects.get(pk=point.pk).invalid_at is not None


FIELDS = st.sampled_from(
    ["MessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MessageStatus", "ErrorCode", "x"]
)
VALUES = st.one_of(
    st.text(max_size=40), st.just(new_sid()), st.sampled_from(["+14155550100", "5", "-1", "99"])
)


@pytest.mark.parametrize("door", ["django", "lean"])
@hsettings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(FIELDS, VALUES, max_size=8),
    signed=st.booleans(),
    path=st.sampled_from([INBOUND, STATUS]),
)
def test_random_form_bodies_never_5xx(door, params, signed, path):
    twilio = Twilio(Client(raise_request_exception=False) if door == "django" else LeanClient())
    response = twilio.post(path, params, signature=None if signed else "")
    assert response.status_code < 500, (path, params, response.status_code)
    if not signed:
        assert response.status_code == 403


def test_database_down_is_503_so_twilio_retries(twilio, monkeypatch):
    from django.db import OperationalError

    from helpdesk.messaging import inbox

    def down(values):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(inbox, "_insert", down)
    response = twilio.sms(body="still here?")
    assert response.status_code == 503
    assert not InboxMessage.objects.exists()


# --- the lean door only (helpdesk.messaging.door, production's WSGI entry point)


def test_lean_door_leaves_other_requests_to_django():
    lean = LeanClient()
    assert lean.get(INBOUND).status_code == 405  # GET on a webhook path: Django's view refuses it
    assert lean.get("/healthz").status_code == 200
    assert lean.post("/contact/", {}).status_code != 404  # a POST elsewhere reaches Django's views


def test_lean_door_refuses_oversized_and_broken_bodies(settings):
    lean = LeanClient()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = {"MessageSid": new_sid(), "From": "+14155550100", "Body": "x" * 2000}
    assert lean.post(INBOUND, big).status_code == 413
    assert (
        lean.request(
            "POST", INBOUND, b"a=1", "application/x-www-form-urlencoded", CONTENT_LENGTH="lots"
        ).status_code
        == 400
    )
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    many = {f"f{i}": "1" for i in range(10)}
    assert lean.post(INBOUND, many).status_code == 400
    assert not InboxMessage.objects.exists()


def test_lean_door_answers_a_signed_query_string_url(settings):
    # Twilio signs the URL exactly as configured, query string included.
    twilio = Twilio(LeanClient())
    params = {"MessageSid": new_sid(), "From": "+14155550100", "Body": "hi"}
    path = INBOUND + "?region=north"
    assert twilio.post(path, params).status_code == 200
    assert twilio.post(path, params, signature=twilio.sign(INBOUND, params)).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_lean_door_survives_a_connection_the_server_dropped():
    """No health-check round trip on this path: a dropped connection is retried once instead."""
    from django.db import connection

    twilio = Twilio(LeanClient())
    assert twilio.sms(body="first").status_code == 200
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg2.connect(**connection.get_connection_params()) as other, other.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()
    sid = new_sid()
    response = twilio.sms(sid=sid, body="after a PostgreSQL restart")
    assert response.status_code == 200
    assert InboxMessage.objects.filter(provider_id=sid).count() == 1


def test_the_demo_token_in_production_is_503_not_a_forgeable_signature(twilio, settings):
    # Anyone can sign with the published demo token: refuse everything (Twilio retries) until it is set.
    settings.TWILIO_AUTH_TOKEN = settings.TWILIO_DEMO_AUTH_TOKEN
    assert twilio.sms(body="forged").status_code == 503
    assert twilio.status(sid=new_sid(), status="undelivered", error_code="21610").status_code == 503
    assert not TimelineEvent.objects.filter(body="forged").exists()
    settings.DEBUG = True  # the demo: its fake Twilio signs with that token
    assert twilio.sms(body="demo").status_code == 200
