"""Consent keywords in every language the desk speaks, and the one normalizer that reads them.

Consent (opt out, back in, help) and triage (a STOP ends a run, never re-prompts it) both ask here,
so a word that opts a number out does so wherever it arrives. Pure: no Django, no database.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from helpdesk import digits

_PUNCT_EDGES = " \t\r\n.,;:!?¡¿،؛؟。'\"()[]{}«»“”‘’-_*"
# Arabic letter forms Persian keyboards also produce; one spelling on both sides.
_LETTER_VARIANTS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "\u0640": ""})


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# Twilio's and the carriers' English words (carriers honour these even if we did not), then ours.
WORDS: dict[Keyword, frozenset[str]] = {
    Keyword.STOP: frozenset(
        [
            *("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"),
            *("لغو", "توقف", "انصراف", "لغو عضویت"),  # Persian
            *("ឈប់", "បញ្ឈប់"),  # Khmer
            *("ನಿಲ್ಲಿಸಿ", "ನಿಲ್ಲಿಸು"),  # Kannada
        ]
    ),
    Keyword.START: frozenset(["start", "yes", "unstop", "شروع", "ចាប់ផ្តើម", "ಪ್ರಾರಂಭ"]),
    Keyword.HELP: frozenset(["help", "info", "راهنما", "کمک", "ជំនួយ", "ಸಹಾಯ"]),
}
STOP_WORDS = WORDS[Keyword.STOP]
_LONGEST = max(len(w) for words in WORDS.values() for w in words)


def normalize(text: str) -> str:
    """Width-folded, case-folded, ASCII digits, one spelling of Persian letters, no ZWNJ, trimmed."""
    text = unicodedata.normalize("NFKC", text or "").translate(_LETTER_VARIANTS).casefold()
    text = digits.to_ascii(text)
    text = text.replace("\u200c", " ").replace("\u200b", "")  # ZWNJ/ZWSP inside Persian/Khmer words
    return " ".join(text.split()).strip(_PUNCT_EDGES)


def keyword_of(text: str) -> Keyword | None:
    """The consent keyword the whole message is, or None ("stop" yes; "please stop by" no)."""
    word = normalize(text)
    if not word or len(word) > _LONGEST:
        return None
    for keyword, words in WORDS.items():
        if word in words:
            return keyword
    return None


def is_stop(text: str) -> bool:
    return keyword_of(text) is Keyword.STOP
