"""Twilio Voice webhooks: each answers the next TwiML step of the IVR, or records a callback.

The same rules as SMS: an unsigned request is 403, a malformed one 400, a database that is down
503 (Twilio then plays its fallback), never a 500; every callback is idempotent by CallSid or
RecordingSid. The menu (`_main`): the crisis message first, when a crisis is active, then
1 the steps by SMS (the call is deflected), 2 an agent (or a call back past the surge threshold),
3 voicemail, 4 the triage questions where the manager offers them, 0 repeat.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import wraps
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from channels_app.base import WebhookAnswer, WebhookRequest
from channels_app.twilio_api.webhooks import SID_RE, UNAVAILABLE, clean, refusal
from channels_app.voice import calls, ivr, prompts
from channels_app.voice.ivr import Speech
from channels_app.voice.models import Call, CallOutcome, IvrConfig
from channels_app.voice.urls import absolute
from helpdesk.customers.selectors import contact_point
from helpdesk.customers.services import normalize_phone
from helpdesk.errors import ApplicationError

logger = logging.getLogger(__name__)

NO_CONTENT = WebhookAnswer(204, "")
DIGITS_RE = re.compile(r"^[0-9*#]{0,20}$")
MAX_TRIES = 3  # menus asked without an answer before the IVR says goodbye


def _twiml(document: str) -> WebhookAnswer:
    return WebhookAnswer(200, document, "text/xml")


def _bad(message: str) -> WebhookAnswer:
    return WebhookAnswer(400, message)


def twilio_webhook(handler: Callable[[WebhookRequest, dict[str, str]], WebhookAnswer]):
    """Signature first; then the CallSid every voice webhook carries; a database error is a 503."""

    @wraps(handler)
    def wrapped(request: WebhookRequest) -> WebhookAnswer:
        if (refused := refusal(request)) is not None:
            return refused
        form = {k: clean(v, 2000) for k, v in request.form.items() if isinstance(v, str)}
        if not SID_RE.match(form.get("CallSid", "")) or not form["CallSid"].startswith("CA"):
            return _bad("CallSid is required.")
        try:
            return handler(request, form)
        except DatabaseError as exc:
            logger.error("voice webhook %s: database unavailable (%s)", request.path, type(exc).__name__)
            if handler.__name__ in ("handle_incoming", "handle_main"):
                return _without_database(form)
            return UNAVAILABLE

    return wrapped


def _query(request: WebhookRequest) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}


def _answer_of(form: dict[str, str]) -> tuple[str, str]:
    """The caller's answer: keypad digits, else what they said (lower-case)."""
    digits = form.get("Digits", "")
    if digits and DIGITS_RE.match(digits):
        return digits[:1], ""
    return "", form.get("SpeechResult", "")[:200].strip().lower()


def _choice(form: dict[str, str], words: dict[str, tuple[str, ...]]) -> str:
    digit, speech = _answer_of(form)
    if digit:
        return digit
    for key, said in words.items():
        if speech and any(w in speech for w in said):
            return key
    return ""


def _call(form: dict[str, str]) -> Call | None:
    return calls.find(form["CallSid"])


def _language(call: Call) -> str:
    return call.language or "en"


def _tries(call: Call, name: str) -> int:
    return sum(1 for s in call.path if s.get("step") == name)


# --- The call's first request ----------------------------------------------------------------


