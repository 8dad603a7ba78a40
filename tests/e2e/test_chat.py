"""The chat widget on a customer's website (another origin) and the agent in the workspace, in
two browser contexts: each sees the other's messages live (screenshots under artifacts/)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings

from helpdesk.tickets.models import Ticket, TimelineEvent
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOST_PAGE = """<!doctype html><html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<title>Shop</title></head><body><h1>{heading}</h1>
<script src="{desk}/embed/chat.js" data-widget="{key}" async></script></body></html>"""


@pytest.fixture
def customer_site(foreign_site):
    """A customer's website on its own origin, embedding the widget with one script tag."""
    return foreign_site


@pytest.mark.parametrize("language", ["en", "fa"])
def test_a_visitor_on_another_site_chats_with_an_agent(
    asgi_server, customer_site, browser, agent, screenshot, settings, language
):
    from channels_app.chat.models import ChatWidget

    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "chat": "channels_app.chat.gateway.ChatGateway"}
    site, pages = customer_site
    widget = ChatWidget.objects.create(
        name="Shop", allowed_origins=site, greeting={"en": "Hi! How can we help?"}
    )
    heading = "پرواز شما" if language == "fa" else "Your flight"
    pages["/"] = HOST_PAGE.format(
        lang=language,
        dir="rtl" if language == "fa" else "ltr",
        heading=heading,
        desk=asgi_server.url,
        key=widget.key,
    ).encode()
    size = {"width": 900, "height": 760}
    visitor_ctx = browser.new_context(viewport=size, locale=language)
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        visitor = visitor_ctx.new_page()
        visitor.set_default_timeout(15_000)
        visitor.goto(site + "/")
        visitor.click(".tq-launcher")
        visitor.fill(".tq-start input[name=name]", "Leyla" if language == "en" else "لیلا")
        visitor.click(".tq-start button")
        question = (
            "My flight was cancelled, <b>what now</b>?"
            if language == "en"
            else "پروازم لغو شد، <b>چه کنم</b>؟"
        )
        visitor.fill(".tq-text", question)
        visitor.keyboard.press("Enter")
        visitor.locator(".tq-me:not(.tq-pending)", has_text=question).wait_for()

        ticket = Ticket.objects.get(channel="chat")
        page = agent_ctx.new_page()
        page.set_default_timeout(15_000)
        page.context.add_cookies(
            [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": asgi_server.url}]
        )
        login(page, asgi_server, agent.username)
        page.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
        page.locator("article.event", has_text=question).wait_for()  # shown as text, markup and all
        answer = (
            "We rebooked you on LH 1173 tomorrow."
            if language == "en"
            else "شما را برای فردا در پرواز LH 1173 جا دادیم."
        )
        # Typing shows both ways: the agent's first keys reach the widget, which hides it on the reply.
        page.locator("#id_body").press_sequentially(answer[:3])
        visitor.locator(".tq-typing").wait_for(state="visible")
        page.fill("#id_body", answer)
        page.locator(
            "form button[type=submit]", has_text="Send reply" if language == "en" else "ارسال پاسخ"
        ).click()
        visitor.locator(".tq-them", has_text=answer).wait_for()
        # Hidden by the reply; a presence update still saying "replying" may cross the reply on
        # the way (two Redis paths, no order between them) and show it again until the agent's
        # page says "viewing" a moment later: the indicator must be gone within seconds.
        visitor.locator(".tq-typing").wait_for(state="hidden", timeout=5_000)
        assert visitor.locator(".tq-log b").count() == 0  # the visitor's markup stayed text
        # Each message in its own script's direction, whatever the page's.
        # (Checked per bubble by its script, not by position: a reconnect may redraw the log.)
        bubbles = visitor.eval_on_selector_all(
            ".tq-body", "ps => ps.map(p => [p.textContent, getComputedStyle(p).direction])"
        )
        persian = re.compile("[\u0600-\u06ff]")
        assert {text for text, _d in bubbles} >= {question, answer}
        for text, direction in bubbles:
            assert direction == ("rtl" if persian.search(text) else "ltr"), (text, direction)
        assert visitor.locator(".tq-status").inner_text() != "Reconnecting…"
        assert visitor.locator(".tq-chat").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")

        # The customer writes again; the agent's open ticket shows it without a reload.
        follow_up = "Thank you!" if language == "en" else "ممنونم!"
        visitor.locator(".tq-text").press_sequentially(follow_up)
        customer_typing = "The customer is typing…" if language == "en" else "مشتری در حال نوشتن است…"
        page.locator("#presence", has_text=customer_typing).wait_for()
        visitor.keyboard.press("Enter")
        page.locator("article.event", has_text=follow_up).wait_for()
        screenshot(visitor, f"chat_visitor_{language}")
        screenshot(page, f"chat_agent_{language}")
        reply = TimelineEvent.objects.get(channel="chat", direction="out")
        assert reply.body == answer
    finally:
        visitor_ctx.close()
        agent_ctx.close()


def test_the_widget_survives_a_killed_server_without_losing_or_doubling_a_message(
    asgi_process, customer_site, browser, agent, settings
):
    """kill -9 of the ASGI server mid-conversation: what the visitor writes while it is down waits
    in the widget, the widget reconnects when it is back, and every message is stored once; the
    reply sent meanwhile reaches the visitor from the conversation's history."""
    from channels_app.chat.models import ChatWidget
    from helpdesk.messaging import inbox
    from helpdesk.tickets.services import send_reply
    from tests.fixtures.processes import wait_until

    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "chat": "channels_app.chat.gateway.ChatGateway"}
    site, pages = customer_site
    widget = ChatWidget.objects.create(name="Shop", allowed_origins=site)
    pages["/"] = HOST_PAGE.format(
        lang="en", dir="ltr", heading="Shop", desk=asgi_process.url, key=widget.key
    ).encode()
    context = browser.new_context()
    try:
        visitor = context.new_page()
        visitor.set_default_timeout(20_000)
        visitor.goto(site + "/")
        visitor.click(".tq-launcher")
        visitor.fill(".tq-start input[name=name]", "Sam")
        visitor.click(".tq-start button")
        visitor.fill(".tq-text", "first, before the crash")
        visitor.keyboard.press("Enter")
        visitor.locator(".tq-me:not(.tq-pending)", has_text="first, before the crash").wait_for()

        asgi_process.kill()
        visitor.locator(".tq-status", has_text="Reconnecting").wait_for()
        visitor.fill(".tq-text", "second, while it is down")
        visitor.keyboard.press("Enter")
        visitor.locator(".tq-me.tq-pending", has_text="second, while it is down").wait_for()
        wait_until(lambda: inbox.drain() or Ticket.objects.filter(channel="chat").exists())
        send_reply(
            ticket=Ticket.objects.get(channel="chat"), author=agent, body="Reply sent during the outage"
        )

        asgi_process.start()
        visitor.locator(".tq-me:not(.tq-pending)", has_text="second, while it is down").wait_for()
        visitor.locator(".tq-them", has_text="Reply sent during the outage").wait_for()
        wait_until(
            lambda: inbox.drain() or TimelineEvent.objects.filter(channel="chat", direction="in").count() == 2
        )
        visitor.reload()  # the conversation survives a page load (still open), each message once
        visitor.locator(".tq-them", has_text="Reply sent during the outage").wait_for()
        texts = visitor.locator(".tq-body").all_inner_texts()
        assert texts.count("first, before the crash") == 1 and texts.count("second, while it is down") == 1
        assert texts.count("Reply sent during the outage") == 1
        bodies = list(
            TimelineEvent.objects.filter(channel="chat", direction="in").values_list("body", flat=True)
        )
        assert sorted(bodies) == ["first, before the crash", "second, while it is down"]
    finally:
        context.close()


