"""Phone simulator and agent side by side: the customer texts through the signed webhook, the agent
answers on the ticket page, the reply reaches the phone via the fake Twilio, and its segment count
was shown live while typing. Saves artifacts/screenshots/phone_simulator.png (both pages, side by side).
"""

from __future__ import annotations

import pytest

from helpdesk.tickets.models import Ticket
from tests.fixtures.browser import login, side_by_side
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NUMBER = "+14155550188"


def test_customer_and_agent_side_by_side(live_server, browser, agent, fake_twilio, settings):
    settings.DEMO_PHONE_ENABLED = True
    settings.PUBLIC_BASE_URL = live_server.url  # the fake's signed status callbacks come back here
    size = {"width": 680, "height": 900}
    phone_ctx, agent_ctx = browser.new_context(viewport=size), browser.new_context(viewport=size)
    phone, desk = phone_ctx.new_page(), agent_ctx.new_page()
    try:
        phone.goto(f"{live_server.url}/demo/phone/?number=%2B14155550188")
        phone.fill("#phone-body", "I cut my hand badly — سلام")
        phone.click("#phone-send")
        phone.locator(".bubble-out", has_text="I cut my hand badly").wait_for()
        assert phone.input_value("#phone-body") == ""

        ticket = wait_until(lambda: Ticket.objects.filter(customer__contact_points__value=NUMBER).first())
        login(desk, live_server, "agent")
        desk.goto(f"{live_server.url}/tickets/{ticket.pk}/")
        desk.get_by_text("I cut my hand badly").first.wait_for()
        desk.fill("#id_body", "Press firmly on the cut with a clean cloth. محکم فشار دهید")
        segments = desk.locator("#reply-segments")
        assert "UCS-2" in segments.inner_text() and "1" in segments.inner_text()
        desk.get_by_role("button", name="Send reply").click()

        reply = phone.locator(".bubble-in", has_text="Press firmly on the cut")
        reply.wait_for(timeout=15_000)
        phone.locator(".bubble-in", has_text="delivered").wait_for(timeout=15_000)
        assert fake_twilio.messages(to=NUMBER)[0]["body"].startswith("Press firmly")
        desk.reload()
        desk.locator("article.event", has_text="Press firmly").locator(".delivery-delivered").wait_for()

        side_by_side(browser, (phone, desk), "phone_simulator", height=920)
    finally:
        phone_ctx.close()
        agent_ctx.close()
