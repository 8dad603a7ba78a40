"""The sign-in page after too many failures, as a person sees it (in Persian too): the pause is
explained, the password is not checked. Saves artifacts/screenshots/signin_paused_{en,fa}.png."""

from __future__ import annotations

import pytest

from helpdesk.accounts import throttle

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Too many failed sign-ins. Try again in 15 minutes."), ("fa", "15 دقیقه دیگر دوباره تلاش کنید.")],
)
def test_a_paused_sign_in_says_how_long_to_wait(live_server, browser, agent, screenshot, language, expected):
    context = browser.new_context(locale=language, extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        for _ in range(throttle.FAILURES_PER_USERNAME):
            page.fill("input[name=username]", "agent")
            page.fill("input[name=password]", "wrong")
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
        page.fill("input[name=username]", "agent")
        page.fill("input[name=password]", "pass-word-123")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("button[type=submit]")
        assert answer.value.status == 429
        alert = page.locator("[role=alert]").inner_text()
        assert expected in alert, alert
        screenshot(page, f"signin_paused_{language}")
    finally:
        context.close()
