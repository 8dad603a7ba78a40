"""Reads of crises, banners, the channel directory and broadcast progress."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from helpdesk import languages as desk_languages
from helpdesk.crisis.models import (
    Banner,
    Broadcast,
    BroadcastDelivery,
    Crisis,
    CrisisStatus,
    DeliveryState,
    DirectoryEntry,
)
from helpdesk.links import safe_url


def active_crises():
    """Return active crises, most severe first."""
    return Crisis.objects.filter(status=CrisisStatus.ACTIVE).order_by("-severity", "-created_at")


def crisis_for_customer(*, customer) -> Crisis | None:
    """Return the crisis a new ticket of this customer belongs to: the active one, if exactly one
    (asked once per drain batch: helpdesk.batchmemo)."""
    from helpdesk import batchmemo

    crises = batchmemo.remember("active_crises[:2]", lambda: list(active_crises()[:2]))
    return crises[0] if len(crises) == 1 else None


def recent_delivery_to(*, to: str, now: datetime | None = None) -> BroadcastDelivery | None:
    """Return the latest broadcast delivery sent to this number within the reply window."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.BROADCAST_REPLY_WINDOW_HOURS)
    return (
        BroadcastDelivery.objects.filter(
            to=to, sent_at__gte=since, status__in=[DeliveryState.SENT, DeliveryState.DELIVERED]
        )
        .select_related("broadcast__crisis")
        .order_by("-sent_at")
        .first()
    )


def directory_entries(language: str = "en") -> list[DirectoryEntry]:
    """Return the directory in its order: the lines of the active crises when they have any (each
    crisis's own directory), else the desk's every-day lines."""
    rows = list(
        DirectoryEntry.objects.filter(is_active=True)
        .filter(Q(crisis__isnull=True) | Q(crisis__status=CrisisStatus.ACTIVE))
        .order_by("position", "id")
    )
    crisis_lines = [e for e in rows if e.crisis_id is not None]
    return crisis_lines or rows


def channel_directory_lines(language: str = "en") -> list[str]:
    """Return the directory as short lines for an SMS or IVR: "Need: Call +1555… (hours)", from
    the public snapshot (so it answers with the database down), open lines first."""
    from helpdesk.crisis import public

    return public.directory_lines(public.current(), language)


def live_banners(*, now: datetime | None = None) -> list[Banner]:
    """Return published banners of active crises inside their time window."""
    now = now or timezone.now()
    return list(
        Banner.objects.filter(published_at__isnull=False, crisis__status=CrisisStatus.ACTIVE)
        .filter(
            Q(starts_at__isnull=True) | Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )
        .order_by("-severity", "-id")
    )


def _checked_links(texts: dict) -> dict:
    """The banner's texts with any link the validator refuses dropped (rows saved before it)."""
    return {
        lang: {**values, "link": safe_url(values.get("link", ""))} if isinstance(values, dict) else values
        for lang, values in (texts or {}).items()
    }


def banner_payload(*, now: datetime | None = None, entries: list[DirectoryEntry] | None = None) -> dict:
    """The JSON the embed script renders: banners and directory in every language (the public
    surfaces read it from helpdesk.crisis.public's snapshot)."""
    banners = [
        {
            "id": b.pk,
            "version": b.version,
            "severity": b.severity,
            "placement": b.placement,
            "texts": _checked_links(b.texts),
            "ends_at": b.ends_at.isoformat() if b.ends_at else None,
        }
        for b in live_banners(now=now)
    ]
    directory = [
        {
            "need": e.need,
            "channel": e.channel,
            "target": e.target,
            "href": e.href,
            "hours": e.hours,
            "languages": e.languages,
        }
        for e in (directory_entries() if entries is None else entries)
    ]
    return {"banners": banners, "directory": directory, "rtl": list(desk_languages.RTL_LANGUAGES)}


