"""Surveys after every interaction, on the channel the customer used, in their language and digits.

A survey is a row before it is a message (`request_survey`: due), claimed and sent once
(`send_survey`: asked), answered once (`record_answer`), and a low score asks one follow-up
question (`record_comment` takes the answer). The rules, each checked when the row is made and
again when it is sent: one survey per customer per `SurveyPolicy.window_hours` (a re-survey after
a recovery excepted), only to a contact point that can receive (verified, not opted out, not
invalid or bouncing), never while one of the customer's crisis tickets is open unless the manager
chose so, and a solved ticket reopened meanwhile is not surveyed.

SMS and chat take the score as a reply ("4", "۴", "៤"); chat shows buttons; email has one signed
link per score (`rating_url`, no sign-in); voice asks "press 1 to 5" before the caller hangs up
(channels_app.voice). Replies are recorded on the survey, on the surveyed ticket, which a score
does not reopen (helpdesk.feedback.inbound).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk import digits, localformat
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.feedback.models import Survey, SurveyPolicy, SurveyScale, SurveyState, SurveyTrigger
from helpdesk.tickets.models import OPEN_STATUSES, EventKind, Ticket, TicketStatus

logger = logging.getLogger(__name__)

# Channels whose customers answer by writing back; voice answers on the keypad during the call.
CONVERSATIONAL = ("sms", "chat", "email")
SIGNING_SALT = "tourniquet.survey"
SCORE_RE = re.compile(r"^\s*(\d{1,2})(?!\d)")


def policy() -> SurveyPolicy:
    return SurveyPolicy.current()


def top_score(scale: str) -> int:
    return 10 if scale == SurveyScale.NPS else 5


def bottom_score(scale: str) -> int:
    return 0 if scale == SurveyScale.NPS else 1


def is_low(survey: Survey, rules: SurveyPolicy | None = None) -> bool:
    """A detractor: NPS 0–6, a CSAT at or under the policy's low score."""
    if survey.score is None:
        return False
    if survey.scale == SurveyScale.NPS:
        return survey.score <= 6
    return survey.score <= (rules or policy()).low_score


def parse_score(text: str, scale: str = SurveyScale.CSAT) -> int | None:
    """The score a reply gives, in any script's digits ("4", "۴ ممنون", "៤!"), None when it gives none."""
    match = SCORE_RE.match(digits.to_ascii(text or ""))
    if match is None:
        return None
    score = int(match.group(1))
    return score if bottom_score(scale) <= score <= top_score(scale) else None


# --- Asking ------------------------------------------------------------------------------------


def _survey_channel(ticket: Ticket | None, channel: str) -> str:
    """Where to ask: the channel itself when it converses; a call is asked on the call (voice)."""
    if channel in CONVERSATIONAL or channel == "voice":
        return channel
    from channels_app.base import reply_channel_of

    return reply_channel_of(channel)


def _point(customer: Customer, ticket: Ticket | None, channel: str) -> ContactPoint | None:
    from helpdesk.tickets.services import contact_point_for

    if ticket is not None:
        point = contact_point_for(ticket=ticket, channel=channel)
    else:
        from channels_app.base import contact_kind_of

        point = customer.contact_points.filter(kind=contact_kind_of(channel), verified=True).first()
    return point if point is not None and point.customer_id == customer.pk else None


def refusal(
    *, customer: Customer, channel: str, point: ContactPoint | None, trigger: str, now: datetime,
    rules: SurveyPolicy, exclude: int | None = None,
) -> str:  # fmt: skip
    """Why no survey may be asked now ('' when one may): the window, the point, an open crisis."""
    if channel != "voice" and (point is None or not point.can_receive):
        return "no_contact_point"
    if trigger != SurveyTrigger.RESURVEY:
        window = now - timedelta(hours=rules.window_hours)
        recent = Survey.objects.filter(customer=customer, created_at__gte=window).exclude(
            state=SurveyState.SKIPPED
        )
        if exclude is not None:
            recent = recent.exclude(pk=exclude)
        if recent.exists():
            return "window"
    if (
        not rules.during_open_crisis
        and Ticket.objects.filter(customer=customer, status__in=OPEN_STATUSES, crisis__isnull=False).exists()
    ):
        return "crisis_open"
    return ""


