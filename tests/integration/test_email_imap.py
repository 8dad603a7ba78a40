"""The IMAP door against a real dovecot: mail appended to the folder becomes tickets through a real
worker, is flagged \\Seen only once stored, and is fetched once across polls (the UID state)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from channels_app.email.models import Mailbox, MailboxDoor
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import Ticket
from tests.channels_app.email.mails import mail
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def imap_box(dovecot, monkeypatch, settings):
    settings.DEFAULT_FROM_EMAIL = "help@desk.test"
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.password)
    return Mailbox.objects.create(
        address="help@desk.test", door=MailboxDoor.IMAP, host=dovecot.host, port=dovecot.port,
        use_ssl=False, username=dovecot.user, password_env="TEST_IMAP_PASSWORD",
    )  # fmt: skip


def _flags(client) -> dict[int, tuple]:
    client.select_folder("INBOX")
    return {uid: data[b"FLAGS"] for uid, data in client.fetch(client.search("ALL"), ["FLAGS"]).items()}


def test_imap_poll_stores_flags_seen_and_fetches_each_message_once(dovecot, imap_box, celery_worker_process):
    client = dovecot.client()
    for n, sender in enumerate(["maryam@example.com", "lena@example.org", "omid@example.net"]):
        client.append("INBOX", mail(sender=sender, subject=f"Help {n}", message_id=f"<imap-{n}@example.com>"))

    call_command("poll_mailbox", "--once")

    wait_until(lambda: Ticket.objects.count() == 3)
    assert all(b"\\Seen" in flags for flags in _flags(client).values())
    box = Mailbox.objects.get()
    assert box.fetched_count == 3 and box.last_uid == 3 and box.uidvalidity and box.last_error == ""

    call_command("poll_mailbox", "--once")
    assert Mailbox.objects.get().fetched_count == 3 and InboxMessage.objects.count() == 3

    client.append(
        "INBOX", mail(sender="sara@example.com", subject="Later", message_id="<imap-9@example.com>")
    )
    call_command("poll_mailbox", "--once", "--mailbox", "help@desk.test")
    wait_until(lambda: Ticket.objects.count() == 4)
    box = Mailbox.objects.get()
    assert box.fetched_count == 4 and box.last_uid == 4
    assert all(b"\\Seen" in flags for flags in _flags(client).values())
    client.logout()


def test_imap_poll_leaves_unstored_mail_unread_and_retries_it(
    dovecot, imap_box, celery_worker_process, monkeypatch
):
    from channels_app.email import inbound

    client = dovecot.client()
    for n in range(3):
        client.append("INBOX", mail(subject=f"Case {n}", message_id=f"<retry-{n}@example.com>"))
    real_accept = inbound.accept

    def failing_second(raw: bytes, **kwargs):
        if b"<retry-1@example.com>" in raw:
            raise RuntimeError("database hiccup")
        return real_accept(raw, **kwargs)

    monkeypatch.setattr(inbound, "accept", failing_second)
    call_command("poll_mailbox", "--once")
    box = Mailbox.objects.get()
    assert "UID 2" in box.last_error and box.fetched_count == 2 and box.last_uid == 1
    assert [b"\\Seen" in flags for _, flags in sorted(_flags(client).items())] == [True, False, True]

    monkeypatch.setattr(inbound, "accept", real_accept)
    call_command("poll_mailbox", "--once")
    box = Mailbox.objects.get()
    assert box.last_error == "" and box.last_uid == 3
    assert all(b"\\Seen" in flags for flags in _flags(client).values())
    assert InboxMessage.objects.count() == 3
    wait_until(lambda: InboxMessage.objects.filter(processed_at__isnull=False).count() == 3)
    client.logout()
