"""Closing the loop: when a crisis ends, everyone it touched hears so once, on their channel.

Who is affected: each customer of a ticket linked to the crisis, reached on the channel of their
last inbound message there (a call or chat goes to their verified phone by SMS, else their
verified email), and each contact point a broadcast about the crisis reached (sent or delivered).
One contact point per customer: the channel they used themselves wins over a broadcast's, the
latest broadcast over older ones. A customer with no phone or email we can write to (a chat-only
visitor) is left out and counted, as is one whose only points are opted out, invalid or bouncing.

Closing is one action: the final statement is published (or waits for a second manager: then
nothing else happens yet and closing again with the same words carries on once it is approved),
the crisis is resolved, and one closing broadcast per channel is created and started. The
"crisis_closed" audit row names those broadcasts and is what refuses a second closing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils.translation import gettext

from channels_app.base import contact_kind_of
from helpdesk.crisis import services, statements
from helpdesk.crisis.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Crisis,
    CrisisAudit,
    CrisisStatus,
    DeliveryState,
    Statement,
    StatementStatus,
)
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import Channel, Direction, Ticket, TimelineEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Sent once a closing went ahead and committed (kwarg crisis): apps follow up (helpdesk.feedback
# asks the crisis's customers, after the closing message, how likely they are to recommend us).
crisis_closed = Signal()

CLOSED_ACTION = "crisis_closed"
# The order closing broadcasts are created and started in (and the preview lists them in).
CLOSING_CHANNELS = ("sms", "email")
# create_broadcast's defaults: a closing is an ordinary broadcast, at the ordinary pace and length.
CLOSING_RATE_PER_SECOND = 50
CLOSING_MAX_SEGMENTS = 2

# One statement, two window functions: the last inbound message per customer on the crisis's
# tickets, then the best reachable point per customer among it and the crisis's broadcasts. Rows
# come back one per affected customer (point NULL: left out): 1.0-1.2 s for 100,000 customers
# (50,000 crisis tickets, 100,000 broadcast deliveries) on the dev machine, in one round trip.
# ROW_NUMBER rather than DISTINCT ON: the SQLite demo runs it too.
_AFFECTED_SQL = """
WITH last_inbound AS (
    SELECT customer_id, channel, contact_point_id, created_at FROM (
        SELECT t.customer_id, e.channel, e.contact_point_id, e.created_at,
               ROW_NUMBER() OVER (
                   PARTITION BY t.customer_id ORDER BY e.created_at DESC, e.id DESC
               ) AS n
        FROM {event} e JOIN {ticket} t ON t.id = e.ticket_id
        WHERE t.crisis_id = %s AND e.direction = %s
    ) inbound WHERE n = 1
),
candidates AS (
    SELECT li.customer_id, cp.id AS point_id, 0 AS source,
           CASE WHEN cp.id = li.contact_point_id THEN 0 WHEN cp.kind = %s THEN 1 ELSE 2 END AS preference,
           li.created_at AS at
    FROM last_inbound li JOIN {point} cp ON cp.customer_id = li.customer_id
    WHERE (li.channel = %s AND cp.kind = %s)
       OR (li.channel = %s AND cp.kind = %s)
       OR (li.channel NOT IN (%s, %s) AND cp.kind IN (%s, %s))
    UNION ALL
    SELECT cp.customer_id, cp.id, 1, 0, d.sent_at
    FROM {delivery} d
         JOIN {broadcast} b ON b.id = d.broadcast_id
         JOIN {point} cp ON cp.id = d.contact_point_id
    WHERE b.crisis_id = %s AND d.status IN (%s, %s)
),
ranked AS (
    SELECT c.customer_id, c.point_id, cp.kind,
           ROW_NUMBER() OVER (
               PARTITION BY c.customer_id
               ORDER BY c.source, c.at IS NULL, c.at DESC, c.preference, c.point_id DESC
           ) AS n
    FROM candidates c JOIN {point} cp ON cp.id = c.point_id
    WHERE cp.verified AND cp.opted_out_at IS NULL AND cp.invalid_at IS NULL AND cp.bouncing_at IS NULL
),
affected AS (
    SELECT customer_id FROM last_inbound
    UNION
    SELECT customer_id FROM candidates
)
SELECT r.point_id, r.kind, EXISTS (SELECT 1 FROM candidates c WHERE c.customer_id = a.customer_id)
FROM affected a
     JOIN {customer} cu ON cu.id = a.customer_id AND cu.merged_into_id IS NULL
     LEFT JOIN ranked r ON r.customer_id = a.customer_id AND r.n = 1
