"""Every path of the IVR, in two languages, through both doors; each TwiML answer checked against
Twilio's verbs (conftest.Caller, twiml_schema)."""

from __future__ import annotations

import random
import string
from datetime import time

import pytest

from channels_app.voice.models import Call, CallOutcome, IvrConfig, Recording
from helpdesk.crisis.models import Crisis, CrisisStatus
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import Direction, Priority, TimelineEvent
from tests.channels_app.voice.conftest import INBOUND, STATUS, call_sid
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db

CALLER = "+14155550100"


@pytest.fixture
def flood(db):
    return Crisis.objects.create(
        title="Flood",
        status=CrisisStatus.ACTIVE,
        texts={
            "en": {"summary": "The river flooded the town.", "what_to_do": "Freeze your card in the app."},
            "kn": {"summary": "ನದಿ ಪ್ರವಾಹ.", "what_to_do": "ಆಪ್‌ನಲ್ಲಿ ಕಾರ್ಡ್ ನಿಲ್ಲಿಸಿ."},
        },
    )


def known(language: str = "en", *, verified: bool = True, number: str = CALLER) -> ContactPoint:
    return ContactPointFactory(customer=CustomerFactory(language=language), value=number, verified=verified)


def call_of(walk) -> Call:
    return Call.objects.get(call_sid=walk.sid)


# --- Languages ---------------------------------------------------------------------------------


def test_an_unknown_caller_chooses_a_language_then_hears_the_crisis_and_the_menu(caller, flood):
    walk = caller.call("4", "hangup-by-silence")  # Kannada, then an answer the menu does not know
    first = walk.heard[:4]
    assert [h["language"] for h in first] == ["en-US", "en-US", "en-US", "kn-IN"]  # fa, km: no voice
    assert "ಕನ್ನಡ" in first[3]["say"]
    assert "ನದಿ ಪ್ರವಾಹ." in walk.said  # the crisis message in Kannada
    call = call_of(walk)
    assert call.language == "kn"
    assert Customer.objects.get(pk=call.customer_id).language == "kn"  # remembered for next time
    point = ContactPoint.objects.get(value=CALLER)
    assert not point.verified  # a caller id verifies nobody


def test_a_known_caller_skips_the_language_menu(caller, flood):
    known("kn")
    walk = caller.call()
    assert all("press 2" not in h.get("say", "") or h["language"] == "kn-IN" for h in walk.heard)
    assert walk.heard[0]["language"] == "kn-IN"
    assert call_of(walk).path[0]["step"] == "answered"


def test_a_persian_caller_hears_the_persian_recording_and_english_prompts(caller, flood, settings):
    IvrConfig.objects.create(crisis=flood, recordings={"fa": "/media/ivr/flood-fa.mp3"})
    known("fa")
    walk = caller.call()
    plays = [h["play"] for h in walk.heard if "play" in h]
    assert plays == [settings.PUBLIC_BASE_URL + "/media/ivr/flood-fa.mp3"]
    assert {h["language"] for h in walk.heard if "say" in h} == {"en-US"}


def test_speech_chooses_too(caller, flood):
    walk = caller.call({"speech": "Farsi please"}, {"speech": "I need an agent"})
    call = call_of(walk)
    assert call.language == "fa"
    assert call.outcome == CallOutcome.QUEUED or walk.ended_by.startswith("queue")


def test_three_unanswered_language_menus_fall_back_to_english(caller, flood):
    walk = caller.call()
    call = call_of(walk)
    assert call.language == "en"
    assert walk.ended_by == "hangup"


# --- 1: the steps by SMS -----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "kn"])
def test_1_texts_a_verified_caller_the_steps_through_the_outbox(caller, flood, language, settings):
    settings.CHANNEL_GATEWAYS = {
        **settings.CHANNEL_GATEWAYS,
        "sms": "channels_app.console.gateway.ConsoleGateway",
    }
    known(language)
    walk = caller.call("1")
    call = call_of(walk)
    assert call.outcome == CallOutcome.DEFLECTED
    sms = TimelineEvent.objects.get(channel="sms", direction=Direction.OUT)
    assert sms.payload["ivr"] == "self_service_steps" and sms.ticket_id == call.ticket_id
    expected = "Freeze your card in the app." if language == "en" else "ಆಪ್‌ನಲ್ಲಿ ಕಾರ್ಡ್ ನಿಲ್ಲಿಸಿ."
    assert expected in sms.body
    assert Outbox.objects.filter(event=sms).exists() or sms.delivery_status != "pending"
    assert "text message" in walk.said.lower() or language == "kn"
    assert walk.ended_by == "hangup"


def test_1_reads_the_steps_to_an_unverified_caller_and_texts_nothing(caller, flood):
    known("en", verified=False)
    walk = caller.call("1")
    assert "Freeze your card in the app." in walk.said
    assert "send HELP" in walk.said
    assert not TimelineEvent.objects.filter(direction=Direction.OUT).exists()
    assert call_of(walk).outcome == CallOutcome.DEFLECTED


