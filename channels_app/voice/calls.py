"""A call's life on the desk: its record, its event on the customer's timeline, what it asked for.

The first webhook of a call records its event at once (`record_inbound`, idempotent by CallSid):
a call is synchronous, and what the IVR says next depends on who calls. Every later step (a menu
choice, a status callback) updates the `Call` row and copies its summary into that event
(`update_inbound_event`), so the timeline shows ringing, the IVR path, who answered, how long.
Voicemails are events of their own (idempotent by RecordingSid); a transcript, which Twilio sends
in a separate callback, becomes the voicemail's body.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.base import InboundMessage
from channels_app.voice.models import Call, CallDirection, CallOutcome, IvrConfig, Recording
from helpdesk.crisis.selectors import active_crises
from helpdesk.customers.selectors import contact_point
from helpdesk.messaging import inbox
from helpdesk.tickets import services as tickets
from helpdesk.tickets.models import Priority, Ticket

logger = logging.getLogger(__name__)

PROVIDER = "twilio"
QUEUE_NAME = "support"
# Twilio's CallStatus values in the order a call moves through them; a late callback never moves
# a call back (a replayed "ringing" after "completed" changes nothing).
STATUS_RANK = {
    "queued": 0,
    "initiated": 0,
    "ringing": 1,
    "in-progress": 2,
    "completed": 3,
    "busy": 3,
    "no-answer": 3,
    "canceled": 3,
    "failed": 3,
}
ENDED = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
WAITING = frozenset({CallOutcome.IN_IVR, CallOutcome.QUEUED})


def ivr_config(crisis_id: int | None) -> IvrConfig:
    """What callers hear now: the crisis's IVR, else the ordinary days' one (made on first use);
    one query for both."""
    configs = IvrConfig.objects.filter(
        Q(crisis__isnull=True) | Q(crisis_id=crisis_id) if crisis_id else Q(crisis__isnull=True)
    )
    config = configs.order_by(F("crisis_id").asc(nulls_last=True)).first()
    if config is None:
        try:
            with transaction.atomic():
                config = IvrConfig.objects.create()
        except IntegrityError:  # another call made it first
            config = IvrConfig.objects.get(crisis__isnull=True)
    return config


def _known_language(number: str) -> str:
    point = contact_point(kind="phone", value=number)
    if point is None:
        return ""
    return point.language or point.customer.language or ""


def summary(call: Call) -> dict:
    """What the call's timeline event shows of it."""
    return {
        "call": {
            "direction": call.direction,
            "status": call.status,
            "outcome": call.outcome,
            "language": call.language,
            "path": [step.get("label", step.get("step")) for step in call.path],
            "duration": call.duration,
            "answered_by": (call.answered_by.get_full_name() or call.answered_by.get_username())
            if call.answered_by_id and call.answered_by
            else "",
        }
    }


def _call_message(call: Call) -> InboundMessage:
    """The call as an inbound message: the same one from the door and from `ensure_recorded`."""
    return InboundMessage(
        channel="voice",
        sender_kind="phone",
        sender=call.from_number,
        kind="call",
        provider=PROVIDER,
        provider_id=call.call_sid,
        recipient=call.to_number,
        subject=_("Phone call"),
        language=call.language,
        sender_proven=True,  # Twilio signed it: this number is calling...
        proves_contact=False,  # ...but a caller id verifies no new number
        payload=summary(call),
        received_at=call.started_at,
    )


def start_call(
    *, call_sid: str, from_number: str, to_number: str, status: str = "ringing"
) -> tuple[Call, bool]:
    """The call's record, made once per CallSid (a retried first webhook finds it), and its event
    stored in the inbox like every channel's message: the drain records it on the caller's
    timeline (a known number is matched to its customer; a new one opens a customer whose number
    stays unverified until they prove it), so the first answer waits for two INSERTs only."""
    call = Call.objects.filter(call_sid=call_sid).first()
    if call is not None:
        return call, False
    now = timezone.now()
    call = Call(
        call_sid=call_sid,
        from_number=from_number,
        to_number=to_number,
        language=_known_language(from_number),
        status=status if status in STATUS_RANK else "ringing",
        crisis=active_crises().first(),
        started_at=now,
        path=[{"step": "answered", "label": "ivr", "at": now.isoformat()}],
    )
    try:
        with transaction.atomic():
            call.save(force_insert=True)
    except IntegrityError:
        return Call.objects.get(call_sid=call_sid), False
    inbox.accept(_call_message(call))
    return call, True


