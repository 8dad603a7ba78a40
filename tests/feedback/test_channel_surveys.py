"""A survey on each channel through its own door: chat buttons in the widget, the caller's keypad
after an agent hangs up, one signed link per score in the email. (SMS: test_surveys.py here, and
end to end through the fake Twilio and a real worker in tests/integration/test_surveys.py.)"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from channels_app.chat.models import ChatWidget
from helpdesk.feedback import surveys
from helpdesk.feedback.models import RecoveryCase, Survey, SurveyState
from helpdesk.tickets.models import EventKind, Ticket, TicketStatus, TimelineEvent
from helpdesk.tickets.services import update_ticket
from tests.channels_app.chat.conftest import SITE, WidgetClient
from tests.channels_app.sms.conftest import Twilio
from tests.channels_app.voice.conftest import Caller
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chat_gateway(settings):
    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "chat": "channels_app.chat.gateway.ChatGateway"}


def test_a_solved_chat_asks_with_buttons_and_a_tap_records_the_score(
    client, django_capture_on_commit_callbacks
):
    widget = ChatWidget.objects.create(name="Shop", allowed_origins=SITE)
    visitor = WidgetClient(client, widget)
    visitor.start()
    with django_capture_on_commit_callbacks(execute=True):
        visitor.send("My flight was cancelled")
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket=ticket, status=TicketStatus.SOLVED)
    survey = Survey.objects.get()
    assert survey.channel == "chat" and survey.trigger == "chat_ended" and survey.state == SurveyState.ASKED
    last = visitor.messages().json()["messages"][-1]
    assert last["from"] == "agent" and "How did we do" in last["text"]
    assert [c["answer"] for c in last["choices"]] == ["1", "2", "3", "4", "5"]
    with django_capture_on_commit_callbacks(execute=True):
        assert visitor.send("5", client_id="m-survey").status_code == 202
    survey.refresh_from_db()
    assert survey.score == 5 and Ticket.objects.count() == 1
    assert visitor.messages().json()["messages"][-1]["choices"] == []  # answered: no buttons any more


def test_a_caller_presses_a_score_after_the_agent_hangs_up(client):
    point = ContactPointFactory(value="+14155550111", customer=CustomerFactory(language="en"))
    walk = Caller(Twilio(client)).call("2", "agent", "2", caller=point.value)
    assert walk.ended_by == "queue:bridged"
    assert "how did we do" in walk.said.lower()
    survey = Survey.objects.get()
    assert survey.channel == "voice" and survey.trigger == "call_ended" and survey.score == 2
    assert "sorry" in walk.said.lower()
    assert RecoveryCase.objects.get().survey == survey


def test_a_caller_who_presses_nothing_hears_goodbye(client):
    point = ContactPointFactory(value="+14155550112")
    walk = Caller(Twilio(client)).call("2", "agent", caller=point.value)
    assert Survey.objects.get().score is None and walk.statuses.count(200) == len(walk.statuses)


def _email_survey(django_capture_on_commit_callbacks, language="en"):
    point = ContactPointFactory(
        kind="email", value="leyla@example.com", customer=CustomerFactory(language=language)
    )
    ticket = TicketFactory(customer=point.customer, channel="email", language=language)
    TimelineEventFactory(
        ticket=ticket, customer=point.customer, channel="email", direction="in", contact_point=point
    )
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket=ticket, status=TicketStatus.SOLVED)
    question = TimelineEvent.objects.get(kind=EventKind.SURVEY, direction="out")
    return question, Survey.objects.get()


def _links(body: str) -> dict[int, str]:
    from django.conf import settings

    base = re.escape(settings.PUBLIC_BASE_URL.rstrip("/"))
    return {int(score): path for path, score in re.findall(base + r"(/survey/[^/\s]+/(\d+)/)", body)}


def test_an_email_has_one_signed_link_per_score_and_one_click_records_it(
    client, django_capture_on_commit_callbacks
):
    question, survey = _email_survey(django_capture_on_commit_callbacks)
    assert question.payload["subject"] == "How did we do?"
    links = _links(question.body)
    assert sorted(links) == [1, 2, 3, 4, 5]
    page = client.get(links[4])
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    survey.refresh_from_db()
    assert survey.score == 4 and survey.state == SurveyState.ANSWERED
    assert client.get(links[1]).status_code == 200  # a second click changes nothing
    survey.refresh_from_db()
    assert survey.score == 4


def test_a_low_email_score_asks_what_went_wrong_on_the_page(client, django_capture_on_commit_callbacks):
    question, survey = _email_survey(django_capture_on_commit_callbacks, language="fa")
    link = _links(question.body)[1]
    page = client.get(link)
    assert 'lang="fa"' in page.content.decode() and 'dir="rtl"' in page.content.decode()
    client.post(link, {"comment": "<b>Nobody</b> answered"})
    survey.refresh_from_db()
    assert survey.score == 1 and survey.comment == "<b>Nobody</b> answered"
    assert RecoveryCase.objects.get().survey == survey


def test_a_forged_or_foreign_link_records_nothing(client, django_capture_on_commit_callbacks):
    question, survey = _email_survey(django_capture_on_commit_callbacks)
    token = _links(question.body)[5].split("/")[2]
    assert client.get(f"/survey/{token[:-2]}xx/5/").status_code == 404
    assert client.get(f"/survey/{surveys.signed_token(survey)}/9/").status_code == 200  # out of range
    survey.refresh_from_db()
    assert survey.score is None


def test_an_expired_survey_still_takes_a_late_click(client, django_capture_on_commit_callbacks):
    question, survey = _email_survey(django_capture_on_commit_callbacks)
    Survey.objects.filter(pk=survey.pk).update(asked_at=timezone.now() - timezone.timedelta(days=10))
    surveys.send_due_surveys()
    survey.refresh_from_db()
    assert survey.state == SurveyState.EXPIRED
    client.get(_links(question.body)[3])
    survey.refresh_from_db()
    assert survey.score == 3
