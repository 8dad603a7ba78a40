"""SMS consent: what STOP/START/HELP do on SMS, and the localized HELP answer.

The words themselves (every language) and their normalizer belong to helpdesk.messaging.keywords;
what carriers report about a number is applied by the one delivery action (messaging.delivery).
"""

from __future__ import annotations

from helpdesk.customers import services as customer_services
from helpdesk.customers.models import ContactPoint
from helpdesk.languages import text_for
from helpdesk.messaging.keywords import Keyword, keyword_of
from helpdesk.tickets.models import Channel, EventKind, TimelineEvent

HELP_TEXTS = {
    "en": (
        "Tourniquet help desk: reply here and an agent will answer. "
        "Reply STOP to stop messages, START to resume."
    ),
    "fa": (
        "میز کمک تورنیکت: به همین شماره پاسخ دهید تا یک همکار جواب دهد. "
        "برای قطع پیام‌ها STOP و برای ادامه START بفرستید."
    ),
    "km": "ផ្នែកជំនួយ Tourniquet៖ ឆ្លើយតបមកលេខនេះ ហើយភ្នាក់ងារនឹងឆ្លើយ។ ផ្ញើ STOP ដើម្បីឈប់ទទួលសារ និង START ដើម្បីទទួលវិញ។",
    "kn": "ಟೂರ್ನಿಕೆಟ್ ಸಹಾಯ ಕೇಂದ್ರ: ಇದೇ ಸಂಖ್ಯೆಗೆ ಉತ್ತರಿಸಿ, ಸಿಬ್ಬಂದಿ ಉತ್ತರಿಸುತ್ತಾರೆ. ಸಂದೇಶ ನಿಲ್ಲಿಸಲು STOP, ಮತ್ತೆ ಪಡೆಯಲು START ಕಳುಹಿಸಿ.",
}
RESUBSCRIBED_TEXTS = {
    "en": "You will receive our messages again. Reply STOP to stop.",
    "fa": "دوباره پیام‌های ما را دریافت می‌کنید. برای قطع، STOP بفرستید.",
    "km": "អ្នកនឹងទទួលសាររបស់យើងម្ដងទៀត។ ផ្ញើ STOP ដើម្បីឈប់។",
    "kn": "ನೀವು ಮತ್ತೆ ನಮ್ಮ ಸಂದೇಶಗಳನ್ನು ಪಡೆಯುತ್ತೀರಿ. ನಿಲ್ಲಿಸಲು STOP ಕಳುಹಿಸಿ.",
}


def language_of(point: ContactPoint | None, fallback: str = "en") -> str:
    if point is None:
        return fallback
    return point.language or point.customer.language or fallback


def help_text(language: str) -> str:
    """The HELP answer in the language: how this number works (carriers ask for it first), then
    the published crisis statement and the channel directory (helpdesk.crisis.public.help_lines)."""
    from helpdesk.crisis import public

    return "\n".join([str(text_for(HELP_TEXTS, language)), *public.help_lines(language)])


def _consent_event(event: TimelineEvent, body: str, action: str) -> None:
    from helpdesk.tickets.services import add_system_event

    add_system_event(
        customer_id=event.customer_id,
        ticket=event.ticket,
        kind=EventKind.CONSENT,
        body=body,
        contact_point=event.contact_point,
        payload={"action": action, "keyword": event.body.strip()[:20]},
    )


def handle(event: TimelineEvent) -> bool:
    """Act on a consent keyword; True when the message was one and needs nothing else."""
    from helpdesk.tickets.services import send_message

    point = event.contact_point
    keyword = keyword_of(event.body)
    if point is None or keyword is None:
        return False
    word = event.body.strip()[:20]
    if keyword is Keyword.STOP:
        customer_services.opt_out(contact_point=point, reason=word.upper())
        _consent_event(event, f"{point.value} opted out by SMS ({word.upper()}).", "opt_out")
        return True
    if keyword is Keyword.START:
        if point.opted_out_at is None:
            return False  # "yes" to a question (triage, broadcast) — not about consent
        customer_services.opt_in(contact_point=point)
        _consent_event(event, f"{point.value} opted back in by SMS ({word.upper()}).", "opt_in")
        if event.ticket is not None:
            send_message(
                ticket=event.ticket,
                channel=Channel.SMS,
                body=str(text_for(RESUBSCRIBED_TEXTS, language_of(point))),
                contact_point=point,
            )
        return True
    if keyword is Keyword.HELP:
        from helpdesk.crisis.models import DeflectionKind
        from helpdesk.crisis.surge import record_deflection

        record_deflection(kind=DeflectionKind.HELP_ANSWER, channel="sms")
        if event.ticket is not None and point.can_receive:
            send_message(
                ticket=event.ticket,
                channel=Channel.SMS,
                body=help_text(language_of(point)),
                contact_point=point,
            )
        return True
    return False
