"""Raw RFC 5322 mail → what the desk records: sender, text, sanitized HTML, attachments, thread hint.

Runs in the inbox worker (`ChannelSpec.raw_parser`), never in a door. Built on the standard
library's modern email API (`policy.default`); every step that real mail breaks (a charset nobody
knows, a header no parser accepts, a broken MIME tree) falls back to something readable and
records a defect, so the parser returns for any bytes: a message it cannot attribute to a sender is
kept raw in the inbox with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

from channels_app.base import ContactState, DeliveryReport, DeliveryStatus, InboundMessage, ParsedRaw
from channels_app.email import html as mail_html
from channels_app.email import quoting, tnef

PROVIDER = "email"  # inbound mail, by Message-ID
OUTBOUND_PROVIDER = "smtp"  # what we sent, by our Message-ID
MAX_BODY = 100_000  # characters of text kept on the event (the raw message keeps everything)
MAX_PARTS = 500
_FALLBACK_CHARSETS = ("utf-8", "windows-1256", "windows-1252")


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID_LINE = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def message_key(raw: bytes) -> str:
    """The idempotency key a door stores a raw message under: its Message-ID, else a body hash.

    A scan of the header block, not the email parser: the door runs it on every message, and the
    parser cost a quarter of the door's time (bench.email_ingest)."""
    head = raw[:65536]
    end = _HEADER_END.search(head)
    found = _MESSAGE_ID_LINE.search(head, 0, end.start() if end else len(head))
    message_id = normalize_id(found.group(1).decode("latin-1")) if found else ""
    if message_id and len(message_id) <= 120:
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


_ID_RE = re.compile(r"<([^<>\s]{1,250})>")


def normalize_id(value: str) -> str:
    """`<abc@host>` → `abc@host` (the first id in the value), '' when there is none."""
    match = _ID_RE.search(value or "")
    if match:
        return match.group(1)
    value = (value or "").strip()
    return value if value and " " not in value and "@" in value else ""


def ids_in(value: str) -> list[str]:
    """Every message id in a References or In-Reply-To value, in order."""
    return _ID_RE.findall(value or "")


@dataclass
class Attachment:
    index: int  # position in the message's walk(): how the media proxy finds it again
    filename: str
    content_type: str
    size: int
    content_id: str = ""
    inline: bool = False
    inner: list[dict[str, Any]] = field(default_factory=list)  # files inside a winmail.dat

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
        }
        if self.content_id:
            data["content_id"] = self.content_id
        if self.inline:
            data["inline"] = True
        if self.inner:
            data["inner"] = self.inner
        return data


