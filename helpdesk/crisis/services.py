"""Actions on crises, banners, the channel directory and broadcasts: the one place that writes."""

from __future__ import annotations

import csv
import io
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, CharField, F, IntegerField, Max, Min, Q, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext

from channels_app.base import (
    ChannelError,
    ContactState,
    DeliveryReport,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
    SentLookup,
    contact_kind_of,
    get_gateway,
    send_many,
    sending_account,
)
from helpdesk import languages as desk_languages
from helpdesk.crisis.models import (
    Banner,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Crisis,
    CrisisStatus,
    DeliveryState,
    DirectoryEntry,
)
from helpdesk.customers.models import ContactKind, ContactPoint, Customer
from helpdesk.errors import ApplicationError
from helpdesk.messaging import ratelimit
from helpdesk.messaging.delivery import apply_contact_state
from helpdesk.messaging.segments import count_segments

logger = logging.getLogger(__name__)

# Planning walks contact point ids in ranges this wide: each INSERT … SELECT stays a short
# transaction even at a million recipients.
PLAN_CHUNK = 20_000
# Dispatch claims this many rows per batch and re-reads the broadcast status between batches,
# so pause/cancel is seen within one batch (well under a second).
DISPATCH_BATCH = 100
# One dispatch task works this long, then re-queues itself so other work interleaves.
DISPATCH_TIME_BUDGET = 30.0
MAX_ATTEMPTS = 5
# A dispatcher the rate limit refused waits at least this long before asking again.
RATE_PAUSE = 0.05
BACKOFF_BASE_SECONDS = 1.0
# A 'sending' row without a provider id older than this belongs to a dead worker.
SENDING_TIMEOUT = timedelta(seconds=30)
CSV_MAX_ROWS = 200_000
# Channels a broadcast can go out on (email joins with the email channel).
BROADCAST_CHANNELS = ("sms",)


# --- Crises ---------------------------------------------------------------------------------


@transaction.atomic
def create_crisis(
    *,
    title: str,
    severity: int = 3,
    texts: dict | None = None,
    affected_segment: str = "",
    is_emergency=False,
) -> Crisis:
    """Create a draft crisis."""
    if not title.strip():
        raise ApplicationError(gettext("A crisis needs a title."), code="title_required")
    if not 1 <= int(severity) <= 5:
        raise ApplicationError(gettext("Severity goes from 1 to 5."), code="invalid_severity")
    return Crisis.objects.create(
        title=title.strip(),
        severity=int(severity),
        texts=_clean_texts(texts or {}),
        affected_segment=affected_segment,
        is_emergency=is_emergency,
    )


@transaction.atomic
def update_crisis(*, crisis: Crisis, **fields) -> Crisis:
    """Change a crisis's title, severity, segment or texts."""
    for name in ("title", "severity", "affected_segment", "is_emergency"):
        if name in fields:
            setattr(crisis, name, fields[name])
    if "texts" in fields:
        crisis.texts = _clean_texts(fields["texts"])
    if not 1 <= int(crisis.severity) <= 5:
        raise ApplicationError(gettext("Severity goes from 1 to 5."), code="invalid_severity")
    crisis.save()
    return crisis


@transaction.atomic
def activate_crisis(*, crisis: Crisis, now: datetime | None = None) -> Crisis:
    """Make the crisis active: agents see it, the crisis page and banners show it."""
    crisis.status = CrisisStatus.ACTIVE
    crisis.starts_at = crisis.starts_at or now or timezone.now()
    crisis.ends_at = None
    crisis.save(update_fields=["status", "starts_at", "ends_at"])
    return crisis


@transaction.atomic
def resolve_crisis(*, crisis: Crisis, now: datetime | None = None) -> Crisis:
    """End the crisis; its banners stop showing."""
    crisis.status = CrisisStatus.RESOLVED
    crisis.ends_at = now or timezone.now()
    crisis.save(update_fields=["status", "ends_at"])
    return crisis


def _clean_texts(texts: dict) -> dict:
    """Keep only known languages and non-empty string values."""
    clean: dict = {}
    for lang, values in (texts or {}).items():
        if not desk_languages.is_known(lang) or not isinstance(values, dict):
            continue
        kept = {k: str(v).strip() for k, v in values.items() if isinstance(v, str) and v.strip()}
        if kept:
            clean[lang] = kept
    return clean


# --- Banners and the directory --------------------------------------------------------------


