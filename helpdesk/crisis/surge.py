"""Surge mode: switched on by inbound volume (with hysteresis) or by a manager, read on every webhook.

Beat runs `evaluate_surges` every SURGE_EVALUATION_SECONDS. It counts the inbound contacts of the
last period for every scope in one grouped query, then, with the surge rows locked, switches a
scope on when its count reaches `on_at` and off only once it falls to `off_at` or below, so a
volume between the two keeps the state it has (no flapping). A manager's `forced` wins over volume.
Every switch is a CrisisAudit row; switching on stores the capacity alert (the expected wait) in
that row, which the manage crisis page reads back with `capacity_alerts`.

A contact is a customer who wrote or called in the period: inbound messages and calls on the
timeline, counted once per customer (five texts from one person are one contact, not five).

`surge_on` is read by the IVR, the widget and the auto-acknowledgement on every request: it reads
a Redis hash (`STATE_KEY`, rewritten after every evaluation and switch) through a short
in-process cache, and answers from the last state it knew when Redis or the database is down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk import redis_client
from helpdesk.crisis.models import Crisis, CrisisAudit, Deflection, DeflectionKind, Surge
from helpdesk.crisis.selectors import crisis_for_customer
from helpdesk.crisis.statements import audit
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import OPEN_STATUSES, Direction, EventKind, Queue, Ticket, TimelineEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

logger = logging.getLogger(__name__)

ALL = "all"
# The channels a surge can be scoped to ("channel:sms"); web forms count towards "all" only.
SURGE_CHANNELS = ("sms", "voice", "chat", "email")
# What counts as a contact: a customer's message (any channel) or call. Voicemails belong to a
# call already counted; triage answers and consent keywords are messages too (kind "message").
CONTACT_KINDS = (EventKind.MESSAGE.value, EventKind.CALL.value)
STATE_KEY = "tourniquet:crisis:surge"
# Webhooks of one process read Redis at most this often; a switch reaches every process within it.
LOCAL_SECONDS = 2.0
# After Redis or the database failed, a process answers from its last state this long before it
# tries again: a down Redis costs a webhook its 2 s connect timeout, not every webhook.
RETRY_AFTER_FAILURE_SECONDS = 10.0


def surge_period() -> timedelta:
    """The window contacts are counted over, which is also how often beat evaluates."""
    return timedelta(seconds=settings.SURGE_EVALUATION_SECONDS)


@dataclass(frozen=True)
class CapacityEstimate:
    open_unassigned: int
    agents_available: int
    handle_seconds: int

    @property
    def expected_wait_seconds(self) -> int:
        """Unassigned open tickets times the handle time, shared by the available agents (at
        least one: with nobody available the page says so from `agents_available`)."""
        return math.ceil(self.open_unassigned * self.handle_seconds / max(1, self.agents_available))

    def as_detail(self) -> dict[str, int]:
        return {
            "expected_wait_seconds": self.expected_wait_seconds,
            "open_unassigned": self.open_unassigned,
            "agents_available": self.agents_available,
            "handle_seconds": self.handle_seconds,
        }


@dataclass(frozen=True)
class SurgeChange:
    scope: str
    is_on: bool
    count: int
    at: datetime
    actor_id: int | None = None  # None: switched by volume
    capacity: CapacityEstimate | None = None  # set when it switched on


@dataclass(frozen=True)
class CapacityAlert:
    scope: str
    since: datetime
    count: int
    expected_wait_seconds: int
    open_unassigned: int
    agents_available: int


# --- Scopes ------------------------------------------------------------------------------------


def clean_scope(scope: str) -> str:
    """The scope as stored ("all", "channel:sms", "queue:12"), or ApplicationError."""
    kind, _sep, value = (scope or "").strip().partition(":")
    if kind == ALL and not value:
        return ALL
    if kind == "channel" and value in SURGE_CHANNELS:
        return f"channel:{value}"
    if kind == "queue" and value.isdigit():
        if not Queue.objects.filter(pk=int(value)).exists():
            raise ApplicationError(gettext("There is no such queue."), code="not_found")
        return f"queue:{int(value)}"
    raise ApplicationError(
        gettext(
            'A surge scope is "all", "channel:" with sms, voice, chat or email, or "queue:" with a queue.'
        ),
        code="invalid_scope",
        fields={"scope": [gettext("Unknown scope.")]},
    )


def scope_label(scope: str) -> str:
    """A scope ("all", "channel:sms", "queue:3") as a manager reads it."""
    if scope == "all":
        return str(gettext("Every channel"))
    kind, _sep, value = scope.partition(":")
    if kind == "channel":
        return value.upper() if value == "sms" else value.capitalize()
    queue = (
        Queue.objects.filter(pk=int(value)).values_list("name", flat=True).first()
        if value.isdigit()
        else None
    )
    return f"{gettext('Queue')}: {queue or value}"


def _scopes_of(channel: str | None, queue_id: int | None) -> list[str]:
    return [ALL] + ([f"channel:{channel}"] if channel else []) + ([f"queue:{queue_id}"] if queue_id else [])


# --- Counting ----------------------------------------------------------------------------------

# One statement for every scope: GROUPING SETS gives the total, each channel's and each queue's
# count in one scan of the period's events (the created_at index: a minute's rows).
_CONTACTS_SQL = """
SELECT e.channel, t.queue_id, GROUPING(e.channel), GROUPING(t.queue_id), count(DISTINCT e.customer_id)
FROM {events} e LEFT JOIN {tickets} t ON t.id = e.ticket_id
WHERE e.direction = %s AND e.kind = ANY(%s) AND e.created_at > %s AND e.created_at <= %s
GROUP BY GROUPING SETS ((), (e.channel), (t.queue_id))
"""

_UNASSIGNED_SQL = """
SELECT t.channel, t.queue_id, GROUPING(t.channel), GROUPING(t.queue_id), count(*)
FROM {tickets} t
WHERE t.status = ANY(%s) AND t.assignee_id IS NULL AND t.merged_into_id IS NULL
GROUP BY GROUPING SETS ((), (t.channel), (t.queue_id))
"""


def _by_scope(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for channel, queue_id, not_by_channel, not_by_queue, n in rows:
        if not_by_channel and not_by_queue:
            counts[ALL] = n
        elif not not_by_channel and channel:
            counts[f"channel:{channel}"] = n
        elif not not_by_queue and queue_id is not None:
            counts[f"queue:{queue_id}"] = n
    return counts


def contact_counts(*, since: datetime, until: datetime) -> dict[str, int]:
    """Customers who wrote or called in (since, until], per scope ("all", "channel:…", "queue:…")."""
    sql = _CONTACTS_SQL.format(events=TimelineEvent._meta.db_table, tickets=Ticket._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [Direction.IN.value, list(CONTACT_KINDS), since, until])
        return _by_scope(cursor.fetchall())


def capacity(*, scopes: list[str]) -> dict[str, CapacityEstimate]:
    """Each scope's open unassigned tickets and available agents (a queue's: its team's), for the
    expected wait of a capacity alert. Three queries, run only when a surge switches on."""
    with connection.cursor() as cursor:
        cursor.execute(_UNASSIGNED_SQL.format(tickets=Ticket._meta.db_table), [list(OPEN_STATUSES)])
        unassigned = _by_scope(cursor.fetchall())
    # Who can take tickets: automatic assignment's rule (helpdesk/tickets/assignment.py).
    available = dict(
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, profile__available=True)
        .values_list("profile__team_id")
        .annotate(n=Count("id"))
        .values_list("profile__team_id", "n")
    )
    everyone = sum(available.values())
    queue_ids = [int(s.split(":", 1)[1]) for s in scopes if s.startswith("queue:")]
    teams = dict(Queue.objects.filter(pk__in=queue_ids).values_list("id", "team_id")) if queue_ids else {}
    handle = settings.SURGE_HANDLE_SECONDS
    estimates = {}
    for scope in scopes:
        agents = everyone
        if scope.startswith("queue:"):
            team_id = teams.get(int(scope.split(":", 1)[1]))
            agents = available.get(team_id, 0) if team_id else everyone
        estimates[scope] = CapacityEstimate(unassigned.get(scope, 0), agents, handle)
    return estimates


# --- Evaluation and switches -------------------------------------------------------------------


def _volume_says_on(surge: Surge, count: int) -> bool:
    """Hysteresis: on at `on_at` or more; once on, off only at `off_at` or fewer."""
    return count > surge.off_at if surge.is_on else count >= surge.on_at


def _detail(surge: Surge, count: int) -> dict[str, Any]:
    return {
        "scope": surge.scope,
        "count": count,
        "on_at": surge.on_at,
        "off_at": surge.off_at,
        "forced": surge.forced,
    }


def _audit_switches(
    changes: list[SurgeChange], surges: dict[str, Surge], actor: AbstractUser | None = None
) -> None:
    """One CrisisAudit row per switch, on the active crisis when there is exactly one."""
    if not changes:
        return
    crisis = crisis_for_customer(customer=None)
    for change in changes:
        detail = _detail(surges[change.scope], change.count)
        if change.capacity is not None:
            detail.update(change.capacity.as_detail())
            logger.warning(
                "surge on for %s: %d contacts, expected wait %d s",
                change.scope,
                change.count,
                change.capacity.expected_wait_seconds,
            )
        audit(
            crisis_id=crisis.pk if crisis else None,
            action="surge_on" if change.is_on else "surge_off",
            actor=actor,
            detail=detail,
            now=change.at,
        )


def evaluate_surges(*, now: datetime | None = None) -> list[SurgeChange]:
    """Count the last period's contacts per scope and switch the scopes whose volume (or a
    manager's force) says so; return the switches made. Safe when two beat runs overlap: the
    rows are locked, and an evaluation older than the row's last one changes nothing."""
    now = now or timezone.now()
    Surge.objects.bulk_create([Surge(scope=ALL)], ignore_conflicts=True)
    with transaction.atomic():
        surges = {s.scope: s for s in Surge.objects.select_for_update().order_by("scope")}
        counts = contact_counts(since=now - surge_period(), until=now)
        changes: list[SurgeChange] = []
        evaluated = []
        for surge in surges.values():
            if surge.evaluated_at is not None and surge.evaluated_at > now:
                continue  # a later evaluation got here first
            count = counts.get(surge.scope, 0)
            wanted = surge.forced if surge.forced is not None else _volume_says_on(surge, count)
            if wanted != surge.is_on:
                surge.is_on, surge.since = wanted, now
                changes.append(SurgeChange(surge.scope, wanted, count, now))
            surge.last_count, surge.evaluated_at = count, now
            evaluated.append(surge)
        Surge.objects.bulk_update(evaluated, ["is_on", "since", "last_count", "evaluated_at"])
        switched_on = [c.scope for c in changes if c.is_on]
        if switched_on:
            estimates = capacity(scopes=switched_on)
            changes = [
                SurgeChange(c.scope, c.is_on, c.count, c.at, capacity=estimates[c.scope]) if c.is_on else c
                for c in changes
            ]
        _audit_switches(changes, surges)
        states = {scope: s.is_on for scope, s in surges.items()}
        transaction.on_commit(lambda: _publish(states), robust=True)
    return changes


