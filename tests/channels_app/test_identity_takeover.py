"""An attacker who knows a victim's email cannot take over the victim through the contact form.

The story, through the real form and the signed SMS webhook: the attacker submits /contact/ with
the victim's email and their own phone, then texts from that phone. Before the fix the phone was
attached to the victim, the message filed into the victim's open ticket, the attacker's next SMS
landed there and the agent's reply went to the attacker."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from helpdesk.crisis.services import audience_queryset
from helpdesk.customers.models import ContactPoint
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import Ticket, TimelineEvent
from tests.channels_app.sms.conftest import Twilio
from tests.factories import ContactPointFactory

pytestmark = pytest.mark.django_db

VICTIM_PHONE = "+14155550101"
VICTIM_EMAIL = "rana@example.org"
ATTACKER_PHONE = "+14155550666"


@pytest.fixture
def victim(client):
    """Rana texted us from her phone (signed webhook: proven); an agent confirmed her email."""
    cache.clear()  # the form's per-IP limit
    assert Twilio(client).sms(sender=VICTIM_PHONE, body="My card is frozen").status_code == 200
    customer = ContactPoint.objects.get(value=VICTIM_PHONE).customer
    customer.tags = ["flood-2026"]
    customer.save(update_fields=["tags"])
    ContactPointFactory(customer=customer, kind="email", value=VICTIM_EMAIL)
    return customer, Ticket.objects.get(customer=customer)


def _attack_through_the_form(client):
    return client.post(
        reverse("webform:contact"),
        {
            "name": "Rana Karimi",
            "email": VICTIM_EMAIL.upper(),  # any spelling of the victim's address
            "phone": ATTACKER_PHONE,
            "language": "en",
            "subject": "Update my number",
            "message": "Please text me at my new number from now on.",
            "token": uuid.uuid4().hex,
        },
        follow=True,
    )


def test_the_form_never_reaches_the_victims_record_or_ticket(client, victim):
    customer, ticket = victim
    before = list(customer.contact_points.values_list("kind", "value", "verified"))
    response = _attack_through_the_form(client)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"#{ticket.pk}<" not in page and "My card is frozen" not in page
    attack = TimelineEvent.objects.get(provider="webform")
    assert attack.ticket_id != ticket.pk and attack.customer_id != customer.pk
    assert attack.payload["unverified_sender"] == {"kind": "email", "value": VICTIM_EMAIL.upper()}
    assert list(customer.contact_points.values_list("kind", "value", "verified")) == before
    assert not ContactPoint.objects.filter(value=ATTACKER_PHONE, customer=customer).exists()
    assert TimelineEvent.objects.filter(ticket=ticket).count() == 1


def test_the_attackers_sms_and_the_agents_reply_stay_where_they_belong(client, agent_client, victim):
    customer, ticket = victim
    _attack_through_the_form(client)
    assert Twilio(client).sms(sender=ATTACKER_PHONE, body="It's me, Rana. Any news?").status_code == 200
    [attacker_sms] = TimelineEvent.objects.filter(body="It's me, Rana. Any news?")
    assert attacker_sms.ticket_id != ticket.pk and attacker_sms.customer_id != customer.pk
    assert TimelineEvent.objects.filter(ticket=ticket).count() == 1

    response = agent_client.post(
        reverse("tickets:reply", args=[ticket.pk]), {"body": "Your new card is on its way.", "channel": "sms"}
    )
    assert response.status_code == 302  # back to the ticket page
    reply = TimelineEvent.objects.get(body="Your new card is on its way.")
    assert reply.contact_point.value == VICTIM_PHONE
    assert Outbox.objects.get(event=reply).to == VICTIM_PHONE
    assert not Outbox.objects.filter(to=ATTACKER_PHONE).exclude(event__ticket=attacker_sms.ticket).exists()


def test_broadcasts_and_triage_follow_only_the_victims_verified_number(client, victim):
    customer, _ticket = victim
    _attack_through_the_form(client)
    audience = audience_queryset({"tags": ["flood-2026"]}, channel="sms")
    assert list(audience.values_list("value", flat=True)) == [VICTIM_PHONE]
    from triage.services import segment_customer_ids

    assert segment_customer_ids(tag="flood-2026") == [customer.pk]


def test_an_unverified_point_gets_nothing_until_an_agent_confirms_it(client, agent_client):
    cache.clear()
    client.post(
        reverse("webform:contact"),
        {
            "name": "New Person",
            "email": "new@example.org",
            "phone": "",
            "language": "en",
            "subject": "Help",
            "message": "Please help",
            "token": uuid.uuid4().hex,
        },
    )
    ticket = Ticket.objects.get()
    page = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "Unverified sender" in page and "not verified" in page
    agent_client.post(reverse("tickets:reply", args=[ticket.pk]), {"body": "First try", "channel": "email"})
    first = TimelineEvent.objects.get(body="First try")
    assert first.delivery_status == "blocked" and "not verified" in first.delivery_error
    assert not Outbox.objects.exists()

    point = ContactPoint.objects.get(value="new@example.org")
    agent_client.post(reverse("customers:verify_point", args=[point.customer_id, point.pk]))
    point.refresh_from_db()
    assert point.verified
    assert (
        "Unverified sender"
        not in agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    )
    agent_client.post(reverse("tickets:reply", args=[ticket.pk]), {"body": "Second try", "channel": "email"})
    assert Outbox.objects.get().to == "new@example.org"


def test_an_agent_links_the_unverified_sender_to_the_real_customer(client, agent_client, victim):
    customer, _ticket = victim
    _attack_through_the_form(client)  # here: the real Rana, from a borrowed phone
    stranger = TimelineEvent.objects.get(provider="webform").customer
    response = agent_client.post(
        reverse("customers:merge", args=[stranger.pk]), {"target": f"#{customer.pk}"}
    )
    assert response.status_code == 302
    assert Ticket.objects.filter(customer=customer).count() == 2
    # The borrowed phone came along but stays unverified: nothing goes there until proven.
    moved = ContactPoint.objects.get(value=ATTACKER_PHONE)
    assert moved.customer_id == customer.pk and not moved.verified