def ensure_recorded(call: Call) -> Call:
    """The call with its customer and ticket: the event the drain recorded, or recorded here when
    the drain has not come to it yet (`record_inbound` is idempotent by CallSid)."""
    if call.ticket_id is not None or call.direction != CallDirection.INBOUND:
        return call
    event = tickets.record_inbound(message=_call_message(call), offer_later=False).event
    Call.objects.filter(pk=call.pk).update(
        customer_id=event.customer_id, ticket_id=event.ticket_id, event_id=event.pk
    )
    call.customer_id, call.ticket_id, call.event_id = event.customer_id, event.ticket_id, event.pk
    return call


def find(call_sid: str) -> Call | None:
    """The call of a later webhook, with its customer and ticket (`ensure_recorded`)."""
    call = Call.objects.select_related("crisis").filter(call_sid=call_sid).first()
    return ensure_recorded(call) if call is not None else None


def sync_event(call: Call) -> None:
    """Copy the call's summary into its timeline event (once `ensure_recorded` knows it)."""
    if call.event_id is not None:
        tickets.update_inbound_event(event_id=call.event_id, payload=summary(call), ticket_id=call.ticket_id)


def step(call: Call, *labels: str, outcome: str = "", language: str = "") -> Call:
    """Append steps of the IVR path ("menu:2", "queue"), and the outcome or language they set, in
    one write. The row is locked: two webhooks of one call (a retry) append in turn. The timeline
    event follows when the outcome or the language changes, and at the end of the call
    (`apply_status`): a caller moving through the menu does not notify every agent's page at
    each key."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        at = timezone.now().isoformat()
        added = []
        for label in labels:
            name, _sep, value = label.partition(":")
            added.append({"step": name, "value": value, "label": label, "at": at})
        locked.path = [*locked.path, *added][-50:]
        fields = ["path"]
        if outcome and locked.outcome in WAITING and locked.outcome != outcome:
            locked.outcome = outcome
            fields.append("outcome")
            if outcome == CallOutcome.QUEUED:
                locked.queued_at = timezone.now()
                fields.append("queued_at")
        if language and language != locked.language:
            locked.language = language
            fields.append("language")
        locked.save(update_fields=fields)
    if Call.crisis.is_cached(call) and call.crisis_id == locked.crisis_id:
        locked.crisis = call.crisis  # loaded once per request
    if len(fields) > 1:
        sync_event(locked)
    return locked


def set_language(call: Call, language: str) -> Call:
    call = step(call, f"language:{language}", language=language)
    if call.customer_id:
        from helpdesk.customers.services import remember_language

        remember_language(customer_id=call.customer_id, language=language)
    return call


def apply_status(*, call_sid: str, status: str, duration: int | None = None, error: str = "") -> bool:
    """A status callback: move the call forward only (a replay or a late one changes nothing).
    True when it changed the call."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=call_sid).first()
        if call is None:
            return False
        if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(call.status, -1):
            return False
        now = timezone.now()
        call.status = status
        fields = ["status"]
        if status == "in-progress" and call.direction == CallDirection.OUTBOUND and call.answered_at is None:
            # The customer picked up: the agent who placed the call is on it.
            call.answered_at, call.outcome, call.answered_by_id = now, CallOutcome.ANSWERED, call.placed_by_id
            fields += ["answered_at", "outcome", "answered_by"]
        if status in ENDED:
            call.ended_at = now
            call.duration = duration
            fields += ["ended_at", "duration"]
            if status != "completed":
                call.outcome, call.error = CallOutcome.FAILED, error[:200]
                fields += ["outcome", "error"]
            elif call.outcome in WAITING:
                # Hung up in the menu or in the queue: abandoned (a deflected call stays deflected).
                call.outcome = CallOutcome.ABANDONED
                fields.append("outcome")
            elif call.outcome == CallOutcome.ANSWERED and call.direction == CallDirection.INBOUND:
                call.outcome = CallOutcome.COMPLETED
                fields.append("outcome")
        call.save(update_fields=fields)
    if status in ENDED:
        call = ensure_recorded(call)  # a call that ends on the timeline, whatever the drain did
    sync_event(call)
    if call.direction == CallDirection.OUTBOUND and status in ENDED and call.ticket_id:
        _log_call_back_outcome(call)
    return True


