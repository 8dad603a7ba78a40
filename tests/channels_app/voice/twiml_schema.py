"""TwiML as Twilio documents it: the verbs we may answer with, their attributes and nesting.

`check(document)` parses a TwiML answer and raises AssertionError naming the first verb,
attribute or value Twilio's TwiML reference (twilio.com/docs/voice/twiml) does not list. Written
from that reference for the verbs the desk uses and the ones a caller's path could meet.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

URL = re.compile(r"^https?://[^\s<>]+$")
BOOL = {"true", "false"}
METHOD = {"GET", "POST"}
INT = re.compile(r"^\d+$")

CALLBACK = {"method": METHOD}
VERBS: dict[str, dict] = {
    "Response": {"attrs": {}, "children": {"Say", "Play", "Pause", "Gather", "Redirect", "Enqueue",
                                           "Record", "Dial", "Hangup", "Reject", "Leave"}, "text": False},
    "Say": {"attrs": {"voice": None, "language": None, "loop": INT}, "children": set(), "text": True},
    "Play": {"attrs": {"loop": INT, "digits": re.compile(r"^[0-9w*#]+$")}, "children": set(), "text": "url"},
    "Pause": {"attrs": {"length": INT}, "children": set(), "text": False},
    "Gather": {
        "attrs": {
            "action": URL, "method": METHOD, "input": {"dtmf", "speech", "dtmf speech"}, "numDigits": INT,
            "timeout": INT, "speechTimeout": re.compile(r"^(auto|\d+)$"),
            "finishOnKey": re.compile(r"^[0-9#*]?$"),
            "language": None, "hints": None, "actionOnEmptyResult": BOOL, "profanityFilter": BOOL,
            "speechModel": None, "enhanced": BOOL, "bargeIn": BOOL, "partialResultCallback": URL,
            "partialResultCallbackMethod": METHOD, "maxSpeechTime": INT, "debug": BOOL,
        },
        "children": {"Say", "Play", "Pause"},
        "text": False,
    },
    "Redirect": {"attrs": {"method": METHOD}, "children": set(), "text": "url"},
    "Enqueue": {
        "attrs": {"action": URL, "method": METHOD, "waitUrl": URL, "waitUrlMethod": METHOD,
                  "workflowSid": None, "maxQueueSize": INT},
        "children": {"Task"},
        "text": True,
    },
    "Record": {
        "attrs": {
            "action": URL, "method": METHOD, "timeout": INT, "finishOnKey": re.compile(r"^[0-9#*]*$"),
            "maxLength": INT, "playBeep": BOOL, "trim": {"trim-silence", "do-not-trim"},
            "recordingStatusCallback": URL, "recordingStatusCallbackMethod": METHOD,
            "recordingStatusCallbackEvent": None, "transcribe": BOOL, "transcribeCallback": URL,
            "storageUrl": URL, "storageUrlMethod": METHOD,
        },
        "children": set(),
        "text": False,
    },
    "Dial": {
        "attrs": {
            "action": URL, "method": METHOD, "timeout": INT, "hangupOnStar": BOOL, "timeLimit": INT,
            "callerId": None, "record": None, "trim": None, "recordingStatusCallback": URL,
            "recordingStatusCallbackMethod": METHOD, "recordingStatusCallbackEvent": None,
            "answerOnBridge": BOOL, "ringTone": None, "sequential": BOOL,
        },
        "children": {"Number", "Client", "Queue", "Sip", "Conference"},
        "text": True,
    },
    "Client": {"attrs": {"url": URL, "method": METHOD, "statusCallbackEvent": None, "statusCallback": URL,
                         "statusCallbackMethod": METHOD},
               "children": {"Identity", "Parameter"}, "text": True},
    "Hangup": {"attrs": {}, "children": set(), "text": False},
    "Reject": {"attrs": {"reason": {"rejected", "busy"}}, "children": set(), "text": False},
    "Leave": {"attrs": {}, "children": set(), "text": False},
}  # fmt: skip


def _value_ok(rule, value: str) -> bool:
    if rule is None:
        return bool(value)
    if isinstance(rule, set):
        return value in rule
    return bool(rule.match(value))


def _check(element: ET.Element, parent: str, say_locales: set[str]) -> None:
    spec = VERBS.get(element.tag)
    assert spec is not None, f"<{element.tag}> is not a TwiML verb"
    assert element.tag in VERBS[parent]["children"], f"<{element.tag}> cannot be inside <{parent}>"
    for name, value in element.attrib.items():
        assert name in spec["attrs"], f"<{element.tag}> has no attribute {name!r}"
        assert _value_ok(spec["attrs"][name], value), f"<{element.tag} {name}={value!r}> is not a valid value"
    if element.tag in ("Say", "Gather") and "language" in element.attrib:
        assert element.attrib["language"] in say_locales, (
            f"language {element.attrib['language']!r} has no voice"
        )
    text = (element.text or "").strip()
    if spec["text"] == "url":
        assert URL.match(text), f"<{element.tag}> needs an absolute URL, got {text!r}"
    elif spec["text"] is True and element.tag == "Say":
        assert text, "<Say> with nothing to say"
    elif spec["text"] is False:
        assert not text, f"<{element.tag}> takes no text"
    for child in element:
        _check(child, element.tag, say_locales)


def check(document: str | bytes, say_locales: set[str] | None = None) -> ET.Element:
    """Parse a TwiML answer and check it against VERBS; return the root."""
    root = ET.fromstring(document)  # noqa: S314 - our own answer, in a test
    assert root.tag == "Response", f"the root is <{root.tag}>, not <Response>"
    assert not (root.text or "").strip(), "<Response> takes no text"
    locales = say_locales or {"en-US", "kn-IN"}
    for child in root:
        _check(child, "Response", locales)
    return root