@transaction.atomic
def save_banner(
    *,
    crisis: Crisis,
    texts: dict,
    severity: int = 3,
    placement: str = "top_bar",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    banner: Banner | None = None,
) -> Banner:
    """Create or change a banner; visitors see the change only after it is published."""
    texts = _clean_texts(texts)
    if not any(v.get("title") or v.get("message") for v in texts.values()):
        raise ApplicationError(
            gettext("A banner needs a title or message in at least one language."), code="empty_banner"
        )
    for values in texts.values():
        link = values.get("link", "")
        if link and not link.startswith(("https://", "http://", "/", "tel:", "sms:")):
            raise ApplicationError(
                gettext("Links must be web, tel: or sms: addresses: %(link)s") % {"link": repr(link)},
                code="invalid_link",
            )
    if starts_at and ends_at and ends_at <= starts_at:
        raise ApplicationError(gettext("The banner must end after it starts."), code="invalid_window")
    banner = banner or Banner(crisis=crisis)
    banner.texts, banner.severity, banner.placement = texts, severity, placement
    banner.starts_at, banner.ends_at = starts_at, ends_at
    banner.save()
    return banner


@transaction.atomic
def publish_banner(*, banner: Banner, now: datetime | None = None) -> Banner:
    """Publish the banner: a new version, so visitors who dismissed the old one see it again."""
    banner.published_at = now or timezone.now()
    banner.version += 1
    banner.save(update_fields=["published_at", "version", "updated_at"])
    return banner


@transaction.atomic
def unpublish_banner(*, banner: Banner) -> Banner:
    banner.published_at = None
    banner.save(update_fields=["published_at", "updated_at"])
    return banner


@transaction.atomic
def save_directory_entry(
    *,
    need: dict,
    channel: str,
    target: str,
    hours: str = "",
    languages: list[str] | None = None,
    position: int = 0,
    entry: DirectoryEntry | None = None,
) -> DirectoryEntry:
    """Create or change one "need → channel" line of the directory."""
    need = {
        k: v.strip()
        for k, v in (need or {}).items()
        if desk_languages.is_known(k) and isinstance(v, str) and v.strip()
    }
    if not need:
        raise ApplicationError(gettext("Describe the need in at least one language."), code="need_required")
    if not target.strip():
        raise ApplicationError(gettext("Give the number or address to reach."), code="target_required")
    entry = entry or DirectoryEntry()
    entry.need, entry.channel, entry.target, entry.hours = need, channel, target.strip(), hours
    entry.languages = [lang for lang in (languages or []) if desk_languages.is_known(lang)]
    entry.position = position
    entry.full_clean()
    entry.save()
    return entry


# --- Broadcasts: audience and CSV -----------------------------------------------------------


@dataclass
class CsvReport:
    rows: int = 0
    accepted: int = 0
    created_customers: int = 0
    invalid: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    opted_out: list[str] = field(default_factory=list)
    contact_point_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The validation report shown to the manager (samples, not every row)."""
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "created_customers": self.created_customers,
            "invalid": len(self.invalid),
            "invalid_sample": self.invalid[:20],
            "duplicates": len(self.duplicates),
            "duplicates_sample": self.duplicates[:20],
            "opted_out": len(self.opted_out),
            "opted_out_sample": self.opted_out[:20],
        }


def _read_csv_numbers(data: bytes) -> list[str]:
    """Return the raw values of the phone column; raise ApplicationError when the file is not a CSV."""
    if b"\x00" in data[:4096]:
        raise ApplicationError(gettext("The file is not a CSV text file."), code="csv_unparsable")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(gettext("The CSV must be UTF-8 text."), code="csv_unparsable") from exc
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        raise ApplicationError(
            gettext("The CSV could not be read: %(error)s.") % {"error": exc}, code="csv_unparsable"
        ) from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ApplicationError(gettext("The CSV is empty."), code="csv_empty")
    if len(rows) > CSV_MAX_ROWS + 1:
        raise ApplicationError(
            gettext("The CSV has more than %(n)s rows.") % {"n": CSV_MAX_ROWS}, code="csv_too_large"
        )
    header = [cell.strip().lower() for cell in rows[0]]
    for name in ("phone", "phone_number", "number", "mobile", "to"):
        if name in header:
            column = header.index(name)
            return [r[column].strip() if column < len(r) else "" for r in rows[1:]]
    if len(header) == 1 and any(ch.isdigit() for ch in header[0]):
        return [r[0].strip() for r in rows]  # one column of numbers, no header
    raise ApplicationError(
        gettext("The CSV needs a column named 'phone' (or a single column of numbers)."),
        code="csv_no_phone_column",
    )


@transaction.atomic
def import_recipients_csv(*, data: bytes, language: str = "en") -> CsvReport:
    """Resolve the CSV's numbers to contact points, creating customers for unknown numbers."""
    from helpdesk.customers.services import normalize_phone

    raw_numbers = _read_csv_numbers(data)
    report = CsvReport(rows=len(raw_numbers))
    seen: set[str] = set()
    numbers: list[str] = []
    for raw in raw_numbers:
        try:
            number = normalize_phone(raw)
        except ApplicationError:
            report.invalid.append(raw)
            continue
        if number in seen:
            report.duplicates.append(raw)
            continue
        seen.add(number)
        numbers.append(number)
    if not numbers:
        raise ApplicationError(gettext("The CSV has no valid phone numbers."), code="csv_no_valid_numbers")
    existing = dict(
        ContactPoint.objects.filter(kind=ContactKind.PHONE, value__in=numbers).values_list("value", "id")
    )
    missing = [n for n in numbers if n not in existing]
    if missing:
        customers = Customer.objects.bulk_create([Customer(language=language) for _ in missing])
        created = ContactPoint.objects.bulk_create(
            [
                ContactPoint(customer=c, kind=ContactKind.PHONE, value=n)
                for c, n in zip(customers, missing, strict=True)
            ]
        )
        existing.update({cp.value: cp.pk for cp in created})
        report.created_customers = len(missing)
    report.opted_out = list(
        ContactPoint.objects.filter(pk__in=existing.values(), opted_out_at__isnull=False).values_list(
            "value", flat=True
        )
    )
    report.contact_point_ids = [existing[n] for n in numbers]
    report.accepted = len(numbers) - len(report.opted_out)
    return report


