"""The crisis dashboard: its numbers, its fixed query count from 1k to 100k contacts, its guard."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpdesk.crisis import dashboard
from helpdesk.crisis.models import Broadcast, BroadcastDelivery, Crisis, CrisisStatus, Deflection
from helpdesk.tickets.models import Direction, EventKind
from tests.factories import (
    ContactPointFactory,
    CustomerFactory,
    QueueFactory,
    TicketFactory,
    TimelineEventFactory,
)
from triage.models import Flow, FlowVersion, Run

pytestmark = pytest.mark.django_db


def _crisis(began_hours_ago: float = 30) -> Crisis:
    return Crisis.objects.create(
        title="Outage",
        status=CrisisStatus.ACTIVE,
        starts_at=timezone.now() - timedelta(hours=began_hours_ago),
    )


def _grow(crisis: Crisis, *, contacts: int) -> None:
    """Add `contacts` inbound contacts to the crisis, set-based: one customer and one answered
    ticket per two contacts, spread over the last 47 hours and four channels, a deflection per
    ten contacts and a triage run per ticket (severities 1-5)."""
    queue = QueueFactory()
    flow = Flow.objects.get_or_create(slug="bulk", defaults={"name": "Bulk"})[0]
    version = FlowVersion.objects.get_or_create(flow=flow, number=1)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH customers AS (
                INSERT INTO customers_customer (name, language, tags, notes, time_zone, created_at,
                                                updated_at, search_text)
                SELECT 'bulk', 'en', '[]'::jsonb, '', '', now(), now(), 'bulk'
                FROM generate_series(1, %(tickets)s)
                RETURNING id
            ), tickets AS (
                INSERT INTO tickets_ticket (subject, status, priority, channel, language, sla_due_at,
                    first_response_at, last_activity_at, created_at, updated_at, crisis_id, customer_id,
                    queue_id, sla_paused_seconds, version, search_text)
                SELECT 'bulk', 'open', 3, 'sms', 'en', now(),
                       now() - (id %% 2820) * interval '1 minute' + (id %% 60) * interval '1 minute',
                       now(), now() - (id %% 2820) * interval '1 minute', now(), %(crisis)s, id,
                       %(queue)s, 0, 1, 'bulk'
                FROM customers
                RETURNING id, customer_id, created_at
            ), runs AS (
                INSERT INTO triage_run (mode, source, status, language, state, outcome, severity,
                    started_at, last_activity_at, customer_id, flow_version_id, ticket_id, channel)
                SELECT 'sms', 'agent', 'completed', 'en', '{}'::jsonb, '{}'::jsonb, 1 + id %% 5,
                       created_at, created_at, customer_id, %(version)s, id, 'sms'
                FROM tickets
            ), deflections AS (
                INSERT INTO crisis_deflection (kind, channel, at, crisis_id)
                SELECT 'help_answer', 'sms', now(), %(crisis)s FROM generate_series(1, %(deflections)s)
            )
            INSERT INTO tickets_timelineevent (channel, direction, kind, body, body_html, payload,
                provider, delivery_status, delivery_error, created_at, customer_id, ticket_id, search_text)
            SELECT (ARRAY['sms', 'voice', 'email', 'chat'])[1 + t.id %% 4], 'in', 'message', 'help', '',
                   '{}'::jsonb, '', '', '', t.created_at + (k - 1) * interval '30 seconds',
                   t.customer_id, t.id, 'help'
            FROM tickets t CROSS JOIN generate_series(1, 2) AS k
            """,
            {
                "tickets": contacts // 2,
                "crisis": crisis.pk,
                "queue": queue.pk,
                "version": version.pk,
                "deflections": contacts // 10,
            },
        )
        cursor.execute("ANALYZE tickets_ticket; ANALYZE tickets_timelineevent; ANALYZE triage_run")


