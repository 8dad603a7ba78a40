"""An in-process Twilio for the IVR: a caller whose answers are given, walking the TwiML we answer.

`Caller.call()` posts the call's first webhook signed as Twilio does (through both doors, like the
SMS tests), checks every TwiML answer against Twilio's verbs (`twiml_schema.check`) and follows it
as Twilio would: <Gather> takes the next input (falls through with none), <Redirect> and actions
are posted, <Enqueue> plays its waitUrl once and leaves the queue ("agent": bridged, then its action's
answer is followed; else hung up), <Record> posts the action and both recording callbacks. The real fake
(channels_app/fake_twilio/voice.py) does the same over HTTP in the integration tests.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field

import pytest
from django.conf import settings

from tests.channels_app.sms.conftest import LeanClient, Twilio
from tests.channels_app.voice import twiml_schema

INBOUND = "/webhooks/twilio/voice/"
STATUS = "/webhooks/twilio/voice/status/"


def call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def recording_sid() -> str:
    return "RE" + secrets.token_hex(16)


@dataclass
class Walk:
    sid: str
    heard: list[dict] = field(default_factory=list)  # {"say": text, "language": …} or {"play": url}
    documents: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    ended_by: str = ""

    @property
    def said(self) -> str:
        return " | ".join(h.get("say", h.get("play", "")) for h in self.heard)


class Caller:
    def __init__(self, twilio: Twilio) -> None:
        self.twilio = twilio

    def path_of(self, url: str) -> str:
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        assert url.startswith(base), f"{url} is not on the desk ({base})"
        return url[len(base) :]

    def post(self, walk: Walk, url_or_path: str, params: dict, caller: str):
        path = url_or_path if url_or_path.startswith("/") else self.path_of(url_or_path)
        form = {
            "CallSid": walk.sid,
            "From": caller,
            "To": settings.TWILIO_FROM,
            "AccountSid": "AC0",
            **params,
        }
        response = self.twilio.post(path, form)
        walk.statuses.append(response.status_code)
        return response

    def call(
        self,
        *inputs,
        caller: str = "+14155550100",
        sid: str | None = None,
        recording_text: str = "My card was frozen, please call me.",
        max_documents: int = 30,
    ) -> Walk:
        walk = Walk(sid=sid or call_sid())
        queue = deque(inputs)
        response = self.post(walk, INBOUND, {"CallStatus": "ringing"}, caller)
        while response is not None:
            assert response.status_code == 200, response.content
            assert len(walk.documents) < max_documents, "the IVR loops"
            walk.documents.append(response.content.decode())
            root = twiml_schema.check(response.content)
            response = self._follow(walk, root, queue, caller, recording_text)
        return walk

    def _hear(self, walk: Walk, verb) -> None:
        if verb.tag == "Say":
            walk.heard.append({"say": verb.text.strip(), "language": verb.get("language")})
        elif verb.tag == "Play":
            walk.heard.append({"play": verb.text.strip()})

    def _follow(self, walk: Walk, root, queue: deque, caller: str, recording_text: str):
        for verb in root:
            if verb.tag in ("Say", "Play", "Pause"):
                self._hear(walk, verb)
            elif verb.tag == "Gather":
                for inner in verb:
                    self._hear(walk, inner)
                if queue:
                    item = queue.popleft()
                    params = {"SpeechResult": item["speech"]} if isinstance(item, dict) else {"Digits": item}
                    return self.post(
                        walk, verb.get("action"), {**params, "CallStatus": "in-progress"}, caller
                    )
            elif verb.tag == "Redirect":
                return self.post(walk, verb.text.strip(), {"CallStatus": "in-progress"}, caller)
            elif verb.tag == "Enqueue":
                hold = self.post(walk, verb.get("waitUrl"), {"QueuePosition": "1", "QueueTime": "0"}, caller)
                assert hold.status_code == 200
                walk.documents.append(hold.content.decode())
                for inner in twiml_schema.check(hold.content):
                    self._hear(walk, inner)
                bridged = bool(queue) and queue[0] == "agent"
                if bridged:
                    queue.popleft()
                result = "bridged" if bridged else "hangup"
                walk.ended_by = f"queue:{result}"
                after = self.post(
                    walk, verb.get("action"), {"QueueResult": result, "QueueTime": "12"}, caller
                )
                # Bridged: the agent hung up and the caller hears the action's answer (a survey);
                # hung up: the caller is gone, Twilio plays nothing more.
                return after if bridged else None
            elif verb.tag == "Record":
                rec = {
                    "RecordingSid": recording_sid(),
                    "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/{walk.sid}",
                    "RecordingDuration": "9",
                }
                status = self.post(
                    walk, verb.get("recordingStatusCallback"), {**rec, "RecordingStatus": "completed"}, caller
                )
                assert status.status_code == 204
                text = {"TranscriptionText": recording_text, "TranscriptionStatus": "completed",
                        "TranscriptionSid": "TR" + secrets.token_hex(16)}  # fmt: skip
                assert (
                    self.post(walk, verb.get("transcribeCallback"), {**rec, **text}, caller).status_code
                    == 204
                )
                walk.ended_by = "voicemail"
                return self.post(walk, verb.get("action"), {**rec, "Digits": "#"}, caller)
            elif verb.tag in ("Hangup", "Reject"):
                walk.ended_by = walk.ended_by or "hangup"
                return None
            elif verb.tag == "Dial":
                walk.ended_by = "dial"
                return None
        walk.ended_by = walk.ended_by or "end"
        return None

    def status(self, sid: str, status: str, duration: str = "", caller: str = "+14155550100"):
        params = {
            "CallSid": sid,
            "CallStatus": status,
            "From": caller,
            **({"CallDuration": duration} if duration else {}),
        }
        return self.twilio.post(STATUS, params)


@pytest.fixture(params=["django", "lean"])
def caller(request, client) -> Caller:
    return Caller(Twilio(client if request.param == "django" else LeanClient()))


@pytest.fixture
def lean_caller() -> Caller:
    return Caller(Twilio(LeanClient()))