def _require_manager(actor: AbstractUser) -> None:
    from helpdesk.accounts.services import is_manager

    if not is_manager(actor):
        raise ApplicationError(gettext("Only a manager can change surge mode."), code="forbidden")


def _locked_surge(scope: str) -> Surge:
    Surge.objects.bulk_create([Surge(scope=scope)], ignore_conflicts=True)
    return Surge.objects.select_for_update().get(scope=scope)


def set_surge(*, scope: str, forced: bool | None, actor: AbstractUser, now: datetime | None = None) -> Surge:
    """A manager forces surge mode on (True) or off (False) for the scope, or hands it back to
    volume (None, which switches nothing until the next evaluation). Audited with the actor:
    surge_on/surge_off when the state changed, surge_forced when it did not."""
    _require_manager(actor)
    scope = clean_scope(scope)
    now = now or timezone.now()
    with transaction.atomic():
        surge = _locked_surge(scope)
        surge.forced = forced
        change = None
        if forced is not None and forced != surge.is_on:
            surge.is_on, surge.since = forced, now
            estimate = capacity(scopes=[scope])[scope] if forced else None
            change = SurgeChange(scope, forced, surge.last_count, now, actor_id=actor.pk, capacity=estimate)
        surge.save(update_fields=["forced", "is_on", "since"])
        if change is not None:
            _audit_switches([change], {scope: surge}, actor=actor)
        else:
            crisis = crisis_for_customer(customer=None)
            audit(
                crisis_id=crisis.pk if crisis else None,
                action="surge_forced",
                actor=actor,
                detail={**_detail(surge, surge.last_count), "is_on": surge.is_on},
                now=now,
            )
        transaction.on_commit(_publish_from_database, robust=True)
    return surge


