"""Recovery cases: the unhappy customer gets an owner, an apology that owns the mistake, a plan
of steps with owners and due dates, an incentive where it helps, "we fixed it" once the plan is
done, and a re-survey that tells whether trust came back (score before, score after).

Opened by a low survey score (`open_case_for_survey`), a negative review matched to a customer
(helpdesk.feedback.reviews) or an agent's flag (`flag_for_recovery`); one case per survey or
review, however often the answer is retried. Everything said to the customer goes through the
normal send path on the case's channel, on the case's ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk.customers.models import Customer
from helpdesk.errors import ApplicationError
from helpdesk.feedback.models import (
    ApologyTemplate,
    RecoveryCase,
    RecoveryReason,
    RecoveryStatus,
    RecoveryStep,
    Review,
    Survey,
    SurveyScale,
    SurveyTrigger,
)
from helpdesk.tickets.models import EventKind, Ticket

WRITABLE = ("sms", "email", "chat")


def _due_hours() -> int:
    return int(getattr(settings, "RECOVERY_DUE_HOURS", 48))


def _default_texts(language: str) -> tuple[str, list[str]]:
    with translation.override(language):
        apology = _(
            'Dear {name}, we are sorry. We got "{subject}" wrong, and that is on us, not on you. '
            "Here is what we are doing to put it right, step by step, and we will tell you as soon "
            "as it is fixed."
        )
        steps = [
            _("Call the customer and listen to what went wrong"),
            _("Fix the cause"),
            _("Check with the customer that it works now"),
        ]
    return apology, steps


def approved_template(language: str) -> ApologyTemplate:
    """The approved apology for this language (else English); the built-in text the first time."""
    approved = ApologyTemplate.objects.filter(approved_at__isnull=False)
    template = approved.filter(language=language).first() or approved.filter(language="en").first()
    if template is None:
        apology, steps = _default_texts(language)
        template = ApologyTemplate.objects.create(
            name=_("Standard apology"),
            language=language,
            body=apology,
            steps=steps,
            approved_at=timezone.now(),
        )
    return template


def _fill(text: str, *, customer: Customer, ticket: Ticket | None) -> str:
    # Plain replacement, not str.format: a brace in a subject or template is never code.
    name = customer.name or _("customer")
    return text.replace("{name}", name).replace("{subject}", ticket.subject if ticket else "")


def _channel_for(customer: Customer, preferred: str) -> str:
    if preferred in WRITABLE:
        return preferred
    for kind, channel in (("phone", "sms"), ("email", "email")):
        if any(p.kind == kind and p.can_receive for p in customer.contact_points.all()):
            return channel
    return "sms" if preferred == "voice" else (preferred or "email")


def open_case(
    *,
    customer: Customer,
    reason: str,
    ticket: Ticket | None = None,
    survey: Survey | None = None,
    review: Review | None = None,
    owner=None,
    channel: str = "",
    now: datetime | None = None,
) -> RecoveryCase:
    """Open the case with the approved apology and plan; the one already open for this survey or
    review is returned instead of a second."""
    now = now or timezone.now()
    language = (survey.language if survey else "") or (ticket.language if ticket else "") or customer.language
    template = approved_template(language)
    due = now + timedelta(hours=_due_hours())
    try:
        with transaction.atomic():
            case = RecoveryCase.objects.create(
                customer=customer,
                ticket=ticket,
                survey=survey,
                review=review,
                reason=reason,
                owner=owner if owner is not None else (ticket.assignee if ticket else None),
                channel=_channel_for(customer, channel or (survey.channel if survey else "")),
                language=language,
                apology=_fill(template.body, customer=customer, ticket=ticket),
                score_before=survey.score if survey else (review.rating if review else None),
                due_at=due,
            )
            steps = [str(s) for s in template.steps if str(s).strip()]
            RecoveryStep.objects.bulk_create(
                RecoveryStep(
                    case=case,
                    position=i,
                    title=title[:300],
                    owner=case.owner,
                    due_at=now + timedelta(hours=_due_hours() * (i + 1) / len(steps)),
                    tell_customer=i == len(steps) - 1,
                )  # fmt: skip
                for i, title in enumerate(steps)
            )
    except IntegrityError:
        found = (
            RecoveryCase.objects.filter(survey=survey)
            if survey
            else RecoveryCase.objects.filter(review=review)
        )
        existing = found.first()
        if existing is None:
            raise
        return existing
    _timeline(case, _("Recovery case opened: %(reason)s") % {"reason": case.get_reason_display()})
    return case


def open_case_for_survey(*, survey: Survey, now: datetime | None = None) -> RecoveryCase:
    return open_case(
        customer=survey.customer,
        reason=RecoveryReason.LOW_SCORE,
        ticket=survey.ticket,
        survey=survey,
        now=now,
    )


def flag_for_recovery(*, ticket: Ticket, actor) -> RecoveryCase:
    """An agent's judgement that this customer needs winning back."""
    return open_case(customer=ticket.customer, reason=RecoveryReason.FLAG, ticket=ticket, owner=actor,
                     channel=_writable_reply_channel(ticket))  # fmt: skip