@transaction.atomic
def request_survey(
    *,
    customer: Customer,
    trigger: str,
    channel: str,
    ticket: Ticket | None = None,
    scale: str = SurveyScale.CSAT,
    recovery=None,
    after: timedelta | None = None,
    now: datetime | None = None,
) -> Survey | None:
    """Record that the customer is to be asked (due after the policy's delay), or None when the
    rules say no; the survey goes out after commit (or from the beat, `send_due_surveys`)."""
    now = now or timezone.now()
    rules = policy()
    # One customer's surveys are decided one at a time: three tickets solved at once ask once.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    channel = _survey_channel(ticket, channel)
    point = None if channel == "voice" else _point(customer, ticket, channel)
    reason = refusal(customer=customer, channel=channel, point=point, trigger=trigger, now=now, rules=rules)
    if reason:
        logger.info("no survey for customer %s after %s: %s", customer.pk, trigger, reason)
        return None
    wait = timedelta(minutes=rules.delay_minutes if trigger != SurveyTrigger.RESURVEY else 0)
    wait = max(wait, after or timedelta(0))
    survey = Survey.objects.create(
        customer=customer,
        ticket=ticket,
        contact_point=point,
        channel=channel,
        trigger=trigger,
        scale=scale,
        language=(point.language if point and point.language else "")
        or (ticket.language if ticket else "")
        or customer.language
        or "en",
        queue_id=ticket.queue_id if ticket else None,
        agent_id=ticket.assignee_id if ticket else None,
        crisis_id=ticket.crisis_id if ticket else None,
        recovery=recovery,
        due_at=now + wait,
    )
    if channel != "voice" and not wait:
        from helpdesk.feedback import tasks

        transaction.on_commit(lambda: tasks.send_survey.delay(survey.pk))
    return survey


def open_call_survey(*, customer: Customer, ticket: Ticket | None, language: str) -> Survey | None:
    """A survey the caller answers on the keypad now, at the end of a call with an agent."""
    survey = request_survey(customer=customer, trigger=SurveyTrigger.CALL, channel="voice", ticket=ticket)
    if survey is not None:
        Survey.objects.filter(pk=survey.pk).update(
            state=SurveyState.ASKED, asked_at=timezone.now(), language=language or survey.language
        )
        survey.refresh_from_db()
    return survey


def signed_token(survey: Survey) -> str:
    return signing.dumps(survey.pk, salt=SIGNING_SALT, compress=True)


def survey_from_token(token: str) -> Survey | None:
    """The survey a rating link names, None when the link was not ours."""
    try:
        pk = signing.loads(token, salt=SIGNING_SALT)
    except signing.BadSignature:
        return None
    return (
        Survey.objects.filter(pk=pk).select_related("customer", "ticket").first()
        if isinstance(pk, int)
        else None
    )


def rating_url(survey: Survey, score: int) -> str:
    base = (settings.PUBLIC_BASE_URL or "http://localhost:8000").rstrip("/")
    return base + reverse("survey_rate", args=[signed_token(survey), score])


def _scores(scale: str) -> range:
    return range(bottom_score(scale), top_score(scale) + 1)


def question_text(survey: Survey) -> str:
    """The question in the survey's language, with the scale in the reader's digits."""
    with translation.override(survey.language):
        low, high = (
            localformat.localize_digits(n) for n in (bottom_score(survey.scale), top_score(survey.scale))
        )
        if survey.scale == SurveyScale.NPS:
            question = _("How likely are you to recommend us to a friend?")
            scale = _("%(low)s means not at all, %(high)s certainly.") % {"low": low, "high": high}
        else:
            question = _("How did we do with your request?")
            scale = _("%(low)s means poor, %(high)s great.") % {"low": low, "high": high}
        if survey.channel == "email":
            lines = [question, scale, ""]
            lines += [
                f"{localformat.localize_digits(n)}: {rating_url(survey, n)}" for n in _scores(survey.scale)
            ]
            lines += ["", _("One click is enough; no sign-in.")]
            return "\n".join(lines)
        if survey.channel == "chat":
            return f"{question} {scale}"
        return f"{question} " + _("Reply with a number from %(low)s to %(high)s.") % {
            "low": low,
            "high": high,
        }