# --- 2: an agent, or a call back ----------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "kn"])
def test_2_queues_for_an_agent_with_the_expected_wait(caller, flood, language):
    known(language)
    walk = caller.call("2", "agent")
    assert walk.ended_by == "queue:bridged"
    assert "about 2 minutes" in walk.said or language == "kn"  # 240 s handle time, 2 agents
    call = call_of(walk)
    assert call.outcome == CallOutcome.ANSWERED and call.answered_at is not None
    assert caller.status(walk.sid, "completed", "95").status_code == 204
    call.refresh_from_db()
    assert call.outcome == CallOutcome.COMPLETED and call.duration == 95
    event = TimelineEvent.objects.get(provider="twilio", provider_id=walk.sid)
    assert event.kind == "call" and event.payload["call"]["duration"] == 95
    assert "queue" in event.payload["call"]["path"]


def test_a_caller_who_hangs_up_in_the_queue_is_abandoned(caller, flood):
    known()
    walk = caller.call("2")
    assert walk.ended_by == "queue:hangup"
    caller.status(walk.sid, "completed", "30")
    assert call_of(walk).outcome == CallOutcome.ABANDONED


def test_past_the_surge_threshold_2_offers_a_call_back_and_1_books_it(caller, flood):
    IvrConfig.objects.create(crisis=flood, surge_wait_seconds=60)
    known()
    walk = caller.call("2", "1")
    assert "called back" in walk.said
    call = call_of(walk)
    assert call.outcome == CallOutcome.CALLBACK
    ticket = call.ticket
    assert ticket.priority == Priority.HIGH
    assert "callback" in [t.name for t in ticket.tags.all()]
    assert ticket.first_response_due_at is not None  # the SLA of its (higher) priority


def test_a_caller_offered_a_call_back_may_keep_waiting(caller, flood):
    IvrConfig.objects.create(crisis=flood, surge_wait_seconds=60)
    known()
    walk = caller.call("2", "2", "agent")
    assert walk.ended_by == "queue:bridged"


# --- 3: voicemail ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "kn"])
def test_3_leaves_a_voicemail_with_its_recording_and_transcript_on_the_timeline(caller, flood, language):
    known(language)
    walk = caller.call("3", recording_text="ನನ್ನ ಕಾರ್ಡ್ ನಿಲ್ಲಿಸಿ" if language == "kn" else "Please freeze my card.")
    assert walk.ended_by == "voicemail"
    call = call_of(walk)
    assert call.outcome == CallOutcome.VOICEMAIL
    voicemail = TimelineEvent.objects.get(kind="voicemail")
    assert voicemail.ticket_id == call.ticket_id and voicemail.channel == "voice"
    assert voicemail.body in ("Please freeze my card.", "ನನ್ನ ಕಾರ್ಡ್ ನಿಲ್ಲಿಸಿ")
    assert voicemail.payload["media"][0].endswith(".mp3")
    assert voicemail.payload["media_types"] == ["audio/mpeg"]
    assert Recording.objects.get().transcript == voicemail.body


def test_outside_business_hours_the_caller_can_only_leave_a_voicemail(caller, flood):
    IvrConfig.objects.create(crisis=flood, opens_at=time(0, 0), closes_at=time(0, 0, 1))
    known()
    walk = caller.call()
    assert "We are closed now" in walk.said
    assert walk.ended_by == "voicemail"


# --- 0, wrong keys, silence ---------------------------------------------------------------------


def test_0_repeats_the_message_and_the_menu(caller, flood):
    known()
    walk = caller.call("0")
    assert walk.said.count("The river flooded the town.") == 2


def test_a_wrong_key_is_said_so_then_the_menu_again(caller, flood):
    known()
    walk = caller.call("7", "3")
    assert "did not get that" in walk.said
    assert walk.ended_by == "voicemail"


def test_three_silent_menus_say_goodbye(caller, flood):
    known()
    walk = caller.call()
    assert walk.said.endswith("Goodbye.")
    assert [s["step"] for s in call_of(walk).path].count("no_input") == 3


def test_no_crisis_no_message(caller):
    known()
    walk = caller.call()
    assert "flooded" not in walk.said and "Thank you for calling." in walk.said


def test_a_withheld_number_hears_goodbye_and_opens_nothing(caller):
    walk = caller.call(caller="anonymous")
    assert walk.ended_by == "hangup"
    assert not Customer.objects.exists()


# --- Callbacks: signed, idempotent, never a 5xx ------------------------------------------------


def test_a_retried_first_webhook_is_one_call_and_one_event(caller, flood):
    known()
    sid = call_sid()
    caller.call(sid=sid)
    caller.call(sid=sid)
    assert Call.objects.count() == 1
    assert TimelineEvent.objects.filter(kind="call").count() == 1


def test_replayed_status_callbacks_are_recorded_once(lean_caller, flood):
    known()
    walk = lean_caller.call("2", "agent")
    for _ in range(3):
        assert lean_caller.status(walk.sid, "completed", "40").status_code == 204
    assert lean_caller.status(walk.sid, "ringing").status_code == 204  # late: changes nothing
    call = call_of(walk)
    assert call.status == "completed" and call.duration == 40


