"""The seeded "Stop the bleeding" flow in Persian over SMS, with Persian digits, end to end:
signed Twilio webhooks → the production web server (gunicorn) → a real Celery worker → the engine →
the next question sent through the real Twilio SDK to the project's fake Twilio server.
"""

from __future__ import annotations

import time

import pytest

from helpdesk.customers.models import ContactPoint
from helpdesk.tickets.models import EventKind, Priority, Queue, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory
from triage import services
from triage.models import Run, RunStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "+14155550177"
PERSIAN_ANSWERS = ["۱۲۰", "۱", "۴", "۱", "پرداخت حقوق کارکنان این ماه"]
# The most severe answer to each question: 1,000+ people (4), income stopped (3), loss (3),
# safety (4): score 14, severity 5.
SEVERE_ANSWERS = ["5000", "1", "4", "1", "Our staff cannot get to work safely"]


def _wait(predicate, *, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s")


def _texts_to(fake_twilio, number: str) -> list[str]:
    return [m["body"] for m in fake_twilio.messages(to=number)]


def test_seeded_flow_in_persian_over_sms(fake_twilio, celery_worker_process, app_server):
    flow = services.seed_stop_the_bleeding()
    point = ContactPointFactory(value=CUSTOMER, language="fa", customer=CustomerFactory(language="fa"))
    run = services.start_run(flow=flow, customer=point.customer, language="fa")
    first = _wait(lambda: _texts_to(fake_twilio, CUSTOMER), timeout=30)
    assert "چند نفر" in first[0]

    for n, answer in enumerate(PERSIAN_ANSWERS, start=1):
        response = app_server.post_sms(sender=CUSTOMER, body=answer)
        assert response.status_code == 200
        # The worker answers every message: the next question (or the closing line) reaches Twilio.
        _wait(lambda n=n: len(_texts_to(fake_twilio, CUSTOMER)) >= n + 1, timeout=30)

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.outcome["answers"]["affected"] == 120 and run.outcome["answers"]["danger"] == "safety"
    ticket = run.ticket
    ticket.refresh_from_db()
    assert ticket.severity == 5 and ticket.priority == Priority.URGENT
    playbook = run.outcome["playbook"]
    assert playbook["option_1"] and playbook["option_2"] and playbook["option_1"] != playbook["option_2"]
    note = TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.NOTE).last()
    assert playbook["option_1"] in note.body and playbook["option_2"] in note.body
    assert TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.TRIAGE_ANSWER).count() == 5
    texts = _texts_to(fake_twilio, CUSTOMER)
    assert "سپاسگزاریم" in texts[-1]
    assert "چه چیزی بیشترین اثر" in texts[1]


def test_severe_answers_over_sms_land_the_ticket_in_the_seeded_crisis_response_queue(
    fake_twilio, celery_worker_process, app_server
):
    flow = services.seed_stop_the_bleeding()
    point = ContactPointFactory(value=CUSTOMER, customer=CustomerFactory(language="en"))
    run = services.start_run(flow=flow, customer=point.customer)
    assert run.ticket.queue.slug != "crisis-response"  # unrouted work starts in the default queue
    _wait(lambda: _texts_to(fake_twilio, CUSTOMER), timeout=30)

    for n, answer in enumerate(SEVERE_ANSWERS, start=1):
        assert app_server.post_sms(sender=CUSTOMER, body=answer).status_code == 200
        _wait(lambda n=n: len(_texts_to(fake_twilio, CUSTOMER)) >= n + 1, timeout=30)

    run = _wait(lambda: Run.objects.filter(pk=run.pk, status=RunStatus.COMPLETED).first(), timeout=30)
    assert run.severity == 5
    ticket = run.ticket
    ticket.refresh_from_db()
    assert ticket.queue == Queue.objects.get(slug="crisis-response")
    assert ticket.priority == Priority.URGENT
    assert {"triage", "severity-high", "safety"} <= set(ticket.tags.values_list("name", flat=True))
    answers = TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.TRIAGE_ANSWER)
    assert set(answers.values_list("channel", flat=True)) == {"sms"}
    assert "Thank you" in _texts_to(fake_twilio, CUSTOMER)[-1]


def test_stop_mid_flow_ends_the_run_and_opts_out(fake_twilio, celery_worker_process, app_server):
    flow = services.seed_stop_the_bleeding()
    point = ContactPointFactory(value=CUSTOMER, customer=CustomerFactory(language="en"))
    run = services.start_run(flow=flow, customer=point.customer)
    _wait(lambda: _texts_to(fake_twilio, CUSTOMER), timeout=30)
    app_server.post_sms(sender=CUSTOMER, body="12")
    _wait(lambda: len(_texts_to(fake_twilio, CUSTOMER)) >= 2, timeout=30)
    app_server.post_sms(sender=CUSTOMER, body="STOP")
    _wait(lambda: Run.objects.get(pk=run.pk).status == RunStatus.OPTED_OUT, timeout=30)
    assert ContactPoint.objects.get(pk=point.pk).opted_out_at is not None
    time.sleep(1.0)  # let the carrier-style STOP confirmation (if any) go out first
    after_stop = _texts_to(fake_twilio, CUSTOMER)
    app_server.post_sms(sender=CUSTOMER, body="2")
    time.sleep(1.5)  # a wrongly sent next question would have reached the fake by now
    assert _texts_to(fake_twilio, CUSTOMER) == after_stop
    assert not any("What exhausts" in text for text in after_stop)
    run.refresh_from_db()
    assert run.state["step"] == "finances" and run.status == RunStatus.OPTED_OUT
