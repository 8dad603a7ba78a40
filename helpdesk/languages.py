"""The languages the desk speaks: one list (settings.LANGUAGES), one fallback, one script guess."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")
DEFAULT = "en"
RTL_LANGUAGES = ("fa",)


def codes() -> tuple[str, ...]:
    """Language codes in settings order ("en", "fa", "km", "kn")."""
    return tuple(code for code, _name in settings.LANGUAGES)


def is_known(code: str) -> bool:
    return code in codes()


def fallback_order(language: str) -> list[str]:
    """The language, then English, without repeats."""
    return list(dict.fromkeys([language, DEFAULT]))


def text_for(texts: Mapping[str, T], language: str, default: T | str = "") -> T | str:
    """The text in the language, else English, else any language that has one, else default."""
    for lang in (*fallback_order(language), *texts.keys()):
        value = texts.get(lang)
        if value:
            return value
    return default


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
