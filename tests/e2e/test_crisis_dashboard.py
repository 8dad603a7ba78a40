"""The crisis dashboard as a manager sees it: charts drawn (server-side SVG, no script library),
no CSP violation, in English and in Persian (right to left, Persian digits); screenshots
artifacts/screenshots/crisis-dashboard-en.png and crisis-dashboard-fa.png."""

from __future__ import annotations

import pytest
from django.conf import settings

from helpdesk.crisis.models import Deflection
from tests.crisis.test_dashboard import _crisis, _grow
from tests.fixtures.browser import login, watch_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_draws_its_charts_in_english_and_persian(page, asgi_server, manager, screenshot):
    live_server = asgi_server  # HTTP and the workspace websocket, as in production
    crisis = _crisis(began_hours_ago=40)
    _grow(crisis, contacts=3000)
    assert Deflection.objects.filter(crisis=crisis).exists()
    problems = watch_problems(page)
    login(page, live_server, "manager")
    for language in ("en", "fa"):
        page.context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/manage/crisis/{crisis.pk}/dashboard/")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
        charts = page.locator("svg[role=img]")
        assert charts.count() >= 5
        assert page.locator("svg[role=img] rect").count() > 50  # bars drawn, not an empty frame
        if language == "fa":
            assert any(d in page.locator("main").inner_text() for d in "۰۱۲۳۴۵۶۷۸۹")
        screenshot(page, f"crisis-dashboard-{language}")
    assert problems == [], problems  # no CSP violation, no script error
