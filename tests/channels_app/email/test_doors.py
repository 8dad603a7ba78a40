"""The SMTP door (aiosmtpd in this process, our handler) and the Maildir poll: mail becomes tickets,
stored once, and the doors refuse what is not ours."""

from __future__ import annotations

import mailbox
import smtplib

import pytest
from django.core.management import call_command

from channels_app.email.models import Mailbox, MailboxDoor
from channels_app.email.smtpd import InboundHandler, smtp_parameters
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import Ticket
from tests.channels_app.email.conftest import _free_port
from tests.channels_app.email.mails import mail


def crlf(raw: bytes) -> bytes:
    """On the wire, as an MTA sends it (smtplib sends bytes as they are)."""
    return raw.replace(b"\n", b"\r\n")


@pytest.fixture
def smtp_door(settings):
    """Our SMTP door on a free port; the handler stores in its own thread, so rows are committed."""
    from aiosmtpd.controller import Controller

    settings.EMAIL_MAX_BYTES = 20_000
    settings.EMAIL_INBOUND_DOMAINS = []
    port = _free_port()
    controller = Controller(InboundHandler(), hostname="127.0.0.1", port=port, **smtp_parameters())
    controller.start()
    yield port
    controller.stop()


@pytest.mark.django_db(transaction=True)
def test_smtp_door_stores_mail_for_our_domain_and_it_becomes_a_ticket(smtp_door):
    raw = crlf(mail(message_id="<smtp-1@example.com>"))
    with smtplib.SMTP("127.0.0.1", smtp_door) as smtp:
        refused = smtp.sendmail("maryam@example.com", ["help@desk.test"], raw)
    assert refused == {}
    ticket = Ticket.objects.get()
    assert ticket.channel == "email" and ticket.subject == "Flooded basement, claim help"
    row = InboxMessage.objects.get()
    assert row.message["recipient"] == "help@desk.test" and row.message["payload"]["door"] == "smtp"
    assert bytes(row.raw) == raw


@pytest.mark.django_db(transaction=True)
def test_smtp_door_refuses_other_domains_no_open_relay(smtp_door):
    with (
        smtplib.SMTP("127.0.0.1", smtp_door) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        smtp.sendmail("spammer@example.com", ["victim@elsewhere.test"], mail(to="victim@elsewhere.test"))
    assert refused.value.recipients["victim@elsewhere.test"][0] == 550
    assert not InboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_smtp_door_accepts_a_configured_mailbox_domain(smtp_door):
    Mailbox.objects.create(address="support@other.test", door=MailboxDoor.SMTP)
    with smtplib.SMTP("127.0.0.1", smtp_door) as smtp:
        smtp.sendmail("maryam@example.com", ["support@other.test"], mail(to="support@other.test"))
    assert InboxMessage.objects.get().message["recipient"] == "support@other.test"


@pytest.mark.django_db(transaction=True)
def test_smtp_door_refuses_mail_over_the_size_limit(smtp_door):
    big = crlf(mail(body=("x" * 70 + "\n") * 430))
    with smtplib.SMTP("127.0.0.1", smtp_door) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # the client announced SIZE
            smtp.sendmail("maryam@example.com", ["help@desk.test"], big)
        assert refused.value.smtp_code == 552
        smtp.ehlo()
        smtp.mail("maryam@example.com")  # a client that does not announce it: refused after DATA
        smtp.rcpt("help@desk.test")
        code, _ = smtp.data(big)
    assert code == 552
    assert not InboxMessage.objects.exists()


GARBAGE = b"\x00\xff\xfe not a mail \x01\x02 at all\r\n"


@pytest.mark.django_db
def test_maildir_poll_records_good_mail_keeps_garbage_and_fetches_once(tmp_path):
    folder = mailbox.Maildir(tmp_path / "desk", create=True)
    folder.add(mail(message_id="<md-1@example.com>"))
    folder.add(mail(message_id="<md-2@example.com>", sender="Lena <lena@example.org>", subject="Roof leak"))
    folder.add(GARBAGE)
    box = Mailbox.objects.create(
        address="help@desk.test", door=MailboxDoor.MAILDIR, maildir_path=str(tmp_path / "desk")
    )

    call_command("poll_mailbox", "--once")

    assert Ticket.objects.count() == 2
    broken = InboxMessage.objects.get(event_id=None)
    assert bytes(broken.raw) == GARBAGE and "no sender address" in broken.error
    box.refresh_from_db()
    assert box.fetched_count == 3 and box.last_error == "" and box.last_fetch_at is not None
    kept = mailbox.Maildir(tmp_path / "desk", create=False)
    assert len(kept) == 3
    assert all(m.get_subdir() == "cur" and "S" in m.get_flags() for m in kept)

    call_command("poll_mailbox", "--once", "--mailbox", "help@desk.test")

    box.refresh_from_db()
    assert box.fetched_count == 3 and InboxMessage.objects.count() == 3 and Ticket.objects.count() == 2


@pytest.mark.django_db
def test_maildir_poll_fetches_mail_added_later(tmp_path):
    folder = mailbox.Maildir(tmp_path / "desk", create=True)
    folder.add(mail(message_id="<later-1@example.com>"))
    Mailbox.objects.create(
        address="help@desk.test", door=MailboxDoor.MAILDIR, maildir_path=str(tmp_path / "desk")
    )
    call_command("poll_mailbox", "--once")
    folder.add(mail(message_id="<later-2@example.com>", sender="lena@example.org", subject="Second"))
    call_command("poll_mailbox", "--once")
    assert Ticket.objects.count() == 2 and Mailbox.objects.get().fetched_count == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_doors_share_commits_and_store_each_mail_once():
    """Doors in autocommit join the process's group commit: each mail stored once, a resent one
    (same Message-ID) answered "already stored", a mail above the batch limit stored on its own."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from channels_app.email import inbound
    from helpdesk.messaging import inbox

    inbox._raw_group.batch_sizes.clear()
    mails = [crlf(mail(message_id=f"<door.{i}@example.org>", body=f"message {i}")) for i in range(40)]
    big = crlf(mail(message_id="<door.big@example.org>", body="x" * (inbox.RAW_BATCH_BYTES + 10)))

    def store(raw: bytes) -> bool:
        try:
            return inbound.accept(raw, recipient="help@desk.test", source="test")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(store, [*mails, big]))
        again = list(pool.map(store, [*mails[:10], big]))
    assert first == [True] * 41 and again == [False] * 11
    assert InboxMessage.objects.count() == 41
    assert bytes(InboxMessage.objects.get(provider_id="door.big@example.org").raw) == big
    assert bytes(InboxMessage.objects.get(provider_id="door.7@example.org").raw) == mails[7]
    assert sum(inbox._raw_group.batch_sizes) == 50  # the big one twice went alone
