"""Honest delivery: nothing is marked sent or delivered that no gateway sent."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from channels_app.base import reply_channels
from helpdesk.customers.models import ContactKind
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import TimelineEvent
from helpdesk.tickets.services import send_reply
from tests.factories import ContactPointFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

TWILIO = "channels_app.sms.gateway.TwilioGateway"
CONSOLE = "channels_app.console.gateway.ConsoleGateway"


@pytest.fixture
def production(settings):
    """Production: no demo gateways; SMS through Twilio, nothing configured for email."""
    settings.DEMO_GATEWAYS_ENABLED = False
    settings.CHANNEL_GATEWAYS = {
        "sms": TWILIO,
        "email": CONSOLE,
    }  # a leftover console line counts for nothing


@pytest.fixture
def ticket():
    ticket = TicketFactory(channel="email")
    ContactPointFactory(customer=ticket.customer, kind=ContactKind.EMAIL, value="ana@example.org")
    return ticket


def test_reply_form_offers_only_channels_that_can_send(production, ticket, client):
    assert reply_channels() == ["sms"]
    client.force_login(UserFactory(username="agent1"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert '<option value="sms"' in page
    assert '<option value="email"' not in page


def test_api_refuses_a_reply_on_a_channel_without_gateway_with_a_clear_400(production, ticket):
    api = APIClient()
    api.force_login(UserFactory(username="agent2"))
    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/replies/", {"body": "Hello", "channel": "email"}, format="json"
    )
    # Outside the schema's enum (this desk's sending channels): a 400 that says what to configure.
    assert response.status_code == 400
    (reason,) = response.json()["fields"]["channel"]
    assert "configure a gateway" in reason and "CHANNEL_GATEWAYS" in reason
    assert not TimelineEvent.objects.filter(direction="out").exists()


def test_service_refuses_before_anything_is_written(production, ticket):
    with pytest.raises(ApplicationError) as error:
        send_reply(ticket=ticket, author=UserFactory(username="agent3"), body="Hello", channel="email")
    assert error.value.code == "invalid_channel"
    assert not TimelineEvent.objects.filter(direction="out").exists()


def test_the_demo_console_marks_what_it_printed_never_delivered(ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = send_reply(
            ticket=ticket, author=UserFactory(username="agent4"), body="Hello", channel="email"
        )
    event.refresh_from_db()
    assert event.delivery_status == "printed"
    assert event.get_delivery_status_display() == "Printed (demo)"
    assert not TimelineEvent.objects.filter(delivery_status__in=["sent", "delivered"]).exists()