def payload_etag(payload: dict) -> str:
    """A strong ETag from the payload's canonical JSON."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class BroadcastProgress:
    total: int
    planned: int
    sending: int
    sent: int
    delivered: int
    failed: int
    opted_out: int
    invalid: int
    replies: int
    held: int = 0  # of the planned: not due yet (waiting for the recipient's morning, or a retry)

    @property
    def done(self) -> int:
        return self.sent + self.delivered + self.failed

    @property
    def sendable(self) -> int:
        return self.total - self.opted_out - self.invalid

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.sendable) if self.sendable else 0


def broadcast_progress(*, broadcast: Broadcast, now: datetime | None = None) -> BroadcastProgress:
    """Count deliveries by state in one indexed GROUP BY query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*), count(replied_at), count(CASE WHEN next_attempt_at > %s THEN 1 END) "
            "FROM crisis_broadcastdelivery WHERE broadcast_id = %s GROUP BY status",
            [connection.ops.adapt_datetimefield_value(now or timezone.now()), broadcast.pk],
        )
        rows = cursor.fetchall()
    counts = {status: n for status, n, _r, _h in rows}
    return BroadcastProgress(
        total=sum(counts.values()),
        planned=counts.get(DeliveryState.PLANNED, 0),
        sending=counts.get(DeliveryState.SENDING, 0),
        sent=counts.get(DeliveryState.SENT, 0),
        delivered=counts.get(DeliveryState.DELIVERED, 0),
        failed=counts.get(DeliveryState.FAILED, 0),
        opted_out=counts.get(DeliveryState.SKIPPED_OPTED_OUT, 0),
        invalid=counts.get(DeliveryState.SKIPPED_INVALID, 0),
        replies=sum(r for _s, _n, r, _h in rows),
        held=sum(h for status, _n, _r, h in rows if status == DeliveryState.PLANNED),
    )


@dataclass(frozen=True)
class BroadcastPreview:
    recipients: int
    opted_out: int
    invalid: int
    unverified: int  # in the audience but never proven theirs: not sent
    by_language: dict  # language -> {"recipients", "segments", "encoding", "body"}
    segments_total: int
    estimated_cost: float


def preview_broadcast(*, broadcast: Broadcast) -> BroadcastPreview:
    """Who would get it and what it would cost, without writing anything."""
    from django.db.models import Count, F, Value
    from django.db.models.functions import Coalesce, NullIf

    from helpdesk.crisis.services import audience_queryset
    from helpdesk.messaging.segments import count_segments

    qs = audience_queryset(broadcast.audience, channel=broadcast.channel)
    totals = qs.aggregate(
        opted_out=Count("id", filter=Q(opted_out_at__isnull=False)),
        invalid=Count("id", filter=Q(opted_out_at__isnull=True, invalid_at__isnull=False)),
    )
    per_language = (
        qs.filter(opted_out_at__isnull=True, invalid_at__isnull=True)
        .annotate(lang=Coalesce(NullIf(F("language"), Value("")), F("customer__language")))
        .values("lang")
        .annotate(n=Count("id"))
    )
    by_language: dict = {}
    segments_total = 0
    for row in per_language:
        body = broadcast.body_for(row["lang"])
        counted = count_segments(body)
        key = row["lang"] if row["lang"] in broadcast.bodies else f"{row['lang']}→fallback"
        entry = by_language.setdefault(
            key, {"recipients": 0, "segments": counted.segments, "encoding": counted.encoding}
        )
        entry["recipients"] += row["n"]
        segments_total += counted.segments * row["n"]
    new_numbers = len((broadcast.audience or {}).get("new_numbers", []))
    if new_numbers:  # the CSV's numbers nobody has yet: customers once it starts
        lang = (broadcast.audience or {}).get("csv_language") or "en"
        counted = count_segments(broadcast.body_for(lang))
        key = lang if lang in broadcast.bodies else f"{lang}→fallback"
        entry = by_language.setdefault(
            key, {"recipients": 0, "segments": counted.segments, "encoding": counted.encoding}
        )
        entry["recipients"] += new_numbers
        segments_total += counted.segments * new_numbers
    recipients = sum(v["recipients"] for v in by_language.values())
    return BroadcastPreview(
        recipients=recipients,
        opted_out=totals["opted_out"],
        invalid=totals["invalid"],
        unverified=audience_queryset(broadcast.audience, channel=broadcast.channel, unverified=True).count(),
        by_language=dict(sorted(by_language.items())),
        segments_total=segments_total,
        estimated_cost=round(segments_total * settings.SMS_PRICE_PER_SEGMENT, 2),
    )
