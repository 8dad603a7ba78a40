"""Winning back trust, as a manager sees it in the browser.

A customer answered 1 to the SMS survey: the case page shows the template apology and the plan;
the manager sends the apology and marks every step done, and the customer hears "it is fixed" and
gets a re-survey on SMS. The satisfaction report draws its charts in English and in Persian (right
to left, Persian digits). Screenshots: recovery-case-en, recovery-case-fixed-en, csat-report-en,
csat-report-fa; no CSP violation or script error on any of them."""

from __future__ import annotations

import pytest
from django.conf import settings

from helpdesk.feedback import surveys
from helpdesk.feedback.models import RecoveryCase, Survey, SurveyState, SurveyTrigger
from helpdesk.tickets.models import TimelineEvent
from tests.feedback.test_recovery import answer_low
from tests.feedback.test_reports import _responses
from tests.fixtures.browser import login, watch_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_score_of_1_is_won_back_step_by_step(page, asgi_server, manager, screenshot):
    live_server = asgi_server  # HTTP and the workspace websocket, as in production
    survey = answer_low(phone="+14155550199", name="Dara Sok", subject="Card frozen abroad")
    ticket = survey.ticket
    surveys.record_comment(survey=survey, text="Nobody called me back for two days.")
    case = RecoveryCase.objects.get()

    problems = watch_problems(page)
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/recovery/")
    page.get_by_role("link", name="Dara Sok").click()
    page.wait_for_load_state("networkidle")
    assert "Card frozen abroad" in page.locator("#case-apology").input_value()
    assert page.locator(".recovery-plan li").count() == 3
    screenshot(page, "recovery-case-en")

    page.get_by_role("button", name="Send the apology").click()
    page.wait_for_load_state("networkidle")
    for _ in range(3):
        page.get_by_role("button", name="Mark done").first.click()
        page.wait_for_load_state("networkidle")
    assert "Fixed, customer told" in page.locator(".case-facts").inner_text()
    screenshot(page, "recovery-case-fixed-en")

    sent = list(
        TimelineEvent.objects.filter(ticket=ticket, direction="out")
        .order_by("id")
        .values_list("payload", flat=True)
    )
    assert any(p.get("apology") for p in sent) and any(p.get("fixed") for p in sent)
    resurvey = Survey.objects.get(trigger=SurveyTrigger.RESURVEY)
    assert (
        resurvey.recovery_id == case.pk and resurvey.channel == "sms" and resurvey.state == SurveyState.ASKED
    )
    assert problems == [], problems


def test_the_csat_report_draws_its_charts_in_english_and_persian(page, asgi_server, manager, screenshot):
    live_server = asgi_server  # HTTP and the workspace websocket, as in production
    _responses(2_000)
    problems = watch_problems(page)
    login(page, live_server, "manager")
    for language in ("en", "fa"):
        page.context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/feedback/reports/")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
        assert page.locator("svg[role=img]").count() == 4
        assert page.locator("svg[role=img] rect").count() > 20
        if language == "fa":
            assert any(d in page.locator(".counters").inner_text() for d in "۰۱۲۳۴۵۶۷۸۹")
        screenshot(page, f"csat-report-{language}")
    assert problems == [], problems
