"""The Persian workspace in a real browser: Persian digits and Solar Hijri dates, right to left;
Khmer digits in the live SMS segment counter. Saves screenshots under artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from helpdesk.tickets import services
from helpdesk.tickets.models import Channel, DeliveryStatus, Direction, Priority, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory, QueueFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ASCII_DIGIT = re.compile(r"[0-9]")
PERSIAN_DIGIT = re.compile(r"[۰-۹]")


@pytest.fixture
def desk(agent):
    agent.profile.time_zone = "Asia/Tehran"
    agent.profile.save()
    queue = QueueFactory(name="Flood response", slug="flood")
    leyla = CustomerFactory(name="لیلا احمدی", language="fa")
    ContactPointFactory(customer=leyla, value="+989121234567")
    main = services.create_ticket(
        customer=leyla,
        subject="آب وارد خانه شده است",
        channel=Channel.SMS,
        queue=queue,
        priority=Priority.URGENT,
    )
    people = ["مریم رضایی", "علی محمدی", "سارا کریمی", "رضا حسینی", "نرگس موسوی", "حسن جعفری"]
    subjects = [
        "برق قطع شده است",
        "آب آشامیدنی نداریم",
        "جاده بسته است",
        "دارو تمام شده",
        "پناهگاه کجاست؟",
        "کودک گم شده",
    ]
    for n, (name, subject) in enumerate(zip(people, subjects, strict=True)):
        other = CustomerFactory(name=name, language="fa")
        ticket = services.create_ticket(customer=other, subject=subject, channel=Channel.SMS, queue=queue)
        # Due from two hours ago to three hours ahead: overdue, soon and later rows.
        ticket.__class__.objects.filter(pk=ticket.pk).update(
            sla_due_at=timezone.now() + timedelta(hours=n - 2)
        )
    TimelineEvent.objects.create(
        customer=leyla,
        ticket=main,
        channel=Channel.SMS,
        direction=Direction.IN,
        body="سلام، آب تا زانو بالا آمده. کد پستی 1234",
        delivery_status=DeliveryStatus.RECEIVED,
        created_at=timezone.now() - timedelta(minutes=12),
    )
    return {"ticket": main}


def in_language(page, live_server, language: str) -> None:
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )


def test_persian_queue_and_ticket_show_persian_digits(live_server, page, screenshot, desk):
    ticket = desk["ticket"]
    login(page, live_server, "agent")
    in_language(page, live_server, "fa")
    page.goto(f"{live_server.url}/tickets/")
    page.wait_for_selector("html[dir=rtl] .ticket-row")
    summary = page.inner_text(".queue-summary")
    assert PERSIAN_DIGIT.search(summary) and not ASCII_DIGIT.search(summary), summary
    ids = page.locator(".ticket-row .ticket-id").all_inner_texts()
    assert ids and all(PERSIAN_DIGIT.search(t) and not ASCII_DIGIT.search(t) for t in ids), ids
    slas = page.locator(".ticket-row .sla time").all_inner_texts()
    assert any(PERSIAN_DIGIT.search(t) for t in slas) and not any(ASCII_DIGIT.search(t) for t in slas), slas
    assert not ASCII_DIGIT.search(page.get_attribute(".ticket-row .sla time", "title") or "")
    screenshot(page, "queue_fa")

    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.wait_for_selector("#timeline .event")
    when = page.locator("#timeline .event time").first
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+03:30", when.get_attribute("datetime") or "")
    text = when.inner_text()
    assert PERSIAN_DIGIT.search(text) and not ASCII_DIGIT.search(text), text
    assert any(
        month in text
        for month in (
            "فروردین",
            "اردیبهشت",
            "خرداد",
            "تیر",
            "مرداد",
            "شهریور",
            "مهر",
            "آبان",
            "آذر",
            "دی",
            "بهمن",
            "اسفند",
        )
    ), text
    assert "1234" in page.inner_text("#timeline .event-body")  # what the customer typed stays
    page.fill("#id_body", "در راه هستیم")
    page.wait_for_function("() => /[۰-۹]/.test(document.getElementById('reply-segments').textContent)")
    counter = page.inner_text("#reply-segments")
    assert not ASCII_DIGIT.search(counter.replace("UCS-2", "").replace("GSM-7", "")), counter
    screenshot(page, "ticket_fa_digits")


def test_khmer_segment_counter_writes_khmer_digits(live_server, page, screenshot, desk):
    login(page, live_server, "agent")
    in_language(page, live_server, "km")
    page.goto(f"{live_server.url}/tickets/{desk['ticket'].pk}/")
    page.fill("#id_body", "យើងកំពុងមក")
    page.wait_for_function("() => /[០-៩]/.test(document.getElementById('reply-segments').textContent)")
    counter = page.inner_text("#reply-segments").replace("UCS-2", "")
    assert not ASCII_DIGIT.search(counter), counter
    screenshot(page, "ticket_km_digits")
