"""Inbound: a reply to a survey is its score or its comment, recorded on the survey.

`held_thread` (settings.INBOUND_THREAD_HOLDS) threads a customer's message into the surveyed
ticket without reopening it while a survey waits there; `handle_inbound` (settings.INBOUND_HANDLERS,
after consent and triage) records the score or comment, and reopens the ticket when the message was
neither: the customer wrote more than an answer, and an agent must read it.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk.customers.models import Customer
from helpdesk.feedback import surveys
from helpdesk.feedback.models import SurveyState
from helpdesk.tickets.models import Direction, Ticket, TicketStatus, TimelineEvent


def held_thread(*, customer: Customer, channel: str, now: datetime) -> Ticket | None:
    """The surveyed ticket, while a survey waits on this customer's answer on this channel."""
    if channel not in surveys.CONVERSATIONAL:
        return None
    survey = surveys.waiting_survey(customer_id=customer.pk, channel=channel, now=now)
    return survey.ticket if survey is not None else None


def handle_inbound(event: TimelineEvent) -> bool:
    """True when the message answered a waiting survey (its score, or what went wrong)."""
    if event.direction != Direction.IN or event.channel not in surveys.CONVERSATIONAL:
        return False
    survey = surveys.waiting_survey(customer_id=event.customer_id, channel=event.channel)
    consumed = False
    if survey is not None and survey.state == SurveyState.ASKED:
        score = surveys.parse_score(event.body or "", survey.scale)
        consumed = score is not None and surveys.record_answer(survey=survey, score=score)
    elif survey is not None:
        consumed = surveys.record_comment(survey=survey, text=event.body or "")
    if not consumed and (event.payload or {}).get("held") and event.ticket_id:
        from helpdesk.tickets.services import update_ticket

        ticket = Ticket.objects.get(pk=event.ticket_id)
        if ticket.status == TicketStatus.SOLVED:
            update_ticket(ticket=ticket, status=TicketStatus.OPEN)
    return consumed
