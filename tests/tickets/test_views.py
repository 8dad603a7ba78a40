"""Workspace pages: permissions, fixed query counts at any size, replies, notes and updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk.customers.models import ContactKind
from helpdesk.messaging.models import Outbox
from helpdesk.tickets import selectors
from helpdesk.tickets.models import (
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    Macro,
    Priority,
    Ticket,
    TicketStatus,
    TimelineEvent,
)
from tests.factories import (
    ContactPointFactory,
    CustomerFactory,
    QueueFactory,
    TicketFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# The same ceiling for 10 and for 1,000 rows: a page whose queries grow with rows fails one size.
QUEUE_MAX_QUERIES = 13  # 12, + which queues are another team's (visible_tickets)
TICKET_MAX_QUERIES = 16


def _bulk_tickets(n: int, **extra) -> list[Ticket]:
    now = timezone.now()
    queue = QueueFactory()
    customers = CustomerFactory.create_batch(3)
    assignee = UserFactory(username="someone")
    return Ticket.objects.bulk_create(
        [
            Ticket(
                customer=customers[i % 3],
                queue=queue,
                subject=f"Ticket {i}",
                assignee=assignee if i % 2 else None,
                priority=(i % 4) + 1,
                sla_due_at=now + timedelta(minutes=i - n // 2),
                last_activity_at=now,
                **extra,
            )
            for i in range(n)
        ]
    )


def _bulk_events(ticket: Ticket, n: int, author) -> None:
    now = timezone.now()
    kinds = [
        (Direction.IN, EventKind.MESSAGE, None),
        (Direction.OUT, EventKind.MESSAGE, author),
        (Direction.INTERNAL, EventKind.NOTE, author),
    ]
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                customer_id=ticket.customer_id,
                ticket=ticket,
                channel=Channel.SMS,
                direction=kinds[i % 3][0],
                kind=kinds[i % 3][1],
                author=kinds[i % 3][2],
                body=f"message {i}",
                delivery_status=DeliveryStatus.DELIVERED if i % 3 == 1 else "",
                created_at=now + timedelta(seconds=i),
            )
            for i in range(n)
        ]
    )


# --- Permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,args", [("tickets:queue", []), ("tickets:search", []), ("customers:list", [])])
def test_anonymous_is_sent_to_login(client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_anonymous_ticket_page_redirects_to_login(client):
    ticket = TicketFactory()
    response = client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_non_staff_gets_403(client):
    user = UserFactory(username="customer-user", is_staff=False)
    client.force_login(user)
    ticket = TicketFactory()
    assert client.get(reverse("tickets:queue")).status_code == 403
    assert client.get(reverse("tickets:detail", args=[ticket.pk])).status_code == 403
    assert (
        client.post(reverse("tickets:reply", args=[ticket.pk]), {"body": "x", "channel": "sms"}).status_code
        == 403
    )
    assert not TimelineEvent.objects.exists()


def test_login_form_signs_in_and_lands_on_queue(client, agent):
    page = client.get(reverse("accounts:login"))
    assert b'name="username"' in page.content and b'name="password"' in page.content
    response = client.post(reverse("accounts:login"), {"username": "agent", "password": "pass-word-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:queue")


def test_logout_is_a_post(agent_client):
    response = agent_client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert agent_client.get(reverse("tickets:queue")).status_code == 302


# --- Queue ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 1000])
def test_queue_page_runs_fixed_queries(agent_client, django_assert_max_num_queries, size):
    _bulk_tickets(size)
    with django_assert_max_num_queries(QUEUE_MAX_QUERIES):
        response = agent_client.get(reverse("tickets:queue"))
    assert response.status_code == 200
    assert response.content.count(b'class="ticket-row') == min(size, 50)
    if size == 1000:
        assert b"Load more" in response.content


def test_queue_shows_capped_count_past_a_thousand(agent_client):
    _bulk_tickets(1001)
    response = agent_client.get(reverse("tickets:queue"))
    assert "1,000+ tickets" in response.content.decode()


def test_queue_htmx_request_returns_the_rows_partial(agent_client):
    _bulk_tickets(3)
    response = agent_client.get(
        reverse("tickets:queue"), {"priority": "1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results"
    )
    body = response.content.decode()
    assert "<html" not in body
    assert body.count('class="ticket-row') == 1


def test_queue_load_more_walks_the_cursor(agent_client):
    _bulk_tickets(60)
    first = agent_client.get(reverse("tickets:queue"))
    cursor = first.context["page"].next_cursor
    second = agent_client.get(reverse("tickets:queue"), {"after": cursor}, HTTP_HX_REQUEST="true")
    assert second.content.decode().count('class="ticket-row') == 10
    seen = {t.pk for t in first.context["page"].tickets} | {t.pk for t in second.context["page"].tickets}
    assert len(seen) == 60


def test_queue_bad_cursor_is_400(agent_client):
    assert agent_client.get(reverse("tickets:queue"), {"after": "%%%"}).status_code == 400


def test_queue_marks_overdue_sla(agent_client):
    TicketFactory(sla_due_at=timezone.now() - timedelta(hours=2))
    assert "sla-overdue" in agent_client.get(reverse("tickets:queue")).content.decode()


# --- Ticket page ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 1000])
def test_ticket_page_runs_fixed_queries(agent_client, agent, django_assert_max_num_queries, size):
    ticket = TicketFactory()
    ContactPointFactory(customer=ticket.customer)
    ContactPointFactory(customer=ticket.customer, kind=ContactKind.EMAIL, value="a@example.org")
    TicketFactory.create_batch(3, customer=ticket.customer)
    Macro.objects.create(title="Hello", body="Hi {{ customer.name }}")
    _bulk_events(ticket, size, agent)
    with django_assert_max_num_queries(TICKET_MAX_QUERIES):
        response = agent_client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert response.status_code == 200
    # The latest page of the timeline; older events load on demand.
    shown = response.content.decode().count('class="event ')
    assert shown == min(size, selectors.TIMELINE_PAGE)
    assert ("Load older messages" in response.content.decode()) == (size > selectors.TIMELINE_PAGE)


def test_ticket_page_has_reply_box_and_segment_counter(agent_client):
    ticket = TicketFactory(channel=Channel.SMS)
    body = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'id="id_body"' in body and 'name="body"' in body
    assert "Send reply" in body
    assert '<output id="reply-segments" data-segments-for="id_body"' in body
    assert "sms/segments.js" in body
    assert '<option value="sms" selected>' in body


def test_ticket_page_shows_blocked_reason_and_opt_out_badge(agent_client, agent):
    ticket = TicketFactory()
    point = ContactPointFactory(customer=ticket.customer, opted_out_at=timezone.now(), opt_out_reason="STOP")
    TimelineEventFactory(
        ticket=ticket,
        direction=Direction.OUT,
        contact_point=point,
        delivery_status=DeliveryStatus.BLOCKED,
        delivery_error=f"Not sent: {point.value} opted out (STOP)",
    )
    body = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f"Not sent: {point.value} opted out (STOP)" in body
    assert "opted out (STOP)" in body
    assert "delivery-blocked" in body


def test_ticket_page_escapes_customer_text(agent_client):
    ticket = TicketFactory(subject="<script>alert(1)</script>")
    TimelineEventFactory(ticket=ticket, body="<img src=x onerror=alert(2)>")
    body = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;img src=x" in body


def test_ticket_page_shows_times_in_agent_time_zone(client):
    agent = UserFactory(username="tehran")
    agent.profile.time_zone = "Asia/Tehran"
    agent.profile.save()
    client.force_login(agent)
    ticket = TicketFactory()
    when = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    TimelineEventFactory(ticket=ticket, created_at=when)
    body = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "2026-01-01T15:30:00+03:30" in body


def test_ticket_page_loads_configured_panels(agent_client, settings):
    settings.TICKET_PANELS = ["tickets:timeline"]
    ticket = TicketFactory()
    body = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'hx-get="/tickets/{ticket.pk}/timeline/" hx-trigger="load"' in body


def test_missing_ticket_is_404(agent_client):
    assert agent_client.get(reverse("tickets:detail", args=[999999])).status_code == 404


# --- Actions through the views ----------------------------------------------------------------


def test_reply_via_htmx_returns_timeline_and_queues_outbox(agent_client, agent):
    ticket = TicketFactory(channel=Channel.SMS)
    ContactPointFactory(customer=ticket.customer, value="+14155550111")
    response = agent_client.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"channel": "sms", "body": "We are on our way."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-form-sent"
    assert 'id="timeline"' in response.content.decode()
    assert "We are on our way." in response.content.decode()
    event = TimelineEvent.objects.get(ticket=ticket, direction=Direction.OUT)
    assert event.author == agent
    assert Outbox.objects.filter(event=event).count() == 1


def test_reply_refreshes_the_header_so_a_stale_status_is_not_posted_back(agent_client):
    ticket = TicketFactory(channel=Channel.SMS, status="new")
    ContactPointFactory(customer=ticket.customer, value="+14155550112")
    response = agent_client.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"channel": "sms", "body": "Help is coming."},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="ticket-header"' in html and 'hx-swap-oob="true"' in html
    assert '<option value="open" selected>' in html


def test_reply_without_body_shows_error_and_sends_nothing(agent_client):
    ticket = TicketFactory()
    response = agent_client.post(
        reverse("tickets:reply", args=[ticket.pk]), {"channel": "sms", "body": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response["HX-Retarget"] == "#reply-errors"
    assert "required" in response.content.decode()
    assert not TimelineEvent.objects.filter(ticket=ticket).exists()


def test_reply_without_js_redirects_back(agent_client):
    ticket = TicketFactory()
    ContactPointFactory(customer=ticket.customer)
    response = agent_client.post(reverse("tickets:reply", args=[ticket.pk]), {"channel": "sms", "body": "hi"})
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[ticket.pk])


def test_reply_to_opted_out_number_is_recorded_blocked(agent_client):
    ticket = TicketFactory()
    ContactPointFactory(customer=ticket.customer, opted_out_at=timezone.now())
    response = agent_client.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"channel": "sms", "body": "hello"},
        HTTP_HX_REQUEST="true",
    )
    assert "Not sent:" in response.content.decode()
    assert TimelineEvent.objects.get(ticket=ticket, direction=Direction.OUT).delivery_status == "blocked"
    assert not Outbox.objects.exists()


def test_note_via_htmx_is_internal(agent_client, agent):
    ticket = TicketFactory()
    response = agent_client.post(
        reverse("tickets:note", args=[ticket.pk]), {"body": "Called the shelter"}, HTTP_HX_REQUEST="true"
    )
    assert "Called the shelter" in response.content.decode()
    note = TimelineEvent.objects.get(ticket=ticket)
    assert (note.kind, note.direction, note.author) == (EventKind.NOTE, Direction.INTERNAL, agent)
    assert not Outbox.objects.exists()


def test_update_changes_ticket_through_the_service(agent_client, agent):
    ticket = TicketFactory(status=TicketStatus.NEW)
    other_queue = QueueFactory()
    response = agent_client.post(
        reverse("tickets:update", args=[ticket.pk]),
        {
            "status": "pending",
            "priority": str(Priority.URGENT),
            "assignee": str(agent.pk),
            "queue": str(other_queue.pk),
            "tags": "Flood, urgent-care",
            "version": ticket.version,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="ticket-header"' in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee, ticket.queue) == (
        TicketStatus.PENDING,
        Priority.URGENT,
        agent,
        other_queue,
    )
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["flood", "urgent-care"]
    assert TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS_CHANGE).count() == 1


def test_update_with_bad_status_changes_nothing(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = agent_client.post(
        reverse("tickets:update", args=[ticket.pk]),
        {"status": "exploded", "priority": "3", "queue": str(ticket.queue_id), "version": ticket.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "form-errors" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_each_field_is_saved_on_its_own(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    ticket.tags.create(name="flood")
    response = agent_client.post(
        reverse("tickets:update", args=[ticket.pk]),
        {"priority": str(Priority.HIGH), "version": ticket.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "form-errors" not in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH and ticket.version == 2
    assert list(ticket.tags.values_list("name", flat=True)) == ["flood"]  # not posted, not touched


def test_a_stale_write_is_refused_with_what_changed_and_the_fresh_values(agent_client, agent):
    from helpdesk.tickets.services import update_ticket

    ticket = TicketFactory(status=TicketStatus.OPEN)
    seen = ticket.version  # the agent's page
    colleague = UserFactory(username="sara", first_name="Sara", role="agent")
    update_ticket(ticket=ticket, actor=colleague, assignee=colleague)  # meanwhile, elsewhere
    response = agent_client.post(
        reverse("tickets:update", args=[ticket.pk]),
        {"assignee": str(agent.pk), "version": seen},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert "changed since you opened it" in page and "Sara changed Assignee" in page
    assert f'<option value="{colleague.pk}" selected>' in page  # the header shows her value now
    assert f'name="version" value="{seen + 1}"' in page
    ticket.refresh_from_db()
    assert ticket.assignee == colleague  # nothing overwritten
    # A different field from the same stale page overwrites nobody: it is saved.
    response = agent_client.post(
        reverse("tickets:update", args=[ticket.pk]),
        {"priority": str(Priority.URGENT), "version": seen},
        HTTP_HX_REQUEST="true",
    )
    assert "form-errors" not in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee) == (Priority.URGENT, colleague)


def test_a_stale_write_without_htmx_is_a_409(agent_client, agent):
    from helpdesk.tickets.services import update_ticket

    ticket = TicketFactory(status=TicketStatus.OPEN)
    update_ticket(ticket=ticket, actor=agent, status=TicketStatus.PENDING)
    response = agent_client.post(
        reverse("tickets:update", args=[ticket.pk]), {"status": "solved", "version": 1}
    )
    assert response.status_code == 409
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING


def test_macro_is_filled_with_customer_name(agent_client):
    ticket = TicketFactory(customer=CustomerFactory(name="Leyla"))
    macro = Macro.objects.create(title="Hi", body="Hello {{ customer.name }}, help is coming.")
    response = agent_client.get(reverse("tickets:macro", args=[ticket.pk, macro.pk]))
    assert response.json() == {"body": "Hello Leyla, help is coming."}


def test_timeline_partial(agent_client):
    ticket = TicketFactory()
    TimelineEventFactory(ticket=ticket, body="water rising")
    body = agent_client.get(reverse("tickets:timeline", args=[ticket.pk])).content.decode()
    assert "water rising" in body and "<html" not in body


# --- Search -----------------------------------------------------------------------------------


def test_search_page_short_query_says_so(agent_client):
    body = agent_client.get(reverse("tickets:search"), {"q": "a"}).content.decode()
    assert "at least 2 characters" in body


def test_search_page_finds_persian_message(agent_client):
    event = TimelineEventFactory(body="کمک فوری لازم داریم")
    body = agent_client.get(reverse("tickets:search"), {"q": "فوری"}).content.decode()
    assert f"#event-{event.pk}" in body


# --- Language ---------------------------------------------------------------------------------


def test_persian_pages_are_rtl(agent_client):
    agent_client.post(reverse("set_language"), {"language": "fa", "next": "/tickets/"})
    body = agent_client.get(reverse("tickets:queue")).content.decode()
    assert '<html lang="fa" dir="rtl">' in body


def test_active_crisis_bar_links_to_its_tickets(agent_client):
    from helpdesk.crisis.models import Crisis

    crisis = Crisis.objects.create(title="River flood", status="active", severity=4)
    body = agent_client.get(reverse("tickets:queue")).content.decode()
    assert 'class="crisis-bar"' in body and "River flood" in body
    assert f"?crisis={crisis.pk}" in body


def test_non_staff_cannot_change_tickets(client):
    client.force_login(UserFactory(username="outsider", is_staff=False))
    ticket = TicketFactory(status=TicketStatus.NEW)
    assert client.post(reverse("tickets:note", args=[ticket.pk]), {"body": "x"}).status_code == 403
    update = {"status": "closed", "priority": "1", "queue": str(ticket.queue_id), "version": 1}
    assert client.post(reverse("tickets:update", args=[ticket.pk]), update).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW


def test_managers_keep_canned_replies_with_translations_and_use_counts(client, manager, agent):
    client.force_login(manager)
    url = reverse("tickets:macros")
    client.post(
        url, {"title": "Power back", "language": "en", "body": "Hi {{ customer.name }}, power is back."}
    )
    client.post(
        url, {"title": "Power back", "language": "fa", "body": "سلام {{ customer.name }}، برق برگشت."}
    )
    bad = client.post(url, {"title": "Leak", "language": "en", "body": "{{ agent.password }}"})
    assert "Unknown placeholders" in bad.content.decode()
    assert sorted(Macro.objects.values_list("language", flat=True)) == ["en", "fa"]
    english = Macro.objects.get(language="en")
    ticket = TicketFactory(customer=CustomerFactory(name="Leyla"))
    client.force_login(agent)
    assert client.get(url).status_code == 403  # agents use them; managers keep them
    client.get(reverse("tickets:macro", args=[ticket.pk, english.pk]))
    english.refresh_from_db()
    assert english.uses == 1
    client.force_login(manager)
    page = client.get(url).content.decode()
    assert "Power back" in page and "برق برگشت" in page


def test_a_colleagues_reply_since_the_page_opened_is_shown_before_a_second_answer_goes_out(
    agent_client, agent
):
    """Two agents answer one customer: the second sees "Dara replied…" instead of sending, and
    sending again (the marker moved on) sends theirs too. Their own replies never warn."""
    from helpdesk.tickets.services import send_reply

    ticket = TicketFactory(channel=Channel.SMS)
    ContactPointFactory(customer=ticket.customer, value="+14155550113")
    page = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'name="seen_reply" id="seen-reply" value="0"' in page
    dara = UserFactory(username="dara", first_name="Dara", last_name="Sok")
    send_reply(ticket=ticket, author=dara, body="We are sending a boat.")

    url = reverse("tickets:reply", args=[ticket.pk])
    post = {"channel": "sms", "body": "Help is on its way.", "seen_reply": "0"}
    response = agent_client.post(url, post, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response["HX-Retarget"] == "#reply-errors" and "Dara Sok replied to the customer" in html
    marker = TimelineEvent.objects.get(ticket=ticket, author=dara, direction=Direction.OUT).pk
    assert f'id="seen-reply" value="{marker}" hx-swap-oob="true"' in html
    assert not TimelineEvent.objects.filter(ticket=ticket, author=agent).exists()

    response = agent_client.post(url, {**post, "seen_reply": str(marker)}, HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "ticket-form-sent"
    again = agent_client.post(
        url, {**post, "body": "And a second one.", "seen_reply": str(marker)}, HTTP_HX_REQUEST="true"
    )
    assert again["HX-Trigger"] == "ticket-form-sent"  # its own reply in between: no warning
    assert TimelineEvent.objects.filter(ticket=ticket, author=agent, direction=Direction.OUT).count() == 2
