"""A gateway for the demo and development: logs that a message was printed. Nothing leaves.

`demo_only`: outside the demo (DEMO_GATEWAYS_ENABLED, on with DJANGO_DEBUG) the registry treats the
channel as having no gateway, so nothing is ever marked sent or delivered that did not leave.
"""

from __future__ import annotations

import logging
import uuid

from channels_app.base import DeliveryStatus, OutboundMessage, SendResult

logger = logging.getLogger("channels_app.console")


class ConsoleGateway:
    provider = "console"
    demo_only = True

    def send(self, message: OutboundMessage) -> SendResult:
        # The demo's console is the recipient here: the body is what a newcomer wants to see.
        logger.info("[%s → %s] %s", message.channel, message.to, message.body)
        return SendResult(
            provider=self.provider, provider_id=f"console-{uuid.uuid4().hex}", status=DeliveryStatus.PRINTED
        )
