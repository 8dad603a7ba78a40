"""A corpus of real-world mail shapes, built in code (no third-party mail copied): charsets, transfer
encodings (also broken), RFC 2047/2231, every multipart kind, forwards, bounces, auto-replies,
attachments (TNEF too), HTML-only, Persian, Khmer and Kannada, and broken MIME.

`corpus()` returns (name, raw bytes, expected) where expected is "event" (a customer message is
recorded), "report" (a delivery report, no event) or "kept" (kept raw with a reason).
"""

from __future__ import annotations

import base64
import quopri
import struct
from email.header import Header
from email.message import EmailMessage

TEXTS = {
    "en": "Our street is flooded and the card was frozen. Please help.",
    "fa": "خیابان ما را سیل برده و کارت بانکی‌ام مسدود شده است. لطفاً کمک کنید. ۰۹۱۲۳۴۵۶۷۸۹",
    # Persian as windows-1256 holds it: Arabic yeh and kaf, no Persian digits (as real old mail).
    "fw": "خيابان ما را سيل برده و كارت بانكي‌ام مسدود شده است. لطفاً كمك كنيد.",
    "ar": "غمرت المياه منزلنا، أرجو المساعدة.",
    "km": "ផ្លូវរបស់យើងជន់លិច ហើយកាតត្រូវបានបង្កក។ សូមជួយផង។",
    "kn": "ನಮ್ಮ ಬೀದಿ ಪ್ರವಾಹಕ್ಕೆ ಸಿಲುಕಿದೆ. ದಯವಿಟ್ಟು ಸಹಾಯ ಮಾಡಿ. ೧೨೩",
    "ru": "Наша улица затоплена, карта заблокирована.",
    "ja": "道路が冠水し、カードが凍結されました。助けてください。",
    "zh": "我们的街道被淹了，银行卡被冻结了。",
    "tw": "我們的街道被淹了，銀行卡被凍結了。",
    "de": "Unsere Straße ist überflutet. Bitte helfen Sie uns.",
    "el": "Ο δρόμος μας πλημμύρισε.",
}
CHARSETS = [
    ("utf-8", "fa"), ("utf-8", "km"), ("utf-8", "kn"), ("windows-1256", "fw"), ("windows-1256", "ar"),
    ("iso-8859-6", "ar"), ("iso-8859-1", "de"), ("iso-8859-15", "de"), ("iso-8859-7", "el"),
    ("iso-8859-5", "ru"), ("koi8-r", "ru"), ("iso-2022-jp", "ja"), ("shift_jis", "ja"), ("gb2312", "zh"),
    ("gbk", "zh"), ("big5", "tw"), ("utf-8", "en"), ("windows-1252", "de"),
]  # fmt: skip
HEAD = "From: {sender}\r\nTo: help@desk.test\r\nSubject: {subject}\r\nMessage-ID: <{mid}@corpus.test>\r\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def _raw(
    mid: str, headers: str, body: bytes, sender: str = "customer@example.com", subject: str = "help"
) -> bytes:
    return (HEAD.format(sender=sender, subject=subject, mid=mid) + headers + "\r\n").encode() + body


def _charset_mails():
    for i, (charset, lang) in enumerate(CHARSETS):
        text = TEXTS[lang]
        data = text.encode(charset)
        subject = Header(text[:30], charset).encode()
        for cte in ("8bit", "base64", "quoted-printable"):
            body = {
                "8bit": data,
                "base64": base64.encodebytes(data),
                "quoted-printable": quopri.encodestring(data),
            }[cte]
            headers = (
                f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
                f"Content-Transfer-Encoding: {cte}\r\n"
            )
            yield (
                f"charset-{charset}-{lang}-{cte}",
                _raw(f"cs{i}{cte}", headers, body, subject=subject),
                "event",
            )