def set_thresholds(
    *, scope: str, on_at: int, off_at: int, actor: AbstractUser, now: datetime | None = None
) -> Surge:
    """A manager sets when the scope switches on (`on_at` contacts per period) and off (`off_at` or
    fewer); off_at must be below on_at, or the two would chase each other. Audited."""
    _require_manager(actor)
    scope = clean_scope(scope)
    if not (isinstance(on_at, int) and isinstance(off_at, int)) or on_at < 1 or off_at < 0:
        raise ApplicationError(
            gettext("Thresholds are whole numbers: on at 1 or more, off at 0 or more."),
            code="invalid_thresholds",
            fields={"on_at": [gettext("A whole number.")], "off_at": [gettext("A whole number.")]},
        )
    if off_at >= on_at:
        raise ApplicationError(
            gettext("Surge mode must switch off below the count that switches it on."),
            code="invalid_thresholds",
            fields={"off_at": [gettext("Lower than the switch-on count.")]},
        )
    with transaction.atomic():
        surge = _locked_surge(scope)
        before = {"on_at": surge.on_at, "off_at": surge.off_at}
        surge.on_at, surge.off_at = on_at, off_at
        surge.save(update_fields=["on_at", "off_at"])
        crisis = crisis_for_customer(customer=None)
        audit(
            crisis_id=crisis.pk if crisis else None,
            action="surge_thresholds",
            actor=actor,
            detail={**_detail(surge, surge.last_count), "before": before},
            now=now or timezone.now(),
        )
    return surge


