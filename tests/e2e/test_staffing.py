"""Reports and the staffing plan in the browser, in English and Persian (right to left, Persian
digits), with no CSP violation or script error. Screenshots: reports-en, reports-fa, staffing-plan-en,
staffing-plan-fa."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from helpdesk.staffing import rollups
from helpdesk.staffing.demo import seed_staffing_story
from tests.fixtures.browser import login, watch_problems
from tests.staffing.test_reports import BEGIN, _desk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reports_and_the_staffing_plan_in_english_and_persian(page, asgi_server, manager, agent, screenshot):
    live_server = asgi_server
    _desk(600)
    rollups.refresh(now=BEGIN + timedelta(days=8))
    seed_staffing_story(agents=[manager, agent])
    tomorrow = (timezone.now().astimezone(UTC) + timedelta(days=1)).date().isoformat()
    problems = watch_problems(page)
    login(page, live_server, "manager")
    for language in ("en", "fa"):
        page.context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/reports/?since=2026-11-02&until=2026-11-08")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
        assert page.locator("svg[role=img]").count() == 6
        if language == "fa":
            assert any(d in page.locator(".counters").inner_text() for d in "۰۱۲۳۴۵۶۷۸۹")
        screenshot(page, f"reports-{language}")
        page.goto(f"{live_server.url}/staffing/?day={tomorrow}&broadcast_recipients=10000&broadcast_at=09:00")
        page.wait_for_load_state("networkidle")
        assert page.locator("svg[role=img] rect").count() > 40
        screenshot(page, f"staffing-plan-{language}")
    assert problems == [], problems