def _broken_mails():
    fa = TEXTS["fw"].encode("windows-1256")
    yield "wrong-charset-declared", _raw("w1", "Content-Type: text/plain; charset=utf-8\r\n", fa), "event"
    yield "no-charset-declared", _raw("w2", "Content-Type: text/plain\r\n", TEXTS["fa"].encode()), "event"
    yield "unknown-charset", _raw("w3", "Content-Type: text/plain; charset=x-made-up\r\n", b"hello"), "event"
    b64 = base64.b64encode(TEXTS["km"].encode()).rstrip(b"=")
    yield (
        "base64-broken-padding",
        _raw("w4", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n", b64),
        "event",
    )
    yield "base64-garbage", _raw("w5", "Content-Transfer-Encoding: base64\r\n", b"!!!not base64***"), "event"
    yield (
        "qp-broken",
        _raw("w6", "Content-Transfer-Encoding: quoted-printable\r\n", b"soft =\r\nbreak =ZZ bad =E2=80"),
        "event",
    )
    yield (
        "boundary-missing",
        _raw(
            "w7", 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="nothere"\r\n', b"just text"
        ),
        "event",
    )
    yield (
        "boundary-never-closed",
        _raw(
            "w8",
            'Content-Type: multipart/alternative; boundary="b"\r\n',
            b"--b\r\nContent-Type: text/plain\r\n\r\nopen part",
        ),
        "event",
    )
    yield (
        "header-8bit-raw",
        _raw("w9", "X-Note: " + "سلام" + "\r\n", b"body", subject="سیل در خیابان"),
        "event",
    )
    yield "encoded-word-bad", _raw("w10", "", b"body", subject="=?utf-8?B?!!!?= =?x-bad?Q?abc?="), "event"
    yield (
        "no-from",
        b"To: help@desk.test\r\nSubject: nobody\r\nMessage-ID: <w11@corpus.test>\r\n\r\nwho am i",
        "kept",
    )
    yield (
        "from-not-an-address",
        b"From: just a name\r\nSubject: x\r\nMessage-ID: <w12@corpus.test>\r\n\r\nhi",
        "kept",
    )
    yield "binary-junk", b"\x00\x01\x02From: \xff\xfe\r\n\r\n\x00\x00", "kept"
    yield "only-headers", b"From: a@example.com\r\nMessage-ID: <w14@corpus.test>\r\n", "event"
    yield "lf-line-endings", _raw("w15", "", b"plain\nunix\nlines").replace(b"\r\n", b"\n"), "event"
    yield "nul-bytes-in-body", _raw("w16", "", b"before\x00after"), "event"
    yield "long-line", _raw("w17", "", b"a" * 20000), "event"
    yield (
        "deep-nesting",
        _raw("w18", 'Content-Type: multipart/mixed; boundary="n0"\r\n', _nested(30)),
        "event",
    )
    yield "message-id-missing", b"From: c@example.com\r\nSubject: no id\r\n\r\nhello without id", "event"
    yield (
        "duplicate-from",
        b"From: a@example.com\r\nFrom: b@example.com\r\nMessage-ID: <w20@corpus.test>\r\n\r\ntwo",
        "event",
    )


def _nested(depth: int) -> bytes:
    out = b""
    for i in range(depth):
        out += f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n'.encode()
    out += f"--n{depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n".encode()
    for i in range(depth, -1, -1):
        out += f"--n{i}--\r\n".encode()
    return out


def _msg(
    mid: str, *, sender="customer@example.com", subject="Flood", text: str | None = "See attached."
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "help@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{mid}@corpus.test>"
    if text is not None:
        msg.set_content(text)
    return msg


def _tnef() -> bytes:
    def attr(level: int, ident: int, data: bytes) -> bytes:
        return (
            bytes([level])
            + struct.pack("<II", ident, len(data))
            + data
            + struct.pack("<H", sum(data) & 0xFFFF)
        )

    return (
        struct.pack("<IH", 0x223E9F78, 1)
        + attr(2, 0x00069002, b"\x00" * 14)
        + attr(2, 0x00018010, b"claim-form.pdf\x00")
        + attr(2, 0x0006800F, b"%PDF-1.4 tiny")
    )


def _structured_mails():
    m = _msg("s1", text="Plain part")
    m.add_alternative("<p>HTML <b>part</b></p>", subtype="html")
    yield "alternative", m.as_bytes(), "event"
    m = _msg("s2", text=None)
    m.set_content(
        "<html><body><p>Only <i>HTML</i> here</p><script>alert(1)</script></body></html>", subtype="html"
    )
    yield "html-only", m.as_bytes(), "event"
    m = _msg("s3", text="Photo of the damage")
    m.add_attachment(PNG, maintype="image", subtype="png", filename="damage.png")
    yield "attachment-png", m.as_bytes(), "event"
    m = _msg("s4", text="Persian file name")
    m.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="مدارک بیمه.pdf")
    yield "rfc2231-filename", m.as_bytes(), "event"
    m = _msg("s5", text="Outlook")
    m.add_attachment(_tnef(), maintype="application", subtype="ms-tnef", filename="winmail.dat")
    yield "tnef", m.as_bytes(), "event"
    m = _msg("s6", text="inline image")
    m.add_alternative('<p>Look: <img src="cid:photo1"></p>', subtype="html")
    m.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid="<photo1>")
    yield "related-inline-image", m.as_bytes(), "event"
    inner = _msg("s7in", sender="bank@example.org", subject="Your card is frozen", text="Call us.")
    m = _msg("s7", subject="Fwd: Your card is frozen", text="Is this real?")
    m.add_attachment(inner)
    yield "forward-rfc822", m.as_bytes(), "event"
    inner2 = _msg("s8in2", text="innermost")
    inner1 = _msg("s8in1", text="middle")
    inner1.add_attachment(inner2)
    m = _msg("s8", subject="Fwd: Fwd:", text="two levels")
    m.add_attachment(inner1)
    yield "forward-nested", m.as_bytes(), "event"
    yield (
        "inline-forward-text",
        _msg(
            "s9",
            subject="Fwd: flood",
            text="FYI\n\n---------- Forwarded message ---------\nFrom: x@example.com\nhello",
        ).as_bytes(),
        "event",
    )
    for n, (name, value) in enumerate(
        [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes"), ("X-Autorespond", "1"),
         ("Precedence", "bulk"), ("Precedence", "junk"), ("Precedence", "list"),
         ("Precedence", "auto_reply"), ("List-Id", "<news.example.com>")]
    ):  # fmt: skip
        m = _msg(f"a{n}", text="I am out of the office.")
        m[name] = value
        yield f"auto-{name}-{value}", m.as_bytes(), "event"
    for n, subject in enumerate(
        ["Out of Office: away", "Automatic reply: Flood", "Réponse automatique", "پاسخ خودکار: مرخصی"]
    ):
        yield f"auto-subject-{n}", _msg(f"as{n}", subject=subject, text="Away").as_bytes(), "event"
    for n, (action, status) in enumerate(
        [("failed", "5.1.1"), ("failed", "5.2.2"), ("delayed", "4.4.1"), ("failed", "4.4.7")]
    ):
        yield f"dsn-{action}-{status}", _dsn(f"d{n}", action, status), "report"
    m = _msg(
        "q1",
        text="Thanks, that worked.\n\nOn Mon, 1 Dec 2026, Help wrote:\n> Restart the router.\n> Then wait.",
    )
    yield "quoted-reply", m.as_bytes(), "event"
    m = _msg("q2", text="پاسخ کوتاه\n\n-- \nمریم احمدی\nتلفن ۰۹۱۲")
    yield "signature-fa", m.as_bytes(), "event"
    m = _msg(
        "q3", text="OK\n\n-----Original Message-----\nFrom: help@desk.test\nSent: Monday\nSubject: x\n\nold"
    )
    yield "outlook-quote", m.as_bytes(), "event"
    for lang in ("fa", "km", "kn"):
        yield f"text-{lang}", _msg(f"l{lang}", subject=TEXTS[lang][:20], text=TEXTS[lang]).as_bytes(), "event"
    m = _msg("x1", text=None)
    m.set_content(
        '<p onclick="steal()">Hi</p><a href="javascript:alert(1)">click</a><img src="https://tracker.example/p.gif">'
        "<iframe src=https://evil.example></iframe><form action=https://evil.example><input></form>"
        "<style>body{display:none}</style><svg onload=alert(1)></svg>",
        subtype="html",
    )
    yield "html-xss", m.as_bytes(), "event"
    m = _msg("x2", sender='"Ünïcödé Nämé" <unicode@example.com>', text="display name")
    yield "display-name-unicode", m.as_bytes(), "event"
    yield (
        "display-name-2047",
        _raw("x3", "", b"hi", sender="=?utf-8?B?2YXYsduM2YUg2KfYrdmF2K/bjA==?= <m@example.com>"),
        "event",
    )


def _dsn(mid: str, action: str, status: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: help@desk.test\r\n"
        "Subject: Delivery Status Notification\r\n"
        f"Message-ID: <{mid}@corpus.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; someone@example.com\r\nAction: {action}\r\nStatus: {status}\r\n\r\n"
        "--R\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig@desk.test>\r\n\r\n--R--\r\n"
    ).encode()


def corpus() -> list[tuple[str, bytes, str]]:
    return [*_charset_mails(), *_broken_mails(), *_structured_mails()]