def _writable_reply_channel(ticket: Ticket) -> str:
    from helpdesk.tickets.services import reply_channel_for

    return reply_channel_for(ticket)


def _timeline(case: RecoveryCase, body: str, **payload) -> None:
    from helpdesk.tickets.services import add_system_event

    add_system_event(
        customer_id=case.customer_id, ticket=case.ticket, kind=EventKind.NOTE, body=body,
        payload={"recovery": case.pk, **payload},
    )  # fmt: skip


def _case_ticket(case: RecoveryCase) -> Ticket:
    """The ticket the case talks on: its own, else one opened for it (a review's case)."""
    if case.ticket is not None:
        return case.ticket
    from helpdesk.tickets.services import create_ticket

    with translation.override(case.language):
        subject = _("We want to put things right")
    ticket = create_ticket(
        customer=case.customer, subject=subject, channel=case.channel, language=case.language
    )
    RecoveryCase.objects.filter(pk=case.pk).update(ticket=ticket)
    case.ticket = ticket
    return ticket


def _send(case: RecoveryCase, body: str, *, actor=None, **payload):
    from helpdesk.tickets.services import send_message

    return send_message(
        ticket=_case_ticket(case), channel=case.channel, body=body, author=actor,
        payload={"recovery": case.pk, **payload},
    )  # fmt: skip


def tell_customer(*, case: RecoveryCase, body: str, actor=None, **payload):
    """Say something to the case's customer on its channel (an incentive's code, say)."""
    return _send(case, body, actor=actor, **payload)


def _open(case: RecoveryCase) -> None:
    if case.status != RecoveryStatus.OPEN:
        raise ApplicationError(_("This case is no longer open."), code="invalid_state")


@transaction.atomic
def send_apology(*, case: RecoveryCase, actor, body: str = "") -> RecoveryCase:
    """Send the apology (as edited by the owner) to the customer on the case's channel."""
    case = RecoveryCase.objects.select_for_update().get(pk=case.pk)
    _open(case)
    text = (body or case.apology).strip()
    if not text:
        raise ApplicationError(_("Write the apology first."), code="empty_body")
    _send(case, text, actor=actor, apology=True)
    case.apology, case.apology_sent_at = text, timezone.now()
    case.save(update_fields=["apology", "apology_sent_at"])
    return case


@transaction.atomic
def add_step(
    *, case: RecoveryCase, title: str, owner=None, due_at: datetime | None = None, tell_customer: bool = False
) -> RecoveryStep:
    case = RecoveryCase.objects.select_for_update().get(pk=case.pk)
    _open(case)
    title = (title or "").strip()
    if not title:
        raise ApplicationError(
            _("Name the step."), code="invalid", fields={"title": [_("This field is required.")]}
        )
    last = case.steps.order_by("-position").values_list("position", flat=True).first()
    return RecoveryStep.objects.create(
        case=case, position=(last + 1) if last is not None else 0, title=title[:300], owner=owner,
        due_at=due_at, tell_customer=tell_customer,
    )  # fmt: skip


