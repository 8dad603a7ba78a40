"""The email pages a person sees, in English and Persian: the managers' mailboxes page and the
public unsubscribe page (screenshots under artifacts/screenshots/)."""

from __future__ import annotations

import pytest
from django.conf import settings

from channels_app.email import inbound
from channels_app.email.models import Mailbox
from channels_app.email.unsubscribe import url_for
from helpdesk.customers.models import ContactPoint
from tests.factories import ContactPointFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "fa"])
def test_mailboxes_page_shows_doors_and_unrecorded_mail(page, live_server, manager, screenshot, language):
    Mailbox.objects.create(
        address="help@desk.test", door="imap", host="imap.desk.test", last_error="connect failed"
    )
    Mailbox.objects.create(address="claims@desk.test", door="smtp")
    assert inbound.accept(b"To: help@desk.test\r\nSubject: nobody\r\n\r\nno sender", source="test")
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    login(page, live_server, manager.username)
    page.goto(f"{live_server.url}/email/mailboxes/")
    body = page.inner_text("main")
    assert "help@desk.test" in body and "claims@desk.test" in body and "connect failed" in body
    assert "no sender address" in body
    screenshot(page, f"email_mailboxes_{language}")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_unsubscribe_page_asks_then_opts_out(page, live_server, screenshot, language, settings):
    point = ContactPointFactory(kind="email", value=f"reader-{language}@example.com", verified=True)
    settings.PUBLIC_BASE_URL = live_server.url
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.goto(url_for(point.value))
    screenshot(page, f"email_unsubscribe_{language}")
    assert ContactPoint.objects.get(pk=point.pk).opted_out_at is None
    page.click("main button[type=submit]")
    page.wait_for_selector("[role=status]")
    assert ContactPoint.objects.get(pk=point.pk).opted_out_at is not None
    screenshot(page, f"email_unsubscribed_{language}")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_manager_writes_an_email_broadcast_in_the_browser(page, live_server, manager, screenshot, language):
    from helpdesk.crisis.models import Broadcast
    from tests.factories import CustomerFactory

    for i in range(3):
        customer = CustomerFactory(tags=["north"])
        ContactPointFactory(kind="email", value=f"north{i}@example.com", verified=True, customer=customer)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    login(page, live_server, manager.username)
    page.goto(f"{live_server.url}/manage/crisis/broadcasts/new/")
    page.fill("#id_name", "Flood: branches closed")
    page.select_option("#id_channel", "email")
    page.fill("#id_tags", "north")
    page.fill("#id_subject_en", "Our northern branches are closed today")
    page.fill("#id_subject_fa", "شعبه‌های شمال امروز بسته‌اند")
    page.fill("#id_body_en", "All branches in the north are closed today. Freeze a card online.")
    page.fill("#id_body_fa", "همهٔ شعبه‌های شمال امروز بسته‌اند. کارت را آنلاین مسدود کنید.")
    screenshot(page, f"broadcast_email_form_{language}")
    page.click("form.card button[type=submit]")
    page.wait_for_selector('[data-preview="recipients"]')
    broadcast = Broadcast.objects.get()
    assert broadcast.channel == "email" and broadcast.subject_for("fa") == "شعبه‌های شمال امروز بسته‌اند"
    preview = page.inner_text("main")
    assert "شعبه‌های شمال امروز بسته‌اند" in preview
    assert page.inner_text('[data-preview="recipients"]') == ("3" if language == "en" else "۳")
    screenshot(page, f"broadcast_email_preview_{language}")