# --- Reads -------------------------------------------------------------------------------------


def surges() -> list[Surge]:
    """Every surge scope, "all" first, for the manage crisis page."""
    rows = list(Surge.objects.all())
    return sorted(rows, key=lambda s: (s.scope != ALL, s.scope))


def capacity_alerts() -> list[CapacityAlert]:
    """The capacity alerts of the scopes on now: what each switch-on measured (two queries)."""
    on = {s.scope: s for s in Surge.objects.filter(is_on=True, since__isnull=False)}
    if not on:
        return []
    oldest = min(s.since for s in on.values() if s.since is not None)
    alerts: dict[str, CapacityAlert] = {}
    for row in CrisisAudit.objects.filter(action="surge_on", at__gte=oldest).order_by("-at", "-id"):
        scope = (row.detail or {}).get("scope", "")
        surge = on.get(scope)
        if surge is None or scope in alerts or surge.since is None or row.at < surge.since:
            continue
        alerts[scope] = CapacityAlert(
            scope=scope,
            since=surge.since,
            count=int(row.detail.get("count", 0)),
            expected_wait_seconds=int(row.detail.get("expected_wait_seconds", 0)),
            open_unassigned=int(row.detail.get("open_unassigned", 0)),
            agents_available=int(row.detail.get("agents_available", 0)),
        )
    return sorted(alerts.values(), key=lambda a: (a.scope != ALL, a.scope))


