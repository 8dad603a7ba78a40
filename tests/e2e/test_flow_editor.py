"""A manager builds a three-step flow in the editor, previews it, publishes it, starts it for a
customer, and the customer answers from the phone simulator."""

from __future__ import annotations

import pytest

from helpdesk.accounts.models import Role
from tests.factories import UserFactory
from tests.fixtures.browser import login
from triage.models import Flow, Run, RunStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550142"


def add_step(
    page, *, kind: str, question: str, question_fa: str = "", choices: str = "", extra: dict | None = None
):
    form = page.locator("form.triage-step-form")
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=text_en]").fill(question)
    if question_fa:
        form.locator("input[name=text_fa]").fill(question_fa)
    if choices:
        form.locator("textarea[name=choices_en]").fill(choices)
    for name, value in (extra or {}).items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def test_manager_builds_previews_publishes_and_customer_completes(page, live_server, screenshot, settings):
    settings.DEMO_PHONE_ENABLED = True
    UserFactory(username="maria", role=Role.MANAGER)
    login(page, live_server, "maria")
    page.goto(f"{live_server.url}/triage/flows/")
    page.fill("input[name=name]", "Storm check")
    page.click("text=Create flow")
    page.wait_for_load_state("networkidle")

    add_step(
        page,
        kind="single",
        question="What hurts most right now?",
        question_fa="الان چه چیزی بیشتر آسیب می‌زند؟",
        choices="Cash = 4\nStaff = 2\nSupplies = 1",
    )
    add_step(page, kind="number", question="How many people are affected?", extra={"bands": "50- = 4"})
    add_step(page, kind="yesno", question="Is anyone in danger?", extra={"yes_weight": "4"})
    assert page.locator("li.triage-step").count() == 3

    page.click("button:has-text('Start preview')")
    page.wait_for_load_state("networkidle")
    for answer in ("2", "sixty", "yes"):
        page.fill("#preview-answer", answer)
        page.click(".triage-preview-reply button")
        page.wait_for_load_state("networkidle")
    bubbles = page.locator(".triage-phone .bubble")
    assert "What hurts most right now?" in bubbles.first.inner_text()
    assert "Severity" in bubbles.last.inner_text()
    screenshot(page, "flow_preview")

    page.click("text=Publish this version")
    page.wait_for_load_state("networkidle")
    flow = Flow.objects.get(name="Storm check")
    assert flow.versions.get().is_published

    page.fill("#start-phone", PHONE)
    page.click("text=Send first question")
    page.wait_for_load_state("networkidle")
    run = Run.objects.get(flow_version__flow=flow)
    assert run.status == RunStatus.ACTIVE

    response = page.goto(f"{live_server.url}/demo/phone/?number={PHONE.replace('+', '%2B')}")
    if response is None or response.status != 200:
        pytest.fail("the phone simulator /demo/phone/ is not available")
    page.locator(".bubble-in").first.wait_for()
    assert "What hurts most right now?" in page.locator(".bubble-in").first.inner_text()
    for answer in ("1", "120", "no"):
        before = page.locator(".bubble-in").count()
        page.fill("#phone-body", answer)
        page.click("#phone-send")
        page.wait_for_function(
            "n => document.querySelectorAll('.bubble-in').length > n", arg=before, timeout=15_000
        )
    assert "Thank you." in page.locator(".bubble-in").last.inner_text()
    screenshot(page, "flow_phone")
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.outcome["answers"] == {
        "what_hurts_most_right_now": "cash",
        "how_many_people_are_affected": 120,
        "is_anyone_in_danger": False,
    }
    assert run.severity == 3  # 4 (cash) + 4 (50 or more people) = 8 on the default bands


def test_agent_guided_run_on_the_ticket_page(page, live_server, screenshot):
    from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory
    from triage.services import seed_stop_the_bleeding

    seed_stop_the_bleeding()
    UserFactory(username="ana", role=Role.AGENT)
    point = ContactPointFactory(value="+14155550143", customer=CustomerFactory(name="Bakery Nour"))
    ticket = TicketFactory(customer=point.customer, subject="Flood closed the shop")
    login(page, live_server, "ana")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    panel = page.locator(".triage-panel")
    panel.locator("select[name=mode]").select_option("agent")
    with page.expect_response(lambda r: "/triage/tickets/" in r.url and r.request.method == "POST"):
        panel.locator("button:has-text('Start triage')").click()
    for answer in ("35", "1", "4", "a", "Pay our five bakers this week"):
        page.locator(".triage-panel input[name=answer]").fill(answer)
        with page.expect_response(lambda r: "/answer/" in r.url):
            page.locator(".triage-panel button:has-text('Record answer')").click()
        page.wait_for_timeout(100)  # let htmx swap the fragment in
    summary = page.locator(".triage-summary")
    summary.wait_for()
    assert "Severity 5 of 5" in summary.inner_text()
    assert "Pay our five bakers this week" in summary.inner_text()
    run = Run.objects.get(ticket=ticket)
    assert run.status == RunStatus.COMPLETED and run.outcome["playbook"]["name"] == "Safety first"
    screenshot(page, "triage_panel")