def chat_choices(survey: Survey) -> list[dict]:
    """The widget's buttons: each sends its score as the visitor's message."""
    with translation.override(survey.language):
        return [{"label": localformat.localize_digits(n), "answer": str(n)} for n in _scores(survey.scale)]


def send_survey(survey_id: int, *, now: datetime | None = None) -> bool:
    """Send a due survey once (claimed by a conditional update); the rules are checked again first,
    and a survey they now refuse is kept as not sent, with the reason."""
    from helpdesk.tickets.services import send_message

    now = now or timezone.now()
    with transaction.atomic():
        survey = (
            Survey.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer", "ticket", "contact_point")
            .filter(pk=survey_id, state=SurveyState.DUE, due_at__lte=now)
            .first()
        )
        if survey is None:
            return False
        reason = refusal(
            customer=survey.customer, channel=survey.channel, point=survey.contact_point,
            trigger=survey.trigger, now=now, rules=policy(), exclude=survey.pk,
        )  # fmt: skip
        reopened = survey.ticket is not None and survey.ticket.status != TicketStatus.SOLVED
        if not reason and survey.trigger == SurveyTrigger.SOLVED and reopened:
            reason = "reopened"
        if not reason and survey.ticket is None:
            reason = "no_ticket"
        if reason:
            survey.state, survey.skip_reason = SurveyState.SKIPPED, reason
            survey.save(update_fields=["state", "skip_reason"])
            return False
        assert survey.ticket is not None
        payload: dict = {"survey": survey.pk}
        if survey.channel == "chat":
            payload["choices"] = chat_choices(survey)
        with translation.override(survey.language):
            subject = _("How did we do?")
        event = send_message(
            ticket=survey.ticket,
            channel=survey.channel,
            body=question_text(survey),
            kind=EventKind.SURVEY,
            payload=payload,
            contact_point=survey.contact_point,
            subject=subject if survey.channel == "email" else "",
        )
        survey.state, survey.asked_at, survey.question_event_id = SurveyState.ASKED, now, event.pk
        survey.save(update_fields=["state", "asked_at", "question_event_id"])
    return True