def audience_queryset(audience: dict, *, channel: str = "sms"):
    """Return the channel's contact points the audience spec selects (opted-out and invalid included)."""
    from helpdesk.tickets.models import OPEN_STATUSES

    kind = contact_kind_of(channel) or ContactKind.PHONE
    qs = ContactPoint.objects.filter(kind=kind, customer__merged_into__isnull=True)
    if not audience_is_set(audience):
        return qs.none()
    if audience.get("contact_point_ids"):
        qs = qs.filter(pk__in=audience["contact_point_ids"])
    if audience.get("tags"):
        any_tag = Q()
        for tag in audience["tags"]:
            any_tag |= Q(customer__tags__contains=[tag])
        qs = qs.filter(any_tag)
    if audience.get("languages"):
        qs = qs.filter(customer__language__in=audience["languages"])
    ticket_filter = Q()
    if audience.get("queues"):
        ticket_filter &= Q(queue_id__in=audience["queues"])
    if audience.get("crisis"):
        ticket_filter &= Q(crisis_id=audience["crisis"])
    if audience.get("has_open_tickets"):
        ticket_filter &= Q(status__in=OPEN_STATUSES)
    if ticket_filter:
        from helpdesk.tickets.models import Ticket

        qs = qs.filter(customer_id__in=Ticket.objects.filter(ticket_filter).values("customer_id"))
    return qs


def audience_is_set(audience: dict) -> bool:
    """True when the spec names anyone: an empty spec never means "everyone" by accident."""
    keys = ("contact_point_ids", "tags", "languages", "queues", "crisis", "has_open_tickets", "all")
    return any(audience.get(k) for k in keys)


def validate_bodies(*, bodies: dict, max_segments: int) -> dict[str, int]:
    """Return segments per language; raise when a body is missing or over the manager's limit."""
    bodies = {
        k: v
        for k, v in (bodies or {}).items()
        if desk_languages.is_known(k) and isinstance(v, str) and v.strip()
    }
    if not bodies:
        raise ApplicationError(gettext("Write the message in at least one language."), code="body_required")
    segments: dict[str, int] = {}
    for lang, body in bodies.items():
        counted = count_segments(body)
        segments[lang] = counted.segments
        if counted.segments > max_segments:
            raise ApplicationError(
                gettext(
                    "The %(lang)s message is %(segments)s SMS segments (%(encoding)s); "
                    "the limit is %(limit)s."
                )
                % {
                    "lang": lang,
                    "segments": counted.segments,
                    "encoding": counted.encoding,
                    "limit": max_segments,
                },
                code="body_too_long",
                fields={f"body_{lang}": [f"{counted.segments} segments > {max_segments}"]},
            )
    return segments


