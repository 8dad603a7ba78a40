"""factory_boy factories shared by every test package."""

from __future__ import annotations

import factory
from django.utils import timezone

from helpdesk.accounts.models import Role
from helpdesk.customers.models import ContactKind, ContactPoint, Customer
from helpdesk.tickets.models import Channel, Direction, Queue, Ticket, TimelineEvent


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    first_name = factory.Faker("first_name")
    is_staff = True
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        from helpdesk.accounts.models import AgentProfile

        if create:
            AgentProfile.objects.get_or_create(user=self, defaults={"role": extracted or Role.AGENT})


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    language = "en"


class ContactPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = ContactKind.PHONE
    value = factory.Sequence(lambda n: f"+1415555{n:04d}")
    verified = True  # an established customer's point; tests of unproven senders say False


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Queue {n}")
    slug = factory.Sequence(lambda n: f"queue-{n}")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    customer = factory.SubFactory(CustomerFactory)
    subject = factory.Faker("sentence", nb_words=5)
    queue = factory.SubFactory(QueueFactory)
    channel = Channel.SMS
    sla_due_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(hours=4))
    # Unanswered: the first response is the target the queue sorts by (helpdesk/tickets/sla.py).
    first_response_due_at = factory.LazyAttribute(lambda t: t.sla_due_at)
    resolution_due_at = factory.LazyAttribute(lambda t: t.sla_due_at + timezone.timedelta(days=3))
    last_activity_at = factory.LazyFunction(timezone.now)


class TimelineEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    ticket = factory.SubFactory(TicketFactory)
    customer = factory.SelfAttribute("ticket.customer")
    channel = Channel.SMS
    direction = Direction.IN
    body = factory.Faker("sentence")
    created_at = factory.LazyFunction(timezone.now)


def inbound_sms(body: str, sid: str, sender: str = "+14155550100"):
    """An SMS as the Twilio adapter hands it to the core: its signed webhook proves the sender."""
    from channels_app.base import InboundMessage

    return InboundMessage(
        channel="sms",
        sender_kind="phone",
        sender=sender,
        body=body,
        provider="twilio",
        provider_id=sid,
        sender_proven=True,
    )
