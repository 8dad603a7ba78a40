"""What a caller hears: TwiML documents built with the SDK's VoiceResponse, one function per step.

Pure: each function takes what it says (texts already in the caller's language, URLs already
built) and returns the document as a string; the webhooks decide which step comes next. Every
document is Twilio's own verbs and attributes (tests/channels_app/voice/twiml_schema.py checks).

Speech: `<Say>` speaks in the caller's language where Twilio has a voice for it
(settings.VOICE_SAY_LANGUAGES); where it has none (Persian and Khmer by default) the manager's
recording for that language is played, and without one the words are said in English. Menus take
keypad digits and speech alike (`<Gather input="dtmf speech">`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from twilio.twiml.voice_response import Enqueue, Gather, VoiceResponse

GATHER_SECONDS = 6
VOICEMAIL_SECONDS = 120
HOLD_PAUSE_SECONDS = 20


@dataclass(frozen=True)
class Speech:
    """One thing to tell the caller: a recording to play, else words to say in `language`."""

    text: str
    language: str = "en"
    recording: str = ""  # an absolute URL of our own recording for this language


def say_locale(language: str) -> str:
    """Twilio's <Say> locale for a desk language, '' when Twilio has no voice for it."""
    return settings.VOICE_SAY_LANGUAGES.get(language, "")


def _speak(target, speech: Speech) -> None:
    if speech.recording:
        target.play(speech.recording)
        return
    locale = say_locale(speech.language) or "en-US"
    target.say(speech.text, language=locale)


def _gather(action: str, language: str, *, digits: int | None = 1, hints: str = "") -> Gather:
    """One key (a menu), or with `digits=None` a number ended by # (a triage answer: "12#")."""
    locale = say_locale(language) or "en-US"
    extra = {"num_digits": digits} if digits else {"finish_on_key": "#"}
    gather = Gather(
        input="dtmf speech",
        action=action,
        method="POST",
        timeout=GATHER_SECONDS,
        speech_timeout="auto",
        language=locale,
        action_on_empty_result=False,
        **extra,
    )
    if hints:
        gather.hints = hints  # words the speech recogniser should expect ("one, two, agent")
    return gather


def menu(
    *,
    action: str,
    prompts: Sequence[Speech],
    before: Sequence[Speech] = (),
    retry: str,
    hints: str = "",
    digits: int | None = 1,
) -> str:
    """Say `before` once (a crisis message), then ask the menu; no answer: `retry` is asked next."""
    response = VoiceResponse()
    for speech in before:
        _speak(response, speech)
    language = prompts[0].language if prompts else "en"
    gather = _gather(action, language, hints=hints, digits=digits)
    for speech in prompts:
        _speak(gather, speech)
    response.append(gather)
    response.redirect(retry, method="POST")  # no key pressed, nothing said: ask again
    return str(response)


def language_menu(*, action: str, prompts: Sequence[Speech], retry: str) -> str:
    """The first menu for a caller whose language we do not know: one prompt per language, each
    in its own language, so everyone hears their own."""
    response = VoiceResponse()
    gather = _gather(action, "en", hints="English, Farsi, Khmer, Kannada")
    for speech in prompts:
        _speak(gather, speech)
    response.append(gather)
    response.redirect(retry, method="POST")
    return str(response)


def say_then_hang_up(speeches: Sequence[Speech]) -> str:
    response = VoiceResponse()
    for speech in speeches:
        _speak(response, speech)
    response.hangup()
    return str(response)


def say_then_redirect(speeches: Sequence[Speech], url: str) -> str:
    response = VoiceResponse()
    for speech in speeches:
        _speak(response, speech)
    response.redirect(url, method="POST")
    return str(response)


def enqueue(*, speeches: Sequence[Speech], queue: str, wait_url: str, action: str) -> str:
    """Tell the wait, then hold the caller in the queue (`wait_url` plays while they wait)."""
    response = VoiceResponse()
    for speech in speeches:
        _speak(response, speech)
    response.append(Enqueue(queue, wait_url=wait_url, wait_url_method="POST", action=action, method="POST"))
    return str(response)


def hold(speeches: Sequence[Speech]) -> str:
    """The queue's wait document: where the caller stands, then a pause (Twilio plays it again)."""
    response = VoiceResponse()
    for speech in speeches:
        _speak(response, speech)
    response.pause(length=HOLD_PAUSE_SECONDS)
    return str(response)


def voicemail(
    *, speeches: Sequence[Speech], action: str, transcribe_callback: str, status_callback: str
) -> str:
    """After the tone: record (ended by # or hanging up), transcribed; then `action` says goodbye."""
    response = VoiceResponse()
    for speech in speeches:
        _speak(response, speech)
    response.record(
        action=action,
        method="POST",
        max_length=VOICEMAIL_SECONDS,
        finish_on_key="#",
        play_beep=True,
        transcribe=True,
        transcribe_callback=transcribe_callback,
        recording_status_callback=status_callback,
        recording_status_callback_method="POST",
    )
    response.hangup()  # Twilio goes on here only when nothing was recorded
    return str(response)


def connect_agent(*, speeches: Sequence[Speech], client: str) -> str:
    """An agent's call back, once the customer answers: say who calls, then ring the agent's app."""
    response = VoiceResponse()
    for speech in speeches:
        _speak(response, speech)
    dial = response.dial(answer_on_bridge=True, timeout=30)
    dial.client(client)
    return str(response)
