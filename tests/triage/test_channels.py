"""Triage is channel-neutral: a run talks on its channel; a voice run returns its prompts."""

from __future__ import annotations

import pytest

from channels_app.base import InboundMessage
from helpdesk.customers.models import ContactKind
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import EventKind, TimelineEvent
from helpdesk.tickets.services import record_inbound
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory
from triage import selectors, services
from triage.models import RunMode, RunStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def email_customer(db):
    customer = CustomerFactory(language="en")
    ContactPointFactory(customer=customer, kind=ContactKind.EMAIL, value="rana@example.org")
    ContactPointFactory(customer=customer, kind=ContactKind.PHONE, value="+14155550177")
    return customer


def _inbound(channel: str, kind: str, sender: str, body: str, sid: str, capture):
    with capture(execute=True):
        return record_inbound(
            message=InboundMessage(
                channel=channel,
                sender_kind=kind,
                sender=sender,
                body=body,
                provider="t",
                provider_id=sid,
                sender_proven=True,
            )
        ).event


def test_a_run_by_email_asks_by_email_and_takes_its_answers_from_email_only(
    small_flow, email_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_run(flow=small_flow, customer=email_customer, channel="email")
    assert (run.channel, run.contact_point.value) == ("email", "rana@example.org")
    [question] = TimelineEvent.objects.filter(direction="out")
    assert question.channel == "email" and question.contact_point.kind == ContactKind.EMAIL

    # An SMS from the same customer is not an answer to the email run: it stays for an agent.
    _inbound("sms", "phone", "+14155550177", "1", "s1", django_capture_on_commit_callbacks)
    assert not TimelineEvent.objects.filter(kind=EventKind.TRIAGE_ANSWER).exists()
    _inbound("email", "email", "rana@example.org", "1", "e1", django_capture_on_commit_callbacks)
    answer = TimelineEvent.objects.get(kind=EventKind.TRIAGE_ANSWER)
    assert answer.channel == "email"
    assert TimelineEvent.objects.filter(direction="out", channel="email").count() == 2  # next question


def test_a_voice_run_returns_its_prompts_and_sends_nothing(small_flow, email_customer):
    run = services.start_run(flow=small_flow, customer=email_customer, mode=RunMode.VOICE)
    first = selectors.run_prompt(run)
    assert first and run.channel == "voice"
    result = services.answer_run(run=run, answer="1")
    assert result.valid and result.prompts and result.prompts[0] != first
    assert not TimelineEvent.objects.filter(direction="out").exists()
    assert TimelineEvent.objects.get(kind=EventKind.TRIAGE_ANSWER).channel == "voice"
    assert run.status == RunStatus.ACTIVE


def test_an_agent_guided_run_on_an_email_ticket_records_its_answers_as_email(
    small_flow, email_customer, agent
):
    ticket = TicketFactory(customer=email_customer, channel="email")
    run = services.start_run(
        flow=small_flow, customer=email_customer, ticket=ticket, mode=RunMode.AGENT, actor=agent
    )
    for answer in ("1", "80", "yes"):
        services.answer_run(run=run, answer=answer, actor=agent)
    answers = TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.TRIAGE_ANSWER)
    assert list(answers.values_list("channel", flat=True)) == ["email", "email", "email"]
    assert not TimelineEvent.objects.filter(direction="out").exists()  # the agent asked, not us


def test_a_run_on_a_channel_nothing_sends_on_is_refused(small_flow, email_customer, settings):
    settings.CHANNEL_GATEWAYS = {"sms": "channels_app.console.gateway.ConsoleGateway"}
    with pytest.raises(ApplicationError) as error:
        services.start_run(flow=small_flow, customer=email_customer, channel="email")
    assert error.value.code == "invalid_channel"