def left_queue(call: Call, result: str) -> Call:
    """The <Enqueue> action: the caller left the queue, bridged to an agent or not."""
    outcome = CallOutcome.ANSWERED if result == "bridged" else CallOutcome.ABANDONED
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.outcome == CallOutcome.QUEUED:
            locked.outcome = outcome
            if outcome == CallOutcome.ANSWERED:
                locked.answered_at = timezone.now()
            locked.save(update_fields=["outcome", "answered_at"])
    sync_event(locked)
    return locked


def estimated_wait_seconds(config: IvrConfig) -> int:
    """The wait a new caller would have: callers ahead of them times the handle time, shared by
    the agents answering calls."""
    waiting = Call.objects.filter(outcome=CallOutcome.QUEUED, ended_at__isnull=True).count()
    agents = max(1, config.agents_on_phones)
    return math.ceil((waiting + 1) * config.handle_seconds / agents)


def queue_position(call: Call) -> int:
    if call.queued_at is None:
        return 1
    ahead = Call.objects.filter(
        outcome=CallOutcome.QUEUED, ended_at__isnull=True, queued_at__lt=call.queued_at
    ).count()
    return ahead + 1


def _voicemail_message(recording: Recording, call: Call | None) -> InboundMessage:
    """The voicemail as an inbound message, the same from every callback that carries it."""
    return InboundMessage(
        channel="voice",
        sender_kind="phone",
        sender=call.from_number if call else "",
        kind="voicemail",
        provider=PROVIDER,
        provider_id=recording.recording_sid,
        recipient=call.to_number if call else "",
        subject=_("Voicemail"),
        language=call.language if call else "",
        media=[recording.url + ".mp3"],  # Twilio serves a recording as MP3 when the URL asks for it
        sender_proven=True,
        proves_contact=False,
        payload={
            "media_types": ["audio/mpeg"],
            "duration": recording.duration,
            "call_sid": call.call_sid if call else "",
        },
        ticket_id=call.ticket_id if call else None,
        received_at=recording.created_at,
    )


def record_voicemail(*, call: Call, recording_sid: str, url: str, duration: int | None) -> Recording:
    """The voicemail, once per RecordingSid (the Record action and the recording status callback
    both carry it; whichever comes first stores it): into the inbox, like every channel's message,
    and the drain puts it on the caller's timeline, in the call's ticket."""
    recording, created = Recording.objects.get_or_create(
        recording_sid=recording_sid, defaults={"call": call, "url": url, "duration": duration}
    )
    if created:
        step(call, "voicemail", outcome=CallOutcome.VOICEMAIL)
        inbox.accept(_voicemail_message(recording, call))
    return recording


def record_transcript(*, recording_sid: str, text: str, status: str) -> bool:
    """Twilio's transcript of a voicemail: kept with the recording, shown as the voicemail's body
    (recorded here first if the drain has not come to it yet: `record_inbound` is idempotent)."""
    changed = Recording.objects.filter(recording_sid=recording_sid).update(
        transcript=text[:5000], transcript_status=status[:16]
    )
    if not changed or status != "completed":
        return bool(changed)
    from helpdesk.tickets.selectors import event_id_for

    event_id = event_id_for(provider=PROVIDER, provider_id=recording_sid)
    if event_id is None:
        recording = Recording.objects.select_related("call").get(recording_sid=recording_sid)
        event_id = tickets.record_inbound(
            message=_voicemail_message(recording, recording.call), offer_later=False
        ).event.pk
    tickets.update_inbound_event(event_id=event_id, payload={"transcribed": True}, body=text[:5000])
    return True


