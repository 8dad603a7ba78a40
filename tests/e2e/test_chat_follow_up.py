"""Outside the widget's business hours: the widget says when it opens and offers an answer by SMS;
the visitor proves the number with the code (typed in Persian digits) and the agent's reply
goes by SMS. The managers' widget page, in English and Persian (screenshots under artifacts/)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from helpdesk.customers.models import ContactPoint
from helpdesk.digits import ARABEXT, write
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import reply_channel_for
from tests.e2e.test_chat import HOST_PAGE
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+351912345678"


def test_a_visitor_out_of_hours_leaves_a_number_proven_by_a_code(
    asgi_server, foreign_site, browser, screenshot, settings
):
    from channels_app.chat.models import ChatWidget

    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "chat": "channels_app.chat.gateway.ChatGateway"}
    site, pages = foreign_site
    tomorrow = (timezone.localtime(timezone.now(), timezone.get_fixed_timezone(210)).weekday() + 1) % 7
    widget = ChatWidget.objects.create(
        name="Airline", allowed_origins=site, time_zone="Asia/Tehran", hours=[[tomorrow, "08:00", "18:00"]],
        greeting={"fa": "در سفر مانده‌اید؟ بنویسید."},
    )  # fmt: skip
    pages["/"] = HOST_PAGE.format(
        lang="fa", dir="rtl", heading="پرواز شما", desk=asgi_server.url, key=widget.key
    ).encode()
    context = browser.new_context(viewport={"width": 900, "height": 820}, locale="fa")
    try:
        visitor = context.new_page()
        visitor.set_default_timeout(15_000)
        visitor.goto(site + "/")
        visitor.click(".tq-launcher")
        visitor.locator(".tq-status", has_text="تعطیل").wait_for()
        visitor.fill(".tq-start input[name=name]", "لیلا")
        visitor.click(".tq-start button")
        visitor.fill(".tq-text", "پروازم لغو شد و در لیسبون مانده‌ام")
        visitor.keyboard.press("Enter")
        visitor.locator(".tq-me:not(.tq-pending)").wait_for()
        follow = visitor.locator(".tq-follow")
        follow.wait_for()
        follow.locator("input[name=address]").fill("+351 912 345 678")
        follow.locator("button").click()
        visitor.locator(".tq-note", has_text=PHONE).wait_for()
        code = re.search(r"\d{6}", Outbox.objects.filter(to=PHONE).latest("id").body).group(0)
        follow.locator("input[name=code]").fill(write(code, ARABEXT))
        screenshot(visitor, "chat_follow_up_code_fa")
        follow.locator("button").click()
        visitor.locator(".tq-status", has_text=PHONE).wait_for()
        screenshot(visitor, "chat_follow_up_done_fa")
    finally:
        context.close()
    ticket = Ticket.objects.get(channel="sms")
    assert ContactPoint.objects.get(value=PHONE, customer=ticket.customer).verified
    assert reply_channel_for(ticket) == "sms"


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_managers_widget_page(asgi_server, browser, manager, screenshot, language):
    from channels_app.chat.models import ChatWidget

    ChatWidget.objects.create(
        name="Airline help", allowed_origins="https://fly.example.org", time_zone="Asia/Tehran",
        hours=[[d, "08:00", "20:00"] for d in range(5)],
        greeting={"en": "Stuck abroad? Write to us.", "fa": "در سفر مانده‌اید؟ بنویسید."},
    )  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.context.add_cookies(
            [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": asgi_server.url}]
        )
        login(page, asgi_server, manager.username)
        page.goto(f"{asgi_server.url}/manage/chat/")
        page.locator("code.snippet").wait_for()
        screenshot(page, f"chat_widgets_{language}")
        page.click("table a")
        page.locator("input[type=time]").first.wait_for()
        assert page.locator("#id_opens_0").input_value() == "08:00"
        screenshot(page, f"chat_widget_form_{language}")
    finally:
        context.close()


def _png(width: int = 160, height: int = 100) -> bytes:
    """A real PNG (a blue card with a red stripe) the browser decodes and the agent sees."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + (b"\xdc\x26\x26" if 40 <= y < 55 else b"\x1d\x4e\xd8") * width for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_a_visitors_photo_shows_on_the_agents_ticket(
    asgi_server, foreign_site, browser, agent, screenshot, settings
):
    from channels_app.chat.models import ChatWidget

    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "chat": "channels_app.chat.gateway.ChatGateway"}
    site, pages = foreign_site
    widget = ChatWidget.objects.create(name="Bank", allowed_origins=site)
    pages["/"] = HOST_PAGE.format(
        lang="en", dir="ltr", heading="Your bank", desk=asgi_server.url, key=widget.key
    ).encode()
    visitor_ctx = browser.new_context(viewport={"width": 900, "height": 760})
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        visitor = visitor_ctx.new_page()
        visitor.set_default_timeout(15_000)
        visitor.goto(site + "/")
        visitor.click(".tq-launcher")
        visitor.fill(".tq-start input[name=name]", "Leyla")
        visitor.click(".tq-start button")
        visitor.set_input_files(
            ".tq-attach input",
            files=[{"name": "frozen-card.png", "mimeType": "image/png", "buffer": _png()}],
        )
        visitor.locator(".tq-me:not(.tq-pending)", has_text="frozen-card.png").wait_for()
        screenshot(visitor, "chat_upload_visitor_en")
        ticket = Ticket.objects.get(channel="chat")
        page = agent_ctx.new_page()
        page.set_default_timeout(15_000)
        login(page, asgi_server, agent.username)
        page.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
        image = page.locator("article.event a.media-image img")
        image.wait_for()
        assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 160
        screenshot(page, "chat_upload_agent_en")
    finally:
        visitor_ctx.close()
        agent_ctx.close()