@transaction.atomic
def create_broadcast(
    *,
    name: str,
    bodies: dict,
    audience: dict,
    created_by=None,
    crisis: Crisis | None = None,
    max_segments: int = 2,
    rate_per_second: int = 50,
    requires_approval: bool = False,
    scheduled_at: datetime | None = None,
    csv_data: bytes | None = None,
    triage_flow=None,
    channel: str = "sms",
) -> Broadcast:
    """Create a draft broadcast after checking its bodies and audience; nothing is sent yet."""
    if channel not in BROADCAST_CHANNELS:
        raise ApplicationError(
            gettext("Broadcasts can go out by: %(channels)s.") % {"channels": ", ".join(BROADCAST_CHANNELS)},
            code="invalid_channel",
        )
    validate_bodies(bodies=bodies, max_segments=max_segments)
    audience = dict(audience or {})
    report = None
    if csv_data is not None:
        report = import_recipients_csv(data=csv_data)
        audience["contact_point_ids"] = report.contact_point_ids
    if not audience_is_set(audience):
        raise ApplicationError(
            gettext("Choose an audience (tags, languages, queues, crisis, or a CSV)."), code="no_audience"
        )
    reachable = audience_queryset(audience, channel=channel).filter(
        opted_out_at__isnull=True, invalid_at__isnull=True
    )
    if not reachable.exists():
        raise ApplicationError(gettext("Nobody reachable matches this audience."), code="no_audience")
    return Broadcast.objects.create(
        name=name.strip() or "Broadcast",
        channel=channel,
        crisis=crisis,
        bodies={k: v.strip() for k, v in bodies.items() if isinstance(v, str) and v.strip()},
        audience=audience,
        max_segments=max_segments,
        rate_per_second=max(0, int(rate_per_second)),
        requires_approval=requires_approval,
        scheduled_at=scheduled_at,
        created_by=created_by,
        csv_report=report.as_dict() if report else {},
        triage_flow=triage_flow,
    )


# --- Broadcasts: lifecycle ------------------------------------------------------------------


def _locked(broadcast: Broadcast) -> Broadcast:
    return Broadcast.objects.select_for_update().get(pk=broadcast.pk)


@transaction.atomic
def start_broadcast(*, broadcast: Broadcast, actor=None, now: datetime | None = None) -> Broadcast:
    """Send now (or at its scheduled time); waits for a second manager when approval is required."""
    broadcast = _locked(broadcast)
    if broadcast.status not in (BroadcastStatus.DRAFT, BroadcastStatus.PENDING_APPROVAL):
        raise ApplicationError(
            gettext("The broadcast is already %(status)s.") % {"status": broadcast.get_status_display()},
            code="invalid_state",
        )
    if broadcast.requires_approval and broadcast.approved_by_id is None:
        broadcast.status = BroadcastStatus.PENDING_APPROVAL
        broadcast.save(update_fields=["status"])
        return broadcast
    return _begin(broadcast, now=now)


@transaction.atomic
def approve_broadcast(*, broadcast: Broadcast, approver, now: datetime | None = None) -> Broadcast:
    """A second manager approves; the broadcast starts (or waits for its scheduled time)."""
    from helpdesk.accounts.services import is_manager

    broadcast = _locked(broadcast)
    if broadcast.status != BroadcastStatus.PENDING_APPROVAL:
        raise ApplicationError(gettext("The broadcast is not waiting for approval."), code="invalid_state")
    if not is_manager(approver):
        raise ApplicationError(gettext("Only a manager can approve a broadcast."), code="forbidden")
    if approver.pk == broadcast.created_by_id:
        raise ApplicationError(gettext("A second manager must approve this broadcast."), code="same_approver")
    broadcast.approved_by = approver
    broadcast.save(update_fields=["approved_by"])
    return _begin(broadcast, now=now)


def _begin(broadcast: Broadcast, *, now: datetime | None) -> Broadcast:
    from helpdesk.crisis import tasks

    now = now or timezone.now()
    if broadcast.scheduled_at and broadcast.scheduled_at > now:
        broadcast.status = BroadcastStatus.SCHEDULED
        broadcast.save(update_fields=["status"])
        return broadcast
    broadcast.status = BroadcastStatus.PLANNING
    broadcast.started_at = now
    broadcast.save(update_fields=["status", "started_at"])
    pk = broadcast.pk
    transaction.on_commit(lambda: tasks.plan_broadcast_task.delay(pk))
    return broadcast


