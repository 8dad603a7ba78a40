"""Recovery cases: a score of 1 opens one with the approved apology and a plan; completing the plan
tells the customer it is fixed and asks again; the re-survey's score closes the case."""

from __future__ import annotations

import pytest
from django.utils import timezone

from helpdesk.errors import ApplicationError
from helpdesk.feedback import recovery, services, surveys
from helpdesk.feedback.models import (
    ApologyTemplate,
    CouponPool,
    IncentiveEvent,
    RecoveryCase,
    RecoveryStatus,
    Survey,
    SurveyState,
    SurveyTrigger,
)
from helpdesk.tickets.models import EventKind, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def answer_low(*, phone: str, name: str, subject: str, score: int = 1) -> Survey:
    """A customer whose SMS ticket was solved answers the survey with a low score."""
    point = ContactPointFactory(value=phone, customer=CustomerFactory(name=name))
    ticket = TicketFactory(customer=point.customer, channel="sms", subject=subject, status="solved")
    TimelineEventFactory(
        ticket=ticket, customer=point.customer, channel="sms", direction="in", contact_point=point
    )
    survey = surveys.request_survey(
        customer=point.customer, trigger=SurveyTrigger.SOLVED, channel="sms", ticket=ticket
    )
    assert survey is not None
    Survey.objects.filter(pk=survey.pk).update(state=SurveyState.ASKED, asked_at=timezone.now())
    survey.refresh_from_db()
    surveys.record_answer(survey=survey, score=score)
    return survey


@pytest.fixture
def answered(db):
    """A customer who answered 1 to an SMS survey after their ticket was solved."""
    return answer_low(phone="+14155550190", name="Dara Sok", subject="Card frozen")


def _sent(ticket, **payload):
    return TimelineEvent.objects.filter(
        ticket=ticket, direction="out", **{f"payload__{k}": v for k, v in payload.items()}
    )


def test_a_score_of_1_opens_a_case_with_the_approved_apology_and_a_plan(answered):
    case = RecoveryCase.objects.get()
    assert case.reason == "low_score" and case.survey == answered and case.score_before == 1
    assert "Dara Sok" in case.apology and "Card frozen" in case.apology
    assert ApologyTemplate.objects.get(language="en").approved_at is not None
    steps = list(case.steps.all())
    assert len(steps) == 3 and all(s.due_at and s.due_at <= case.due_at for s in steps)
    assert steps[-1].tell_customer and case.channel == "sms"


def test_the_template_a_manager_approved_is_the_one_used(db):
    ApologyTemplate.objects.create(
        name="Ours", language="en", body="Sorry {name}, {subject} was our fault.", steps=["Refund", "Call"],
        approved_at=timezone.now(),
    )  # fmt: skip
    ApologyTemplate.objects.create(name="Draft", language="en", body="unapproved", steps=["x"])
    customer = CustomerFactory(name="Leyla")
    ticket = TicketFactory(customer=customer, subject="{evil}")
    case = recovery.open_case(customer=customer, reason="agent_flag", ticket=ticket)
    assert case.apology == "Sorry Leyla, {evil} was our fault."
    assert [s.title for s in case.steps.all()] == ["Refund", "Call"]


def test_completing_the_plan_says_it_is_fixed_and_asks_again(
    answered, agent, django_capture_on_commit_callbacks
):
    case = RecoveryCase.objects.get()
    ticket = answered.ticket
    recovery.send_apology(case=case, actor=agent)
    assert _sent(ticket, apology=True).count() == 1
    steps = list(case.steps.all())
    with django_capture_on_commit_callbacks(execute=True):
        for step in steps:
            recovery.complete_step(step=step, actor=agent)
    case.refresh_from_db()
    assert case.status == RecoveryStatus.FIXED and case.fixed_at is not None
    assert _sent(ticket, fixed=True).count() == 1
    resurvey = Survey.objects.get(trigger=SurveyTrigger.RESURVEY)  # the window does not hold it back
    assert resurvey.recovery == case and resurvey.state == SurveyState.ASKED and resurvey.channel == "sms"
    question = TimelineEvent.objects.get(pk=resurvey.question_event_id)
    assert question.contact_point == answered.contact_point and question.kind == EventKind.SURVEY
    surveys.record_answer(survey=resurvey, score=5)
    case.refresh_from_db()
    assert case.score_after == 5 and case.status == RecoveryStatus.CLOSED


def test_a_step_marked_done_twice_tells_the_customer_once(answered, agent):
    case = RecoveryCase.objects.get()
    step = recovery.add_step(case=case, title="Refund the fee", tell_customer=True)
    recovery.complete_step(step=step, actor=agent)
    recovery.complete_step(step=step, actor=agent)
    assert _sent(answered.ticket, step=step.pk).count() == 1


def test_a_retried_low_answer_opens_one_case(answered):
    assert recovery.open_case_for_survey(survey=answered).pk == RecoveryCase.objects.get().pk


def test_an_agent_flag_opens_a_case_owned_by_them(agent):
    ticket = TicketFactory(channel="email")
    case = recovery.flag_for_recovery(ticket=ticket, actor=agent)
    assert case.reason == "agent_flag" and case.owner == agent and case.ticket == ticket


def test_a_closed_case_takes_no_more_steps(answered, agent):
    case = RecoveryCase.objects.get()
    recovery.close_case(case=case, actor=agent)
    with pytest.raises(ApplicationError):
        recovery.add_step(case=case, title="Too late")


def test_an_incentive_for_the_case_is_granted_sent_and_audited_once(answered, agent):
    case = RecoveryCase.objects.get()
    pool = CouponPool.objects.create(name="10% off", value=5)
    services.generate_codes(pool=pool, count=2)
    coupon = services.grant(pool=pool, customer=case.customer, actor=agent, ticket=case.ticket, case=case)
    services.send_incentive(coupon=coupon, actor=agent)
    services.send_incentive(coupon=coupon, actor=agent)
    sent = _sent(answered.ticket, coupon=coupon.pk)
    assert sent.count() == 1 and coupon.code in sent.get().body
    assert list(
        IncentiveEvent.objects.filter(coupon_id=coupon.pk).order_by("id").values_list("action", flat=True)
    ) == [
        "granted",
        "sent",
    ]


def test_the_case_page_shows_the_plan_and_its_buttons_work(answered, agent_client):
    case = RecoveryCase.objects.get()
    page = agent_client.get(f"/recovery/{case.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert case.apology in html.replace("&quot;", '"') and "Mark done" in html
    response = agent_client.post(f"/recovery/{case.pk}/", {"action": "step", "title": "Waive the fee"})
    assert response.status_code == 302 and case.steps.filter(title="Waive the fee").exists()
    queue = agent_client.get("/recovery/")
    assert queue.status_code == 200 and f"/recovery/{case.pk}/" in queue.content.decode()
