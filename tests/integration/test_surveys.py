"""Surveys end to end with real processes.

SMS: a solved ticket's survey leaves through a real Celery worker and the Twilio SDK to the fake
Twilio; the customer's Persian "۲" comes back signed to the app server (gunicorn), through the
inbox and the worker's drain, and is recorded as 2 on the survey: no new ticket, the ticket stays
solved; the low score asks what went wrong, and that answer is recorded too.

Email: the survey leaves through the outbox and SMTP to a local server (aiosmtpd), its tasks in
this process; the link for 4 in the mail that arrived, opened, records 4.
"""

from __future__ import annotations

import re
import socket
from email import message_from_bytes, policy

import pytest

from helpdesk.feedback.models import RecoveryCase, Survey
from helpdesk.tickets.models import Direction, Ticket, TicketStatus, TimelineEvent
from helpdesk.tickets.services import update_ticket
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "+14155550163"


def test_an_sms_survey_answered_in_persian_digits(fake_twilio, celery_worker_process, app_server):
    assert app_server.post_sms(sender=CUSTOMER, body="کارت من مسدود شد").status_code == 200
    inbound = wait_until(lambda: TimelineEvent.objects.filter(direction=Direction.IN, channel="sms").first())
    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    update_ticket(ticket=ticket, status=TicketStatus.SOLVED)

    question = fake_twilio.wait_for(to=CUSTOMER)[0]
    assert "۱" in question["body"] and "۵" in question["body"]  # the customer wrote Persian
    survey = Survey.objects.get()
    assert survey.channel == "sms" and survey.contact_point.value == CUSTOMER

    assert app_server.post_sms(sender=CUSTOMER, body="۲").status_code == 200
    wait_until(lambda: Survey.objects.filter(pk=survey.pk, score=2).exists())
    why = fake_twilio.wait_for(to=CUSTOMER, count=2)[1]
    assert "چه اشتباهی رخ داد" in why["body"]  # "what went wrong?", in the language they wrote
    assert app_server.post_sms(sender=CUSTOMER, body="Nobody called back").status_code == 200
    wait_until(lambda: Survey.objects.filter(pk=survey.pk, comment="Nobody called back").exists())

    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SOLVED
    assert RecoveryCase.objects.get().survey_id == survey.pk


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def in_process_tasks(settings):
    """This test's tasks run in the test process: the session's worker (whose email gateway is the
    console) must not take the survey's outbox row before this test's SMTP gateway does."""
    from helpdesk.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_an_email_survey_is_one_click_on_the_link_that_arrived(in_process_tasks, smtp, client, settings):
    box, port = smtp
    settings.CHANNEL_GATEWAYS = {
        **settings.CHANNEL_GATEWAYS,
        "email": "channels_app.email.gateway.SmtpGateway",
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    point = ContactPointFactory(kind="email", value="leyla@example.com", customer=CustomerFactory())
    ticket = TicketFactory(customer=point.customer, channel="email", subject="Rebooking")
    TimelineEventFactory(
        ticket=ticket, customer=point.customer, channel="email", direction="in", contact_point=point
    )
    update_ticket(ticket=ticket, status=TicketStatus.SOLVED)
    raw = wait_until(lambda: box.messages[0] if box.messages else None, timeout=30)
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["To"] == "leyla@example.com" and "Rebooking" in mail["Subject"]  # in the ticket's thread
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "How did we do" in text
    base = re.escape(settings.PUBLIC_BASE_URL.rstrip("/"))
    links = {int(score): path for path, score in re.findall(base + r"(/survey/[^/\s]+/(\d)/)", text)}
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert client.get(links[4]).status_code == 200
    survey = Survey.objects.get()
    assert survey.score == 4 and survey.channel == "email"


def test_a_call_survey_on_the_keypad_through_the_fake_twilio(fake_twilio, app_server):
    """The fake Twilio rings the app server, the caller waits for an agent ("agent": bridged), and
    after the agent hangs up presses 4: the survey of that call is recorded as 4."""
    caller = "+14155550164"
    ContactPointFactory(customer=CustomerFactory(language="en"), value=caller)
    sid = fake_twilio.dial(
        caller=caller, url=app_server.url + "/webhooks/twilio/voice/", inputs=("2", "agent", "4")
    )
    state = fake_twilio.wait_call(sid)
    said = " ".join(s.get("text", "") for s in state["steps"])
    assert "how did we do" in said.lower() and "Thank you for your answer" in said
    survey = wait_until(lambda: Survey.objects.filter(channel="voice", score=4).first())
    assert survey.trigger == "call_ended" and survey.customer.contact_points.get().value == caller