@transaction.atomic
def complete_step(*, step: RecoveryStep, actor, now: datetime | None = None) -> RecoveryStep:
    """Mark a step done (once), tell the customer when the step says so; the last step done
    finishes the case: "we fixed it" and a re-survey."""
    now = now or timezone.now()
    case = RecoveryCase.objects.select_for_update().get(pk=step.case_id)
    _open(case)
    if not RecoveryStep.objects.filter(pk=step.pk, done_at__isnull=True).update(done_at=now, done_by=actor):
        return step
    step.refresh_from_db()
    _timeline(case, _("Recovery step done: %(title)s") % {"title": step.title}, step=step.pk)
    remaining = case.steps.filter(done_at__isnull=True).exists()
    if step.tell_customer and remaining:
        with translation.override(case.language):
            body = _("An update on putting things right: %(step)s is done.") % {"step": step.title}
        _send(case, body, actor=actor, step=step.pk)
    if not remaining:
        finish_case(case=case, actor=actor, now=now)
    return step


def fixed_message(case: RecoveryCase) -> str:
    with translation.override(case.language):
        return _(
            "It is fixed. Thank you for your patience, and sorry again for the trouble. "
            "We will ask you once more how we did: your answer tells us whether we made it right."
        )


@transaction.atomic
def finish_case(*, case: RecoveryCase, actor, now: datetime | None = None) -> RecoveryCase:
    """Tell the customer it is fixed, then ask again (a re-survey skips the window)."""
    from helpdesk.feedback.surveys import request_survey

    now = now or timezone.now()
    case = (
        RecoveryCase.objects.select_for_update(of=("self",))
        .select_related("customer", "survey")
        .get(pk=case.pk)
    )
    _open(case)
    _send(case, fixed_message(case), actor=actor, fixed=True)
    case.status, case.fixed_at = RecoveryStatus.FIXED, now
    case.save(update_fields=["status", "fixed_at"])
    ticket = _case_ticket(case)
    scale = case.survey.scale if case.survey_id and case.survey else SurveyScale.CSAT
    request_survey(
        customer=case.customer, trigger=SurveyTrigger.RESURVEY, channel=case.channel, ticket=ticket,
        recovery=case, scale=scale, now=now,
    )  # fmt: skip
    _timeline(case, _("Recovery case fixed: the customer was told and asked again."))
    return case


def record_resurvey(*, survey: Survey) -> None:
    """The re-survey's score closes the case; up from the first score means trust came back."""
    if survey.recovery_id is None:
        return
    RecoveryCase.objects.filter(pk=survey.recovery_id).update(
        score_after=survey.score, status=RecoveryStatus.CLOSED
    )


def cases_queue(*, status: str = RecoveryStatus.OPEN):
    """The cases to work, soonest due first (the SLA is the due date)."""
    return (
        RecoveryCase.objects.filter(status=status)
        .select_related("customer", "owner", "ticket")
        .order_by("due_at", "id")
    )


@transaction.atomic
def assign_case(*, case: RecoveryCase, owner) -> RecoveryCase:
    """Give the case (and its steps nobody owns yet) to an owner."""
    case = RecoveryCase.objects.select_for_update().get(pk=case.pk)
    case.owner = owner
    case.save(update_fields=["owner"])
    if owner is not None:
        case.steps.filter(owner__isnull=True).update(owner=owner)
    return case


@transaction.atomic
def close_case(*, case: RecoveryCase, actor) -> RecoveryCase:
    """Close a case without a fix (the customer declined, or it was a mistake)."""
    case = RecoveryCase.objects.select_for_update().get(pk=case.pk)
    if case.status == RecoveryStatus.CLOSED:
        return case
    case.status = RecoveryStatus.CLOSED
    case.save(update_fields=["status"])
    _timeline(case, _("Recovery case closed."), actor=getattr(actor, "pk", None))
    return case