@twilio_webhook
def handle_incoming(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    caller = form.get("From", "")
    if not caller:
        return _bad("From is required.")
    try:
        normalize_phone(caller)
    except ApplicationError:
        # A withheld number ("anonymous"): nobody to match, text or call back, and no customer to
        # put the call on: the IVR says goodbye and the log keeps the CallSid.
        logger.info("call %s from a withheld number", form["CallSid"])
        return _twiml(ivr.say_then_hang_up([prompts.goodbye("en")]))
    call, _created = calls.start_call(
        call_sid=form["CallSid"],
        from_number=caller,
        to_number=form.get("To", "")[:64],
        status=form.get("CallStatus", "ringing"),
    )
    if not call.language:
        if _tries(call, "language_retry") >= MAX_TRIES:
            call = calls.set_language(call, "en")
            return _twiml(_main(call, with_message=True))
        if "again" in _query(request):
            calls.step(call, "language_retry")
        return _twiml(
            ivr.language_menu(
                action=absolute("voice:language"),
                prompts=prompts.language_menu(),
                retry=absolute("voice:inbound") + "?again=1",
            )
        )
    return _twiml(_main(call, with_message=True))


@twilio_webhook
def handle_language(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    call = _call(form)
    if call is None:
        return _bad("Unknown call.")
    words = {digit: prompts.LANGUAGE_WORDS[lang] for digit, lang in prompts.LANGUAGE_KEYS}
    choice = _choice(form, words)
    language = dict(prompts.LANGUAGE_KEYS).get(choice)
    if language is None:
        calls.step(call, "language_retry")  # counted here once; the first menu is asked again
        return _twiml(ivr.say_then_redirect([prompts.not_understood("en")], absolute("voice:inbound")))
    call = calls.set_language(call, language)
    return _twiml(_main(call, with_message=True))


# --- The main menu ---------------------------------------------------------------------------


def _open_now(config: IvrConfig, now: datetime | None = None) -> bool:
    if config.opens_at is None or config.closes_at is None:
        return True
    try:
        zone = ZoneInfo(config.time_zone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = timezone.localtime(now or timezone.now(), zone).time()
    if config.opens_at <= config.closes_at:
        return config.opens_at <= local < config.closes_at
    return local >= config.opens_at or local < config.closes_at  # open past midnight


def _without_database(form: dict[str, str]) -> WebhookAnswer:
    """The database is down: a caller still hears the last published statement (from the public
    snapshot), then how to get the steps by text; nothing is recorded, so the call ends there.
    With no crisis published either, Twilio's fallback plays (503)."""
    from helpdesk.crisis import public

    crisis = public.crisis_entry(public.current(), None)
    if crisis is None:
        return UNAVAILABLE
    language = settings.LANGUAGE_CODE[:2]
    return _twiml(
        ivr.say_then_hang_up([*statement_speech(crisis, language), prompts.busy_text_help(language)])
    )


def statement_speech(crisis: dict, language: str) -> list[Speech]:
    """A published statement as the IVR says it: the version's recording in the caller's language,
    else its title, what happened and what to do, said in the language Twilio speaks."""
    from helpdesk.crisis import public

    recording = (crisis.get("recordings") or {}).get(language)
    if isinstance(recording, str) and recording.startswith(("/", "https://", "http://")):
        return [Speech(text="", language=language, recording=_media_url(recording))]
    spoken = prompts.spoken_language(language)
    text = public.spoken_statement(crisis, spoken)
    return [Speech(text=text, language=spoken)] if text else []


def _crisis_message(call: Call, config: IvrConfig) -> list[Speech]:
    """The crisis's published statement (the same words as every channel), else, for a crisis
    without one, the IVR's own recording or message, else the crisis's texts."""
    from helpdesk.crisis import public

    if call.crisis_id is None:
        return []
    language = _language(call)
    published = public.crisis_entry(public.current(), call.crisis_id)
    if published is not None and published.get("version"):
        return statement_speech(published, language)
    recording = config.recordings.get(language)
    if isinstance(recording, str) and recording.startswith(("/", "https://", "http://")):
        return [Speech(text="", language=language, recording=_media_url(recording))]
    spoken = prompts.spoken_language(language)
    text = str(config.messages.get(spoken) or "")
    crisis = call.crisis
    if not text and crisis is not None:
        text = " ".join(t for t in (crisis.text(spoken, "summary"), crisis.text(spoken, "what_to_do")) if t)
    return [Speech(text=text, language=spoken)] if text else []


def _media_url(path: str) -> str:
    return path if path.startswith(("https://", "http://")) else settings.PUBLIC_BASE_URL.rstrip("/") + path


def _main(call: Call, *, with_message: bool, config: IvrConfig | None = None) -> str:
    config = config or calls.ivr_config(call.crisis_id)
    language = _language(call)
    before = [prompts.welcome(language), *(_crisis_message(call, config) if with_message else [])]
    if not _open_now(config):
        return _voicemail(call, before=[*before, prompts.closed(language)])
    options = prompts.menu(
        language,
        sms=config.offer_sms,
        agent=config.offer_agent,
        voicemail=config.offer_voicemail,
        triage=_triage_flow(call, config) is not None,
    )
    return ivr.menu(
        action=absolute("voice:menu"),
        prompts=options,
        before=before,
        retry=absolute("voice:main") + "?again=1",
        hints="one, two, three, zero, agent, text, voicemail, repeat",
    )


@twilio_webhook
def handle_main(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    """The menu asked again: nothing was pressed (`?again=1`), or after a step that returns here."""
    call = _call(form)
    if call is None:
        return _bad("Unknown call.")
    if "again" in _query(request):
        call = calls.step(call, "no_input")
        if _tries(call, "no_input") >= MAX_TRIES:
            return _twiml(ivr.say_then_hang_up([prompts.goodbye(_language(call))]))
    return _twiml(_main(call, with_message=False))


@twilio_webhook
def handle_menu(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    call = _call(form)
    if call is None:
        return _bad("Unknown call.")
    config = calls.ivr_config(call.crisis_id)
    language = _language(call)
    choice = _choice(form, prompts.MENU_WORDS)
    if choice == "1" and config.offer_sms:
        return _twiml(_deflect(call, config))
    if choice == "2" and config.offer_agent:
        wait = calls.estimated_wait_seconds(config)
        if wait > config.surge_wait_seconds:
            calls.step(call, "menu:2", "callback_offer")
            return _twiml(
                ivr.menu(
                    action=absolute("voice:callback"),
                    prompts=prompts.callback_offer(language, round(wait / 60)),
                    retry=absolute("voice:callback") + "?none=1",
                    hints="one, two, call back, wait",
                )
            )
        return _twiml(_enqueue(call, wait, "menu:2"))
    if choice == "3" and config.offer_voicemail:
        calls.step(call, "menu:3")
        return _twiml(_voicemail(call, before=[]))
    if choice == "4" and (flow := _triage_flow(call, config)) is not None:
        return _twiml(_start_triage(call, flow))
    if choice == "0":
        calls.step(call, "menu:0")
        return _twiml(_main(call, with_message=True, config=config))
    call = calls.step(call, f"menu_retry:{choice}")
    if _tries(call, "menu_retry") >= MAX_TRIES:
        return _twiml(ivr.say_then_hang_up([prompts.not_understood(language), prompts.goodbye(language)]))
    return _twiml(ivr.say_then_redirect([prompts.not_understood(language)], absolute("voice:main")))


def sms_steps(call: Call, config: IvrConfig) -> str:
    """What a caller who presses 1 is texted: the manager's steps, else the crisis's "what to do"
    with its channel directory, else the desk's HELP answer's directory."""
    from helpdesk.crisis.selectors import channel_directory_lines
    from helpdesk.languages import text_for

    language = _language(call)
    text = str(text_for(config.sms_steps, language))
    crisis = call.crisis if call.crisis_id else None
    if not text and crisis is not None:
        text = crisis.text(language, "what_to_do") or crisis.text(language, "summary")
    lines = [text] if text else []
    lines.extend(channel_directory_lines(language)[:4])
    return "\n".join(lines) or prompts.goodbye(language).text


def _deflect(call: Call, config: IvrConfig) -> str:
    """1: the steps by SMS through the outbox, when the number is verified; else read out, with how
    to get them by text (a text from the number proves it). Either way the call is deflected."""
    from helpdesk.crisis.models import DeflectionKind
    from helpdesk.crisis.surge import record_deflection
    from helpdesk.tickets import services as tickets
    from helpdesk.tickets.models import Ticket

    language = _language(call)
    steps = sms_steps(call, config)
    if call.outcome != CallOutcome.DEFLECTED:  # a retried or repeated press counts the call once
        record_deflection(
            kind=DeflectionKind.IVR_SMS, channel="voice", crisis=call.crisis if call.crisis_id else None
        )
    point = contact_point(kind="phone", value=call.from_number)
    if point is not None and call.ticket_id and not tickets.blocked_reason(point, "sms"):
        ticket = Ticket.objects.get(pk=call.ticket_id)
        with transaction.atomic():
            tickets.send_system_messages(
                [
                    tickets.SystemMessage(
                        ticket=ticket,
                        channel="sms",
                        body=steps,
                        contact_point=point,
                        payload={"ivr": "self_service_steps", "call_sid": call.call_sid},
                    )
                ]
            )
        calls.step(call, "menu:1", "sms_sent", outcome=CallOutcome.DEFLECTED)
        return ivr.say_then_hang_up([prompts.sms_sent(language)])
    calls.step(call, "menu:1", "steps_read", outcome=CallOutcome.DEFLECTED)
    return ivr.say_then_hang_up(prompts.sms_not_possible(language, steps))


def _enqueue(call: Call, wait_seconds: int, *before: str) -> str:
    calls.step(call, *before, "queue", outcome=CallOutcome.QUEUED)
    return ivr.enqueue(
        speeches=[prompts.wait_estimate(_language(call), round(wait_seconds / 60))],
        queue=calls.QUEUE_NAME,
        wait_url=absolute("voice:wait"),
        action=absolute("voice:queue"),
    )


def _voicemail(call: Call, *, before: list[Speech]) -> str:
    return ivr.voicemail(
        speeches=[*before, prompts.voicemail_intro(_language(call))],
        action=absolute("voice:recording"),
        transcribe_callback=absolute("voice:transcription"),
        status_callback=absolute("voice:recording_status"),
    )


@twilio_webhook
def handle_callback_choice(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    call = _call(form)
    if call is None:
        return _bad("Unknown call.")
    choice = _choice(form, {"1": ("one", "call back", "callback"), "2": ("two", "wait", "hold")})
    if choice == "1":
        calls.request_callback(call)
        return _twiml(ivr.say_then_hang_up([prompts.callback_booked(_language(call))]))
    # 2, or nothing pressed: the caller keeps waiting.
    wait = calls.estimated_wait_seconds(calls.ivr_config(call.crisis_id))
    return _twiml(_enqueue(call, wait, "callback_declined"))


@twilio_webhook
def handle_wait(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    call = _call(form)
    if call is None:
        return _bad("Unknown call.")
    return _twiml(ivr.hold([prompts.hold_position(_language(call), calls.queue_position(call))]))


@twilio_webhook
def handle_queue_exit(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    call = _call(form)
    if call is None:
        return _bad("Unknown call.")
    result = form.get("QueueResult", "")
    calls.left_queue(call, result)
    if result == "bridged" and call.customer is not None:
        # The agent hung up and the caller is still on the line: one question before goodbye.
        from helpdesk.feedback.surveys import open_call_survey

        survey = open_call_survey(customer=call.customer, ticket=call.ticket, language=_language(call))
        if survey is not None:
            calls.step(call, "survey")
            return _twiml(_ask_survey(call, survey.pk))
    return _twiml(ivr.say_then_hang_up([]))


def _ask_survey(call: Call, survey_id: int, *, before: Sequence[Speech] = ()) -> str:
    url = absolute("voice:survey") + f"?survey={survey_id}"
    return ivr.menu(
        action=url, prompts=[prompts.survey_question(_language(call))], before=before,
        retry=url + "&none=1", digits=1,
    )  # fmt: skip


@twilio_webhook
def handle_survey(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    """The caller's key after "how did we do?": recorded on the survey, then goodbye."""
    from helpdesk.feedback.models import Survey
    from helpdesk.feedback.surveys import is_low, parse_score, record_answer

    call = _call(form)
    query = _query(request)
    survey_id = query.get("survey", "")
    survey = (
        Survey.objects.filter(pk=int(survey_id), customer_id=call.customer_id, channel="voice").first()
        if call is not None and call.customer_id is not None and survey_id.isdigit()
        else None
    )
    if call is None or survey is None:
        return _bad("Unknown call or survey.")
    language = _language(call)
    if "none" in query:
        return _twiml(ivr.say_then_hang_up([prompts.goodbye(language)]))
    score = parse_score(form.get("Digits", "") or form.get("SpeechResult", "")[:20], survey.scale)
    if score is None:
        if _tries(call, "survey") >= MAX_TRIES:
            return _twiml(ivr.say_then_hang_up([prompts.goodbye(language)]))
        calls.step(call, "survey")
        return _twiml(_ask_survey(call, survey.pk, before=[prompts.not_understood(language)]))
    record_answer(survey=survey, score=score)
    survey.score = score
    return _twiml(ivr.say_then_hang_up([prompts.survey_thanks(language, is_low(survey))]))


# --- 4: the triage questions on the keypad ------------------------------------------------------


def _triage_flow(call: Call, config: IvrConfig):
    """The flow the IVR asks, when the manager offers it and Twilio speaks the caller's language
    (its questions are in that language: read in another voice, nobody would follow them)."""
    if not config.offer_triage:
        return None
    if prompts.spoken_language(_language(call)) != _language(call):
        return None
    from triage.selectors import published_flows

    return published_flows().first()


def _ask(call: Call, question: str) -> str:
    return ivr.menu(
        action=absolute("voice:triage"),
        prompts=prompts.triage_question(_language(call), question),
        retry=absolute("voice:triage") + "?none=1",
        digits=None,
    )


def _start_triage(call: Call, flow) -> str:
    from triage import selectors, services
    from triage.models import RunMode

    customer = call.customer
    if customer is None:
        return _main(call, with_message=False)
    run = selectors.active_run(customer_id=customer.pk, mode=RunMode.VOICE)
    if run is None:
        try:
            run = services.start_run(
                flow=flow,
                customer=customer,
                ticket=call.ticket,
                mode=RunMode.VOICE,
                language=_language(call),
            )
        except ApplicationError:
            return _main(call, with_message=False)
    calls.step(call, "menu:4", "triage")
    return _ask(call, selectors.run_prompt(run))


@twilio_webhook
def handle_triage(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    """One triage answer from the keypad (or said), fed to the same engine as SMS answers."""
    from triage import selectors, services
    from triage.models import RunMode

    call = _call(form)
    if call is None or not call.customer_id:
        return _bad("Unknown call.")
    language = _language(call)
    run = selectors.active_run(customer_id=call.customer_id, mode=RunMode.VOICE)
    if run is None:
        return _twiml(_main(call, with_message=False))
    if "none" in _query(request):
        call = calls.step(call, "no_input")
        if _tries(call, "no_input") >= MAX_TRIES:
            return _twiml(ivr.say_then_hang_up([prompts.goodbye(language)]))
        return _twiml(_ask(call, selectors.run_prompt(run)))
    digits = form.get("Digits", "").rstrip("#")
    answer = digits if DIGITS_RE.match(digits) and digits else form.get("SpeechResult", "")[:200]
    try:
        result = services.answer_run(run=run, answer=answer)
    except ApplicationError:
        return _twiml(_main(call, with_message=False))
    if result.completed:
        calls.step(call, "triage_done")
        return _twiml(ivr.say_then_redirect([prompts.triage_done(language)], absolute("voice:main")))
    question = " ".join(result.prompts) or selectors.run_prompt(result.run)
    if not result.valid:
        return _twiml(
            ivr.say_then_redirect([prompts.not_understood(language)], absolute("voice:triage") + "?none=1")
        )
    return _twiml(_ask(call, question))


# --- Voicemail ---------------------------------------------------------------------------------


def _recording(form: dict[str, str]) -> tuple[str, str, int | None] | WebhookAnswer:
    sid, url = form.get("RecordingSid", ""), form.get("RecordingUrl", "")
    if not SID_RE.match(sid) or not sid.startswith("RE") or not url.startswith(("https://", "http://")):
        return _bad("RecordingSid and RecordingUrl are required.")
    duration = form.get("RecordingDuration", "")
    return sid, url[:450], int(duration) if duration.isdigit() else None


def _voicemail_from(form: dict[str, str]) -> WebhookAnswer | None:
    found = _recording(form)
    if isinstance(found, WebhookAnswer):
        return found
    sid, url, duration = found
    call = _call(form)
    if call is None:
        return _bad("Unknown call.")
    calls.record_voicemail(call=call, recording_sid=sid, url=url, duration=duration)
    return None


@twilio_webhook
def handle_recording(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    """<Record>'s action: the voicemail is in; say goodbye."""
    call = _call(form)
    language = _language(call) if call else "en"
    if not form.get("RecordingSid"):  # nothing was recorded
        return _twiml(ivr.say_then_hang_up([prompts.goodbye(language)]))
    refused = _voicemail_from(form)
    if refused is not None:
        return refused
    return _twiml(ivr.say_then_hang_up([prompts.voicemail_thanks(language)]))


@twilio_webhook
def handle_recording_status(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    if form.get("RecordingStatus", "completed") != "completed":
        return NO_CONTENT  # "in-progress", "absent", "failed": nothing to keep yet
    return _voicemail_from(form) or NO_CONTENT


@twilio_webhook
def handle_transcription(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    # Twilio may send the transcript before the recording's own callbacks: record it first.
    refused = _voicemail_from(form)
    if refused is not None:
        return refused
    calls.record_transcript(
        recording_sid=form["RecordingSid"],
        text=form.get("TranscriptionText", ""),
        status=form.get("TranscriptionStatus", ""),
    )
    return NO_CONTENT


# --- Status callbacks and call backs -----------------------------------------------------------


@twilio_webhook
def handle_status(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    status = form.get("CallStatus", "")
    if status not in calls.STATUS_RANK:
        return _bad("A known CallStatus is required.")
    duration = form.get("CallDuration", "")
    calls.apply_status(
        call_sid=form["CallSid"],
        status=status,
        duration=int(duration) if duration.isdigit() else None,
        error=form.get("ErrorMessage", ""),
    )
    return NO_CONTENT  # unknown, replayed or late: recorded at most once, nothing to say


@twilio_webhook
def handle_outbound(request: WebhookRequest, form: dict[str, str]) -> WebhookAnswer:
    """The customer answered an agent's call back: say who calls, then ring the agent."""
    call = _call(form)
    agent = call.placed_by if call is not None else None
    if call is None or agent is None:
        return _bad("Unknown call.")
    client = settings.VOICE_AGENT_CLIENT_PREFIX + agent.get_username()
    calls.step(call, "connect_agent")
    return _twiml(ivr.connect_agent(speeches=[prompts.calling_back(_language(call))], client=client))