@transaction.atomic
def pause_broadcast(*, broadcast: Broadcast) -> Broadcast:
    """Stop sending; dispatchers see it before their next batch."""
    broadcast = _locked(broadcast)
    if broadcast.status not in (BroadcastStatus.SENDING, BroadcastStatus.PLANNING):
        raise ApplicationError(gettext("Only a sending broadcast can be paused."), code="invalid_state")
    broadcast.status = BroadcastStatus.PAUSED
    broadcast.save(update_fields=["status"])
    return broadcast


@transaction.atomic
def resume_broadcast(*, broadcast: Broadcast) -> Broadcast:
    """Carry on sending what is still planned."""
    broadcast = _locked(broadcast)
    if broadcast.status != BroadcastStatus.PAUSED:
        raise ApplicationError(gettext("Only a paused broadcast can be resumed."), code="invalid_state")
    planned = broadcast.planned_count > 0 or broadcast.deliveries.exists()
    broadcast.status = BroadcastStatus.SENDING if planned else BroadcastStatus.PLANNING
    broadcast.save(update_fields=["status"])
    _enqueue_dispatch(broadcast, plan=not planned)
    return broadcast


@transaction.atomic
def cancel_broadcast(*, broadcast: Broadcast, now: datetime | None = None) -> Broadcast:
    """Stop for good; what is not yet sent never will be."""
    broadcast = _locked(broadcast)
    if broadcast.status in (BroadcastStatus.COMPLETED, BroadcastStatus.CANCELLED, BroadcastStatus.FAILED):
        raise ApplicationError(gettext("The broadcast has already finished."), code="invalid_state")
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.completed_at = now or timezone.now()
    broadcast.save(update_fields=["status", "completed_at"])
    return broadcast


def _enqueue_dispatch(broadcast: Broadcast, *, plan: bool = False) -> None:
    from helpdesk.crisis import tasks

    pk = broadcast.pk
    if plan:
        transaction.on_commit(lambda: tasks.plan_broadcast_task.delay(pk))
        return
    parallel = settings.BROADCAST_DISPATCHERS

    def enqueue() -> None:
        for _ in range(parallel):
            tasks.dispatch_broadcast_task.delay(pk)

    transaction.on_commit(enqueue)


def start_due_broadcasts(*, now: datetime | None = None) -> int:
    """Begin scheduled broadcasts whose time has come; return how many."""
    now = now or timezone.now()
    started = 0
    for pk in Broadcast.objects.filter(status=BroadcastStatus.SCHEDULED, scheduled_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            broadcast = Broadcast.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if broadcast and broadcast.status == BroadcastStatus.SCHEDULED:
                broadcast.scheduled_at = None
                broadcast.save(update_fields=["scheduled_at"])
                _begin(broadcast, now=now)
                started += 1
    return started


# --- Broadcasts: plan -----------------------------------------------------------------------

_PLAN_SQL = """
INSERT INTO crisis_broadcastdelivery
    (broadcast_id, contact_point_id, "to", language, status, provider_id, attempts, error)
{select}
ON CONFLICT (broadcast_id, contact_point_id) DO NOTHING
"""


def _plan_rows(broadcast: Broadcast, low: int, high: int):
    """The SELECT half of the plan: one row per audience contact point with id in [low, high)."""
    skipped = Case(
        When(opted_out_at__isnull=False, then=Value(DeliveryState.SKIPPED_OPTED_OUT)),
        When(invalid_at__isnull=False, then=Value(DeliveryState.SKIPPED_INVALID)),
        default=Value(DeliveryState.PLANNED),
        output_field=CharField(),
    )
    return (
        audience_queryset(broadcast.audience, channel=broadcast.channel)
        .filter(id__gte=low, id__lt=high)
        .annotate(
            b_id=Value(broadcast.pk, output_field=BigIntegerField()),
            lang=Coalesce(NullIf(F("language"), Value("")), F("customer__language"), Value("en")),
            state=skipped,
            blank=Value(""),
            zero=Value(0, output_field=IntegerField()),
        )
        .values_list("b_id", "id", "value", "lang", "state", "blank", "zero", "blank")
        .order_by()
    )


def plan_broadcast(*, broadcast_id: int) -> Broadcast:
    """Write one delivery row per recipient in set-based chunks; safe to run twice."""
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    if broadcast.status != BroadcastStatus.PLANNING:
        return broadcast
    bounds = audience_queryset(broadcast.audience, channel=broadcast.channel).aggregate(
        low=Min("id"), high=Max("id")
    )
    if bounds["low"] is not None:
        with connection.cursor() as cursor:
            for start in range(bounds["low"], bounds["high"] + 1, PLAN_CHUNK):
                sql, params = _plan_rows(broadcast, start, start + PLAN_CHUNK).query.sql_with_params()
                with transaction.atomic():
                    cursor.execute(_PLAN_SQL.format(select=sql), params)
    counts = _state_counts(broadcast.pk)
    with transaction.atomic():
        broadcast = _locked(broadcast)
        broadcast.planned_count = sum(counts.values())
        broadcast.skipped_opted_out = counts.get(DeliveryState.SKIPPED_OPTED_OUT, 0)
        broadcast.skipped_invalid = counts.get(DeliveryState.SKIPPED_INVALID, 0)
        fields = ["planned_count", "skipped_opted_out", "skipped_invalid"]
        if broadcast.status == BroadcastStatus.PLANNING:
            if counts.get(DeliveryState.PLANNED, 0) == 0:
                broadcast.status = BroadcastStatus.FAILED
                broadcast.completed_at = timezone.now()
                fields += ["status", "completed_at"]
            else:
                broadcast.status = BroadcastStatus.SENDING
                fields.append("status")
                _enqueue_dispatch(broadcast)
        broadcast.save(update_fields=fields)
    return broadcast


def _state_counts(broadcast_id: int) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM crisis_broadcastdelivery WHERE broadcast_id = %s GROUP BY status",
            [broadcast_id],
        )
        return dict(cursor.fetchall())


