"""Bulk reply to 1,000 SMS tickets, end to end: the agent's form in a browser, a real Celery worker
working through the chunks, each reply through the outbox and the real Twilio SDK
to the project's fake Twilio; the queue keeps answering meanwhile."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.utils import timezone

from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.tickets.models import BulkAction, BulkStatus, Direction, Macro, Ticket, TimelineEvent
from tests.factories import QueueFactory, UserFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TICKETS = 1000
OPTED_OUT = 25
TEXTS = {
    "en": "Power is back in your street, {{ customer.name }}.",
    "fa": "برق خیابان شما برگشت، {{ customer.name }}.",
    "km": "ភ្លើងបានមកវិញហើយ {{ customer.name }}។",
}


def _surge() -> tuple[object, list[ContactPoint]]:
    """1,000 open SMS tickets in the outage queue, a third each in English, Persian and Khmer."""
    queue = QueueFactory(slug="outage", name="Outage")
    languages = ["en", "fa", "km"]
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Customer {i}", language=languages[i % 3]) for i in range(TICKETS)]
    )
    now = timezone.now()
    points = ContactPoint.objects.bulk_create(
        [
            ContactPoint(
                customer=c,
                kind="phone",
                value=f"+1415600{i:04d}",
                verified=True,
                language=c.language,
                opted_out_at=now if i < OPTED_OUT else None,
            )  # fmt: skip
            for i, c in enumerate(customers)
        ]
    )
    Ticket.objects.bulk_create(
        [
            Ticket(
                customer=c,
                subject="No power",
                queue=queue,
                channel="sms",
                language=c.language,
                status="open",
                sla_due_at=now,
                first_response_due_at=now,
                resolution_due_at=now,
                last_activity_at=now,
            )  # fmt: skip
            for c in customers
        ]
    )
    for language, body in TEXTS.items():
        Macro.objects.create(title="Power back", language=language, body=body)
    return queue, points


def test_a_bulk_reply_reaches_each_customer_once_in_their_language(
    fake_twilio, celery_worker_process, live_server, page, screenshot
):
    queue, points = _surge()
    UserFactory(username="leyla", role="agent")
    login(page, live_server, "leyla")
    page.goto(f"{live_server.url}/tickets/?queue={queue.pk}&status=open")
    page.click("summary:has-text('Bulk action')")
    page.select_option("#b-action", "reply")
    page.select_option("#b-macro", str(Macro.objects.get(language="en").pk))
    page.click(".bulk-form button[type=submit]")
    assert "This applies to 1000 tickets" in page.inner_text(".bulk-count")
    page.click(".bulk-form button[type=submit]")  # start
    page.wait_for_selector("#bulk-progress")

    # While the worker goes through the chunks, the queue keeps answering.
    queue_times = []
    shown = False
    job = BulkAction.objects.get()
    deadline = time.monotonic() + 240
    while BulkAction.objects.get(pk=job.pk).status == BulkStatus.RUNNING and time.monotonic() < deadline:
        started = time.monotonic()
        response = page.request.get(f"{live_server.url}/tickets/?queue={queue.pk}")
        assert response.status == 200
        queue_times.append(time.monotonic() - started)
        current = BulkAction.objects.get(pk=job.pk)
        if not shown and 0 < current.done < current.total:
            page.wait_for_selector(".bulk-numbers:not(:has-text('0 done,'))")  # the bar moved
            screenshot(page, "bulk-progress-running")
            shown = True
        time.sleep(0.5)
    job.refresh_from_db()
    assert job.status == BulkStatus.DONE, job.status
    assert (job.done, job.skipped) == (TICKETS - OPTED_OUT, OPTED_OUT)
    page.wait_for_selector(".bulk-numbers:has-text('975 done')")
    screenshot(page, "bulk-progress-done")

    # Each reachable customer got exactly one message, in their language; the opted-out none.
    def texts():
        return Counter(m["to"] for m in fake_twilio.messages())

    deadline = time.monotonic() + 120
    while sum(texts().values()) < TICKETS - OPTED_OUT and time.monotonic() < deadline:
        time.sleep(0.5)
    sent = texts()
    assert set(sent.values()) == {1} and len(sent) == TICKETS - OPTED_OUT
    assert not {p.value for p in points[:OPTED_OUT]} & set(sent)
    bodies = {m["to"]: m["body"] for m in fake_twilio.messages()}
    for point in points[OPTED_OUT:]:
        expected = TEXTS[point.language].replace("{{ customer.name }}", point.customer.name)
        assert bodies[point.value] == expected
    # Each reply is on its own ticket, recorded once.
    outbound = Counter(
        TimelineEvent.objects.filter(direction=Direction.OUT, ticket__queue=queue).values_list(
            "ticket_id", flat=True
        )
    )
    assert len(outbound) == TICKETS and set(outbound.values()) == {1}  # the opted-out: blocked, recorded
    print(f"queue page during the bulk reply: {len(queue_times)} loads, max {max(queue_times):.2f} s")
