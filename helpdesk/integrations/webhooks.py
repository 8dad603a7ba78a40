"""Deliver domain events to subscribers: recorded in the change's transaction (one row per
subscription), sent after commit by a worker that claims the row first, signed, retried with
exponential backoff; a subscription failing MAX_CONSECUTIVE_FAILURES deliveries in a row is
disabled with a notice, and any delivery can be replayed from its log.

Each request: POST <url>, JSON {"id", "event", "created_at", "data"}, headers
X-Tourniquet-Event, X-Tourniquet-Event-Id (the same on every retry and replay: the receiver's
idempotency key), X-Tourniquet-Timestamp and
X-Tourniquet-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>.
The address passes helpdesk.integrations.netguard before every attempt and redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta

import requests
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.errors import ApplicationError
from helpdesk.events import NAMES
from helpdesk.integrations import netguard
from helpdesk.integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 8  # 1, 2, 4 … 64 minutes apart: about two hours of a receiver being down
MAX_CONSECUTIVE_FAILURES = 20
SUBSCRIBED_KEY = "tourniquet:webhooks:subscribed"  # the event names someone listens to, cached


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def _subscribed() -> set[str]:
    names = cache.get(SUBSCRIBED_KEY)
    if names is None:
        names = set()
        for events in WebhookSubscription.objects.filter(is_active=True).values_list("events", flat=True):
            names.update(events)
        cache.set(SUBSCRIBED_KEY, names, 60)
    return names


def _forget_subscribed() -> None:
    cache.delete(SUBSCRIBED_KEY)


def subscribe(*, url: str, events: list[str], secret: str, actor=None) -> WebhookSubscription:
    """A new subscription; an address the guard would not call is refused now (400)."""
    unknown = sorted(set(events) - set(NAMES))
    if not events or unknown:
        message = _("Choose events from: %(names)s.") % {"names": ", ".join(NAMES)}
        raise ApplicationError(message, code="invalid", fields={"events": [message]})
    if len(secret or "") < 16:
        raise ApplicationError(_("The secret needs at least 16 characters."), code="invalid",
                               fields={"secret": [_("At least 16 characters.")]})  # fmt: skip
    try:
        netguard.check(url)
    except netguard.Refused as exc:
        raise ApplicationError(exc.message, code="invalid", fields={"url": [exc.message]}) from exc
    owner = actor if getattr(actor, "pk", None) else None
    subscription = WebhookSubscription.objects.create(
        url=url, events=sorted(set(events)), secret=secret, created_by=owner
    )
    transaction.on_commit(_forget_subscribed)
    return subscription


def on_event(sender, *, name: str, event_id: str, data: dict, **kwargs) -> None:
    """helpdesk.events.published: one delivery per active subscription to `name`, in this transaction."""
    if name not in _subscribed():
        return
    now = timezone.now()
    subscriptions = WebhookSubscription.objects.filter(is_active=True, events__contains=[name])
    rows = [
        WebhookDelivery(subscription_id=pk, event_id=event_id, event=name, data=data, next_attempt_at=now)
        for pk in subscriptions.values_list("pk", flat=True)
    ]
    if not rows:
        return
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    from helpdesk.integrations import tasks

    transaction.on_commit(lambda: tasks.deliver_due.delay())


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    changed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1)
    if not changed:
        return None  # another worker has it, or it is not due
    return WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)


def attempt(delivery_id: int, *, now: datetime | None = None) -> str:
    """One attempt at one delivery (claimed first: a second worker does nothing); its new status."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "skipped"
    subscription = delivery.subscription
    body = json.dumps(
        {"id": delivery.event_id, "event": delivery.event, "created_at": delivery.created_at.isoformat(),
         "data": delivery.data}, ensure_ascii=False, separators=(",", ":"),
    ).encode()  # fmt: skip
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tourniquet-Webhooks",
        "X-Tourniquet-Event": delivery.event,
        "X-Tourniquet-Event-Id": delivery.event_id,
        "X-Tourniquet-Timestamp": timestamp,
        "X-Tourniquet-Signature": sign(subscription.secret, timestamp, body),
    }
    code, error = None, ""
    try:
        answer = netguard.post(subscription.url, body=body, headers=headers, timeout=TIMEOUT_SECONDS)
        code = answer.status
        ok = 200 <= answer.status < 300
        if not ok:
            error = f"HTTP {answer.status}"
    except netguard.Refused as exc:
        ok, error = False, exc.message
    except requests.RequestException as exc:
        ok, error = False, type(exc).__name__
    return _settle(delivery, ok=ok, code=code, error=error, now=now)


def _settle(delivery: WebhookDelivery, *, ok: bool, code: int | None, error: str, now: datetime) -> str:
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
        if ok:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.DELIVERED, delivered_at=now, last_status_code=code, last_error=""
            )
            subscription.consecutive_failures = 0
            subscription.save(update_fields=["consecutive_failures"])
            return DeliveryStatus.DELIVERED
        last = delivery.attempts >= MAX_ATTEMPTS
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED if last else DeliveryStatus.PENDING,
            next_attempt_at=now + backoff(delivery.attempts), last_status_code=code, last_error=error[:300],
        )  # fmt: skip
        subscription.consecutive_failures += 1
        fields = ["consecutive_failures"]
        if subscription.is_active and subscription.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
            subscription.is_active, subscription.disabled_at = False, now
            reason = _("Disabled after %(n)s failed deliveries in a row (last: %(error)s).")
            subscription.disabled_reason = reason % {
                "n": subscription.consecutive_failures,
                "error": error[:120],
            }
            fields += ["is_active", "disabled_at", "disabled_reason"]
            transaction.on_commit(_forget_subscribed)
            logger.warning(
                "webhook subscription %s disabled: %s", subscription.pk, subscription.disabled_reason
            )
        subscription.save(update_fields=fields)
    return DeliveryStatus.FAILED if last else DeliveryStatus.PENDING


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Attempt every delivery that is due (the task after commit, and the beat every minute);
    a delivery left `sending` by a dead worker for 10 minutes is due again."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING, next_attempt_at__lt=now - timedelta(minutes=10)
    ).update(status=DeliveryStatus.PENDING)
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
                                       subscription__is_active=True)
        .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )  # fmt: skip
    return sum(attempt(pk, now=now) == DeliveryStatus.DELIVERED for pk in ids)


def replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, now, with the same event id (the receiver deduplicates)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )
    from helpdesk.integrations import tasks

    transaction.on_commit(lambda: tasks.deliver_due.delay())
    delivery.refresh_from_db()
    return delivery


def enable(*, subscription: WebhookSubscription) -> WebhookSubscription:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        is_active=True, consecutive_failures=0, disabled_at=None, disabled_reason=""
    )
    transaction.on_commit(_forget_subscribed)
    subscription.refresh_from_db()
    return subscription