# --- The state every webhook reads -------------------------------------------------------------

_local = threading.Lock()
_known: dict[str, bool] = {}
_known_until = 0.0  # time.monotonic() after which Redis is read again


def _remember(states: dict[str, bool], *, for_seconds: float) -> None:
    global _known, _known_until
    with _local:
        _known, _known_until = dict(states), time.monotonic() + for_seconds


def forget_known_state() -> None:
    """Drop this process's copy of the state, so the next read goes to Redis (tests, a shell)."""
    _remember({}, for_seconds=0)


def _publish(states: dict[str, bool]) -> None:
    """Replace the Redis hash with these states (after commit); this process knows them at once."""
    _remember(states, for_seconds=LOCAL_SECONDS)
    try:
        pipe = redis_client.get().pipeline(transaction=True)
        pipe.delete(STATE_KEY)
        pipe.hset(STATE_KEY, mapping={scope: "1" if on else "0" for scope, on in states.items()})
        # Beat rewrites it every period; if beat stops, readers fall back to the database.
        pipe.expire(STATE_KEY, max(600, 10 * settings.SURGE_EVALUATION_SECONDS))
        pipe.execute()
    except Exception:  # noqa: BLE001 - readers fall back to the database; the switch is committed
        logger.warning("surge state not written to Redis", exc_info=True)


def _publish_from_database() -> None:
    _publish(dict(Surge.objects.values_list("scope", "is_on")))


def _states() -> dict[str, bool]:
    if time.monotonic() < _known_until:
        return _known
    try:
        raw = redis_client.get().hgetall(STATE_KEY)
        if raw:
            states = {k.decode() if isinstance(k, bytes) else k: v in (b"1", "1") for k, v in raw.items()}
            _remember(states, for_seconds=LOCAL_SECONDS)
            return states
        with transaction.atomic():  # a savepoint: a failed read leaves the caller's transaction usable
            states = dict(Surge.objects.values_list("scope", "is_on"))
        _publish(states or {ALL: False})
        return states
    except Exception:  # noqa: BLE001 - a webhook must answer even with Redis and the database down
        logger.warning("surge state unreadable; answering from the last known state", exc_info=True)
        _remember(_known, for_seconds=RETRY_AFTER_FAILURE_SECONDS)
        return _known


def surge_on(*, channel: str | None = None, queue_id: int | None = None) -> bool:
    """Is surge mode on for everything, or for this channel or queue? Cheap and never raises."""
    states = _states()
    return any(states.get(scope, False) for scope in _scopes_of(channel, queue_id))


# --- Deflections -------------------------------------------------------------------------------


def record_deflection(
    *, kind: str, channel: str = "", crisis: Crisis | None = None, now: datetime | None = None
) -> Deflection | None:
    """Count one contact served without an agent (on the active crisis, if exactly one). Never
    raises into the caller: a failure is logged and the caller's answer goes on."""
    if kind not in DeflectionKind.values:
        logger.warning("deflection of unknown kind %r not recorded", kind)
        return None
    try:
        with transaction.atomic():  # a savepoint: a failed insert leaves the caller's transaction usable
            if crisis is None:
                crisis = crisis_for_customer(customer=None)
            return Deflection.objects.create(
                crisis=crisis, kind=kind, channel=(channel or "")[:16], at=now or timezone.now()
            )
    except Exception:  # noqa: BLE001 - a counter must never fail the answer a customer is waiting for
        logger.warning("deflection %s not recorded", kind, exc_info=True)
        return None


def deflection_counts(*, crisis: Crisis | None = None, since: datetime | None = None) -> dict[str, int]:
    """Deflections per kind (every kind, 0 when none), of one crisis or all, since a time: one query."""
    rows = Deflection.objects.all()
    if crisis is not None:
        rows = rows.filter(crisis=crisis)
    if since is not None:
        rows = rows.filter(at__gte=since)
    counts = dict.fromkeys(DeflectionKind.values, 0)
    counts.update(dict(rows.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")))
    return counts
