"""The fake Twilio's calls: it walks a TwiML document as Twilio would, with given digits or speech.

A call (an inbound one started by a test, the phone simulator or a bench; or one the desk places
through the REST API) asks its URL for TwiML with a signed form post, then follows the verbs in
order: <Say>, <Play> and <Pause> are recorded as what the caller hears; <Gather> takes the next
input (queued in advance, or typed on the simulator's keypad while the call waits) and posts it to
its action; with none it falls through to the next verb, as Twilio does; <Redirect> fetches the
next document; <Enqueue> plays its waitUrl once, then leaves the queue (hung up, or bridged when
the input says "agent") and posts its action; <Record> makes a recording (served with the
account's credentials at its Twilio path), posts the action, the recording status callback and,
a moment later, the transcription callback; <Dial> connects; <Hangup> or the document's end ends
the call, and the status callback hears "completed" with the call's duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import secrets
import time
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx

if TYPE_CHECKING:
    from channels_app.fake_twilio.server import FakeTwilio

MAX_REQUESTS = 200  # TwiML fetches per call before the fake gives up (a loop in the document)
# An MP3 frame header and padding: enough for a player and for the desk's audio sniffing.
RECORDING_BYTES = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 413


@dataclass
class FakeCall:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str = ""
    direction: str = "inbound"
    status: str = "queued"
    inputs: deque = field(default_factory=deque)  # "1", {"speech": "agent"}, "hangup", "agent"
    interactive: bool = False  # wait at a <Gather> for input posted to /_fake/calls/<sid>/input
    input_timeout: float = 30.0
    recording_text: str = "Please call me back about my card."
    steps: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    duration: int = 0
    waiting_for_input: bool = False
    error: str = ""
    arrived: asyncio.Event | None = None

    def render(self, account_sid: str) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "to": self.to,
            "from": self.from_,
            "status": self.status,
            "direction": "outbound-api" if self.direction == "outbound" else "inbound",
            "duration": str(self.duration) if self.status == "completed" else None,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{self.sid}.json",
        }

    def state(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "status": self.status,
            "direction": self.direction,
            "steps": self.steps,
            "waiting_for_input": self.waiting_for_input,
            "duration": self.duration,
            "error": self.error,
        }


class Hangup(Exception):
    """The caller (or the document) ended the call."""


class Voice:
    """Calls of one fake account."""

    def __init__(self, app: FakeTwilio) -> None:
        self.app = app
        self.calls: dict[str, FakeCall] = {}
        self.recordings: dict[str, bytes] = {}
        self._counter = itertools.count(1)
        self._prefix = secrets.token_hex(8)
        self._tasks: set[asyncio.Task] = set()

    def _sid(self, kind: str) -> str:
        return f"{kind}{self._prefix}{next(self._counter):016x}"

    def reset(self) -> None:
        self.calls.clear()
        self.recordings.clear()

    # --- Starting calls ---------------------------------------------------------------------
    def start(self, call: FakeCall) -> FakeCall:
        self.calls[call.sid] = call
        call.arrived = asyncio.Event()
        task = asyncio.ensure_future(self._run(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return call

    def dial_in(self, spec: dict[str, Any]) -> FakeCall:
        """A caller rings the desk's number (control endpoint POST /_fake/calls)."""
        url = spec["url"]
        return self.start(
            FakeCall(
                sid=self._sid("CA"),
                to=spec.get("to", "+15005550006"),
                from_=spec["from"],
                url=url,
                status_callback=spec.get("status_callback") or urljoin(url, "status/"),
                status="ringing",
                inputs=deque(spec.get("inputs", [])),
                interactive=bool(spec.get("interactive")),
                input_timeout=float(spec.get("input_timeout", 30)),
                recording_text=spec.get("recording_text", FakeCall.recording_text),
            )
        )

    def create(self, form: dict[str, str]) -> FakeCall:
        """The desk places a call (REST API Calls create): the callee answers, then TwiML is walked."""
        return self.start(
            FakeCall(
                sid=self._sid("CA"),
                to=form["To"],
                from_=form.get("From", ""),
                url=form["Url"],
                status_callback=form.get("StatusCallback", ""),
                direction="outbound",
                status="queued",
            )
        )

    def give(self, sid: str, item: Any) -> bool:
        call = self.calls.get(sid)
        if call is None:
            return False
        call.inputs.append(item)
        if call.arrived is not None:
            call.arrived.set()
        return True

    # --- Walking TwiML ---------------------------------------------------------------------
    async def _run(self, call: FakeCall) -> None:
        try:
            if call.direction == "outbound":
                await self._status(call, "ringing")
                call.status = "in-progress"
                await self._status(call, "in-progress")
            document = await self._post(call, call.url, {"CallStatus": call.status})
            if call.direction == "inbound":
                call.status = "in-progress"
            requests = 1
            while document is not None:
                requests += 1
                if requests > MAX_REQUESTS:
                    call.error = "too many TwiML requests (a loop?)"
                    break
                document = await self._walk(call, document)
        except Hangup:
            pass
        except (httpx.HTTPError, ET.ParseError, ValueError) as exc:
            call.error = f"{type(exc).__name__}: {exc}"[:300]
            call.steps.append({"verb": "error", "text": call.error})
        call.waiting_for_input = False
        call.duration = max(1, math.ceil(time.monotonic() - call.started))
        call.status = "completed"
        await self._status(call, "completed", {"CallDuration": str(call.duration)})

    async def _walk(self, call: FakeCall, document: ET.Element) -> ET.Element | None:
        """Follow one document; return the next one (a Gather's action, a Redirect), or None."""
        if document.tag != "Response":
            raise ValueError(f"TwiML root is <{document.tag}>, not <Response>")
        for verb in document:
            tag = verb.tag
            if tag in ("Say", "Play", "Pause"):
                self._hear(call, verb)
            elif tag == "Gather":
                for inner in verb:
                    self._hear(call, inner)
                answer = await self._input(call, verb)
                if answer is not None:
                    call.steps.append({"verb": "Input", **answer})
                    action = verb.get("action") or call.url
                    return await self._post(call, action, answer_form(answer))
            elif tag == "Redirect":
                return await self._post(call, (verb.text or "").strip() or call.url, {})
            elif tag == "Enqueue":
                return await self._enqueue(call, verb)
            elif tag == "Record":
                return await self._record(call, verb)
            elif tag == "Dial":
                target = [{"kind": child.tag, "value": (child.text or "").strip()} for child in verb]
                call.steps.append({"verb": "Dial", "to": target or (verb.text or "").strip()})
            elif tag in ("Hangup", "Reject"):
                call.steps.append({"verb": tag})
                raise Hangup
            else:
                call.steps.append({"verb": tag, "note": "not walked by the fake"})
        raise Hangup

    def _hear(self, call: FakeCall, verb: ET.Element) -> None:
        if verb.tag == "Say":
            call.steps.append(
                {"verb": "Say", "text": (verb.text or "").strip(), "language": verb.get("language", "")}
            )
        elif verb.tag == "Play":
            call.steps.append({"verb": "Play", "url": (verb.text or "").strip()})
        elif verb.tag == "Pause":
            call.steps.append({"verb": "Pause", "length": verb.get("length", "1")})

    async def _await_input(self, call: FakeCall) -> None:
        """An interactive call with no input queued waits for the simulator's keypad (or times out)."""
        if call.inputs or not call.interactive:
            return
        call.waiting_for_input = True
        assert call.arrived is not None
        call.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.arrived.wait(), timeout=call.input_timeout)
        call.waiting_for_input = False

    async def _input(self, call: FakeCall, gather: ET.Element) -> dict[str, str] | None:
        await self._await_input(call)
        if not call.inputs:
            return None
        item = call.inputs.popleft()
        if item == "hangup":
            raise Hangup
        if isinstance(item, dict):
            return {"speech": str(item.get("speech", ""))}
        return {"digits": str(item)}

    async def _enqueue(self, call: FakeCall, verb: ET.Element) -> ET.Element | None:
        call.steps.append({"verb": "Enqueue", "queue": (verb.text or "").strip()})
        began = time.monotonic()
        wait_url = verb.get("waitUrl")
        if wait_url:
            hold = await self._post(
                call, wait_url, {"QueuePosition": "1", "QueueTime": "0", "CurrentQueueSize": "1"}
            )
            for inner in hold if hold is not None else []:
                self._hear(call, inner)
        result = "hangup"
        await self._await_input(call)
        if call.inputs and call.inputs[0] == "agent":
            call.inputs.popleft()
            result = "bridged"
        elif call.inputs and call.inputs[0] == "hangup":
            call.inputs.popleft()
        call.steps.append({"verb": "Dequeue", "result": result})
        action = verb.get("action")
        if not action:
            raise Hangup
        queue_time = str(round(time.monotonic() - began))
        document = await self._post(call, action, {"QueueResult": result, "QueueTime": queue_time})
        if result == "hangup":
            raise Hangup  # the caller is gone: Twilio posts the action but plays nothing more
        return document

    async def _record(self, call: FakeCall, verb: ET.Element) -> ET.Element | None:
        call.steps.append({"verb": "Record", "text": call.recording_text})
        rid = self._sid("RE")
        self.recordings[rid] = RECORDING_BYTES
        base = self.app.base_url.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{self.app.account_sid}/Recordings/{rid}"
        recording = {"RecordingSid": rid, "RecordingUrl": url, "RecordingDuration": "7"}
        status_callback = verb.get("recordingStatusCallback")
        if status_callback:
            await self._post(
                call, status_callback, {**recording, "RecordingStatus": "completed"}, twiml=False
            )
        transcribe = verb.get("transcribeCallback")
        if transcribe and verb.get("transcribe", "false") == "true":
            form = {
                **recording,
                "TranscriptionSid": self._sid("TR"),
                "TranscriptionText": call.recording_text,
                "TranscriptionStatus": "completed",
            }
            task = asyncio.ensure_future(self._later(call, transcribe, form))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        action = verb.get("action") or call.url
        return await self._post(call, action, {**recording, "Digits": "#"})

    async def _later(self, call: FakeCall, url: str, form: dict[str, str]) -> None:
        await asyncio.sleep(self.app.config["callback_delay"])
        try:
            await self._post(call, url, form, twiml=False)
        except httpx.HTTPError:
            self.app.stats["callback_errors"] += 1

    # --- HTTP to the desk ------------------------------------------------------------------
    def _params(self, call: FakeCall, extra: dict[str, str]) -> dict[str, str]:
        return {
            "AccountSid": self.app.account_sid,
            "CallSid": call.sid,
            "From": call.from_,
            "To": call.to,
            "CallStatus": call.status,
            "Direction": "outbound-api" if call.direction == "outbound" else "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    async def _post(
        self, call: FakeCall, url: str, extra: dict[str, str], *, twiml: bool = True
    ) -> ET.Element | None:
        url = urljoin(call.url, url)
        params = self._params(call, extra)
        signature = self.app.validator.compute_signature(url, params)
        assert self.app.callback_client is not None
        response = await self.app.callback_client.post(
            url, data=params, headers={"X-Twilio-Signature": signature}
        )
        self.app.stats["voice_requests"] += 1
        if response.status_code >= 400:
            call.steps.append({"verb": "error", "text": f"{response.status_code} from {url}"})
            if twiml:
                raise Hangup  # Twilio would play its "application error" message and hang up
            return None
        if not twiml or not response.content.strip():
            return None
        return ET.fromstring(response.content)  # noqa: S314 - the desk under test wrote it

    async def _status(self, call: FakeCall, status: str, extra: dict[str, str] | None = None) -> None:
        if not call.status_callback:
            return
        try:
            await self._post(call, call.status_callback, {"CallStatus": status, **(extra or {})}, twiml=False)
            self.app.stats["callbacks"] += 1
        except httpx.HTTPError:
            self.app.stats["callback_errors"] += 1


def answer_form(answer: dict[str, str]) -> dict[str, str]:
    if "speech" in answer:
        return {"SpeechResult": answer["speech"], "Confidence": "0.92"}
    return {"Digits": answer["digits"]}