# --- Broadcasts: dispatch -------------------------------------------------------------------

_CLAIM_SQL = """
UPDATE crisis_broadcastdelivery d SET status = 'sending', attempt_at = now(), attempts = d.attempts + 1
WHERE d.id IN (
    SELECT id FROM crisis_broadcastdelivery
    WHERE broadcast_id = %s AND status = 'planned' AND (next_attempt_at IS NULL OR next_attempt_at <= now())
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
)
RETURNING d.id, d."to", d.language, d.attempts, d.contact_point_id
"""

_RECORD_SQL = """
UPDATE crisis_broadcastdelivery d
SET status = v.status, provider_id = v.provider_id, error = v.error,
    sent_at = CASE WHEN v.status IN ('sent', 'delivered') THEN now() ELSE d.sent_at END,
    next_attempt_at = CASE WHEN v.retry_in > 0 THEN now() + v.retry_in * interval '1 second' ELSE NULL END
FROM (VALUES {rows}) AS v(id, status, provider_id, error, retry_in)
WHERE d.id = v.id AND d.status = 'sending'
"""


@dataclass(frozen=True)
class DispatchOutcome:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    stopped: str = ""  # why the loop ended: done, paused, cancelled, budget


def dispatch_broadcast(*, broadcast_id: int, time_budget: float = DISPATCH_TIME_BUDGET) -> DispatchOutcome:
    """Claim, rate-limit, send and record batches until done, paused, cancelled or out of time."""
    deadline = time.monotonic() + time_budget
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    gateway = get_gateway(broadcast.channel)
    # The broadcast's own rate and the sending account's, which replies share (and go first on).
    buckets = [ratelimit.Bucket(f"broadcast:{broadcast.pk}", broadcast.rate_per_second)]
    account = sending_account(gateway)
    if account is not None:
        buckets.append(ratelimit.Bucket(account.key, account.rate_per_second))
    sent = failed = retried = 0
    while True:
        # Re-read status between batches: a pause or cancel takes effect before the next batch.
        status = Broadcast.objects.filter(pk=broadcast_id).values_list("status", flat=True).first()
        if status != BroadcastStatus.SENDING:
            return DispatchOutcome(sent, failed, retried, stopped=str(status))
        if time.monotonic() > deadline:
            return DispatchOutcome(sent, failed, retried, stopped="budget")
        granted, wait = ratelimit.take(buckets, DISPATCH_BATCH)
        if granted == 0:
            # At least RATE_PAUSE: waking for every single token made each batch one message, and
            # the claim and record round trips then capped two dispatchers at half the account's rate.
            time.sleep(min(max(wait, RATE_PAUSE), 0.2))
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [broadcast_id, granted])
            claimed = cursor.fetchall()
        if not claimed:
            if not _finish_if_done(broadcast_id):
                time.sleep(0.2)  # retries are waiting for their backoff, or others are mid-send
                if not _has_pending(broadcast_id):
                    return DispatchOutcome(sent, failed, retried, stopped="done")
                continue
            return DispatchOutcome(sent, failed, retried, stopped="done")
        messages = [
            OutboundMessage(
                outbox_id=0,
                channel=broadcast.channel,
                to=to,
                body=broadcast.body_for(language),
                language=language,
                metadata={"broadcast_delivery_id": pk, "broadcast_id": broadcast_id},
            )
            for pk, to, language, _attempts, _point in claimed
        ]
        results = send_many(gateway, messages)
        rows: list[tuple[int, str, str, str, float]] = []
        learned: dict[tuple[ContactState, str], list[int]] = {}
        for (pk, _to, _language, attempts, point_id), result in zip(claimed, results, strict=True):
            state: str
            if isinstance(result, SendResult):
                state = (
                    DeliveryState.DELIVERED
                    if result.status == DeliveryStatus.DELIVERED
                    else DeliveryState.SENT
                )
                rows.append((pk, state, result.provider_id or "", "", 0.0))
                sent += 1
            elif _retryable(result, attempts):
                delay = result.retry_after or random.uniform(0, BACKOFF_BASE_SECONDS * 2**attempts)
                rows.append((pk, DeliveryState.PLANNED, "", result.message[:300], max(delay, 0.001)))
                retried += 1
            else:
                state = _failure_state(result)
                rows.append((pk, state, "", result.message[:300], 0.0))
                failed += 1
                if result.contact_state is not None:
                    learned.setdefault((result.contact_state, result.code), []).append(point_id)
        record_results(rows)
        for (contact_state, code), point_ids in learned.items():
            # What the provider said of the number holds for every later broadcast and reply.
            apply_contact_state(
                contact_point_ids=point_ids, state=contact_state, reason=f"{gateway.provider} {code}".strip()
            )