@dataclass
class ParsedMail:
    """One email as the desk reads it."""

    message_id: str = ""
    sender: str = ""
    sender_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""  # sanitized
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: list[dict[str, Any]] = field(default_factory=list)
    automated: str = ""  # why we think a machine wrote it ('' = a person)
    auth: dict[str, str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    dsn: list[dict[str, str]] = field(default_factory=list)  # per-recipient delivery status
    dsn_original_id: str = ""


class ReadMessage(EmailMessage):
    """A received message, each of whose headers is parsed once.

    `policy.default` parses a header on every read, and reading a mail reads Content-Type about 14
    times (its type, charset, boundary, filename, the body search): two thirds of the parser's time
    went to parsing the same headers again (bench.email_ingest). Any change to the headers forgets
    what was read."""

    def get(self, name, failobj=None):  # type: ignore[override]
        read = self.__dict__.setdefault("_read", {})
        key = name.lower()
        if key not in read:
            read[key] = super().get(name)
        value = read[key]
        return failobj if value is None else value

    def _forget(self) -> None:
        self.__dict__.pop("_read", None)

    def __setitem__(self, name, value):
        self._forget()
        super().__setitem__(name, value)

    def __delitem__(self, name):
        self._forget()
        super().__delitem__(name)

    def set_raw(self, name, value):
        self._forget()
        super().set_raw(name, value)

    def replace_header(self, _name, _value):
        self._forget()
        super().replace_header(_name, _value)

    def set_param(self, *args, **kwargs):
        self._forget()
        super().set_param(*args, **kwargs)

    def del_param(self, *args, **kwargs):
        self._forget()
        super().del_param(*args, **kwargs)

    def set_type(self, *args, **kwargs):
        self._forget()
        super().set_type(*args, **kwargs)

    def add_header(self, *args, **kwargs):
        self._forget()
        super().add_header(*args, **kwargs)

    def clear(self):
        self._forget()
        super().clear()

    def clear_content(self):
        self._forget()
        super().clear_content()

    def set_boundary(self, boundary):
        self._forget()
        super().set_boundary(boundary)

    def _make_multipart(self, *args, **kwargs):
        self._forget()
        super()._make_multipart(*args, **kwargs)  # type: ignore[misc]


READ_POLICY = policy.default.clone(message_factory=ReadMessage)


def parse_bytes(raw: bytes) -> EmailMessage:
    return BytesParser(policy=READ_POLICY).parsebytes(raw)  # type: ignore[return-value]


def header(msg: Message, name: str) -> str:
    """A header's decoded text ('' when absent); an undecodable one as its raw characters."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - the modern parser raises on a few malformed headers
        value = None
        with contextlib.suppress(Exception):
            raw_items = [v for k, v in msg.raw_items() if k.lower() == name.lower()]  # type: ignore[attr-defined]
            value = raw_items[0] if raw_items else None
    if value is None:
        return ""
    return _text(str(value))


def _text(value: str) -> str:
    # PostgreSQL text holds no NUL; surrogates (undecodable bytes) become U+FFFD.
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()


def decode_part(part: Message) -> str:
    """A text part's characters, whatever its declared charset says (or fails to say)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    declared = ""
    with contextlib.suppress(Exception):
        declared = (part.get_content_charset() or "").lower()
    for charset in ([declared] if declared else []) + ["utf-8"]:
        try:
            return _text(payload.decode(_charset_alias(charset)))
        except (LookupError, ValueError):  # an unknown charset, bytes it cannot decode, a NUL in its name
            continue
    # Declared wrongly or not at all: let the bytes say.
    guess = None
    with contextlib.suppress(Exception):
        from charset_normalizer import from_bytes

        best = from_bytes(payload).best()
        guess = str(best) if best is not None else None
    if guess is not None:
        return _text(guess)
    return _text(payload.decode(_FALLBACK_CHARSETS[1], "replace"))


def _charset_alias(charset: str) -> str:
    # Names mail clients write that Python's codecs spell differently.
    return {"ks_c_5601-1987": "cp949", "x-mac-arabic": "mac_arabic", "unknown-8bit": "utf-8"}.get(
        charset, charset
    )


def _addresses(msg: Message, name: str) -> list[str]:
    value = header(msg, name)
    with contextlib.suppress(Exception):
        return [addr.lower() for _, addr in getaddresses([value]) if "@" in addr][:50]
    return []


AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|"
    r"r[ée]ponse automatique|respuesta autom[aá]tica|vacation|پاسخ خودکار|خارج از دفتر)",
    re.IGNORECASE,
)


def automated_reason(msg: Message, subject: str) -> str:
    """Why this mail was written by a machine (RFC 3834 and the headers real responders set)."""
    auto_submitted = header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Auto-Response"):
        if header(msg, name):
            return name
    precedence = header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if header(msg, "List-Id") or header(msg, "List-Unsubscribe"):
        return "mailing list"
    return_path = header(msg, "Return-Path")
    if return_path.strip() == "<>":
        return "null sender"
    if AUTO_SUBJECT.search(subject):
        return "auto-reply subject"
    return ""


_AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def auth_results(msg: Message, trusted_ids: list[str]) -> dict[str, str]:
    """SPF, DKIM and DMARC results from `Authentication-Results` added by a server we trust (its
    authserv-id in EMAIL_TRUSTED_AUTHSERV_IDS); anyone else's header is the sender's claim."""
    results: dict[str, str] = {}
    try:
        values = msg.get_all("Authentication-Results") or []
    except Exception:  # noqa: BLE001
        values = []
    trusted = {t.lower() for t in trusted_ids}
    for value in values:
        text = str(value)
        authserv_id = text.split(";", 1)[0].strip().split()[0].lower() if text.strip() else ""
        if authserv_id not in trusted:
            continue
        for method, result in _AUTH_RESULT.findall(text):
            results.setdefault(method.lower(), result.lower())
    return results


def sender_proven(auth: dict[str, str]) -> bool:
    """The sender holds the From address as far as a trusted server could tell: DMARC passed, or,
    where the domain publishes no DMARC policy, DKIM did."""
    if auth.get("dmarc"):
        return auth["dmarc"] == "pass"
    return auth.get("dkim") == "pass"