def request_callback(call: Call) -> Ticket | None:
    """The caller asked to be called back: their call's ticket gets high priority (its SLA follows)
    and the `callback` tag, so it sorts to the top of the queue."""
    call = step(call, "callback", outcome=CallOutcome.CALLBACK)
    if not call.ticket_id:
        return None
    ticket = Ticket.objects.get(pk=call.ticket_id)
    changes = {"priority": Priority.HIGH} if ticket.priority > Priority.HIGH else {}
    return tickets.add_tags(ticket=ticket, names=["callback"], **changes)


def place_call_back(*, ticket: Ticket, agent, to_number: str) -> Call:
    """The agent's "call back" button: place the call through the SDK; the call's status callbacks
    log its outcome on the ticket. Raises ChannelError when Twilio refuses."""
    from twilio.base.exceptions import TwilioException

    from channels_app.base import ChannelError
    from channels_app.twilio_api.http import sync_client
    from channels_app.voice import urls

    try:
        created = sync_client().calls.create(
            to=to_number,
            from_=settings.TWILIO_FROM,
            url=urls.absolute("voice:outbound"),
            method="POST",
            status_callback=urls.absolute("voice:status"),
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
    except TwilioException as exc:
        raise ChannelError(f"Twilio did not place the call: {exc}", permanent=True) from exc
    now = timezone.now()
    call = Call.objects.create(
        call_sid=created.sid,
        direction=CallDirection.OUTBOUND,
        from_number=settings.TWILIO_FROM,
        to_number=to_number,
        language=ticket.language,
        status=created.status or "queued",
        outcome=CallOutcome.IN_IVR,
        customer_id=ticket.customer_id,
        ticket=ticket,
        placed_by=agent,
        started_at=now,
        path=[{"step": "call_back", "label": "call_back", "at": now.isoformat()}],
    )
    tickets.add_system_event(
        customer_id=ticket.customer_id,
        ticket=ticket,
        kind="call",
        author=agent,
        body=_("Call back placed to %(number)s.") % {"number": to_number},
        payload={"call_sid": call.call_sid, **summary(call)},
    )
    return call


def _log_call_back_outcome(call: Call) -> None:
    if call.customer_id is None:
        return
    minutes, seconds = divmod(call.duration or 0, 60)
    if call.status == "completed":
        body = _("Call back to %(number)s: answered, %(minutes)d min %(seconds)02d s.") % {
            "number": call.to_number,
            "minutes": minutes,
            "seconds": seconds,
        }
    else:
        body = _("Call back to %(number)s: not answered (%(status)s).") % {
            "number": call.to_number,
            "status": call.status,
        }
    tickets.add_system_event(
        customer_id=call.customer_id,
        ticket=call.ticket,
        kind="call",
        author=call.placed_by,
        body=body,
        payload={"call_sid": call.call_sid, **summary(call)},
    )


def stats(*, since: datetime | None = None) -> dict:
    """The IVR editor's live numbers: calls, deflected, queued now, abandoned, voicemails,
    callbacks, and the average wait of answered callers in seconds."""
    calls = Call.objects.filter(direction=CallDirection.INBOUND)
    if since is not None:
        calls = calls.filter(started_at__gte=since)
    counts = calls.aggregate(
        calls=Count("pk"),
        deflected=Count("pk", filter=Q(outcome=CallOutcome.DEFLECTED)),
        queued=Count("pk", filter=Q(outcome=CallOutcome.QUEUED, ended_at__isnull=True)),
        abandoned=Count("pk", filter=Q(outcome=CallOutcome.ABANDONED)),
        voicemails=Count("pk", filter=Q(outcome=CallOutcome.VOICEMAIL)),
        callbacks=Count("pk", filter=Q(outcome=CallOutcome.CALLBACK)),
    )
    waited = calls.filter(answered_at__isnull=False, queued_at__isnull=False).aggregate(
        wait=Avg(F("answered_at") - F("queued_at"))
    )["wait"]
    counts["average_wait_seconds"] = round(waited.total_seconds()) if waited else None
    return counts