def _retryable(error: ChannelError, attempts: int) -> bool:
    return not error.permanent and attempts < MAX_ATTEMPTS


def _failure_state(error: ChannelError) -> str:
    if error.contact_state == "opted_out":
        return DeliveryState.SKIPPED_OPTED_OUT
    if error.contact_state == "invalid":
        return DeliveryState.SKIPPED_INVALID
    return DeliveryState.FAILED


def record_results(rows: Sequence[tuple[int, str, str, str, float]]) -> None:
    """Record a batch's outcomes in one UPDATE … FROM (VALUES …)."""
    if not rows:
        return
    placeholders = ", ".join(["(%s::bigint, %s, %s, %s, %s::float)"] * len(rows))
    params = [value for row in rows for value in row]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL.format(rows=placeholders), params)


def _has_pending(broadcast_id: int) -> bool:
    return BroadcastDelivery.objects.filter(
        broadcast_id=broadcast_id, status__in=[DeliveryState.PLANNED, DeliveryState.SENDING]
    ).exists()


def _finish_if_done(broadcast_id: int) -> bool:
    """Mark the broadcast completed when nothing is planned or in flight; True when finished."""
    if _has_pending(broadcast_id):
        return False
    Broadcast.objects.filter(pk=broadcast_id, status=BroadcastStatus.SENDING).update(
        status=BroadcastStatus.COMPLETED, completed_at=timezone.now()
    )
    return True


def reconcile_stuck_deliveries(*, now: datetime | None = None, timeout: timedelta = SENDING_TIMEOUT) -> dict:
    """Settle 'sending' rows a dead worker left: adopt the provider's message, or send again.

    Only when the gateway can look messages up (`find_sent(to=, since=)` returning
    `[{provider_id, body}]`) is a row sent again; otherwise its outcome is unknown and it is
    failed rather than risk a second message.
    """
    now = now or timezone.now()
    stuck = list(
        BroadcastDelivery.objects.filter(
            status=DeliveryState.SENDING, attempt_at__lt=now - timeout, provider_id=""
        )
        .select_related("broadcast")
        .order_by("id")[:1000]
    )
    adopted = resent = unknown = 0
    rows: list[tuple[int, str, str, str, float]] = []
    gateways: dict[str, Any] = {}
    for delivery in stuck:
        channel = delivery.broadcast.channel
        gateway = gateways.setdefault(channel, get_gateway(channel))
        if not isinstance(gateway, SentLookup):
            rows.append(
                (delivery.pk, DeliveryState.FAILED, "", "Outcome unknown after a worker stopped.", 0.0)
            )
            unknown += 1
            continue
        # The gateway lists what the provider sent to this number since just before the attempt;
        # the message with our body is ours (channels_app.sms.gateway.TwilioGateway.find_sent).
        body = delivery.broadcast.body_for(delivery.language)
        found = gateway.find_sent(to=delivery.to, since=(delivery.attempt_at or now) - timedelta(seconds=5))
        provider_id = next((m.provider_id for m in found if m.body == body), None)
        if provider_id:
            rows.append((delivery.pk, DeliveryState.SENT, provider_id, "", 0.0))
            adopted += 1
        else:
            rows.append((delivery.pk, DeliveryState.PLANNED, "", "Resent after a worker stopped.", 0.001))
            resent += 1
    record_results(rows)
    return {"adopted": adopted, "resent": resent, "unknown": unknown}