def parse(raw: bytes, *, trusted_authserv_ids: list[str] | None = None) -> ParsedMail:
    """Read one raw message; never raises for any bytes (what broke is in `defects`)."""
    mail = ParsedMail()
    try:
        msg = parse_bytes(raw)
    except Exception as exc:  # noqa: BLE001
        mail.defects.append(f"unparseable: {type(exc).__name__}")
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)  # type: ignore[assignment]
    mail.message_id = normalize_id(header(msg, "Message-ID"))
    name, address = "", ""
    with contextlib.suppress(Exception):
        name, address = parseaddr(header(msg, "From"))
    if "@" in address and len(address) <= 254:
        mail.sender, mail.sender_name = address.lower(), _text(name)[:200]
    mail.to = _addresses(msg, "To") + _addresses(msg, "Delivered-To") + _addresses(msg, "X-Original-To")
    mail.cc = _addresses(msg, "Cc")
    mail.subject = header(msg, "Subject")[:250]
    mail.in_reply_to = ids_in(header(msg, "In-Reply-To"))
    mail.references = ids_in(header(msg, "References"))
    mail.automated = automated_reason(msg, mail.subject)
    mail.auth = auth_results(msg, trusted_authserv_ids or [])
    _read_parts(msg, mail)
    mail.defects.extend(type(d).__name__ for d in getattr(msg, "defects", [])[:20])
    return mail


def _read_parts(msg: Message, mail: ParsedMail) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    try:
        parts = list(msg.walk())[:MAX_PARTS]
    except Exception as exc:  # noqa: BLE001 - a MIME tree that loops or breaks
        mail.defects.append(f"mime: {type(exc).__name__}")
        parts = [msg]
    inside_forward: set[int] = set()
    body_parts = _body_parts(msg)
    for index, part in enumerate(parts):
        if id(part) in inside_forward:
            continue
        content_type = _content_type(part)
        if content_type == "message/delivery-status":
            mail.dsn.extend(_delivery_status(part))
            continue
        if content_type in ("message/rfc822", "text/rfc822-headers"):
            inner = _inner_message(part)
            if inner is not None:
                for sub in inner.walk():
                    inside_forward.add(id(sub))
                forwarded = _forwarded(inner)
                if mail.dsn or _content_type(msg) == "multipart/report":
                    mail.dsn_original_id = forwarded.get("message_id", "")
                else:
                    mail.forwarded.append(forwarded)
            continue
        if part.is_multipart():
            continue
        disposition = ""
        with contextlib.suppress(Exception):
            disposition = (part.get_content_disposition() or "").lower()
        filename = ""
        with contextlib.suppress(Exception):
            filename = _text(part.get_filename() or "")
        if id(part) in body_parts and disposition != "attachment":
            text = decode_part(part)
            (htmls if content_type == "text/html" else texts).append(text)
            continue
        if content_type in ("text/plain", "text/html") and not filename and disposition != "attachment":
            text = decode_part(part)
            (htmls if content_type == "text/html" else texts).append(text)
            continue
        mail.attachments.append(_attachment(index, part, content_type, filename, disposition))
    mail.text = "\n\n".join(t for t in texts if t)[:MAX_BODY]
    if htmls:
        mail.html = mail_html.sanitize("\n".join(htmls))
        if not mail.text:
            mail.text = mail_html.to_text(mail.html)[:MAX_BODY]


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001
        return "application/octet-stream"


def _body_parts(msg: Message) -> set[int]:
    """The parts that are the message's own text: the preferred plain and HTML alternatives."""
    chosen: set[int] = set()
    if not isinstance(msg, EmailMessage):
        return chosen
    for preference in (("plain",), ("html",)):
        with contextlib.suppress(Exception):
            body = msg.get_body(preferencelist=preference)
            if body is not None:
                chosen.add(id(body))
    return chosen


def _attachment(index: int, part: Message, content_type: str, filename: str, disposition: str) -> Attachment:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    data = payload if isinstance(payload, bytes) else b""
    content_id = normalize_id(header(part, "Content-ID")) if header(part, "Content-ID") else ""
    attachment = Attachment(
        index=index,
        filename=(filename or _default_name(content_type, index))[:200],
        content_type=content_type[:100],
        size=len(data),
        content_id=content_id[:200],
        inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
    )
    if content_type == "application/ms-tnef" or filename.lower() == "winmail.dat":
        attachment.inner = tnef.list_files(data)
    return attachment


def _default_name(content_type: str, index: int) -> str:
    kind = content_type.split("/")[-1][:20] or "bin"
    return f"part-{index}.{kind}"


def _inner_message(part: Message) -> Message | None:
    try:
        payload = part.get_payload()
    except Exception:  # noqa: BLE001
        return None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str):  # text/rfc822-headers: headers only
        with contextlib.suppress(Exception):
            return BytesParser(policy=READ_POLICY).parsebytes(payload.encode("utf-8", "replace"))
    return None


def _forwarded(inner: Message) -> dict[str, Any]:
    nested = ParsedMail()
    _read_parts(inner, nested)
    return {
        "message_id": normalize_id(header(inner, "Message-ID")),
        "from": header(inner, "From")[:200],
        "subject": header(inner, "Subject")[:250],
        "date": header(inner, "Date")[:100],
        "in_reply_to": ids_in(header(inner, "In-Reply-To")),
        "references": ids_in(header(inner, "References"))[-20:],
        "text": nested.text[:20_000],
    }