def _render_queries(client, crisis: Crisis) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("crisis:dashboard", args=[crisis.pk]))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_dashboard_query_count_is_the_same_for_1k_and_100k_contacts(manager_client):
    crisis = _crisis()
    _grow(crisis, contacts=1_000)
    broadcast = Broadcast.objects.create(crisis=crisis, name="Update 1", bodies={"en": "We are on it"})
    point = ContactPointFactory()
    BroadcastDelivery.objects.create(
        broadcast=broadcast, contact_point=point, to=point.value, status="delivered"
    )
    manager_client.get(reverse("crisis:dashboard", args=[crisis.pk]))  # sessions, caches: warm

    at_1k, page = _render_queries(manager_client, crisis)
    assert 'data-count="contacts">1,000<' in page

    started = time.monotonic()
    _grow(crisis, contacts=99_000)
    grown_in = time.monotonic() - started
    at_100k, page = _render_queries(manager_client, crisis)

    assert 'data-count="contacts">100,000<' in page
    print(f"\ndashboard queries: {at_1k} at 1k contacts, {at_100k} at 100k; grown in {grown_in:.1f} s")
    assert at_100k == at_1k
    assert grown_in < 30, f"growing to 100k contacts took {grown_in:.1f} s"


def test_panels_partial_polls_with_the_same_fixed_queries(manager_client, django_assert_max_num_queries):
    crisis = _crisis()
    _grow(crisis, contacts=200)
    with django_assert_max_num_queries(14):
        response = manager_client.get(reverse("crisis:dashboard_panels", args=[crisis.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    assert b"<html" not in response.content


def test_the_page_polls_its_panels_every_30_seconds(manager_client):
    crisis = _crisis()
    page = manager_client.get(reverse("crisis:dashboard", args=[crisis.pk])).content.decode()
    assert f'hx-get="{reverse("crisis:dashboard_panels", args=[crisis.pk])}"' in page
    assert 'hx-trigger="every 30s"' in page


def test_the_crisis_page_links_to_its_dashboard(manager_client):
    crisis = _crisis()
    page = manager_client.get(reverse("crisis:manage_crisis", args=[crisis.pk])).content.decode()
    assert reverse("crisis:dashboard", args=[crisis.pk]) in page


@pytest.mark.parametrize("name", ["crisis:dashboard", "crisis:dashboard_panels"])
def test_agents_cannot_open_the_dashboard(agent_client, name):
    crisis = _crisis()
    assert agent_client.get(reverse(name, args=[crisis.pk])).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    crisis = _crisis()
    response = client.get(reverse("crisis:dashboard", args=[crisis.pk]))
    assert response.status_code == 302


@pytest.fixture
def small_crisis():
    """3 SMS and 2 calls in one hour (from three customers, one of whom wrote before the crisis),
    one deflection, one triage run of severity 4, one broadcast with 2 delivered, 1 failed, 1 reply."""
    crisis = _crisis(began_hours_ago=5)
    now = timezone.now()
    hour = (now - timedelta(hours=2)).replace(minute=10, second=0, microsecond=0)
    regular = CustomerFactory()
    TicketFactory(customer=regular, created_at=crisis.starts_at - timedelta(days=30))  # before the crisis
    newcomer_a, newcomer_b = CustomerFactory(), CustomerFactory()
    sms_ticket = TicketFactory(
        customer=newcomer_a, crisis=crisis, created_at=hour, first_response_at=hour + timedelta(minutes=10)
    )
    call_ticket = TicketFactory(
        customer=regular, crisis=crisis, created_at=hour, first_response_at=hour + timedelta(minutes=30)
    )
    waiting_ticket = TicketFactory(customer=newcomer_b, crisis=crisis, created_at=hour)
    for minutes, ticket in ((0, sms_ticket), (5, sms_ticket), (20, waiting_ticket)):
        TimelineEventFactory(ticket=ticket, channel="sms", created_at=hour + timedelta(minutes=minutes))
    for minutes in (0, 40):
        TimelineEventFactory(
            ticket=call_ticket,
            channel="voice",
            kind=EventKind.CALL,
            created_at=hour + timedelta(minutes=minutes),
        )
    # Not contacts: the agent's reply, and a triage answer.
    TimelineEventFactory(
        ticket=sms_ticket, channel="sms", direction=Direction.OUT, created_at=hour + timedelta(minutes=10)
    )
    TimelineEventFactory(
        ticket=sms_ticket,
        channel="sms",
        kind=EventKind.TRIAGE_ANSWER,
        created_at=hour + timedelta(minutes=12),
    )
    Deflection.objects.create(crisis=crisis, kind="help_answer", channel="sms", at=hour)
    flow = Flow.objects.create(name="Check", slug="check")
    version = FlowVersion.objects.create(flow=flow, number=1)
    Run.objects.create(
        flow_version=version, customer=newcomer_a, ticket=sms_ticket, severity=4, status="completed",
        started_at=hour, last_activity_at=hour,
    )  # fmt: skip
    broadcast = Broadcast.objects.create(crisis=crisis, name="Update", bodies={"en": "Fixed soon"})
    for status, replied in (("delivered", True), ("delivered", False), ("failed", False)):
        point = ContactPointFactory()
        BroadcastDelivery.objects.create(
            broadcast=broadcast, contact_point=point, to=point.value, status=status,
            replied_at=hour if replied else None,
        )  # fmt: skip
    return crisis, hour


def test_contacts_are_counted_per_hour_and_channel(small_crisis):
    crisis, hour = small_crisis
    data = dashboard.crisis_dashboard(crisis=crisis)
    local_hour = timezone.localtime(hour).replace(minute=0)
    assert data.hourly.count(local_hour, "sms") == 3
    assert data.hourly.count(local_hour, "voice") == 2
    assert data.hourly.total == 5
    assert data.contacts_by_channel == {"sms": 3, "voice": 2}
    assert len(data.hourly.hours) == 6  # the crisis began 5 hours ago: that hour, and five more


def test_a_customer_with_an_earlier_ticket_is_a_repeat_customer(small_crisis):
    crisis, _hour = small_crisis
    assert dashboard.customer_mix(crisis=crisis) == dashboard.CustomerMix(new=2, repeat=1)


def test_deflection_rate_is_deflections_over_deflections_and_contacts(small_crisis):
    crisis, _hour = small_crisis
    data = dashboard.crisis_dashboard(crisis=crisis)
    assert data.deflection.deflections == 1
    assert data.deflection.rate == pytest.approx(1 / 6)


def test_first_response_times_per_channel_of_the_first_contact(small_crisis):
    crisis, _hour = small_crisis
    times = {t.channel: t for t in dashboard.first_response_times(crisis=crisis)}
    assert times["sms"].answered == 1 and times["sms"].waiting == 1
    assert times["sms"].median_seconds == pytest.approx(600)
    assert times["voice"].median_seconds == pytest.approx(1800)


def test_severity_and_broadcast_rates(small_crisis):
    crisis, _hour = small_crisis
    severities = dashboard.severity_distribution(crisis=crisis)
    assert severities.counts == {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}
    [rates] = dashboard.broadcast_rates(crisis=crisis)
    assert (rates.planned, rates.delivered, rates.failed, rates.replied) == (3, 2, 1, 1)
    assert rates.delivery_rate == pytest.approx(2 / 3)
    assert rates.reply_rate == pytest.approx(1 / 2)


def test_median_and_p90_match_postgres_percentile_cont():
    values = [60.0, 120.0, 180.0, 240.0, 1200.0]
    assert dashboard.percentile(values, 0.5) == 180.0
    assert dashboard.percentile(values, 0.9) == pytest.approx(240 + 0.6 * 960)


def test_the_page_draws_accessible_charts_with_a_table_fallback(manager_client, small_crisis):
    crisis, _hour = small_crisis
    page = manager_client.get(reverse("crisis:dashboard", args=[crisis.pk])).content.decode()
    assert page.count('role="img"') >= 5
    assert "<details" in page and "<table" in page
    assert " style=" not in page  # the CSP forbids inline style, in SVG too


def test_in_persian_the_hours_run_right_to_left_in_persian_digits(manager_client, small_crisis):
    crisis, _hour = small_crisis
    manager_client.cookies["django_language"] = "fa"
    page = manager_client.get(
        reverse("crisis:dashboard", args=[crisis.pk]), HTTP_ACCEPT_LANGUAGE="fa"
    ).content.decode()
    assert 'direction="rtl"' in page
    assert 'data-count="contacts">۵<' in page
