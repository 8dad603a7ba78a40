"""HELP by email: a message that says only HELP (in any language's word for it) is answered with
how this address works, the published crisis statement and the channel directory, on the same
thread. STOP by email is the unsubscribe link's (channels_app.email.unsubscribe), not a word."""

from __future__ import annotations

from helpdesk.languages import text_for
from helpdesk.messaging.keywords import Keyword, keyword_of
from helpdesk.tickets.models import Channel, TimelineEvent

HELP_TEXTS = {
    "en": "Tourniquet help desk: reply to this email and an agent will answer.",
    "fa": "میز کمک تورنیکت: به همین ایمیل پاسخ دهید تا یک همکار جواب دهد.",
    "km": "ផ្នែកជំនួយ Tourniquet៖ ឆ្លើយតបអ៊ីមែលនេះ ហើយភ្នាក់ងារនឹងឆ្លើយ។",
    "kn": "ಟೂರ್ನಿಕೆಟ್ ಸಹಾಯ ಕೇಂದ್ರ: ಈ ಇಮೇಲ್‌ಗೆ ಉತ್ತರಿಸಿ, ಸಿಬ್ಬಂದಿ ಉತ್ತರಿಸುತ್ತಾರೆ.",
}


def help_text(language: str) -> str:
    from helpdesk.crisis import public

    return "\n".join([str(text_for(HELP_TEXTS, language)), *public.help_lines(language)])


def _asks_for_help(event: TimelineEvent) -> bool:
    body = (event.body or "").strip()
    if body:
        return keyword_of(body) is Keyword.HELP
    return keyword_of(str((event.payload or {}).get("subject", ""))) is Keyword.HELP


def handle(event: TimelineEvent) -> bool:
    """True when the email was a HELP request, answered (where the address may receive mail)."""
    from helpdesk.crisis.models import DeflectionKind
    from helpdesk.crisis.surge import record_deflection
    from helpdesk.tickets.services import send_message

    point = event.contact_point
    if point is None or not _asks_for_help(event):
        return False
    record_deflection(kind=DeflectionKind.HELP_ANSWER, channel="email")
    if event.ticket is not None and point.can_receive:
        language = point.language or point.customer.language or "en"
        send_message(
            ticket=event.ticket, channel=Channel.EMAIL, body=help_text(language), contact_point=point
        )
    return True
