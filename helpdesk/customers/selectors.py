"""Reads of customers for the workspace pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.tickets.models import Ticket, TimelineEvent

PAGE_SIZE = 50
RECENT_EVENTS = 50


@dataclass
class CustomerPage:
    customers: list[Customer]
    next_cursor: int | None


def customer_page(*, before: int | None = None, page_size: int = PAGE_SIZE) -> CustomerPage:
    """Return customers newest first, keyset-paginated on id (never OFFSET)."""
    qs = Customer.objects.filter(merged_into__isnull=True)
    if before:
        qs = qs.filter(pk__lt=before)
    rows = list(
        qs.prefetch_related(
            Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id"))
        ).order_by("-id")[: page_size + 1]
    )
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = rows[-1].pk
    return CustomerPage(customers=rows, next_cursor=next_cursor)


def customer_detail(*, customer_id: int) -> Customer:
    """Return the customer with contact points, or raise Customer.DoesNotExist."""
    return Customer.objects.prefetch_related(
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id"))
    ).get(pk=customer_id)


def customer_tickets(*, customer_id: int, user) -> list[Ticket]:
    """Return the customer's tickets the user may see, most recent activity first."""
    from helpdesk.tickets.selectors import visible_tickets

    return list(
        visible_tickets(user)
        .filter(customer_id=customer_id)
        .select_related("assignee", "queue")
        .order_by("-last_activity_at", "-id")
    )


def recent_events(*, customer_id: int, user, limit: int = RECENT_EVENTS) -> list[TimelineEvent]:
    """Return the customer's latest timeline events on tickets the user sees, newest first."""
    from helpdesk.tickets.selectors import visible_events

    return list(
        visible_events(user, TimelineEvent.objects.filter(customer_id=customer_id))
        .select_related("author", "contact_point", "ticket")
        .order_by("-created_at", "-id")[:limit]
    )


def contact_point(*, kind: str, value: str) -> ContactPoint | None:
    """The point with this normalized value, with its customer; None when unknown or not valid."""
    from helpdesk.customers.services import normalize_contact
    from helpdesk.errors import ApplicationError

    try:
        normalized = normalize_contact(kind, value)
    except ApplicationError:
        return None
    return ContactPoint.objects.select_related("customer").filter(kind=kind, value=normalized).first()
