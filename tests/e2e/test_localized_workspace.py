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


def test_persian_customer_and_preferences_pages(live_server, page, screenshot, desk):
    customer = desk["ticket"].customer
    login(page, live_server, "agent")
    in_language(page, live_server, "fa")
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    page.wait_for_selector("html[dir=rtl] .timeline time")
    for text in page.locator("main time").all_inner_texts():
        assert PERSIAN_DIGIT.search(text) and not ASCII_DIGIT.search(text), text
    screenshot(page, "customer_fa")

    page.goto(f"{live_server.url}/accounts/preferences/")
    page.select_option("#id_calendar", "gregorian")
    page.click(".preferences button[type=submit]")
    page.wait_for_selector(".messages")
    sample = page.inner_text(".preferences time")
    assert PERSIAN_DIGIT.search(sample) and not any(m in sample for m in ("آذر", "دی", "فروردین")), sample
    screenshot(page, "preferences_fa")


def test_persian_broadcast_page_counts_in_persian_digits(live_server, page, screenshot):
    from helpdesk.accounts.models import Role
    from helpdesk.crisis import services as crisis
    from tests.factories import UserFactory

    UserFactory(username="boss", role=Role.MANAGER)
    for n in range(12):
        ContactPointFactory(
            customer=CustomerFactory(tags=["north"], language="fa"), value=f"+98912000{n:04d}"
        )
    outage = crisis.create_crisis(title="قطعی شبکه", severity=4)
    crisis.activate_crisis(crisis=outage)
    broadcast = crisis.create_broadcast(
        name="اطلاعیهٔ قطعی",
        crisis=outage,
        bodies={"fa": "تماس‌ها در شمال قطع است."},
        audience={"tags": ["north"]},
    )
    login(page, live_server, "boss")
    in_language(page, live_server, "fa")
    page.goto(f"{live_server.url}/manage/crisis/broadcasts/{broadcast.pk}/")
    assert page.inner_text("[data-preview=recipients]") == "۱۲"
    for text in page.locator(".counters dd").all_inner_texts():
        assert not ASCII_DIGIT.search(text), text
    assert "۴" in page.inner_text(".crisis-bar")  # severity in the active-crisis bar
    screenshot(page, "broadcast_fa")