def test_the_stop_the_bleeding_flow_runs_in_the_widget_with_buttons(
    asgi_server, customer_site, browser, agent, settings, screenshot
):
    from channels_app.chat.models import ChatWidget
    from triage import services as triage_services

    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "chat": "channels_app.chat.gateway.ChatGateway"}
    flow = triage_services.seed_stop_the_bleeding()
    site, pages = customer_site
    widget = ChatWidget.objects.create(name="Shop", allowed_origins=site)
    pages["/"] = HOST_PAGE.format(
        lang="en", dir="ltr", heading="Shop", desk=asgi_server.url, key=widget.key
    ).encode()
    context = browser.new_context(viewport={"width": 900, "height": 820})
    try:
        visitor = context.new_page()
        visitor.set_default_timeout(15_000)
        visitor.goto(site + "/")
        visitor.click(".tq-launcher")
        visitor.fill(".tq-start input[name=name]", "Maryam")
        visitor.click(".tq-start button")
        visitor.fill(".tq-text", "Our shop is flooded")
        visitor.keyboard.press("Enter")
        visitor.locator(".tq-me:not(.tq-pending)", has_text="Our shop is flooded").wait_for()
        ticket = Ticket.objects.get(channel="chat")
        point = ticket.customer.contact_points.get(kind="chat")
        triage_services.start_run(
            flow=flow,
            customer=ticket.customer,
            ticket=ticket,
            actor=agent,
            contact_point=point,
            channel="chat",
        )
        visitor.locator(".tq-them", has_text="How many of your employees").wait_for()
        assert visitor.locator(".tq-choice").count() == 0  # a number: typed
        visitor.fill(".tq-text", "40")
        visitor.keyboard.press("Enter")
        for _ in range(3):  # finances, exhaustion, danger: one tap each
            visitor.locator(".tq-choice").first.wait_for()
            if _ == 0:
                screenshot(visitor, "chat_triage_buttons")
            visitor.locator(".tq-choice").first.click()
        visitor.locator(".tq-them", has_text="most important thing to solve").wait_for()  # typed
        assert visitor.locator(".tq-choice").count() == 0
        visitor.fill(".tq-text", "Pumping the water out")
        visitor.keyboard.press("Enter")
        ticket.refresh_from_db()
        deadline_ok = False
        for _ in range(50):
            ticket.refresh_from_db()
            if ticket.severity:
                deadline_ok = True
                break
            visitor.wait_for_timeout(200)
        assert deadline_ok, "the run never set the ticket's severity"
        run = ticket.triage_runs.get()
        assert run.status == "completed" and run.channel == "chat"
        assert set(run.state["answers"]) == {"affected", "finances", "exhaustion", "danger", "focus"}
    finally:
        context.close()