def _delivery_status(part: Message) -> list[dict[str, str]]:
    """Per-recipient fields of a message/delivery-status part (RFC 3464)."""
    blocks: list[Message] = []
    with contextlib.suppress(Exception):
        payload = part.get_payload()
        if isinstance(payload, list):
            blocks = [p for p in payload if isinstance(p, Message)]
        elif isinstance(payload, str):
            parser = BytesHeaderParser(policy=policy.compat32)
            blocks = [parser.parsebytes(b.encode()) for b in re.split(r"\r?\n\r?\n", payload) if b.strip()]
    recipients = []
    for block in blocks:
        recipient = header(block, "Final-Recipient") or header(block, "Original-Recipient")
        if not recipient:
            continue
        address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
        recipients.append(
            {
                "recipient": address[:254],
                "action": header(block, "Action").lower()[:20],
                "status": header(block, "Status")[:20],
                "diagnostic": header(block, "Diagnostic-Code")[:250],
            }
        )
    return recipients


def delivery_reports(mail: ParsedMail) -> list[DeliveryReport]:
    """A bounce's reports for the message it returns (our Message-ID): a permanent failure marks the
    address bouncing; a delay changes nothing."""
    if not mail.dsn_original_id:
        return []
    reports = []
    for item in mail.dsn:
        if item["action"] != "failed":
            continue
        permanent = item["status"].startswith("5")
        reports.append(
            DeliveryReport(
                provider=OUTBOUND_PROVIDER,
                provider_id=mail.dsn_original_id,
                status=DeliveryStatus.UNDELIVERED if permanent else DeliveryStatus.FAILED,
                error_code=item["status"],
                error_message=(item["diagnostic"] or f"bounced: {item['recipient']}")[:250],
                contact_state=ContactState.BOUNCING if permanent else None,
            )
        )
    return reports


def to_parsed_raw(
    mail: ParsedMail, envelope: InboundMessage, *, ticket_id: int | None, proven: bool
) -> ParsedRaw:
    """The recordable message (or the reports) this mail makes."""
    if mail.dsn:  # a bounce (RFC 3464): reports, no customer message
        reports = delivery_reports(mail)
        summary = ", ".join(f"{d['recipient']} {d['action']} {d['status']}" for d in mail.dsn)[:250]
        note = f"delivery report for <{mail.dsn_original_id or '?'}>: {summary}"
        return ParsedRaw(reports=reports, note=note)
    if not mail.sender:
        return ParsedRaw(error="no sender address in From: kept raw, not recorded")
    new_text, quoted, signature = quoting.split(mail.text)
    payload: dict[str, Any] = {
        "message_id": mail.message_id,
        "to": mail.to[:20],
        "cc": mail.cc[:20],
        "auth": mail.auth,
    }
    if quoted:
        payload["quoted"] = quoted[:MAX_BODY]
    if signature:
        payload["signature"] = signature[:2000]
    media: list[str] = []
    if mail.attachments:
        payload["attachments"] = [a.as_dict() for a in mail.attachments[:100]]
        inbox_id = envelope.payload.get("inbox_id")
        if inbox_id:
            # Served by the media proxy from the raw message kept in the inbox (channels_app.email.media).
            media = [f"inbox:{inbox_id}/{a.index}" for a in mail.attachments[:100]]
            payload["media_types"] = [a.content_type for a in mail.attachments[:100]]
            payload["media_names"] = [a.filename for a in mail.attachments[:100]]
    if mail.forwarded:
        payload["forwarded"] = mail.forwarded[:10]
    if mail.automated:
        payload["automated_reason"] = mail.automated
    if mail.defects:
        payload["defects"] = sorted(set(mail.defects))[:20]
    body = (
        new_text
        or mail.text
        or ("(" + ", ".join(a.filename for a in mail.attachments[:5]) + ")" if mail.attachments else "")
    )
    message = InboundMessage(
        channel=envelope.channel,
        sender_kind="email",
        sender=mail.sender,
        sender_name=mail.sender_name,
        body=body,
        body_html=mail.html,
        subject=mail.subject,
        provider=envelope.provider,
        provider_id=envelope.provider_id,
        recipient=envelope.recipient or (mail.to[0] if mail.to else ""),
        media=media,
        payload=payload,
        received_at=envelope.received_at,
        ticket_id=ticket_id,
        new_ticket=True,  # mail that names no thread of ours starts its own ticket
        sender_proven=proven,
        automated=bool(mail.automated),
    )
    return ParsedRaw(message=message)
