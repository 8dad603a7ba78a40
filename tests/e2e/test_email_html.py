"""Acceptance 4 of the email issue: script, event-handler, `javascript:` and remote-image payloads in
HTML mail are inert in the agent's browser. Screenshots in English and Persian."""

from __future__ import annotations

import pytest
from django.conf import settings

from channels_app.email import inbound
from helpdesk.tickets.models import Ticket
from tests.channels_app.email.mails import message
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAYLOAD = (
    "<p>سلام، آب وارد زیرزمین شد. Our basement is flooded.</p>"
    '<p onmouseover="window.top.pwned=1">hover me</p>'
    "<script>window.top.pwned = 1; document.title = 'pwned'</script>"
    '<img src="x" onerror="window.top.pwned=1" alt="broken">'
    '<a id="js" href="javascript:window.top.pwned=1">click for details</a>'
    '<img src="https://tracker.example/pixel.gif?who=agent" alt="tracking pixel">'
    '<svg onload="window.top.pwned=1"></svg>'
    '<form action="https://evil.example/"><input name="password"><button>Sign in</button></form>'
)


@pytest.fixture
def html_ticket(settings):
    settings.EMAIL_TRUSTED_AUTHSERV_IDS = ["mx.desk.test"]
    msg = message(subject="زیرزمین ما را آب گرفت / flooded basement", message_id="<e2e-html@example.com>")
    msg.set_content("Our basement is flooded.\n\nOn Mon, Help wrote:\n> Please send photos.")
    msg.add_alternative(PAYLOAD, subtype="html")
    assert inbound.accept(msg.as_bytes(), source="test")
    return Ticket.objects.get()


@pytest.mark.parametrize("language", ["en", "fa"])
def test_html_mail_is_inert_in_the_agent_ui(page, live_server, agent, html_ticket, screenshot, language):
    # Chromium reports a load the CSP refused as a request that failed with reason "csp",
    # before anything leaves the machine: those are the only requests for remote hosts allowed.
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    refused: list[str] = []
    page.on("requestfailed", lambda request: refused.append(f"{request.url} {request.failure}"))
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    login(page, live_server, agent.username)
    page.goto(f"{live_server.url}/tickets/{html_ticket.pk}/")
    page.click(".mail-html > summary")
    frame_element = page.wait_for_selector("iframe.mail-frame")
    frame = frame_element.content_frame()
    frame.wait_for_load_state()
    assert "flooded" in frame.inner_text("body")
    frame.hover("text=hover me")
    link = frame.locator("a", has_text="click for details")
    assert link.count() == 1 and link.get_attribute("href") is None
    link.click()
    assert frame.locator("form, script, svg, input").count() == 0
    page.click(".mail-fold > summary >> nth=0")  # the quoted history
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    assert page.title() != "pwned"
    remote = [url for url in requested if "tracker.example" in url or "evil.example" in url]
    assert remote, "the page never asked for the tracking pixel: the test would prove nothing"
    assert all(f"{url} csp" in refused for url in remote), refused
    screenshot(page, f"email_html_inert_{language}")
