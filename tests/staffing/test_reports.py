"""Reports from the rollups: the figures equal a direct SQL recount of a small desk, the worker
keeps them current as events arrive, and the page's query count does not grow with the data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.staffing import reports, rollups
from helpdesk.staffing.models import IntervalRollup
from helpdesk.tickets.models import Ticket, TimelineEvent
from tests.factories import CustomerFactory, QueueFactory, UserFactory

pytestmark = pytest.mark.django_db

BEGIN = datetime(2026, 11, 2, tzinfo=UTC)


def _desk(n_tickets: int, *, seed: int = 3) -> None:
    """Tickets over a week with inbound messages, agent replies, first responses and solutions."""
    rng = random.Random(seed)
    queues = [QueueFactory(slug=f"r{i}", name=f"R{i}") for i in range(2)]
    agents = [UserFactory(username=f"rep-{i}") for i in range(3)]
    customers = [CustomerFactory() for _ in range(10)]
    tickets, events = [], []
    for i in range(n_tickets):
        created = BEGIN + timedelta(minutes=rng.randrange(7 * 24 * 60))
        answered = created + timedelta(seconds=rng.randrange(30, 20_000)) if rng.random() < 0.8 else None
        solved = (
            (answered or created) + timedelta(seconds=rng.randrange(60, 200_000))
            if rng.random() < 0.6
            else None
        )
        tickets.append(
            Ticket(
                customer=rng.choice(customers), subject=f"t{i}", queue=rng.choice(queues),
                channel=rng.choice(["sms", "email", "chat"]), language=rng.choice(["en", "fa", "km"]),
                status="solved" if solved else "open", assignee=rng.choice(agents), sla_due_at=created,
                first_response_due_at=created + timedelta(hours=1),
                    resolution_due_at=created + timedelta(hours=24),
                first_response_at=answered, solved_at=solved, created_at=created, last_activity_at=created,
            )
        )  # fmt: skip
    Ticket.objects.bulk_create(tickets)
    for ticket in tickets:
        for k in range(rng.randint(1, 4)):
            at = ticket.created_at + timedelta(minutes=k * 17)
            events.append(TimelineEvent(customer_id=ticket.customer_id, ticket=ticket, channel=ticket.channel,
                                        direction="in", kind="message", body="help",
                                        created_at=at))  # fmt: skip
        if ticket.first_response_at:
            events.append(TimelineEvent(customer_id=ticket.customer_id, ticket=ticket, channel=ticket.channel,
                                        direction="out", kind="message", body="on it", author=ticket.assignee,
                                        created_at=ticket.first_response_at))  # fmt: skip
    TimelineEvent.objects.bulk_create(events)
    from helpdesk.tickets.services import recount_queue_counters

    recount_queue_counters()  # bulk_create bypassed the counters the backlog starts from


def _recount(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_the_figures_equal_a_direct_sql_recount():
    _desk(300)
    assert rollups.refresh(now=BEGIN + timedelta(days=8)) > 0
    filters = reports.Filters(since=BEGIN, until=BEGIN + timedelta(days=7))
    end = f"'{BEGIN + timedelta(days=7)}'"
    by_channel = dict(reports.contacts_by(filters, "channel"))
    assert by_channel == dict(_recount(
        f"SELECT channel, count(*) FROM tickets_timelineevent WHERE direction = 'in' AND created_at < {end}"
        " GROUP BY channel"
    ))  # fmt: skip
    by_language = dict(reports.contacts_by(filters, "language"))
    assert by_language == dict(_recount(
        "SELECT t.language, count(*) FROM tickets_timelineevent e"
        " JOIN tickets_ticket t ON t.id = e.ticket_id "
        f"WHERE e.direction = 'in' AND e.created_at < {end} GROUP BY t.language"
    ))  # fmt: skip
    totals = reports.totals(filters)
    [(opened, answered, met, solved, solved_met)] = _recount(
        f"SELECT count(*), count(*) FILTER (WHERE first_response_at < {end}),"
        f" count(*) FILTER (WHERE first_response_at < {end} AND first_response_at <= first_response_due_at),"
        f" count(*) FILTER (WHERE solved_at < {end}),"
        f" count(*) FILTER (WHERE solved_at < {end} AND solved_at <= resolution_due_at) FROM tickets_ticket"
    )
    assert totals.opened == opened == 300
    assert totals.first_responses == answered and totals.first_response_met == met
    assert totals.solved == solved and totals.resolution_met == solved_met
    [(median, p90)] = _recount(
        "SELECT percentile_cont(0.5) WITHIN GROUP"
        " (ORDER BY extract(epoch FROM first_response_at - created_at)),"
        " percentile_cont(0.9) WITHIN GROUP"
        " (ORDER BY extract(epoch FROM first_response_at - created_at))"
        f" FROM tickets_ticket WHERE first_response_at < {end}"
    )
    durations = reports.durations(filters)["frt"]
    # From buckets about 1.5× apart: within a bucket of the exact figure.
    assert median / 1.5 <= durations.median_seconds <= median * 1.5
    assert p90 / 1.5 <= durations.p90_seconds <= p90 * 1.5
    agents = {a.agent_id: (a.handled, a.replies) for a in reports.agents(filters)}
    recount = _recount(
        "SELECT u.id,"
        f" (SELECT count(*) FROM tickets_ticket t WHERE t.assignee_id = u.id AND t.solved_at < {end}),"
        f" (SELECT count(*) FROM tickets_timelineevent e WHERE e.author_id = u.id AND e.created_at < {end})"
        " FROM auth_user u WHERE u.username LIKE 'rep-%'"
    )
    assert agents == {pk: (handled, replies) for pk, handled, replies in recount if handled or replies}


def test_the_worker_keeps_the_rollups_current_and_a_second_run_changes_nothing():
    _desk(50)
    rollups.refresh(now=BEGIN + timedelta(days=8))
    before = list(IntervalRollup.objects.order_by("start", "channel", "queue_id", "language").values())
    ticket = Ticket.objects.first()
    TimelineEvent.objects.create(customer_id=ticket.customer_id, ticket=ticket, channel="sms", direction="in",
                                 kind="message", body="one more",
                                     created_at=BEGIN + timedelta(hours=5, minutes=3))  # fmt: skip
    assert rollups.refresh(now=BEGIN + timedelta(days=8)) == 1
    filters = reports.Filters(since=BEGIN, until=BEGIN + timedelta(days=7))
    assert reports.totals(filters).contacts == TimelineEvent.objects.filter(direction="in").count()
    rollups.refresh(now=BEGIN + timedelta(days=8))
    after = list(IntervalRollup.objects.order_by("start", "channel", "queue_id", "language").values())
    assert len(after) in (len(before), len(before) + 1)


def _queries(client, manager, url: str) -> int:
    client.force_login(manager)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_reports_page_counts_the_same_queries_for_a_small_and_a_big_desk(client, manager):
    url = "/reports/?since=2026-11-02&until=2026-11-08"
    _desk(30)
    rollups.refresh(now=BEGIN + timedelta(days=8))
    small = _queries(client, manager, url)
    _desk(1500, seed=4)
    rollups.refresh(now=BEGIN + timedelta(days=8))
    assert IntervalRollup.objects.count() > 1000
    assert _queries(client, manager, url) == small


def test_the_volume_api_answers_counts_per_interval(client, agent):
    _desk(100)
    rollups.refresh(now=BEGIN + timedelta(days=8))
    client.force_login(agent)
    response = client.get(
        "/api/v1/reports/volume/?from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z&interval=hour"
    )
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 24 and {"start", "contacts"} <= set(rows[0])
    day = BEGIN + timedelta(days=1)
    expected = TimelineEvent.objects.filter(direction="in", created_at__gte=BEGIN, created_at__lt=day).count()
    assert sum(r["contacts"] for r in rows) == expected
    sms = client.get(
        "/api/v1/reports/volume/?from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z&channel=sms"
    ).json()
    assert (
        sum(r["contacts"] for r in sms["results"])
        == TimelineEvent.objects.filter(
            direction="in", channel="sms", created_at__gte=BEGIN, created_at__lt=day
        ).count()
    )
    backwards = client.get("/api/v1/reports/volume/?from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z")
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_range"
    assert client.get("/api/v1/reports/volume/?interval=minute").status_code == 400
