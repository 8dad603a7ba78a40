"""`manage.py poll_mailbox`: read the IMAP and Maildir mailboxes into the inbox."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.email import poll
from channels_app.email.models import Mailbox, MailboxDoor

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Fetch new mail from the active IMAP and Maildir mailboxes into the inbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", default="", help="One mailbox by address (default: all active).")
        parser.add_argument("--once", action="store_true", help="Poll each mailbox once and exit.")
        parser.add_argument("--idle", action="store_true", help="Watch one IMAP mailbox with IDLE.")
        parser.add_argument("--interval", type=int, default=None, help="Default: EMAIL_POLL_SECONDS.")

    def handle(
        self, *args: Any, mailbox: str, once: bool, idle: bool, interval: int | None, **opts: Any
    ) -> None:
        boxes = Mailbox.objects.filter(active=True, door__in=[MailboxDoor.IMAP, MailboxDoor.MAILDIR])
        if mailbox:
            boxes = boxes.filter(address__iexact=mailbox)
            if not boxes.exists():
                raise CommandError(f"no active IMAP or Maildir mailbox {mailbox}")
        interval = interval or settings.EMAIL_POLL_SECONDS
        if idle:
            box = boxes.filter(door=MailboxDoor.IMAP).first()
            if box is None or (not mailbox and boxes.count() > 1):
                raise CommandError("--idle watches one IMAP mailbox: name it with --mailbox")
            poll.watch_imap(box, interval=interval)
            return
        while True:
            for box in list(boxes):
                try:
                    result = poll.poll_once(box)
                except Exception:  # noqa: BLE001 - one unreachable mailbox must not stop the others
                    logger.exception("mailbox %s: poll failed", box.address)
                    continue
                self.stdout.write(f"{box.address}: {result.fetched} stored, {len(result.failed)} failed")
            if once:
                return
            time.sleep(interval)