"""


@dataclass(frozen=True)
class ClosingAudience:
    """Who the closing goes to, per broadcast channel, and who it cannot reach."""

    points: dict[str, list[int]]
    # Affected customers with no phone or email at all (chat-only visitors).
    no_channel: int = 0
    # Affected customers whose phone or email is opted out, invalid, bouncing or unverified.
    unreachable: int = 0

    @property
    def left_out(self) -> int:
        return self.no_channel + self.unreachable


@dataclass(frozen=True)
class ClosingResult:
    """What close_crisis did: the final statement, and the closing broadcasts if it went ahead."""

    crisis: Crisis
    statement: Statement
    # The final statement waits for a second manager: the crisis is not resolved, nothing is sent.
    statement_waiting: bool
    broadcasts: list[Broadcast] = field(default_factory=list)
    audience: ClosingAudience | None = None

    @property
    def closed(self) -> bool:
        return not self.statement_waiting

    @property
    def broadcasts_waiting(self) -> list[Broadcast]:
        """Closing broadcasts past BROADCAST_APPROVAL_THRESHOLD, waiting for a second manager."""
        return [b for b in self.broadcasts if b.status == BroadcastStatus.PENDING_APPROVAL]


def closing_audience(crisis: Crisis) -> ClosingAudience:
    """One reachable contact point per affected customer, by broadcast channel, and who is left out."""
    sms_kind, email_kind = contact_kind_of("sms"), contact_kind_of("email")
    kind_channel = {sms_kind: "sms", email_kind: "email"}
    sql = _AFFECTED_SQL.format(
        event=TimelineEvent._meta.db_table,
        ticket=Ticket._meta.db_table,
        point=ContactPoint._meta.db_table,
        delivery=BroadcastDelivery._meta.db_table,
        broadcast=Broadcast._meta.db_table,
        customer=Customer._meta.db_table,
    )
    params: list[str | int] = [
        crisis.pk,
        Direction.IN,
        sms_kind,
        Channel.SMS,
        sms_kind,
        Channel.EMAIL,
        email_kind,
        Channel.SMS,
        Channel.EMAIL,
        sms_kind,
        email_kind,
        crisis.pk,
        DeliveryState.SENT,
        DeliveryState.DELIVERED,
    ]
    points: dict[str, list[int]] = {channel: [] for channel in CLOSING_CHANNELS}
    no_channel = unreachable = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for point_id, kind, had_candidate in cursor.fetchall():
            if point_id is not None:
                points[kind_channel[kind]].append(point_id)
            elif had_candidate:
                unreachable += 1
            else:
                no_channel += 1
    for ids in points.values():
        ids.sort()
    return ClosingAudience(points=points, no_channel=no_channel, unreachable=unreachable)


def affected_contact_points(crisis: Crisis) -> dict[str, list[int]]:
    """Return the contact point ids the closing message goes to, per channel (one per customer)."""
    return {channel: ids for channel, ids in closing_audience(crisis).points.items() if ids}


def closing_preview(crisis: Crisis) -> dict[str, int]:
    """Recipients per channel and how many affected customers the closing cannot reach."""
    audience = closing_audience(crisis)
    preview = {channel: len(audience.points[channel]) for channel in CLOSING_CHANNELS}
    preview.update(
        left_out=audience.left_out, no_channel=audience.no_channel, unreachable=audience.unreachable
    )
    return preview


def is_closed(crisis: Crisis) -> bool:
    """True once a closing went ahead for the crisis (with or without sending)."""
    return CrisisAudit.objects.filter(crisis_id=crisis.pk, action=CLOSED_ACTION).exists()


@transaction.atomic
def close_crisis(
    *,
    crisis: Crisis,
    final_texts: dict,
    closing_bodies: dict,
    actor: User | None,
    subjects: dict | None = None,
    send: bool = True,
) -> ClosingResult:
    """Publish the final statement, resolve the crisis and start one closing broadcast per channel.

    Refused with "already_closed" once a closing went ahead. When the statement needs a second
    manager it only waits (nothing else happens); closing again with the same words, once it is
    approved, carries on without a new version."""
    crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
    if is_closed(crisis):
        raise ApplicationError(gettext("This crisis has already been closed."), code="already_closed")
    if crisis.status == CrisisStatus.DRAFT:
        raise ApplicationError(gettext("A draft crisis cannot be closed."), code="invalid_state")
    audience = closing_audience(crisis) if send else ClosingAudience(points={})
    if send:
        _check_closing_messages(audience, bodies=closing_bodies, subjects=subjects or {})

    statement = _final_statement(crisis, final_texts, actor=actor)
    if statement.status != StatementStatus.PUBLISHED:
        return ClosingResult(crisis=crisis, statement=statement, statement_waiting=True, audience=audience)

    crisis.refresh_from_db()
    if crisis.status != CrisisStatus.RESOLVED:  # resolved earlier by hand: keep when it ended
        crisis = services.resolve_crisis(crisis=crisis)
    broadcasts = [
        _start_closing_broadcast(
            crisis=crisis,
            channel=channel,
            contact_point_ids=audience.points[channel],
            bodies=closing_bodies,
            subjects=subjects or {},
            actor=actor,
        )
        for channel in CLOSING_CHANNELS
        if audience.points.get(channel)
    ]
    statements.audit(
        crisis_id=crisis.pk,
        action=CLOSED_ACTION,
        actor=actor,
        detail={
            "statement": statement.number,
            "broadcast_ids": [b.pk for b in broadcasts],
            "recipients": {channel: len(ids) for channel, ids in audience.points.items()},
            "no_channel": audience.no_channel,
            "unreachable": audience.unreachable,
            "sent": send,
        },
    )
    closed = crisis
    transaction.on_commit(lambda: crisis_closed.send(sender=Crisis, crisis=closed))
    return ClosingResult(
        crisis=crisis, statement=statement, statement_waiting=False, broadcasts=broadcasts, audience=audience
    )


def _final_statement(crisis: Crisis, final_texts: dict, *, actor: User | None) -> Statement:
    """The closing's statement: a new version, unless the latest one already says these words and
    is published or waiting for approval (a closing asked again after the second manager)."""
    texts = statements.clean_statement_texts(final_texts)
    latest = crisis.statements.order_by("-number").first()
    if latest is not None and latest.texts == texts:
        if latest.status == StatementStatus.PUBLISHED:
            return latest
        if latest.status == StatementStatus.PENDING_APPROVAL:
            return statements.request_publish(statement=latest, actor=actor)
    statement = statements.create_statement(crisis=crisis, texts=texts, author=actor)
    return statements.request_publish(statement=statement, actor=actor)


def _check_closing_messages(audience: ClosingAudience, *, bodies: dict, subjects: Mapping[str, str]) -> None:
    """Refuse bodies or subjects a closing broadcast would refuse, before anything is published."""
    for channel in CLOSING_CHANNELS:
        if not audience.points.get(channel):
            continue
        services.validate_bodies(bodies=bodies, max_segments=CLOSING_MAX_SEGMENTS, channel=channel)
        if channel == "email" and not services._clean_subjects(dict(subjects)):
            message = gettext("An email closing message needs a subject.")
            raise ApplicationError(message, code="subject_required", fields={"subjects": [message]})


def _start_closing_broadcast(
    *,
    crisis: Crisis,
    channel: str,
    contact_point_ids: list[int],
    bodies: dict,
    subjects: dict,
    actor: User | None,
) -> Broadcast:
    """Create and start the channel's closing broadcast to exactly these contact points.

    services.create_broadcast refuses "contact_point_ids" from its callers (clean_audience: only a
    CSV the desk imported fills it), and this list is the desk's own too. Until create_broadcast
    takes a trusted list of ids, this makes the row as it would, through its own checks: bodies,
    subjects (close_crisis checked both), the SMS provider's queue window and the approval
    threshold."""
    audience = {"contact_point_ids": contact_point_ids}
    recipients = (
        services.audience_queryset(audience, channel=channel)
        .filter(opted_out_at__isnull=True, invalid_at__isnull=True)
        .count()
    )
    if channel == "sms":
        rate = services.sending_rate(channel=channel, rate_per_second=CLOSING_RATE_PER_SECOND)
        services.check_drain_window(recipients=recipients, rate=rate)
    threshold = settings.BROADCAST_APPROVAL_THRESHOLD
    broadcast = Broadcast.objects.create(
        name=(gettext("Closing: %(title)s") % {"title": crisis.title})[:200],
        channel=channel,
        crisis=crisis,
        bodies={k: v.strip() for k, v in bodies.items() if isinstance(v, str) and v.strip()},
        subjects=services._clean_subjects(subjects) if channel == "email" else {},
        audience=audience,
        max_segments=CLOSING_MAX_SEGMENTS,
        rate_per_second=CLOSING_RATE_PER_SECOND,
        requires_approval=bool(threshold and recipients > threshold),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    return services.start_broadcast(broadcast=broadcast, actor=actor)
