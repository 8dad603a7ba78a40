"""The customer portal: sign-in with a one-time code sent to a verified phone or email, and
self-service actions called on the business's systems.

Sign-in: the answer to "send me a code" is the same whether or not the address is ours (no one
learns who is a customer); a code works once, for ten minutes (helpdesk.customers.codes), and
SIGN_IN_MAX_WRONG wrong codes for one address within an hour lock its sign-in for the rest of the
hour, whatever new codes are asked for.

An action: the customer's values are checked against its fields, the use is recorded with an
idempotency key and a timeline event, and a worker calls the backend (signed like our webhooks,
through the address guard), claimed first and retried with backoff until it answers; the same key
on every attempt lets the backend do it once. Each use counts as a deflected contact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import date, datetime, timedelta

import requests
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk.customers import codes
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.errors import Refused
from helpdesk.portal.models import ActionUse, SelfServiceAction, UseStatus
from helpdesk.tickets.models import Direction, EventKind, TimelineEvent
from helpdesk.windowcount import WindowCounter

logger = logging.getLogger(__name__)

PURPOSE = "portal_sign_in"
STEP_UP = "portal_step_up"
SIGN_IN_MAX_WRONG = 10
LOCK_SECONDS = 3600
STEP_UP_FRESH_SECONDS = 300  # a sensitive action within five minutes of a code needs no other
CALL_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 10


class PortalRefused(Refused):
    pass


def _normalize(value: str) -> tuple[str, str] | None:
    from helpdesk.customers.services import normalize_contact
    from helpdesk.errors import ApplicationError

    value = (value or "").strip()[:254]
    kind = "email" if "@" in value else "phone"
    try:
        return kind, normalize_contact(kind, value)
    except ApplicationError:
        return None


def _wrong(value: str) -> WindowCounter:
    return WindowCounter("tourniquet:portal:wrong:" + hashlib.sha256(value.encode()).hexdigest()[:32],
                         SIGN_IN_MAX_WRONG, LOCK_SECONDS)  # fmt: skip


def _refuse_if_locked(value: str) -> None:
    counter = _wrong(value)
    wait = counter.retry_after(time.time())
    if wait:
        raise PortalRefused("locked", _("Too many wrong codes: sign-in is locked for an hour."), wait)


def send_code(*, value: str, language: str, purpose: str = PURPOSE) -> None:
    """Send a sign-in code to the verified point with this value, if there is one (silently not
    otherwise). Refused when the address is locked or asked too many codes."""
    normalized = _normalize(value)
    if normalized is None:
        raise PortalRefused("invalid", _("Write a phone number (with its country code) or an email address."))
    kind, address = normalized
    _refuse_if_locked(address)
    point = ContactPoint.objects.filter(kind=kind, value=address).select_related("customer").first()
    if point is None or not point.can_receive:
        logger.info("portal code asked for an unknown or unreachable %s", kind)
        return
    code = codes.issue(purpose=purpose, subject=address, kind=kind, value=address)
    channel = "sms" if kind == "phone" else "email"
    with translation.override(language or point.language or point.customer.language):
        text = _(
            "Your sign-in code: %(code)s. It works once, for 10 minutes. Nobody from us will ask you for it."
        )
        text = text % {"code": code}
        shown = _("A one-time sign-in code was sent to %(address)s (customer portal).") % {"address": address}
    from helpdesk.messaging import outbox
    from helpdesk.tickets.models import DeliveryStatus

    with transaction.atomic():
        event = TimelineEvent.objects.create(
            customer_id=point.customer_id, ticket=None, channel=channel, direction=Direction.OUT,
            kind=EventKind.CONSENT, body=shown, contact_point=point,
            payload={"verification_code": {"to": address, "for": purpose}},
            delivery_status=DeliveryStatus.PENDING, created_at=timezone.now(),
        )  # fmt: skip
        outbox.enqueue(event=event, to=address, body=text, subject=text, language=language or "en")


def check_code(*, value: str, code: str, purpose: str = PURPOSE) -> ContactPoint:
    """The verified point the right code proves; PortalRefused (or codes.CodeRefused) otherwise."""
    normalized = _normalize(value)
    if normalized is None:
        raise PortalRefused("invalid", _("Write a phone number (with its country code) or an email address."))
    kind, address = normalized
    _refuse_if_locked(address)
    try:
        proven = codes.check(purpose=purpose, subject=address, code=code)
    except codes.CodeRefused as exc:
        if exc.code in ("wrong_code", "locked"):
            counter = _wrong(address)
            if counter.take(time.time()) >= SIGN_IN_MAX_WRONG:
                raise PortalRefused("locked", _("Too many wrong codes: sign-in is locked for an hour."),
                                    counter.retry_after(time.time())) from exc  # fmt: skip
        raise
    point = (
        ContactPoint.objects.filter(kind=proven.kind, value=proven.value).select_related("customer").first()
    )
    if point is None or not point.can_receive:
        raise PortalRefused("no_code", _("This code has expired or was used; ask for a new one."))
    return point


# --- Self-service actions ------------------------------------------------------------------------


def clean_values(action: SelfServiceAction, data: dict) -> tuple[dict, dict[str, str]]:
    """The values the action's fields take from the form, and the errors by field name."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for field in action.fields:
        name, kind = str(field.get("name", "")), field.get("kind", "text")
        raw = str(data.get(name, "")).strip()[: int(field.get("max_length", 200))]
        if not raw:
            if field.get("required"):
                errors[name] = _("This field is required.")
            continue
        if kind == "number":
            from helpdesk.digits import to_ascii

            try:
                values[name] = float(to_ascii(raw))
            except ValueError:
                errors[name] = _("Enter a number.")
        elif kind == "choice":
            if raw not in [str(c) for c in field.get("choices", [])]:
                errors[name] = _("Choose one of the options.")
            else:
                values[name] = raw
        elif kind == "date":
            try:
                values[name] = date.fromisoformat(raw).isoformat()
            except ValueError:
                errors[name] = _("Enter a date.")
        else:
            values[name] = raw
    return values, errors


