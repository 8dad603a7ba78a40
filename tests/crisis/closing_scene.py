"""A crisis and the customers it touched, for the closing tests (unit and integration)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from helpdesk.crisis import services
from helpdesk.crisis.models import Broadcast, BroadcastDelivery, Crisis, DeliveryState
from helpdesk.customers.models import ContactKind, ContactPoint
from helpdesk.tickets.models import Channel
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

FINAL = {"en": {"title": "Resolved", "summary": "The network is back."}}
BODIES = {
    "en": "The outage is over. Thank you for your patience.",
    "fa": "قطعی برطرف شد. از صبر شما سپاسگزاریم.",
}
SUBJECTS = {"en": "The outage is over", "fa": "قطعی برطرف شد"}


@dataclass
class Scene:
    """The brief's six customers around one crisis, and their contact points."""

    crisis: Crisis
    a_phone: ContactPoint  # wrote by SMS
    b_email: ContactPoint  # wrote by email
    c_phone: ContactPoint  # got an SMS broadcast ...
    c_email: ContactPoint  # ... and wrote by email
    d_email: ContactPoint  # got an email broadcast only
    e_phone: ContactPoint  # wrote by SMS, then opted out
    f_chat: ContactPoint  # a chat-only visitor


def point(customer, kind: str, value: str, **extra) -> ContactPoint:
    return ContactPointFactory(customer=customer, kind=kind, value=value, **extra)


def wrote(crisis: Crisis, by: ContactPoint, channel: str, *, minutes_ago: int = 5) -> None:
    """The point's customer wrote (or called) about the crisis: a linked ticket, one inbound message."""
    ticket = TicketFactory(customer=by.customer, crisis=crisis, channel=channel)
    at = timezone.now() - timezone.timedelta(minutes=minutes_ago)
    TimelineEventFactory(ticket=ticket, channel=channel, contact_point=by, created_at=at)


def broadcast_reached(crisis: Crisis, channel: str, points: list[ContactPoint], *, state: str) -> Broadcast:
    """An earlier broadcast about the crisis whose deliveries to `points` ended in `state`."""
    broadcast = Broadcast.objects.create(
        crisis=crisis, name="Outage update", channel=channel, bodies={"en": "We are on it."}
    )
    BroadcastDelivery.objects.bulk_create(
        BroadcastDelivery(
            broadcast=broadcast, contact_point=p, to=p.value, status=state, sent_at=timezone.now()
        )
        for p in points
    )
    return broadcast


def build_scene(*, persian: tuple[str, ...] = ()) -> Scene:
    """Customers named in `persian` ("a", "b", ...) prefer Persian; the rest English."""

    def customer(name: str):
        return CustomerFactory(language="fa" if name in persian else "en")

    crisis = services.activate_crisis(crisis=services.create_crisis(title="Network outage", severity=4))
    a_phone = point(customer("a"), ContactKind.PHONE, "+14155550101")
    b_email = point(customer("b"), ContactKind.EMAIL, "b@example.com")
    c = customer("c")
    c_phone = point(c, ContactKind.PHONE, "+14155550103")
    c_email = point(c, ContactKind.EMAIL, "c@example.com")
    d_email = point(customer("d"), ContactKind.EMAIL, "d@example.com")
    e_phone = point(customer("e"), ContactKind.PHONE, "+14155550105", opted_out_at=timezone.now())
    f_chat = point(customer("f"), ContactKind.CHAT, "visitor-f", verified=False)

    wrote(crisis, a_phone, Channel.SMS)
    wrote(crisis, b_email, Channel.EMAIL)
    wrote(crisis, c_email, Channel.EMAIL)
    wrote(crisis, e_phone, Channel.SMS)
    wrote(crisis, f_chat, Channel.CHAT)
    broadcast_reached(crisis, "sms", [c_phone, a_phone], state=DeliveryState.SENT)
    broadcast_reached(crisis, "email", [d_email], state=DeliveryState.DELIVERED)
    return Scene(crisis, a_phone, b_email, c_phone, c_email, d_email, e_phone, f_chat)


def add_bystanders(scene: Scene) -> list[ContactPoint]:
    """People the closing must not reach: another crisis's customer, a delivery of this crisis's
    broadcast that failed."""
    other = services.activate_crisis(crisis=services.create_crisis(title="Other"))
    elsewhere = point(CustomerFactory(), ContactKind.PHONE, "+14155550199")
    wrote(other, elsewhere, Channel.SMS)
    failed = point(CustomerFactory(), ContactKind.PHONE, "+14155550198")
    broadcast_reached(scene.crisis, "sms", [failed], state=DeliveryState.FAILED)
    return [elsewhere, failed]
