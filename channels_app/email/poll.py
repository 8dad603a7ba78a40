"""The polling doors: read a mailbox (IMAP or Maildir) and store each message in the inbox.

A message is marked read (or moved) only after `inbound.accept` returned, i.e. after its row was
committed; a crash in between leaves it unread, and the next poll's accept finds it stored already.
"""

from __future__ import annotations

import logging
import mailbox as maildir_lib
import os
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from channels_app.base import ChannelError
from channels_app.email import inbound
from channels_app.email.models import Mailbox, MailboxDoor

logger = logging.getLogger(__name__)

# UIDs per FETCH: 50 messages of up to EMAIL_MAX_BYTES each bound what one response holds in memory.
FETCH_BATCH = 50
# RFC 2177: servers may drop an IDLE after 30 min of silence; re-IDLE well inside that.
IDLE_SECONDS = 5 * 60


@dataclass
class PollResult:
    fetched: int = 0
    failed: list[str] = field(default_factory=list)


def _record(box: Mailbox, result: PollResult, error: str = "") -> None:
    error = error or (f"not stored: {', '.join(result.failed[:10])}" if result.failed else "")
    Mailbox.objects.filter(pk=box.pk).update(
        last_fetch_at=timezone.now(),
        last_error=error[:300],
        fetched_count=F("fetched_count") + result.fetched,
    )


def _accept_one(box: Mailbox, raw: bytes, label: str, result: PollResult) -> bool:
    """Store one message; a failure is logged and kept for last_error, and the others go on."""
    if len(raw) > settings.EMAIL_MAX_BYTES:
        result.failed.append(f"{label} larger than EMAIL_MAX_BYTES")
        return False
    try:
        inbound.accept(raw, recipient=box.address, source=box.door)
    except Exception as exc:  # noqa: BLE001 - one broken message must not stop the others
        logger.exception("mailbox %s: message %s not stored", box.address, label)
        result.failed.append(f"{label} ({type(exc).__name__})")
        return False
    result.fetched += 1
    return True


# --- Maildir


def poll_maildir(box: Mailbox) -> PollResult:
    """Store each message in new/ or unseen in cur/, then move it to cur/ flagged S (kept, seen)."""
    result = PollResult()
    if not box.maildir_path or not os.path.isdir(box.maildir_path):
        _record(box, result, f"no Maildir at {box.maildir_path!r}")
        return result
    folder = maildir_lib.Maildir(box.maildir_path, factory=None, create=False)
    for key in sorted(folder.keys()):
        message = folder.get_message(key)
        if message.get_subdir() == "cur" and "S" in message.get_flags():
            continue
        raw = folder.get_bytes(key)
        if _accept_one(box, raw, f"Maildir {key}", result):
            seen = maildir_lib.MaildirMessage(raw)
            seen.set_subdir("cur")
            seen.set_flags(message.get_flags() + "S")
            seen.set_date(message.get_date())
            folder[key] = seen
    _record(box, result)
    return result


# --- IMAP


def _connect(box: Mailbox) -> Any:
    from imapclient import IMAPClient

    password = os.environ.get(box.password_env, "") if box.password_env else ""
    if box.password_env and not password:
        raise ChannelError(f"environment variable {box.password_env} is not set", permanent=True)
    port = box.port or (993 if box.use_ssl else 143)
    client = IMAPClient(box.host, port=port, ssl=box.use_ssl, timeout=60)
    client.login(box.username or box.address, password)
    return client


def _uids_after(client: Any, last_uid: int) -> list[int]:
    # "n:*" always matches the newest message, even when its UID is below n (RFC 3501 6.4.8).
    return sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)


def _mark_done(client: Any, box: Mailbox, uids: list[int]) -> None:
    if not uids:
        return
    if box.move_to:
        if client.has_capability("MOVE"):
            client.move(uids, box.move_to)
        else:
            client.copy(uids, box.move_to)
            client.delete_messages(uids)
            client.uid_expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()
    else:
        client.add_flags(uids, [b"\\Seen"])


def _save_position(box: Mailbox, uidvalidity: int, last_uid: int) -> None:
    Mailbox.objects.filter(pk=box.pk).update(uidvalidity=uidvalidity, last_uid=last_uid)
    box.uidvalidity, box.last_uid = uidvalidity, last_uid


def fetch_imap(client: Any, box: Mailbox) -> PollResult:
    """Store every message above last_uid, a batch at a time; advance last_uid only below failures.

    A message whose accept failed keeps last_uid below it, so the next poll fetches it again (and
    the ones after it, which accept finds stored already and only marks again)."""
    result = PollResult()
    status = client.select_folder(box.folder)
    uidvalidity = int(status[b"UIDVALIDITY"])
    last_uid = box.last_uid
    if box.uidvalidity != uidvalidity:
        # The folder was recreated: its old UIDs mean nothing (accept's idempotency covers repeats).
        last_uid = 0
    uids = _uids_after(client, last_uid)
    first_failed: int | None = None
    for start in range(0, len(uids), FETCH_BATCH):
        batch = uids[start : start + FETCH_BATCH]
        done: list[int] = []
        for uid, data in sorted(client.fetch(batch, ["BODY.PEEK[]"]).items()):
            if _accept_one(box, bytes(data[b"BODY[]"]), f"UID {uid}", result):
                done.append(uid)
            elif first_failed is None:
                first_failed = uid
        _mark_done(client, box, done)
        high = max(batch) if first_failed is None else first_failed - 1
        if high > last_uid or box.uidvalidity != uidvalidity:
            _save_position(box, uidvalidity, max(last_uid, high))
            last_uid = box.last_uid
    if box.uidvalidity != uidvalidity:
        _save_position(box, uidvalidity, last_uid)
    _record(box, result)
    return result


def poll_imap(box: Mailbox) -> PollResult:
    """Connect, store what is new, log out."""
    try:
        client = _connect(box)
    except Exception as exc:  # noqa: BLE001 - recorded on the mailbox for the managers' page
        _record(box, PollResult(), f"connect failed: {type(exc).__name__}: {exc}")
        raise
    try:
        return fetch_imap(client, box)
    finally:
        client.logout()


def watch_imap(box: Mailbox, *, interval: int) -> None:
    """Poll forever: IDLE between fetches when the server offers it, else sleep `interval` seconds."""
    client = _connect(box)
    try:
        while True:
            fetch_imap(client, box)
            if client.has_capability("IDLE"):
                client.idle()
                try:
                    client.idle_check(timeout=IDLE_SECONDS)
                finally:
                    client.idle_done()
            else:
                time.sleep(interval)
    finally:
        client.logout()


def poll_once(box: Mailbox) -> PollResult:
    """One poll of a mailbox by its door."""
    if box.door == MailboxDoor.MAILDIR:
        return poll_maildir(box)
    if box.door == MailboxDoor.IMAP:
        return poll_imap(box)
    raise ChannelError(f"{box.address}: the {box.door} door is not polled", permanent=True)
