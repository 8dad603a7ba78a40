"""Search in a real browser, in Persian: normalized matches marked, more pages loaded in place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.tickets import selectors
from helpdesk.tickets.models import Channel, Direction, TimelineEvent
from tests.factories import CustomerFactory, QueueFactory, TicketFactory, UserFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def persian_history():
    UserFactory(username="agent")
    customer = CustomerFactory(name="مريم كريمي", language="fa")
    ticket = TicketFactory(customer=customer, subject="كارت بانكي مسدود شد", queue=QueueFactory(name="Flood"))
    start = timezone.now() - timedelta(days=200)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            ticket=ticket,
            customer=customer,
            channel=Channel.SMS,
            direction=Direction.IN,
            # Arabic keyboard letters, ZWNJ and Persian digits: the agent types none of them.
            body=f"سلام، كارت من در فروشگاه کار نمی‌کند. شماره ۰۹۱۲۱۲۳۴۵۶۷ — پیام {i}",
            created_at=start + timedelta(hours=i),
        )
        for i in range(selectors.SEARCH_PAGE_SIZE + 10)
    )
    return ticket


def test_persian_search_marks_normalized_matches_and_loads_more(
    live_server, page, screenshot, persian_history
):
    page.context.add_cookies([{"name": "django_language", "value": "fa", "url": live_server.url}])
    login(page, live_server, "agent")
    page.goto(f"{live_server.url}/tickets/search/?q=کارت+من")
    page.wait_for_selector(".search-results li")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator(".search-results li.search-event").count() == selectors.SEARCH_PAGE_SIZE
    assert page.locator(".search-results mark").first.inner_text() == "كارت من"
    # The Persian UI writes its counts in Persian digits (helpdesk/localformat.py).
    assert page.locator(".search-tabs [aria-current=page] .count").inner_text().strip() == "۳۵"
    screenshot(page, "search-fa")
    page.click("#search-more a")
    rows = selectors.SEARCH_PAGE_SIZE + 10
    page.locator(f".search-results li.search-event >> nth={rows - 1}").wait_for()
    assert page.locator("#search-more").count() == 0
    page.fill("#search-q", "۰۹۱۲۱۲۳")
    page.press("#search-q", "Enter")
    page.wait_for_selector(".search-results mark")
    assert page.locator(".search-results mark").first.inner_text() == "۰۹۱۲۱۲۳"
