"""A customer abroad (a Cambodian number) signs in to the portal with a code sent by SMS through the
fake Twilio, freezes their card through the demo bank, and sees the result; the agent sees it on
the customer's timeline. In English and in Persian (right to left). Screenshots: portal-sign-in-fa,
portal-home-en, portal-freeze-done-en, portal-freeze-done-fa, portal-timeline-agent-en."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from helpdesk.portal.fake_backends import FakeBackends
from helpdesk.portal.models import ActionUse, SelfServiceAction
from tests.factories import ContactPointFactory, CustomerFactory
from tests.fixtures.browser import login, watch_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "bank-secret-0123456789"


@pytest.fixture
def bank(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    backends = FakeBackends(secret=SECRET).start()
    yield backends
    backends.stop()


def _freeze_action(bank) -> SelfServiceAction:
    return SelfServiceAction.objects.create(
        slug="freeze-card", title={"en": "Freeze my card", "fa": "مسدود کردن کارت"},
        description={"en": "Stops every payment with the card at once.",
                     "fa": "همهٔ پرداخت‌ها با کارت را فوراً متوقف می‌کند."},
        url=bank.url + "/bank/freeze", secret=SECRET,
        fields=[{"name": "card", "label": {"en": "Last 4 digits of the card", "fa": "۴ رقم آخر کارت"},
                 "kind": "text", "required": True, "max_length": 4}],
        result_text={"en": "Your card is frozen. Reference {reference}.",
                     "fa": "کارت شما مسدود شد. شمارهٔ پیگیری {reference}."},
    )  # fmt: skip


def _sign_in(page, server, fake_twilio, number: str, language: str) -> None:
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": server.url}])
    page.goto(f"{server.url}/portal/?lang={language}")
    page.fill("#portal-value", number)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/portal/code/")
    sms = fake_twilio.wait_for(to=number, count=1)[-1]
    page.fill("#portal-code", re.search(r"\d{6}", sms["body"]).group(0))
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/portal/home/")


def test_a_customer_abroad_freezes_their_card_and_the_agent_sees_it(
    page, asgi_server, fake_twilio, bank, agent, screenshot
):
    server = asgi_server
    number = "+85512340001"
    point = ContactPointFactory(value=number, customer=CustomerFactory(name="Sok Dara", language="en"))
    _freeze_action(bank)
    problems = watch_problems(page)

    page.goto(f"{server.url}/portal/?lang=fa")
    assert page.locator("html").get_attribute("dir") == "rtl"
    screenshot(page, "portal-sign-in-fa")
    _sign_in(page, server, fake_twilio, number, "en")
    screenshot(page, "portal-home-en")
    page.get_by_role("link", name="Freeze my card").click()
    page.fill("#f-card", "4242")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/portal/uses/*/")
    page.locator(".portal-result--done").wait_for(timeout=15_000)
    assert "Your card is frozen. Reference FRZ-" in page.locator(".portal-result").inner_text()
    screenshot(page, "portal-freeze-done-en")
    use = ActionUse.objects.get()
    assert bank.done == {str(use.idempotency_key): 1}

    # The same in Persian: a second customer.
    other = "+85512340002"
    ContactPointFactory(value=other, customer=CustomerFactory(name="مریم", language="fa"))
    page.context.clear_cookies()
    _sign_in(page, server, fake_twilio, other, "fa")
    page.get_by_role("link", name="مسدود کردن کارت").click()
    page.fill("#f-card", "۱۲۳۴")
    page.locator("form button[type=submit]").click()
    page.locator(".portal-result--done").wait_for(timeout=15_000)
    assert "کارت شما مسدود شد" in page.locator(".portal-result").inner_text()
    assert page.locator("html").get_attribute("dir") == "rtl"
    screenshot(page, "portal-freeze-done-fa")

    page.context.clear_cookies()
    login(page, server, "agent")
    page.goto(f"{server.url}/customers/{point.customer_id}/")
    timeline = page.locator(".timeline").inner_text()
    assert "Self-service: Freeze my card" in timeline and "Your card is frozen" in timeline
    screenshot(page, "portal-timeline-agent-en")
    assert problems == [], problems
