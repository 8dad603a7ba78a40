"""The contact form in a real browser: inline errors, Persian right-to-left, one ticket per submit."""

from __future__ import annotations

import pytest

from helpdesk.tickets.models import TimelineEvent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    """The live server shares this process's cache: start with an empty per-IP counter."""
    from django.core.cache import cache

    cache.clear()


def test_errors_show_inline_then_submit_gives_ticket_number(live_server, page, screenshot):  # noqa: F811
    page.goto(f"{live_server.url}/contact/")
    page.fill("#id_name", "Alice Morgan")
    page.fill("#id_email", "not-an-email")
    page.fill("#id_subject", "Card frozen")
    page.fill("#id_message", "The flood closed the branch and my card is frozen.")
    page.click("button[type=submit]")
    error = page.locator(".webform-field.has-error .webform-field-errors")
    assert error.count() == 1
    assert error.first.is_visible()
    screenshot(page, "webform_contact_error")
    assert not TimelineEvent.objects.exists()

    page.fill("#id_email", "alice@example.com")
    page.click("button[type=submit]")
    page.wait_for_url("**/contact/thanks/**")
    event = TimelineEvent.objects.get(provider="webform")
    assert f"#{event.ticket_id}" in page.locator(".webform-ticket").inner_text()
    screenshot(page, "webform_thanks")


def test_persian_form_is_rtl_and_round_trips(live_server, page, screenshot):  # noqa: F811
    page.set_extra_http_headers({"Accept-Language": "fa"})
    page.goto(f"{live_server.url}/contact/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("#id_language").input_value() == "fa"
    body = "خانه‌ام زیر آب رفته و کارتم مسدود است."
    page.fill("#id_name", "مریم احمدی")
    page.fill("#id_email", "maryam@example.com")
    page.fill("#id_phone", "+98 912 123 4567")
    page.fill("#id_subject", "کارت مسدود")
    page.fill("#id_message", body)
    screenshot(page, "webform_contact_fa")
    page.click("button[type=submit]")
    page.wait_for_url("**/contact/thanks/**")
    event = TimelineEvent.objects.get(provider="webform")
    assert event.body == body
    assert event.ticket.language == "fa"
    assert set(event.customer.contact_points.values_list("kind", flat=True)) == {"email", "phone"}
