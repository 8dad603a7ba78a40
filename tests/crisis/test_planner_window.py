"""The planner refuses an SMS broadcast the provider's queue would drop the end of (issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from helpdesk.crisis.models import Broadcast
from helpdesk.crisis.services import create_broadcast, drain_estimate, sending_rate
from helpdesk.errors import ApplicationError
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db

TWILIO = "channels_app.sms.gateway.TwilioGateway"


def _bulk_phones(n: int) -> None:
    """n verified phone customers in two set-based statements (~2 s for 100,000): factories would
    take minutes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH c AS (
              INSERT INTO customers_customer
                (name, search_text, language, tags, notes, time_zone, created_at, updated_at)
              SELECT 'window-' || g, 'window-' || g, 'en', '[]'::jsonb, '', '', now(), now()
              FROM generate_series(1, %s) g RETURNING id)
            INSERT INTO customers_contactpoint
              (customer_id, kind, value, verified, opt_out_reason, language, created_at)
            SELECT c.id, 'phone', '+1416' || lpad(c.id::text, 7, '0'), true, '', '', now() FROM c
            """,
            [n],
        )
        cursor.execute("ANALYZE customers_customer; ANALYZE customers_contactpoint")


def _sms(rate: int, **extra) -> Broadcast:
    return create_broadcast(
        name="Outage",
        bodies={"en": "Power is back at 6pm."},
        audience={"all": True},
        rate_per_second=rate,
        **extra,
    )


@pytest.fixture
def hundred_thousand_phones(settings):
    settings.BROADCAST_QUEUE_WINDOW_HOURS = 4.0
    _bulk_phones(100_000)


def test_drain_time_is_recipients_over_the_rate():
    assert drain_estimate(100_000, 3) == timedelta(seconds=100_000 / 3)
    assert drain_estimate(100_000, 0) is None  # no limit: nothing to wait for


def test_a_100k_sms_broadcast_at_3_per_second_is_refused_naming_drain_window_and_a_rate_that_fits(
    hundred_thousand_phones,
):
    with pytest.raises(ApplicationError) as refused:
        _sms(3)
    assert refused.value.code == "drain_exceeds_window"
    message = refused.value.message
    assert "9.3 h" in message and "4 h" in message  # 100,000 / 3 s = 9.26 h against 4 h
    assert "7 messages a second" in message  # 100,000 / 14,400 s, rounded up
    assert "100,000" in message and "email" in message and "messaging service" in message
    assert not Broadcast.objects.exists()


def test_a_100k_sms_broadcast_at_100_per_second_is_accepted(hundred_thousand_phones):
    broadcast = _sms(100)  # 1,000 s of drain
    assert broadcast.pk and broadcast.requires_approval  # past the approval threshold, as before


def test_the_sending_accounts_rate_caps_a_faster_broadcast_rate(settings):
    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "sms": TWILIO}
    settings.TWILIO_MESSAGES_PER_SECOND = 3
    settings.BROADCAST_QUEUE_WINDOW_HOURS = 0.05  # 180 s: 1,000 at 3 a second take 333 s
    _bulk_phones(1_000)
    assert sending_rate(channel="sms", rate_per_second=100) == 3
    with pytest.raises(ApplicationError) as refused:
        _sms(100)
    assert refused.value.code == "drain_exceeds_window" and "At 3 messages a second" in refused.value.message
    settings.TWILIO_MESSAGES_PER_SECOND = 10
    assert _sms(100).pk  # 100 s at the account's 10 a second


def test_no_rate_and_no_account_limit_is_never_refused(settings):
    settings.BROADCAST_QUEUE_WINDOW_HOURS = 0.001
    _bulk_phones(100)
    assert sending_rate(channel="sms", rate_per_second=0) == 0  # the console gateway sets no limit
    assert _sms(0).pk


def test_an_email_broadcast_is_not_held_to_the_sms_queue_window(settings):
    settings.BROADCAST_QUEUE_WINDOW_HOURS = 0.001  # 3.6 s
    for n in range(5):
        ContactPointFactory(customer=CustomerFactory(), kind="email", value=f"r{n}@example.test")
    broadcast = create_broadcast(
        name="Outage",
        channel="email",
        bodies={"en": "Power is back at 6pm."},
        subjects={"en": "Power"},
        audience={"all": True},
        rate_per_second=1,
    )
    assert broadcast.channel == "email"
