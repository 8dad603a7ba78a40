"""Workspace pages in Persian: Persian digits and Solar Hijri dates for what the desk writes;
ASCII for machine values and for what people typed. English stays ASCII and Gregorian."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from helpdesk import digits
from tests.factories import TicketFactory, TimelineEventFactory, UserFactory

NOWRUZ_1405 = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)  # 09:30 in Tehran


@pytest.fixture
def tehran_client(client, db):
    agent = UserFactory(username="tehran")
    agent.profile.time_zone = "Asia/Tehran"
    agent.profile.save()
    client.force_login(agent)
    return client


def get(client, url: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def ticket(db):
    ticket = TicketFactory(subject="Card 4921 blocked", severity=3)
    TimelineEventFactory(ticket=ticket, body="I paid 250 at 9:15", created_at=NOWRUZ_1405)
    return ticket


def test_persian_ticket_page_shows_persian_digits_and_a_solar_hijri_date(tehran_client, ticket):
    body = get(tehran_client, reverse("tickets:detail", args=[ticket.pk]), "fa")
    number = digits.write(str(ticket.pk), digits.ARABEXT)
    assert f'<span class="ticket-id">#{number}</span>' in body
    assert '<time datetime="2026-03-21T09:30:00+03:30">۱ فروردین ۱۴۰۵، ساعت ۹:۳۰</time>' in body
    assert "مارس" not in body  # no Gregorian month names
    assert "شدت ۳/۵" in body  # severity, written by the desk


def test_persian_ticket_page_keeps_machine_values_and_typed_text_ascii(tehran_client, ticket):
    body = get(tehran_client, reverse("tickets:detail", args=[ticket.pk]), "fa")
    assert f'action="/tickets/{ticket.pk}/reply/"' in body
    assert f'data-ticket-id="{ticket.pk}"' in body
    assert "Card 4921 blocked" in body and "I paid 250 at 9:15" in body


def test_english_ticket_page_shows_ascii_digits_and_a_gregorian_date(tehran_client, ticket):
    body = get(tehran_client, reverse("tickets:detail", args=[ticket.pk]), "en")
    assert f'<span class="ticket-id">#{ticket.pk}</span>' in body
    assert '<time datetime="2026-03-21T09:30:00+03:30">March 21, 2026, 9:30 a.m.</time>' in body
    assert "فروردین" not in body
    assert not any("\u06f0" <= ch <= "\u06f9" for ch in body)


def test_persian_sla_due_in_is_in_persian_digits(tehran_client, db):
    ticket = TicketFactory(sla_due_at=timezone.now() + timedelta(hours=3, minutes=5))
    body = get(tehran_client, reverse("tickets:detail", args=[ticket.pk]), "fa")
    assert "۳" in body.split('class="sla sla-ok">')[1].split("</span>")[0]


def test_persian_queue_shows_persian_counts_ticket_numbers_and_sla(tehran_client, db):
    tickets = TicketFactory.create_batch(3, sla_due_at=timezone.now() + timedelta(hours=2, minutes=5))
    body = get(tehran_client, reverse("tickets:queue"), "fa")
    summary = body.split('class="result-count">')[1].split("</p>")[0]
    assert "۳" in summary and "3" not in summary
    for t in tickets:
        assert f'<span class="ticket-id">#{digits.write(str(t.pk), digits.ARABEXT)}</span>' in body
        assert f'data-ticket-id="{t.pk}"' in body
    sla = body.split('class="sla sla-ok">')[1].split("</td>")[0]
    assert "۲" in sla and 'datetime="' in sla


def test_khmer_queue_uses_khmer_digits_and_kannada_ascii(tehran_client, db):
    ticket = TicketFactory()
    assert f"#{digits.write(str(ticket.pk), digits.KHMR)}<" in get(
        tehran_client, reverse("tickets:queue"), "km"
    )
    assert f'<span class="ticket-id">#{ticket.pk}</span>' in get(
        tehran_client, reverse("tickets:queue"), "kn"
    )


def test_persian_customer_page_dates_are_solar_hijri(tehran_client, ticket):
    ticket.customer.created_at = NOWRUZ_1405
    ticket.customer.save(update_fields=["created_at"])
    body = get(tehran_client, reverse("customers:detail", args=[ticket.customer_id]), "fa")
    assert "۱۴۰۵/۱/۱" in body  # customer since, short date
    assert '<time datetime="2026-03-21T09:30:00+03:30">۱ فروردین ۱۴۰۵، ساعت ۹:۳۰</time>' in body


def test_persian_history_page_dates_are_solar_hijri_in_persian_digits(tehran_client, db):
    from helpdesk.tickets.models import Priority
    from helpdesk.tickets.services import update_ticket

    ticket = TicketFactory()
    actor = UserFactory(username="actor")
    update_ticket(ticket=ticket, actor=actor, priority=Priority.HIGH)
    body = get(tehran_client, reverse("tickets:history", args=[ticket.pk]), "fa")
    cell = body.split('<table class="history-table">')[1].split("<time ")[1].split("</time>")[0]
    assert 'datetime="' in cell and "+03:30" in cell  # machine value, ASCII, in the agent's zone
    text = cell.split(">", 1)[1]
    assert any("\u06f0" <= ch <= "\u06f9" for ch in text) and not any(
        ch.isascii() and ch.isdigit() for ch in text
    )
    assert digits.write(str(ticket.pk), digits.ARABEXT) in body.split("<h1>")[1]


def test_persian_search_results_show_persian_digits_and_solar_hijri_dates(tehran_client, ticket):
    body = get(tehran_client, reverse("tickets:search") + "?q=paid", "fa")
    assert '<time datetime="2026-03-21T09:30:00+03:30">۱ فروردین ۱۴۰۵، ساعت ۹:۳۰</time>' in body
    assert f"#{digits.write(str(ticket.pk), digits.ARABEXT)} " in body
    assert f'href="/tickets/{ticket.pk}/#event-' in body