def wake_stalled_broadcasts(*, now: datetime | None = None, timeout: timedelta = SENDING_TIMEOUT) -> int:
    """Re-queue dispatch for sending broadcasts with planned rows but no attempt lately.

    A worker killed with -9 takes its dispatch task with it (the broker only redelivers after
    its visibility timeout); this wakes the broadcast again. Extra dispatchers are harmless:
    claims skip locked rows.
    """
    now = now or timezone.now()
    woken = 0
    for broadcast in Broadcast.objects.filter(status=BroadcastStatus.SENDING):
        rows = BroadcastDelivery.objects.filter(broadcast=broadcast)
        if not rows.filter(status=DeliveryState.PLANNED).exists():
            if not rows.filter(status=DeliveryState.SENDING).exists():
                _finish_if_done(broadcast.pk)
            continue
        last = rows.aggregate(last=Max("attempt_at"))["last"]
        if last is None or last < now - timeout:
            with transaction.atomic():
                _enqueue_dispatch(broadcast)
            woken += 1
    return woken


@dataclass(frozen=True)
class DeliveryAdvance:
    moved: bool
    contact_point_id: int


# Provider statuses that settle a broadcast delivery; the others say nothing new about it.
_SETTLES: dict[str, str] = {
    DeliveryStatus.DELIVERED: DeliveryState.DELIVERED,
    DeliveryStatus.FAILED: DeliveryState.FAILED,
    DeliveryStatus.UNDELIVERED: DeliveryState.FAILED,
}


def advance_broadcast_delivery(report: DeliveryReport) -> DeliveryAdvance | None:
    """Apply a provider's report to the broadcast delivery it names (forward only); None if none.
    Called only by messaging.delivery.record_delivery_report."""
    delivery = (
        BroadcastDelivery.objects.filter(provider_id=report.provider_id)
        .values("id", "contact_point_id")
        .first()
    )
    if delivery is None:
        return None
    state = _SETTLES.get(report.status)
    if report.contact_state == ContactState.OPTED_OUT:
        state = DeliveryState.SKIPPED_OPTED_OUT
    elif report.contact_state == ContactState.INVALID:
        state = DeliveryState.SKIPPED_INVALID
    moved = False
    if state:
        error = f"{report.error_code}: {report.error_message}".strip(": ")[:300]
        moved = bool(
            BroadcastDelivery.objects.filter(
                pk=delivery["id"], status__in=[DeliveryState.SENT, DeliveryState.SENDING]
            ).update(status=state, **({"error": error} if error else {}))
        )
    return DeliveryAdvance(moved=moved, contact_point_id=delivery["contact_point_id"])


def note_broadcast_reply(*, to: str, now: datetime | None = None) -> Broadcast | None:
    """Mark the latest recent delivery to this number as replied; return its broadcast."""
    from helpdesk.crisis.selectors import recent_delivery_to

    delivery = recent_delivery_to(to=to, now=now)
    if delivery is None:
        return None
    if delivery.replied_at is None:
        BroadcastDelivery.objects.filter(pk=delivery.pk).update(replied_at=now or timezone.now())
    return delivery.broadcast


def thread_broadcast_reply(*, customer, channel: str, now: datetime | None = None) -> Crisis | None:
    """For a new SMS ticket: if the customer's phone got a crisis broadcast lately, mark the
    delivery replied and return its crisis (the ticket joins it and is tagged broadcast-reply)."""
    if channel != "sms":
        return None
    phones = list(customer.contact_points.filter(kind=ContactKind.PHONE).values_list("value", flat=True))
    from helpdesk.crisis.selectors import recent_delivery_to

    for phone in phones:
        delivery = recent_delivery_to(to=phone, now=now)
        if delivery is not None and delivery.broadcast.crisis_id is not None:
            if delivery.replied_at is None:
                BroadcastDelivery.objects.filter(pk=delivery.pk).update(replied_at=now or timezone.now())
            return delivery.broadcast.crisis
    return None
