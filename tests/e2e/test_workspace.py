"""The agent workspace in a real browser: log in, work the queue, reply without a reload."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from helpdesk.customers.models import ContactKind
from helpdesk.tickets import services
from helpdesk.tickets.models import Channel, DeliveryStatus, Direction, Priority, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory, QueueFactory, UserFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workspace_data():
    """A small, realistic desk: a few tickets in several scripts, one with a conversation."""
    UserFactory(username="dana", first_name="Dana")
    queue = QueueFactory(name="Flood response", slug="flood")
    leyla = CustomerFactory(name="لیلا احمدی", language="fa")
    ContactPointFactory(customer=leyla, value="+989121234567")
    sokha = CustomerFactory(name="Sokha Chan", language="km")
    stopped = ContactPointFactory(customer=sokha, value="+85512345678")
    ravi = CustomerFactory(name="Ravi Kumar", language="kn")
    ContactPointFactory(customer=ravi, kind=ContactKind.EMAIL, value="ravi@example.org")
    main = services.create_ticket(
        customer=leyla,
        subject="آب وارد خانه شده است",
        channel=Channel.SMS,
        queue=queue,
        priority=Priority.URGENT,
    )
    services.create_ticket(customer=sokha, subject="ត្រូវការទឹកស្អាត", channel=Channel.SMS, queue=queue)
    services.create_ticket(
        customer=ravi,
        subject="Road to shelter blocked",
        channel=Channel.EMAIL,
        queue=queue,
        priority=Priority.HIGH,
    )
    late = services.create_ticket(
        customer=ravi, subject="Medicine running out", channel=Channel.EMAIL, queue=queue
    )
    three_hours_ago = timezone.now() - timedelta(hours=3)
    late.__class__.objects.filter(pk=late.pk).update(
        sla_due_at=three_hours_ago, first_response_due_at=three_hours_ago
    )
    TimelineEvent.objects.create(
        customer=leyla,
        ticket=main,
        channel=Channel.SMS,
        direction=Direction.IN,
        body="سلام، آب تا زانو بالا آمده. بچه‌ها با من هستند. چه کار کنم؟",
        delivery_status=DeliveryStatus.RECEIVED,
        created_at=timezone.now() - timedelta(minutes=12),
    )
    stopped.opted_out_at = timezone.now()
    stopped.opt_out_reason = "STOP"
    stopped.save()
    return {"ticket": main}


def test_agent_replies_and_sees_it_without_reload(live_server, page, screenshot, agent, workspace_data):
    ticket = workspace_data["ticket"]
    login(page, live_server, "agent")
    page.goto(f"{live_server.url}/tickets/")
    page.wait_for_selector(".ticket-row")
    assert page.locator(".ticket-row").count() == 4
    assert page.locator(".sla-overdue").count() == 1
    screenshot(page, "queue")

    page.click(f"a[href='/tickets/{ticket.pk}/']")
    page.wait_for_selector("#timeline")
    marker = page.evaluate("() => (window.__noReload = 'still-here')")
    page.fill("#id_body", "We are sending a boat. Go to the roof with the children.")
    page.click("button:has-text('Send reply')")
    page.wait_for_selector("#timeline .event.dir-out:has-text('We are sending a boat')")
    assert page.evaluate("() => window.__noReload") == marker  # same document: no reload happened
    assert page.input_value("#id_body") == ""
    screenshot(page, "ticket")
    assert TimelineEvent.objects.filter(ticket=ticket, direction=Direction.OUT).count() == 1


def test_queue_filter_uses_htmx_and_pushes_url(live_server, page, agent, workspace_data):
    login(page, live_server, "agent")
    page.goto(f"{live_server.url}/tickets/")
    page.wait_for_selector(".ticket-row")
    page.evaluate("() => (window.__noReload = 1)")
    page.select_option("#f-priority", str(Priority.URGENT))
    page.wait_for_function("() => document.querySelectorAll('.ticket-row').length === 1")
    assert "priority=1" in page.url
    assert page.evaluate("() => window.__noReload") == 1


def test_persian_layout_is_rtl(live_server, page, screenshot, agent, workspace_data):
    ticket = workspace_data["ticket"]
    login(page, live_server, "agent")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.select_option("#lang-select", "fa")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("html[dir=rtl]")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "fa"
    screenshot(page, "ticket_fa")


def test_new_customer_message_appears_without_reload(live_server, page, agent, workspace_data):
    # The test server speaks no websockets, so this exercises the polling fallback.
    ticket = workspace_data["ticket"]
    login(page, live_server, "agent")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.wait_for_selector("#timeline")
    page.evaluate("() => (window.__noReload = 1)")
    TimelineEvent.objects.create(
        customer=ticket.customer,
        ticket=ticket,
        channel=Channel.SMS,
        direction=Direction.IN,
        body="The water is still rising",
        delivery_status=DeliveryStatus.RECEIVED,
        created_at=timezone.now(),
    )
    page.wait_for_selector("#timeline .event:has-text('The water is still rising')", timeout=12_000)
    assert page.evaluate("() => window.__noReload") == 1


def test_search_and_customer_pages(live_server, page, screenshot, agent, workspace_data):
    ticket = workspace_data["ticket"]
    login(page, live_server, "agent")
    page.goto(f"{live_server.url}/tickets/")
    page.fill("#nav-search", "زانو")
    page.press("#nav-search", "Enter")
    page.wait_for_selector(".search-events li")
    assert (
        page.locator(
            f"a[href='/tickets/{ticket.pk}/#event-{TimelineEvent.objects.filter(ticket=ticket).first().pk}']"
        ).count()
        == 1
    )
    screenshot(page, "search")
    page.goto(f"{live_server.url}/customers/{ticket.customer_id}/")
    page.wait_for_selector(".contact-points")
    assert page.locator("text=آب وارد خانه شده است").count() >= 1
    screenshot(page, "customer")


def test_websocket_pushes_new_events_to_the_open_ticket(asgi_server, page, agent, workspace_data):
    ticket = workspace_data["ticket"]
    login(page, asgi_server, "agent")
    page.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
    page.wait_for_selector("html[data-live-transport=ws]")
    page.evaluate("() => (window.__noReload = 1)")

    # Another thread stands in for another agent's request: Playwright's event loop owns this one,
    # and the realtime notice (async_to_sync) cannot run inside it.
    def add_note_elsewhere() -> None:
        try:
            services.add_note(ticket=ticket, author=agent, body="Boat team 3 is on its way")
        finally:
            connection.close()

    other = threading.Thread(target=add_note_elsewhere)
    other.start()
    other.join()
    # Well inside the 5 s polling interval: only the websocket can have delivered it this fast.
    page.wait_for_selector("#timeline .event:has-text('Boat team 3 is on its way')", timeout=3_000)
    assert page.evaluate("() => window.__noReload") == 1
    assert page.get_attribute("html", "data-live-transport") == "ws"


def test_load_more_appends_the_next_keyset_page(live_server, page, agent):
    from helpdesk.tickets.models import Ticket

    queue, customer, now = QueueFactory(), CustomerFactory(), timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                customer=customer, queue=queue, subject=f"Report {i}", sla_due_at=now, last_activity_at=now
            )
            for i in range(70)
        ]
    )
    login(page, live_server, "agent")
    page.goto(f"{live_server.url}/tickets/")
    page.wait_for_selector(".ticket-row")
    assert page.locator(".ticket-row").count() == 50
    page.click("#queue-more a")
    page.wait_for_function("() => document.querySelectorAll('.ticket-row').length === 70")
    ids = page.eval_on_selector_all(".ticket-row", "rows => rows.map(r => r.dataset.ticketId)")
    assert len(set(ids)) == 70
    assert page.locator("#queue-more").count() == 0
