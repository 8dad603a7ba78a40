"""Surveys: asked once per window on the channel the customer used, never to an opted-out point or
during an open crisis ticket (unless the manager chooses), answered in any script's digits, the
answer recorded on the survey and not as a new ticket."""

from __future__ import annotations

import pytest
from django.utils import timezone

from helpdesk.feedback import surveys
from helpdesk.feedback.models import RecoveryCase, Survey, SurveyPolicy, SurveyState
from helpdesk.messaging import inbox
from helpdesk.tickets.models import EventKind, Ticket, TicketStatus, TimelineEvent
from helpdesk.tickets.services import update_ticket
from tests.channels_app.sms.conftest import Twilio
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db

PHONE = "+14155550177"


@pytest.fixture
def sms_customer(db):
    point = ContactPointFactory(value=PHONE, customer=CustomerFactory(language="en"))
    return point


def _sms_ticket(point, **fields):
    ticket = TicketFactory(customer=point.customer, channel="sms", **fields)
    TimelineEventFactory(ticket=ticket, customer=point.customer, channel="sms", direction="in",
                         contact_point=point, body="My card is frozen")  # fmt: skip
    return ticket


def _solve(ticket, capture):
    with capture(execute=True):
        update_ticket(ticket=ticket, status=TicketStatus.SOLVED)


def _question(ticket):
    return TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.SURVEY, direction="out").first()


@pytest.mark.parametrize(
    ("text", "score"),
    [("4", 4), ("۲", 2), ("៥", 5), ("೩", 3), (" 5 thanks!", 5), ("۵ ممنون", 5), ("6", None), ("45", None),
     ("great", None), ("", None), ("10", None)],
)  # fmt: skip
def test_a_reply_gives_its_score_in_any_script(text, score):
    assert surveys.parse_score(text) == score


def test_nps_takes_0_to_10():
    assert surveys.parse_score("0", "nps") == 0 and surveys.parse_score("۱۰", "nps") == 10
    assert surveys.parse_score("11", "nps") is None


def test_a_solved_sms_ticket_asks_by_sms_in_the_customers_language(
    sms_customer, django_capture_on_commit_callbacks
):
    sms_customer.customer.language = "fa"
    sms_customer.customer.save()
    ticket = _sms_ticket(sms_customer, language="fa")
    _solve(ticket, django_capture_on_commit_callbacks)
    survey = Survey.objects.get()
    assert survey.state == SurveyState.ASKED and survey.channel == "sms" and survey.language == "fa"
    question = _question(ticket)
    assert question.contact_point == sms_customer and question.delivery_status != "blocked"
    assert "۱" in question.body and "۵" in question.body  # the scale in Persian digits


def test_three_solved_tickets_in_a_day_ask_once(sms_customer, django_capture_on_commit_callbacks):
    tickets = [_sms_ticket(sms_customer) for _ in range(3)]
    for ticket in tickets:
        _solve(ticket, django_capture_on_commit_callbacks)
    assert Survey.objects.count() == 1
    assert TimelineEvent.objects.filter(kind=EventKind.SURVEY, direction="out").count() == 1


def test_after_the_window_the_customer_is_asked_again(sms_customer, django_capture_on_commit_callbacks):
    _solve(_sms_ticket(sms_customer), django_capture_on_commit_callbacks)
    Survey.objects.update(
        created_at=timezone.now() - timezone.timedelta(hours=SurveyPolicy.current().window_hours + 1)
    )
    _solve(_sms_ticket(sms_customer), django_capture_on_commit_callbacks)
    assert Survey.objects.count() == 2


def test_an_opted_out_or_unverified_point_is_never_surveyed(sms_customer, django_capture_on_commit_callbacks):
    sms_customer.opted_out_at = timezone.now()
    sms_customer.save()
    _solve(_sms_ticket(sms_customer), django_capture_on_commit_callbacks)
    other = ContactPointFactory(value="+14155550178", verified=False)
    _solve(_sms_ticket(other), django_capture_on_commit_callbacks)
    assert Survey.objects.count() == 0
    assert not TimelineEvent.objects.filter(kind=EventKind.SURVEY).exists()


def test_an_open_crisis_ticket_holds_the_survey_unless_the_manager_chooses(
    sms_customer, django_capture_on_commit_callbacks
):
    from helpdesk.crisis.models import Crisis

    crisis = Crisis.objects.create(title="Flood", status="active")
    _sms_ticket(sms_customer, crisis=crisis, status=TicketStatus.OPEN)
    _solve(_sms_ticket(sms_customer), django_capture_on_commit_callbacks)
    assert Survey.objects.count() == 0
    policy = SurveyPolicy.current()
    policy.during_open_crisis = True
    policy.save()  # the rules are cached: a change goes through save()
    _solve(_sms_ticket(sms_customer), django_capture_on_commit_callbacks)
    assert Survey.objects.count() == 1