def step_up_needed(action: SelfServiceAction, signed_in_at: float) -> bool:
    return action.sensitive and time.time() - signed_in_at > STEP_UP_FRESH_SECONDS


@transaction.atomic
def use_action(*, action: SelfServiceAction, customer: Customer, values: dict, language: str,
               channel: str = "web") -> ActionUse:  # fmt: skip
    """Record the use (the call follows after commit), put it on the timeline, count a deflection."""
    use = ActionUse.objects.create(action=action, customer=customer, values=values, language=language,
                                   next_attempt_at=timezone.now())  # fmt: skip
    from helpdesk.crisis.models import DeflectionKind
    from helpdesk.crisis.surge import record_deflection
    from helpdesk.tickets.services import add_system_event

    add_system_event(
        customer_id=customer.pk, ticket=None, kind=EventKind.NOTE,
        body=_("Self-service: %(action)s asked (%(values)s)") % {
            "action": action.text("title", "en"),
            "values": ", ".join(f"{k}: {v}" for k, v in values.items()) or "—",
        },
        payload={"self_service": use.pk, "action": action.slug},
    )  # fmt: skip
    crisis = _crisis_of(customer)
    record_deflection(kind=DeflectionKind.SELF_SERVICE, channel=channel, crisis=crisis)
    from helpdesk.portal import tasks

    transaction.on_commit(lambda: tasks.call_due_actions.delay())
    return use


def _crisis_of(customer: Customer):
    from helpdesk.crisis.selectors import crisis_for_customer

    return crisis_for_customer(customer=customer)


def call(use_id: int, *, now: datetime | None = None) -> str:
    """One attempt at the backend call (claimed first); the use's status after it."""
    from helpdesk.integrations import netguard, webhooks

    now = now or timezone.now()
    if not ActionUse.objects.filter(pk=use_id, status=UseStatus.PENDING, next_attempt_at__lte=now).update(
        status=UseStatus.SENDING, attempts=F("attempts") + 1
    ):
        return "skipped"
    use = ActionUse.objects.select_related("action", "customer").get(pk=use_id)
    body = json.dumps(
        {"idempotency_key": str(use.idempotency_key), "action": use.action.slug, "customer": use.customer_id,
         "values": use.values, "language": use.language}, ensure_ascii=False, separators=(",", ":"),
    ).encode()  # fmt: skip
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json", "Idempotency-Key": str(use.idempotency_key),
        "X-Tourniquet-Timestamp": timestamp,
        "X-Tourniquet-Signature": webhooks.sign(use.action.secret, timestamp, body),
    }  # fmt: skip
    try:
        answer = netguard.post(use.action.url, body=body, headers=headers, timeout=CALL_TIMEOUT_SECONDS)
    except (netguard.Refused, requests.RequestException) as exc:
        return _retry(use, str(getattr(exc, "message", "") or type(exc).__name__), now)
    if answer.status >= 500 or answer.status == 429:
        return _retry(use, f"HTTP {answer.status}", now)
    try:
        result = json.loads(answer.body or b"{}")
    except ValueError:
        result = {}
    status = UseStatus.DONE if 200 <= answer.status < 300 else UseStatus.REFUSED
    return _finish(use, status, result if isinstance(result, dict) else {}, now)


def _retry(use: ActionUse, error: str, now: datetime) -> str:
    status = UseStatus.FAILED if use.attempts >= MAX_ATTEMPTS else UseStatus.PENDING
    ActionUse.objects.filter(pk=use.pk).update(
        status=status,
        last_error=error[:300],
        next_attempt_at=now + timedelta(seconds=30 * 2 ** (use.attempts - 1)),
    )
    if status == UseStatus.FAILED:
        _finish(use, UseStatus.FAILED, {}, now)
    return status


def _finish(use: ActionUse, status: str, result: dict, now: datetime) -> str:
    from helpdesk.tickets.services import add_system_event

    ActionUse.objects.filter(pk=use.pk).update(status=status, result=result, done_at=now)
    add_system_event(
        customer_id=use.customer_id, ticket=None, kind=EventKind.NOTE,
        body=_("Self-service: %(action)s: %(result)s") % {
            "action": use.action.text("title", "en"), "result": result_text(use.action, status, result, "en"),
        },
        payload={"self_service": use.pk, "status": status},
    )  # fmt: skip
    return status


def result_text(action: SelfServiceAction, status: str, result: dict, language: str) -> str:
    """What the customer reads once the system answered."""
    with translation.override(language):
        if status == UseStatus.DONE:
            return action.text("result_text", language).replace(
                "{reference}", str(result.get("reference", ""))
            )
        if status == UseStatus.REFUSED:
            return str(result.get("message") or _("The system could not do this; an agent will contact you."))
        if status == UseStatus.FAILED:
            return _("This could not be done right now; an agent will contact you.")
        return _("Working on it…")


def call_due_actions(*, now: datetime | None = None, limit: int = 100) -> int:
    """Call the due uses (after commit, and by beat every minute for the retries); a use left
    `sending` by a dead worker for five minutes is due again, under the same key."""
    now = now or timezone.now()
    ActionUse.objects.filter(status=UseStatus.SENDING, next_attempt_at__lt=now - timedelta(minutes=5)).update(
        status=UseStatus.PENDING
    )
    ids = list(
        ActionUse.objects.filter(status=UseStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    )  # fmt: skip
    return sum(call(pk, now=now) == UseStatus.DONE for pk in ids)
