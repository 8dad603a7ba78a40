"""SMS consent: STOP/START/HELP keywords, carrier error codes, and the localized HELP answer."""

from __future__ import annotations

import unicodedata

from django.utils import timezone

from helpdesk.customers import services as customer_services
from helpdesk.customers.models import ContactPoint
from helpdesk.tickets.models import Channel, Direction, EventKind, TimelineEvent

# Twilio's default opt-out keywords (carriers honour these even if we did not).
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
START_WORDS = {"start", "yes", "unstop"}
HELP_WORDS = {"help", "info"}

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
# Carrier/Twilio error codes that tell us something lasting about the number.
OPTED_OUT_CODES = {"21610"}
INVALID_CODES = {"21211", "21614", "30005", "30006"}


def keyword(body: str) -> str:
    """Return the message reduced to a possible keyword: trimmed, case-folded, width-normalized."""
    text = unicodedata.normalize("NFKC", body or "").strip().strip(".!?¡¿،。").casefold()
    return text if " " not in text and len(text) <= 12 else ""


def guess_language(text: str) -> str:
    """Return fa, km or kn when the text is written in that script, else ''."""
    for ch in text or "":
        code = ord(ch)
        if 0x0600 <= code <= 0x06FF or 0xFB50 <= code <= 0xFEFF:
            return "fa"
        if 0x1780 <= code <= 0x17FF:
            return "km"
        if 0x0C80 <= code <= 0x0CFF:
            return "kn"
    return ""


def language_of(point: ContactPoint | None, fallback: str = "en") -> str:
    if point is None:
        return fallback
    return point.language or point.customer.language or fallback


def help_text(language: str) -> str:
    """The HELP answer in the language, with the crisis channel directory when there is one."""
    from helpdesk.crisis.selectors import channel_directory_lines

    lines = [HELP_TEXTS.get(language, HELP_TEXTS["en"])]
    lines.extend(channel_directory_lines(language)[:4])
    return "\n".join(lines)


def _consent_event(event: TimelineEvent, body: str, action: str) -> None:
    TimelineEvent.objects.create(
        customer_id=event.customer_id,
        ticket_id=event.ticket_id,
        channel=Channel.SYSTEM,
        direction=Direction.INTERNAL,
        kind=EventKind.CONSENT,
        contact_point=event.contact_point,
        body=body,
        payload={"action": action, "keyword": event.body.strip()[:20]},
        created_at=timezone.now(),
    )


def handle(event: TimelineEvent) -> bool:
    """Act on a consent keyword; True when the message was one and needs nothing else."""
    from helpdesk.tickets.services import send_message

    point = event.contact_point
    word = keyword(event.body)
    if point is None or not word:
        return False
    if word in STOP_WORDS:
        customer_services.opt_out(contact_point=point, reason=word.upper())
        _consent_event(event, f"{point.value} opted out by SMS ({word.upper()}).", "opt_out")
        return True
    if word in START_WORDS:
        if point.opted_out_at is None:
            return False  # "yes" to a question (triage, broadcast) — not about consent
        customer_services.opt_in(contact_point=point)
        _consent_event(event, f"{point.value} opted back in by SMS ({word.upper()}).", "opt_in")
        if event.ticket is not None:
            send_message(
                ticket=event.ticket,
                channel=Channel.SMS,
                body=RESUBSCRIBED_TEXTS.get(language_of(point), RESUBSCRIBED_TEXTS["en"]),
                contact_point=point,
            )
        return True
    if word in HELP_WORDS:
        if event.ticket is not None and point.can_receive:
            send_message(
                ticket=event.ticket,
                channel=Channel.SMS,
                body=help_text(language_of(point)),
                contact_point=point,
            )
        return True
    return False


def apply_delivery_error(*, provider_id: str, error_code: str) -> None:
    """A status callback's error code that says the number opted out or does not exist."""
    if error_code not in OPTED_OUT_CODES | INVALID_CODES:
        return
    event = (
        TimelineEvent.objects.filter(provider="twilio", provider_id=provider_id)
        .select_related("contact_point")
        .first()
    )
    if event is None or event.contact_point is None:
        return
    if error_code in OPTED_OUT_CODES:
        customer_services.opt_out(contact_point=event.contact_point, reason=f"carrier {error_code}")
    else:
        customer_services.mark_invalid(contact_point=event.contact_point)
