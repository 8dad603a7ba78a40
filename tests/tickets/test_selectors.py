"""Queue and timeline reads: filters, keyset pagination, counts (search: test_search.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.errors import ApplicationError
from helpdesk.tickets import selectors, services
from helpdesk.tickets.models import Channel, Priority, Ticket, TicketStatus
from helpdesk.tickets.selectors import QueueFilters
from tests.factories import (
    CustomerFactory,
    QueueFactory,
    TicketFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _ids(page) -> list[int]:
    return [t.pk for t in page.tickets]


def _walk(*, agent, filters=QueueFilters(), sort="priority", page_size=3) -> list[int]:
    seen, after = [], ""
    for _ in range(100):
        page = selectors.queue_page(agent=agent, filters=filters, after=after, sort=sort, page_size=page_size)
        seen += _ids(page)
        if not page.next_cursor:
            return seen
        after = page.next_cursor
    raise AssertionError("pagination did not end")


def test_default_queue_shows_open_statuses_only(agent):
    open_ids = {TicketFactory(status=s).pk for s in ("new", "open", "pending")}
    TicketFactory(status=TicketStatus.SOLVED)
    TicketFactory(status=TicketStatus.CLOSED)
    page = selectors.queue_page(agent=agent, filters=QueueFilters())
    assert set(_ids(page)) == open_ids


def test_status_all_and_single_status(agent):
    solved = TicketFactory(status=TicketStatus.SOLVED)
    TicketFactory(status=TicketStatus.OPEN)
    assert len(selectors.queue_page(agent=agent, filters=QueueFilters(status="all")).tickets) == 2
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(status="solved"))) == [solved.pk]


def test_filters_by_assignee_queue_priority_channel_language_tag(agent):
    other = UserFactory(username="other")
    mine = TicketFactory(assignee=agent, priority=Priority.URGENT, channel=Channel.EMAIL, language="fa")
    theirs = TicketFactory(assignee=other)
    nobody = TicketFactory()
    services.set_tags(ticket=nobody, names=["flood"])
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(assignee="me"))) == [mine.pk]
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(assignee=str(other.pk)))) == [
        theirs.pk
    ]
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(assignee="unassigned"))) == [nobody.pk]
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(queue=theirs.queue_id))) == [theirs.pk]
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(priority=Priority.URGENT))) == [
        mine.pk
    ]
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(channel="email"))) == [mine.pk]
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(language="fa"))) == [mine.pk]
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(tag="Flood"))) == [nobody.pk]


def test_filter_by_crisis(agent):
    from helpdesk.crisis.models import Crisis

    crisis = Crisis.objects.create(title="Flood", status="active")
    hit = TicketFactory(crisis=crisis)
    TicketFactory()
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters(crisis=crisis.pk))) == [hit.pk]


def test_default_sort_is_priority_then_sla_then_id(agent):
    now = timezone.now()
    low = TicketFactory(priority=Priority.LOW, sla_due_at=now)
    late = TicketFactory(priority=Priority.URGENT, sla_due_at=now + timedelta(hours=2))
    soon = TicketFactory(priority=Priority.URGENT, sla_due_at=now + timedelta(hours=1))
    assert _ids(selectors.queue_page(agent=agent, filters=QueueFilters())) == [soon.pk, late.pk, low.pk]


@pytest.mark.parametrize("sort", ["priority", "newest", "oldest"])
def test_keyset_pages_are_stable_with_ties(agent, sort):
    # Many tickets share priority, SLA time and activity time: only the id breaks the ties.
    same = timezone.now()
    queue = QueueFactory()
    customer = CustomerFactory()
    Ticket.objects.bulk_create(
        [
            Ticket(
                customer=customer,
                queue=queue,
                subject=f"t{i}",
                priority=(i % 2) + 1,
                sla_due_at=same,
                last_activity_at=same,
            )
            for i in range(17)
        ]
    )
    walked = _walk(agent=agent, sort=sort, page_size=4)
    full = _ids(selectors.queue_page(agent=agent, filters=QueueFilters(), sort=sort, page_size=100))
    assert walked == full
    assert len(set(walked)) == 17


def test_cursor_survives_new_tickets_ahead_of_it(agent):
    for _ in range(4):
        TicketFactory(priority=Priority.NORMAL)
    first = selectors.queue_page(agent=agent, filters=QueueFilters(), page_size=2)
    TicketFactory(priority=Priority.URGENT)  # sorts before the cursor: must not shift page 2
    second = selectors.queue_page(agent=agent, filters=QueueFilters(), after=first.next_cursor, page_size=2)
    assert set(_ids(first)).isdisjoint(_ids(second))
    assert len(second.tickets) == 2


def test_bad_cursor_is_a_clear_error(agent):
    with pytest.raises(ApplicationError) as exc:
        selectors.queue_page(agent=agent, filters=QueueFilters(), after="not-a-cursor")
    assert exc.value.code == "invalid_cursor"


def test_status_counts_come_from_the_counters(agent, django_assert_num_queries):
    customer = CustomerFactory()
    queue = QueueFactory()
    for _ in range(3):
        services.create_ticket(customer=customer, subject="x", queue=queue)
    ticket = services.create_ticket(customer=customer, subject="y", queue=queue)
    services.update_ticket(ticket=ticket, status=TicketStatus.PENDING)
    with django_assert_num_queries(1):
        counts = selectors.status_counts(queue=queue.pk)
    assert counts == {"new": 3, "pending": 1}


def test_result_count_is_capped(agent, settings, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    customer, queue = CustomerFactory(), QueueFactory()
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(customer=customer, queue=queue, subject="s", sla_due_at=now, last_activity_at=now)
            for _ in range(9)
        ]
    )
    page = selectors.queue_page(agent=agent, filters=QueueFilters())
    assert page.count_capped is True
    assert page.count == 5
    exact = selectors.queue_page(agent=agent, filters=QueueFilters(status="solved"))
    assert (exact.count, exact.count_capped) == (0, False)


def test_timeline_is_oldest_first_with_authors(agent):
    ticket = TicketFactory()
    now = timezone.now()
    second = TimelineEventFactory(ticket=ticket, created_at=now, author=agent)
    first = TimelineEventFactory(ticket=ticket, created_at=now - timedelta(minutes=5))
    assert [e.pk for e in selectors.ticket_timeline(ticket=ticket).events] == [first.pk, second.pk]


def test_keyset_walk_with_a_joined_filter(agent):
    # The tag filter joins a table that also has an `id` column: the cursor must stay unambiguous.
    tickets = [TicketFactory(priority=Priority.NORMAL) for _ in range(7)]
    for ticket in tickets:
        services.set_tags(ticket=ticket, names=["flood"])
    TicketFactory()
    walked = _walk(agent=agent, filters=QueueFilters(tag="flood"), page_size=2)
    assert sorted(walked) == sorted(t.pk for t in tickets)
