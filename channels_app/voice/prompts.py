"""The IVR's words, in the caller's language (translated like every text of the desk).

Each function returns the `Speech` items of one step. A language without a <Say> voice is spoken
from the manager's recording where the step has one (the crisis message); the fixed prompts are
then said in English, after a line in English that says so. Digits are said as words by the
voice, so the texts write them as digits.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from channels_app.voice.ivr import Speech, say_locale

# The first menu for an unknown caller: each line in its own language.
LANGUAGE_KEYS = (("1", "en"), ("2", "fa"), ("3", "km"), ("4", "kn"))
# What the speech recogniser may hear for each language choice.
LANGUAGE_WORDS = {
    "en": ("english", "one"),
    "fa": ("farsi", "persian", "two", "فارسی"),
    "km": ("khmer", "three", "ខ្មែរ"),
    "kn": ("kannada", "four", "ಕನ್ನಡ"),
}
MENU_WORDS = {
    "1": ("one", "text", "sms", "message"),
    "2": ("two", "agent", "person", "operator", "someone"),
    "3": ("three", "voicemail", "message for"),
    "4": ("four", "questions", "triage"),
    "0": ("zero", "repeat", "again"),
}


def spoken_language(language: str) -> str:
    """The language the fixed prompts are said in: the caller's when Twilio speaks it, else English."""
    return language if say_locale(language) else "en"


def _in(language: str, text_of) -> Speech:
    spoken = spoken_language(language)
    with translation.override(spoken):
        return Speech(text=text_of(), language=spoken)


def language_menu() -> list[Speech]:
    out = []
    for digit, lang in LANGUAGE_KEYS:
        spoken = spoken_language(lang)  # each line in its own language where Twilio speaks it
        info = translation.get_language_info(lang)
        with translation.override(spoken):
            # Translators: the first menu, one line per language, each in its own language.
            line = _("For %(language)s, press %(digit)s.") % {
                "language": info["name_local"] if spoken == lang else info["name"],
                "digit": digit,
            }
        out.append(Speech(text=line, language=spoken))
    return out


def welcome(language: str) -> Speech:
    return _in(language, lambda: _("Thank you for calling."))


def menu(language: str, *, sms: bool, agent: bool, voicemail: bool, triage: bool) -> list[Speech]:
    lines = []
    if sms:
        lines.append(lambda: _("To get the steps by text message, press 1."))
    if agent:
        lines.append(lambda: _("To speak to an agent, press 2."))
    if voicemail:
        lines.append(lambda: _("To leave a voicemail, press 3."))
    if triage:
        lines.append(
            lambda: _("To answer five short questions so we can help you first if it is urgent, press 4.")
        )
    lines.append(lambda: _("To hear this again, press 0."))
    return [_in(language, line) for line in lines]


def not_understood(language: str) -> Speech:
    return _in(language, lambda: _("Sorry, I did not get that."))


def sms_sent(language: str) -> Speech:
    return _in(language, lambda: _("We have sent you the steps by text message. Goodbye."))


def sms_not_possible(language: str, steps: str) -> list[Speech]:
    """For a caller whose number is not verified: the steps are read out instead of texted."""
    return [
        _in(language, lambda: _("Here are the steps.")),
        Speech(text=steps, language=spoken_language(language)),
        _in(language, lambda: _("To get them by text message, send HELP to this number. Goodbye.")),
    ]


def wait_estimate(language: str, minutes: int) -> Speech:
    return _in(
        language,
        lambda: (
            _("Please hold for the next agent. The expected wait is about %(minutes)s minutes.")
            % {"minutes": max(1, minutes)}
        ),
    )


def callback_offer(language: str, minutes: int) -> list[Speech]:
    return [
        _in(
            language,
            lambda: (
                _("All our agents are busy. The expected wait is about %(minutes)s minutes.")
                % {"minutes": max(1, minutes)}
            ),
        ),
        _in(language, lambda: _("To be called back at this number, press 1. To keep waiting, press 2.")),
    ]


def callback_booked(language: str) -> Speech:
    return _in(language, lambda: _("Thank you. An agent will call you back at this number. Goodbye."))


def hold_position(language: str, position: int) -> Speech:
    return _in(
        language,
        lambda: (
            _("You are number %(position)s in line. Thank you for waiting.") % {"position": max(1, position)}
        ),
    )


def voicemail_intro(language: str) -> Speech:
    return _in(
        language,
        lambda: _("After the tone, say your name and how we can help. Press the hash key when you are done."),
    )


def voicemail_thanks(language: str) -> Speech:
    return _in(language, lambda: _("Thank you. We have your message and will get back to you. Goodbye."))


def closed(language: str) -> Speech:
    return _in(language, lambda: _("We are closed now. You can leave a voicemail after the tone."))


def calling_back(language: str) -> Speech:
    return _in(
        language, lambda: _("Hello, this is the help desk calling you back. Connecting you to an agent now.")
    )


def busy_text_help(language: str) -> Speech:
    return _in(
        language,
        lambda: _(
            "We cannot take your call right now. "
            "Text HELP to this number for what to do, or call again later."
        ),
    )


def goodbye(language: str) -> Speech:
    return _in(language, lambda: _("Goodbye."))


def triage_question(language: str, question: str) -> list[Speech]:
    return [
        Speech(text=question, language=spoken_language(language)),
        _in(language, lambda: _("Type your answer on the keypad, then press the hash key.")),
    ]


def triage_done(language: str) -> Speech:
    return _in(
        language,
        lambda: _("Thank you. Your answers are with our agents, who will help the most urgent first."),
    )


def survey_question(language: str) -> Speech:
    return _in(
        language,
        lambda: _("Before you go: how did we do? Press 1 for poor, up to 5 for great."),
    )


def survey_thanks(language: str, low: bool) -> Speech:
    if low:
        return _in(
            language,
            lambda: _("We are sorry we let you down. Someone will contact you to put it right. Goodbye."),
        )
    return _in(language, lambda: _("Thank you for your answer. Goodbye."))