def send_due_surveys(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat: send the surveys whose delay has passed; expire those nobody answered in time."""
    now = now or timezone.now()
    ids = list(
        Survey.objects.filter(state=SurveyState.DUE, due_at__lte=now)
        .exclude(channel="voice")
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = sum(send_survey(pk, now=now) for pk in ids)
    answer_window = timedelta(hours=policy().answer_hours)
    Survey.objects.filter(state=SurveyState.ASKED, asked_at__lt=now - answer_window).update(
        state=SurveyState.EXPIRED
    )
    return sent


# --- Answers -----------------------------------------------------------------------------------


def waiting_survey(*, customer_id: int, channel: str, now: datetime | None = None) -> Survey | None:
    """The survey that waits on this customer's answer (a score, or what went wrong) on this channel."""
    now = now or timezone.now()
    since = now - timedelta(hours=policy().answer_hours)
    return (
        Survey.objects.filter(customer_id=customer_id, channel=channel, asked_at__gte=since)
        .filter(_waiting())
        .select_related("ticket")
        .order_by("-asked_at", "-id")
        .first()
    )


def _waiting() -> Q:
    return Q(state=SurveyState.ASKED) | Q(
        state=SurveyState.ANSWERED, why_asked_at__isnull=False, commented_at__isnull=True
    )


def _note(survey: Survey, body: str, **payload) -> None:
    from helpdesk.tickets.services import add_system_event

    add_system_event(
        customer_id=survey.customer_id,
        ticket=survey.ticket,
        kind=EventKind.SURVEY,
        body=body,
        payload={"survey": survey.pk, **payload},
        contact_point=survey.contact_point,
    )


@transaction.atomic
def record_answer(*, survey: Survey, score: int, now: datetime | None = None) -> bool:
    """Record the score once (False when the survey was already answered or is out of range); a
    low score opens a recovery case and, where the customer writes back, asks what went wrong."""
    now = now or timezone.now()
    if not bottom_score(survey.scale) <= score <= top_score(survey.scale):
        return False
    changed = Survey.objects.filter(pk=survey.pk, state__in=(SurveyState.ASKED, SurveyState.EXPIRED)).update(
        state=SurveyState.ANSWERED, score=score, answered_at=now
    )
    if not changed:
        return False
    survey.refresh_from_db()
    _note(survey, _("Survey answered: %(score)s of %(top)s (%(channel)s)") % {
        "score": score, "top": top_score(survey.scale), "channel": survey.channel,
    }, score=score)  # fmt: skip
    from helpdesk import events
    from helpdesk.feedback import recovery

    events.publish("survey.answered", {
        "survey": survey.pk, "score": score, "scale": survey.scale, "channel": survey.channel,
        "customer": survey.customer_id, "ticket": survey.ticket_id, "trigger": survey.trigger,
    })  # fmt: skip
    if survey.recovery_id:
        recovery.record_resurvey(survey=survey)
    rules = policy()
    if is_low(survey, rules):
        recovery.open_case_for_survey(survey=survey, now=now)
        if survey.channel in ("sms", "chat") and survey.ticket is not None:
            _ask_why(survey, now)
    return True


def _ask_why(survey: Survey, now: datetime) -> None:
    from helpdesk.tickets.services import send_message

    assert survey.ticket is not None
    with translation.override(survey.language):
        body = _("We are sorry we let you down. What went wrong? A few words are enough.")
    send_message(
        ticket=survey.ticket, channel=survey.channel, body=body, kind=EventKind.SURVEY,
        payload={"survey": survey.pk, "why": True}, contact_point=survey.contact_point,
    )  # fmt: skip
    Survey.objects.filter(pk=survey.pk).update(why_asked_at=now)


@transaction.atomic
def record_comment(*, survey: Survey, text: str, now: datetime | None = None) -> bool:
    """What went wrong, in the customer's words (once; plain text, at most 2,000 characters)."""
    now = now or timezone.now()
    text = (text or "").strip()[:2000]
    if not text:
        return False
    changed = Survey.objects.filter(pk=survey.pk, score__isnull=False, commented_at__isnull=True).update(
        comment=text, commented_at=now
    )
    if changed:
        survey.comment = text
        _note(survey, _("Survey comment: %(text)s") % {"text": text}, comment=True)
    return bool(changed)


# --- Triggers ----------------------------------------------------------------------------------


def after_ticket_solved(*, ticket: Ticket) -> Survey | None:
    """A solved ticket asks on the channel its customer last wrote on (a chat's end: in the widget)."""
    from helpdesk.tickets.services import reply_channel_for

    channel = reply_channel_for(ticket)
    trigger = SurveyTrigger.CHAT if channel == "chat" else SurveyTrigger.SOLVED
    if channel == "voice":
        channel = "sms"
    return request_survey(customer=ticket.customer, trigger=trigger, channel=channel, ticket=ticket)


def after_triage(*, ticket: Ticket | None, customer: Customer, channel: str) -> Survey | None:
    if ticket is None or channel not in CONVERSATIONAL:
        return None
    # Asked a while after the last answer: the run's own "thank you" is the last word for now.
    return request_survey(
        customer=customer, trigger=SurveyTrigger.TRIAGE, channel=channel, ticket=ticket,
        after=timedelta(minutes=settings.SURVEY_AFTER_TRIAGE_MINUTES),
    )  # fmt: skip


def after_crisis_closed(*, crisis_id: int) -> int:
    """Ask each customer of the crisis's tickets how likely they are to recommend us (NPS), on the
    channel of their latest ticket; the window and the other rules apply as always."""
    from helpdesk.tickets.services import reply_channel_for

    asked = 0
    latest: dict[int, Ticket] = {}
    for ticket in (
        Ticket.objects.filter(crisis_id=crisis_id)
        .select_related("customer")
        .order_by("customer_id", "-last_activity_at")
    ):
        latest.setdefault(ticket.customer_id, ticket)
    for ticket in latest.values():
        channel = reply_channel_for(ticket)
        if channel == "voice":
            channel = "sms"
        survey = request_survey(
            customer=ticket.customer, trigger=SurveyTrigger.CRISIS, channel=channel, ticket=ticket,
            scale=SurveyScale.NPS, after=timedelta(hours=settings.SURVEY_AFTER_CLOSING_HOURS),
        )  # fmt: skip
        asked += survey is not None
    return asked
