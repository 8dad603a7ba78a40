"""Two agents on one ticket: each sees the other viewing and replying, and the second to answer
is warned before the customer gets two answers (screenshot under artifacts/screenshots/)."""

from __future__ import annotations

import pytest

from helpdesk.tickets.models import Channel, Direction, TimelineEvent
from tests.factories import ContactPointFactory, TicketFactory, UserFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_two_agents_see_each_others_presence_and_the_second_answer_is_held(asgi_server, browser, screenshot):
    from helpdesk import redis_client

    for key in redis_client.get().scan_iter("tourniquet:presence:*"):
        redis_client.get().delete(key)
    UserFactory(username="leyla", first_name="Leyla", last_name="Karimi")
    UserFactory(username="dara", first_name="Dara", last_name="Sok")
    ticket = TicketFactory(channel=Channel.SMS, status="open", subject="Roof leaking")
    ContactPointFactory(customer=ticket.customer, value="+14155550177")
    pages = {}
    contexts = []
    try:
        for name in ("leyla", "dara"):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(15_000)
            login(page, asgi_server, name)
            page.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
            page.wait_for_function("() => document.documentElement.dataset.liveTransport === 'ws'")
            pages[name] = page
        leyla, dara = pages["leyla"], pages["dara"]
        leyla.locator("#presence", has_text="Dara Sok is viewing").wait_for()
        dara.locator("#presence", has_text="Leyla Karimi is viewing").wait_for()

        dara.fill("#id_body", "A roofer is on the way.")
        dara.locator("#id_body").press("End")  # typing: an input event
        dara.locator("#id_body").type(" ")
        leyla.locator("#presence", has_text="Dara Sok is replying…").wait_for()
        leyla.fill("#id_body", "We are sending someone today.")
        screenshot(leyla, "presence_replying")
        dara.get_by_role("button", name="Send reply").click()
        dara.locator("article.event", has_text="A roofer is on the way.").wait_for()

        leyla.get_by_role("button", name="Send reply").click()
        warning = leyla.locator("#reply-errors", has_text="Dara Sok replied to the customer since you opened")
        warning.wait_for()
        screenshot(leyla, "presence_collision_warning")
        assert not TimelineEvent.objects.filter(
            ticket=ticket, direction=Direction.OUT, author__username="leyla"
        ).exists()
        leyla.get_by_role("button", name="Send reply").click()  # read it; send anyway
        leyla.locator("article.event", has_text="We are sending someone today.").wait_for()
        assert TimelineEvent.objects.filter(ticket=ticket, direction=Direction.OUT).count() == 2
    finally:
        for context in contexts:
            context.close()
