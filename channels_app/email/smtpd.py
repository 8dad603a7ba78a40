"""The SMTP door: an aiosmtpd handler that stores each message before it answers 250.

The sending MTA keeps a message until we answer 250, so a message is ours only once its inbox row
is committed: a database error answers 451 (the MTA retries later), never 250.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from channels_app.email import inbound
from channels_app.email.selectors import inbound_domains

logger = logging.getLogger(__name__)


def _in_db(work: Any, *args: Any) -> Any:
    # A long-running server has no request cycle: drop connections the database closed or that
    # outlived CONN_MAX_AGE, before and after, as Django does around each request.
    close_old_connections()
    try:
        return work(*args)
    finally:
        close_old_connections()


def _store(raw: bytes, recipient: str) -> bool:
    return inbound.accept(raw, recipient=recipient, source="smtp")


class InboundHandler:
    """aiosmtpd handler: RCPT only for our domains (550 otherwise), DATA stored before 250."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list
    ) -> str:
        domain = address.rpartition("@")[2].strip().lower()
        try:
            domains = await asyncio.to_thread(_in_db, inbound_domains)
        except DatabaseError as exc:
            logger.error("smtp door: domains unavailable (%s)", type(exc).__name__)
            return "451 4.3.0 Temporarily unavailable, try again later"
        if not domain or domain not in domains:
            return "550 5.7.1 Relaying denied: not a mailbox of this desk"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        recipient = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        try:
            stored = await asyncio.to_thread(_in_db, _store, raw, recipient)
        except DatabaseError as exc:
            logger.error("smtp door: message not stored, database unavailable (%s)", type(exc).__name__)
            return "451 4.3.0 Temporarily unavailable, try again later"
        return "250 OK stored" if stored else "250 OK already stored"


def smtp_parameters() -> dict[str, Any]:
    """aiosmtpd SMTP() keyword arguments: the size limit (552 above it) and strict 8-bit bytes."""
    return {"data_size_limit": settings.EMAIL_MAX_BYTES, "decode_data": False}
