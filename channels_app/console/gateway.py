"""A gateway for the demo and development: logs the message and says it was delivered."""

from __future__ import annotations

import logging
import uuid

from channels_app.base import OutboundMessage, SendResult

logger = logging.getLogger("channels_app.console")


class ConsoleGateway:
    provider = "console"

    def send(self, message: OutboundMessage) -> SendResult:
        logger.info("[%s → %s] %s", message.channel, message.to, message.body)
        return SendResult(
            provider=self.provider, provider_id=f"console-{uuid.uuid4().hex}", status="delivered"
        )