def test_a_ticket_reopened_before_the_delay_is_not_surveyed(sms_customer, django_capture_on_commit_callbacks):
    SurveyPolicy.objects.update_or_create(pk=SurveyPolicy.current().pk, defaults={"delay_minutes": 30})
    ticket = _sms_ticket(sms_customer)
    _solve(ticket, django_capture_on_commit_callbacks)
    survey = Survey.objects.get()
    assert survey.state == SurveyState.DUE
    update_ticket(ticket=ticket, status=TicketStatus.OPEN)
    later = timezone.now() + timezone.timedelta(minutes=31)
    assert surveys.send_due_surveys(now=later) == 0
    survey.refresh_from_db()
    assert survey.state == SurveyState.SKIPPED and survey.skip_reason == "reopened"


def test_the_reply_is_recorded_on_the_survey_not_as_a_new_ticket(
    sms_customer, client, django_capture_on_commit_callbacks
):
    ticket = _sms_ticket(sms_customer)
    _solve(ticket, django_capture_on_commit_callbacks)
    twilio = Twilio(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert twilio.sms(sender=PHONE, body="۴").status_code == 200
        inbox.drain()
    survey = Survey.objects.get()
    assert survey.score == 4 and survey.state == SurveyState.ANSWERED
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SOLVED  # a score does not reopen it
    reply = TimelineEvent.objects.get(direction="in", body="۴")
    assert reply.ticket_id == ticket.pk
    assert not RecoveryCase.objects.exists()


def test_a_low_score_asks_what_went_wrong_and_opens_a_case(
    sms_customer, client, django_capture_on_commit_callbacks
):
    ticket = _sms_ticket(sms_customer)
    _solve(ticket, django_capture_on_commit_callbacks)
    twilio = Twilio(client)
    with django_capture_on_commit_callbacks(execute=True):
        twilio.sms(sender=PHONE, body="1")
        inbox.drain()
    why = TimelineEvent.objects.filter(kind=EventKind.SURVEY, direction="out", payload__why=True)
    assert why.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        twilio.sms(sender=PHONE, body="Nobody called me back")
        inbox.drain()
    survey = Survey.objects.get()
    assert survey.score == 1 and survey.comment == "Nobody called me back"
    case = RecoveryCase.objects.get()
    assert case.survey == survey and case.score_before == 1 and case.steps.count() == 3
    assert Ticket.objects.count() == 1


def test_a_reply_that_is_no_answer_reopens_the_ticket_for_an_agent(
    sms_customer, client, django_capture_on_commit_callbacks
):
    ticket = _sms_ticket(sms_customer)
    _solve(ticket, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        Twilio(client).sms(sender=PHONE, body="My card is still frozen!")
        inbox.drain()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and Ticket.objects.count() == 1
    assert Survey.objects.get().score is None


def test_a_retried_answer_is_recorded_once(sms_customer):
    ticket = _sms_ticket(sms_customer)
    survey = surveys.request_survey(
        customer=sms_customer.customer, trigger="solved", channel="sms", ticket=ticket
    )
    Survey.objects.filter(pk=survey.pk).update(state=SurveyState.ASKED, asked_at=timezone.now())
    survey.refresh_from_db()
    assert surveys.record_answer(survey=survey, score=1) is True
    assert surveys.record_answer(survey=survey, score=5) is False
    survey.refresh_from_db()
    assert survey.score == 1 and RecoveryCase.objects.count() == 1


def test_a_completed_triage_asks_on_its_channel(sms_customer, django_capture_on_commit_callbacks):
    from helpdesk.feedback import surveys as s

    ticket = _sms_ticket(sms_customer, status=TicketStatus.OPEN)
    with django_capture_on_commit_callbacks(execute=True):
        s.after_triage(ticket=ticket, customer=sms_customer.customer, channel="sms")
    survey = Survey.objects.get()
    assert (
        survey.trigger == "triage_completed" and survey.state == SurveyState.DUE
    )  # not on the heels of "thank you"
    assert s.send_due_surveys(now=survey.due_at + timezone.timedelta(seconds=1)) == 1


def test_a_closed_crisis_asks_its_customers_how_likely_they_are_to_recommend_us(sms_customer, settings):
    from helpdesk.crisis.models import Crisis

    crisis = Crisis.objects.create(title="Flood", status="resolved")
    _sms_ticket(sms_customer, crisis=crisis, status=TicketStatus.SOLVED)
    assert surveys.after_crisis_closed(crisis_id=crisis.pk) == 1
    survey = Survey.objects.get()
    assert survey.scale == "nps" and survey.trigger == "crisis_closed" and survey.state == SurveyState.DUE
    assert survey.due_at > timezone.now() + timezone.timedelta(hours=settings.SURVEY_AFTER_CLOSING_HOURS - 1)
    assert surveys.send_due_surveys(now=survey.due_at + timezone.timedelta(seconds=1)) == 1
    assert "10" in _question(survey.ticket).body