def test_replayed_recording_callbacks_are_one_voicemail(lean_caller, flood):
    known()
    walk = lean_caller.call("3")
    recording = Recording.objects.get()
    params = {
        "CallSid": walk.sid,
        "RecordingSid": recording.recording_sid,
        "RecordingUrl": recording.url,
        "RecordingStatus": "completed",
    }
    for _ in range(3):
        assert lean_caller.twilio.post("/webhooks/twilio/voice/recording/status/", params).status_code == 204
    assert TimelineEvent.objects.filter(kind="voicemail").count() == 1


@pytest.mark.parametrize(
    "path",
    [INBOUND, STATUS, "/webhooks/twilio/voice/menu/", "/webhooks/twilio/voice/recording/",
     "/webhooks/twilio/voice/transcription/"],
)  # fmt: skip
def test_unsigned_is_403(caller, path):
    params = {"CallSid": call_sid(), "From": CALLER, "Digits": "1"}
    assert caller.twilio.post(path, params, signature="").status_code == 403
    assert caller.twilio.post(path, params, signature="bm9wZQ==").status_code == 403
    assert not Call.objects.exists()


def test_a_thousand_junk_bodies_get_no_5xx(lean_caller, flood):
    from channels_app.voice.spec import ROUTES

    known()
    live = lean_caller.call("2")  # a real call, so junk can name a CallSid that exists
    rng = random.Random(16)
    fields = ["CallSid", "From", "To", "Digits", "SpeechResult", "CallStatus", "CallDuration",
              "RecordingSid", "RecordingUrl", "RecordingDuration", "TranscriptionText", "QueueResult",
              "RecordingStatus"]  # fmt: skip
    paths = ["/webhooks/" + path for path, _handler in ROUTES.values()]

    def junk() -> str:
        kind = rng.random()
        if kind < 0.2:
            return live.sid
        if kind < 0.3:
            return "RE" + "".join(rng.choices("0123456789abcdef", k=32))
        if kind < 0.4:
            return rng.choice(["completed", "ringing", "bridged", "hangup", "1", "", "https://x.test/a"])
        alphabet = string.printable + "\x00\u200c\u06f1ៗ🩸"
        return "".join(rng.choices(alphabet, k=rng.randint(0, 60)))

    statuses = []
    for _ in range(1000):
        params = {name: junk() for name in rng.sample(fields, rng.randint(0, len(fields)))}
        statuses.append(lean_caller.twilio.post(rng.choice(paths), params).status_code)
    assert max(statuses) < 500, sorted(set(statuses))
    assert {200, 204, 400} >= set(statuses)


# --- 4: triage on the keypad --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "kn"])
def test_4_asks_the_triage_questions_through_the_same_engine(caller, flood, language):
    from triage import services as triage_services
    from triage.models import Run, RunMode, RunStatus

    triage_services.seed_stop_the_bleeding()
    IvrConfig.objects.create(crisis=flood, offer_triage=True)
    known(language)
    walk = caller.call("4", "40", "1", "7", "2", "1", {"speech": "reopen the shop"})
    run = Run.objects.get()
    assert run.mode == RunMode.VOICE and run.status == RunStatus.COMPLETED
    assert run.state["answers"]["affected"] == 40 and run.state["answers"]["focus"] == "reopen the shop"
    from channels_app.voice import prompts

    # 7 is not one of the five exhaustion choices: said so in the caller's language.
    assert prompts.not_understood(language).text in walk.said
    ticket = call_of(walk).ticket
    ticket.refresh_from_db()
    assert ticket.severity is not None
    # Every answer given is on the record, the refused 7 too: five questions, six answers.
    assert TimelineEvent.objects.filter(ticket=ticket, kind="triage_answer").count() == 6
    if language == "kn":
        assert any(h.get("language") == "kn-IN" and "?" in h["say"] for h in walk.heard)


def test_4_is_not_offered_where_twilio_cannot_speak_the_questions(caller, flood):
    from triage import services as triage_services

    triage_services.seed_stop_the_bleeding()
    IvrConfig.objects.create(crisis=flood, offer_triage=True)
    known("fa")
    walk = caller.call("4")
    assert "press 4" not in walk.said
    assert "did not get that" in walk.said


def test_the_agent_sees_the_call_summary_and_the_voicemail_player(caller, flood, agent_client):
    known()
    walk = caller.call("3")
    page = agent_client.get(f"/tickets/{call_of(walk).ticket_id}/").content.decode()
    assert '<dl class="call-summary">' in page
    assert "ivr → menu:3 → voicemail</dd>" in page
    assert '<audio class="media-audio" controls preload="none"' in page


def test_a_wrong_language_key_asks_the_first_menu_again(caller, flood):
    walk = caller.call("9", "2")
    call = call_of(walk)
    assert call.language == "fa"
    assert [s["step"] for s in call.path].count("language_retry") == 1
    assert walk.said.count("For English, press 1.") == 2
