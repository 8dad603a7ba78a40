"""Acceptance 2: every message of the corpus is recorded or kept with a reason; the parser never
raises for any bytes (property-based)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.email import parse
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import TimelineEvent
from tests.channels_app.email.conftest import post_mail
from tests.channels_app.email.corpus import TEXTS, corpus

CORPUS = corpus()


def test_the_corpus_is_big_and_varied():
    assert len(CORPUS) >= 80
    assert len({name for name, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.django_db
def test_every_message_is_recorded_or_kept_with_its_reason(client):
    for name, raw, expected in CORPUS:
        assert post_mail(client, raw).status_code in (200, 202), name
    rows = list(InboxMessage.objects.filter(channel="email"))
    assert len(rows) == len(CORPUS)
    for row in rows:
        assert row.processed_at is not None, row.provider_id
        assert row.event_id or row.error or row.note, row.provider_id
    events = TimelineEvent.objects.filter(direction="in", channel="email")
    assert events.count() == sum(1 for _, _, e in CORPUS if e == "event")
    assert InboxMessage.objects.exclude(error="").count() == sum(1 for _, _, e in CORPUS if e == "kept")
    assert InboxMessage.objects.exclude(note="").count() == sum(1 for _, _, e in CORPUS if e == "report")


@pytest.mark.parametrize("name,raw", [(n, r) for n, r, e in CORPUS if n.startswith("charset-")])
def test_each_charset_and_transfer_encoding_reads_back_the_text(name, raw):
    lang = (
        name.removesuffix("-quoted-printable").removesuffix("-base64").removesuffix("-8bit").rsplit("-", 1)[1]
    )
    mail = parse.parse(raw)
    assert mail.text == TEXTS[lang], name
    assert mail.subject == TEXTS[lang][:30].strip(), name


def test_the_shapes_parse_as_people_read_them():
    by_name = {n: parse.parse(r) for n, r, _ in CORPUS}
    assert "HTML part" not in by_name["alternative"].text and by_name["alternative"].html
    assert by_name["html-only"].text == "Only HTML here" and "<script" not in by_name["html-only"].html
    assert by_name["attachment-png"].attachments[0].filename == "damage.png"
    assert by_name["rfc2231-filename"].attachments[0].filename == "مدارک بیمه.pdf"
    tnef = by_name["tnef"].attachments[0]
    assert tnef.inner == [{"filename": "claim-form.pdf", "size": 13}]
    inline = by_name["related-inline-image"].attachments[0]
    assert inline.content_id == "photo1" and inline.inline
    assert by_name["forward-rfc822"].forwarded[0]["subject"] == "Your card is frozen"
    assert by_name["forward-nested"].forwarded[0]["text"].startswith("middle")
    assert by_name["wrong-charset-declared"].text == TEXTS["fw"]
    assert by_name["base64-broken-padding"].text == TEXTS["km"]
    assert by_name["display-name-2047"].sender_name == "مریم احمدی"
    assert by_name["nul-bytes-in-body"].text == "beforeafter"
    assert all(by_name[n].automated for n in by_name if n.startswith("auto-"))
    assert not by_name["text-fa"].automated
    xss = by_name["html-xss"].html
    for bad in ("onclick", "javascript:", "<iframe", "<form", "<style", "onload", "<svg"):
        assert bad not in xss


def test_quoted_history_and_signatures_fold_away():
    from channels_app.email import quoting

    by_name = {n: parse.parse(r) for n, r, _ in CORPUS}
    assert quoting.split(by_name["quoted-reply"].text)[0] == "Thanks, that worked."
    new, _, signature = quoting.split(by_name["signature-fa"].text)
    assert new == "پاسخ کوتاه" and "مریم" in signature
    assert quoting.split(by_name["outlook-quote"].text)[0] == "OK"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_the_parser_never_raises_on_random_bytes(raw):
    parse.parse(raw)
    parse.message_key(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([r for _, r, _ in CORPUS]),
    st.integers(0, 5000),
    st.integers(1, 50),
    st.binary(max_size=40),
)
def test_the_parser_never_raises_on_damaged_mail(raw, at, cut, junk):
    at %= max(1, len(raw))
    parse.parse(raw[:at] + junk + raw[at + cut :])


def test_a_charset_name_with_a_nul_is_read_as_utf8():
    """Found by the fuzz test above: codecs refuse such a name with ValueError, not LookupError."""
    raw = (
        b'From: a@example.org\r\nSubject: x\r\nContent-Type: text/plain; charset="utf\x00-8"\r\n\r\n'
        + "آب آمد".encode()
    )
    assert parse.parse(raw).text == "آب آمد"


def test_the_door_keys_a_message_by_its_header_message_id_only():
    folded = b"From: a@example.org\r\nmessage-ID:\r\n <abc.1@example.org>\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse.message_key(folded) == "abc.1@example.org"
    in_body = b"From: a@example.org\n\nMessage-ID: <forged@example.org>\n"
    assert parse.message_key(in_body).startswith("sha256:")  # a line of the body is not a header
    assert parse.message_key(in_body) == parse.message_key(in_body)
    too_long = b"Message-ID: <" + b"x" * 130 + b"@example.org>\r\n\r\n"
    assert parse.message_key(too_long).startswith("sha256:")


def test_a_read_message_parses_each_header_once_and_forgets_on_change():
    """parse_bytes keeps each header it parsed (the worker reads Content-Type ~14 times a mail);
    a changed header is read again."""
    msg = parse.parse_bytes(
        b"From: =?utf-8?b?2YXYsduM2YU=?= <m@example.org>\r\nSubject: one\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
    )
    first = msg["From"]
    assert msg["From"] is first and first.addresses[0].display_name == "مریم"
    assert msg.get("X-Missing", "none") == "none" and msg["X-Missing"] is None
    msg.replace_header("Subject", "two")
    assert str(msg["Subject"]) == "two"
    msg.set_param("charset", "windows-1256")
    assert msg.get_content_charset() == "windows-1256"
    del msg["From"]
    assert msg["From"] is None
    msg["From"] = "b@example.org"
    assert str(msg["From"]) == "b@example.org"
    msg.add_header("X-Tag", "t")
    assert str(msg["X-Tag"]) == "t"
