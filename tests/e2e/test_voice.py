"""The call simulator's keypad walks the real IVR (the fake Twilio rings the live server's voice
webhook); the agent then finds the call, its IVR path and the voicemail with its recording on the
ticket's timeline. Saves artifacts/screenshots/call_simulator.png (both pages side by side) and
voice_ticket_en.png / voice_ticket_fa.png (the agent's timeline in English and Persian), and the
IVR editor's ivr_editor_en.png / ivr_editor_fa.png.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from channels_app.voice.models import Call, CallOutcome
from helpdesk.crisis.models import Crisis, CrisisStatus
from tests.fixtures.browser import SCREENSHOTS, login, side_by_side
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NUMBER = "+14155550166"


def _in_language(page, live_server, language: str) -> None:
    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )


def test_the_keypad_walks_the_ivr_and_the_voicemail_lands_on_the_timeline(
    live_server, browser, agent, manager, fake_twilio, settings
):
    settings.DEMO_PHONE_ENABLED = True
    settings.PUBLIC_BASE_URL = live_server.url  # the fake rings this server and calls back here
    Crisis.objects.create(
        title="Flood",
        status=CrisisStatus.ACTIVE,
        texts={
            "en": {"summary": "The river flooded the town.", "what_to_do": "Freeze your card in the app."}
        },
    )
    size = {"width": 680, "height": 960}
    phone_ctx, agent_ctx = browser.new_context(viewport=size), browser.new_context(viewport=size)
    phone, desk = phone_ctx.new_page(), agent_ctx.new_page()
    try:
        phone.goto(f"{live_server.url}/demo/call/?number=%2B14155550166")
        phone.fill("#call-voicemail", "My card is frozen and I am stuck abroad.")
        phone.click("#call-start")
        # An unknown number: the language menu first, each line in its own language.
        phone.locator(".call-steps .bubble-in", has_text="For English, press 1.").wait_for(timeout=15_000)
        phone.locator(".call-waiting").wait_for(timeout=15_000)
        phone.get_by_role("button", name="Press 1", exact=True).click()
        phone.locator(".bubble-in", has_text="The river flooded the town.").wait_for(timeout=15_000)
        phone.locator(".bubble-in", has_text="To leave a voicemail, press 3.").wait_for()
        phone.locator(".call-waiting").wait_for(timeout=15_000)
        phone.get_by_role("button", name="Press 3", exact=True).click()
        phone.locator(".bubble-out", has_text="My card is frozen").wait_for(timeout=15_000)
        phone.locator(".call-status[data-status='completed']").wait_for(timeout=20_000)
        assert phone.locator(".bubble-out", has_text="You pressed 1").count() == 1

        call = wait_until(
            lambda: Call.objects.filter(from_number=NUMBER, status="completed").first(), timeout=15
        )
        assert call.outcome == CallOutcome.VOICEMAIL and call.language == "en"
        wait_until(lambda: call.ticket.events.filter(kind="voicemail", body__startswith="My card").exists())

        login(desk, live_server, "agent")
        desk.goto(f"{live_server.url}/tickets/{call.ticket_id}/")
        summary = desk.locator("article.kind-call .call-summary")
        summary.wait_for()
        assert "ivr → language:en → menu:3 → voicemail" in summary.inner_text()
        voicemail = desk.locator("article.kind-voicemail")
        assert "My card is frozen and I am stuck abroad." in voicemail.inner_text()
        audio = voicemail.locator("audio.media-audio")
        assert audio.count() == 1
        # The recording plays through the authenticated proxy: the browser can load it.
        playable = desk.evaluate(
            "src => fetch(src).then(r => r.ok && r.headers.get('content-type'))", audio.get_attribute("src")
        )
        assert playable == "audio/mpeg"
        desk.locator(".voice-panel").wait_for()

        side_by_side(browser, (phone, desk), "call_simulator", height=980)
        desk.screenshot(path=str(SCREENSHOTS / "voice_ticket_en.png"), full_page=True)
        _in_language(desk, live_server, "fa")
        desk.reload()
        desk.locator("html[dir='rtl']").wait_for()
        desk.locator("article.kind-call .call-summary").wait_for()
        desk.screenshot(path=str(SCREENSHOTS / "voice_ticket_fa.png"), full_page=True)

        boss = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        login(boss, live_server, "manager")
        for language in ("en", "fa"):
            _in_language(boss, live_server, language)
            boss.goto(f"{live_server.url}/voice/ivr/")
            assert boss.locator("#ivr-stats dd").first.inner_text() in ("1", "۱")  # one call so far
            boss.screenshot(path=str(SCREENSHOTS / f"ivr_editor_{language}.png"), full_page=True)
        boss.context.close()
    finally:
        phone_ctx.close()
        agent_ctx.close()
