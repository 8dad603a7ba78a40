"""A gateway for crisis tests that records every message it is handed, in Redis.

Redis (not process memory) so a real worker process's sends are visible to the test. Optional
latency per batch stands in for a slow provider. Errors can be scripted per number.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from functools import cache

import redis
from django.conf import settings

from channels_app.base import (
    ChannelError,
    ContactState,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
    SentMessage,
)


def key(name: str) -> str:
    """Keys are per database, so a bench and a test run on one Redis never read each other's sends."""
    from django.db import connection

    return f"tests:crisis:{connection.settings_dict['NAME']}:{name}"


# sent: list of JSON records; sid: hash number -> last record (for lookups);
# fail: hash number -> "transient:<n>" | "permanent"; latency: seconds per batch at the "provider".


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def reset() -> None:
    client().delete(key("sent"), key("fail"), key("sid"), key("latency"))


def sent() -> list[dict]:
    return [json.loads(raw) for raw in client().lrange(key("sent"), 0, -1)]


def count() -> int:
    return client().llen(key("sent"))


def fail(number: str, mode: str) -> None:
    client().hset(key("fail"), number, mode)


def set_latency(seconds: float) -> None:
    client().set(key("latency"), str(seconds))


class RecordingGateway:
    provider = "recording"

    def send(self, message: OutboundMessage) -> SendResult:
        return self.send_many([message])[0]

    def send_many(self, messages: list[OutboundMessage]):
        r = client()
        latency = float(r.get(key("latency")) or 0)
        if latency:
            time.sleep(latency / 2)  # the request on its way; the other half is the answer's way back
        results: list = []
        failures = r.hgetall(key("fail")) if r.exists(key("fail")) else {}
        pipe = r.pipeline(transaction=False)  # one round trip per batch, like one HTTP/2 burst
        now = time.time()
        for message in messages:
            mode = failures.get(message.to, "")
            if mode.startswith("transient:"):
                left = int(mode.split(":")[1])
                if left > 0:
                    r.hset(key("fail"), message.to, f"transient:{left - 1}")
                    results.append(
                        ChannelError("429 Too Many Requests", permanent=False, code="429", retry_after=0.01)
                    )
                    continue
            elif mode == "permanent":
                results.append(
                    ChannelError(
                        "21211 invalid To", permanent=True, code="21211", contact_state=ContactState.INVALID
                    )
                )
                continue
            provider_id = f"SM{uuid.uuid4().hex}"
            record = {
                "provider_id": provider_id,
                "to": message.to,
                "body": message.body,
                "language": message.language,
                "sid": provider_id,
                "at": now,
                "delivery": message.metadata.get("broadcast_delivery_id"),
            }
            pipe.rpush(key("sent"), json.dumps(record))
            pipe.hset(key("sid"), message.to, json.dumps(record))
            results.append(
                SendResult(provider=self.provider, provider_id=provider_id, status=DeliveryStatus.SENT)
            )
        pipe.execute()
        if latency:
            time.sleep(latency / 2)
        return results


class LookupRecordingGateway(RecordingGateway):
    """Also answers "did you send this?", as the Twilio gateway does by listing Messages."""

    def find_sent(self, *, to: str, since) -> list[SentMessage]:
        raw = client().hget(key("sid"), to)  # the last message to this number
        record = json.loads(raw) if raw else None
        if not record or record["at"] < since.timestamp():
            return []
        created = datetime.fromtimestamp(record["at"], tz=UTC)
        message = SentMessage(
            provider_id=record["provider_id"],
            body=record["body"],
            to=to,
            status=DeliveryStatus.SENT,
            created_at=created,
        )
        return [message]
