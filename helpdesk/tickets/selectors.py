"""Reads for the agent workspace: the queue, the ticket page and search."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    DateTimeField,
    ExpressionWrapper,
    F,
    Field,
    Model,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.errors import ApplicationError
from helpdesk.searchtext import normalize
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    Direction,
    Macro,
    Queue,
    QueueCounter,
    Tag,
    Ticket,
    TimelineEvent,
)

PAGE_SIZE = 50
# Past this many matches the queue says "1,000+": counting a million rows on each page view
# would cost more than the page itself.
COUNT_CAP = 1000
OTHER_TICKETS_LIMIT = 10

# Each sort: the ORDER BY, and for each key whether the keyset moves up (asc) or down (desc).
SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    # Matches ticket_open_queue_idx and the (x, priority, sla_due_at, id) composite indexes.
    "priority": (("priority", True), ("sla_due_at", True), ("id", True)),
    "newest": (("last_activity_at", False), ("id", False)),
    "oldest": (("id", True),),
}
DEFAULT_SORT = "priority"


@dataclass(frozen=True)
class QueueFilters:
    """What the agent narrowed the queue to; empty strings mean 'any'."""

    status: str = ""  # "" = the open statuses, "all", or one status
    queue: int | None = None
    assignee: str = ""  # "", "me", "unassigned" or a user id
    priority: int | None = None
    channel: str = ""
    language: str = ""
    crisis: int | None = None
    tag: str = ""
    customer: int | None = None
    sla: str = ""  # "", "soon" (the next target within SLA_SOON, or missed) or "breached"


@dataclass
class QueuePage:
    tickets: list[Ticket]
    next_cursor: str
    count: int
    count_capped: bool
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def open_total(self) -> int:
        return sum(self.status_counts.get(s, 0) for s in OPEN_STATUSES)


# The breach-soon list: open targets due within this (the badge's "soon" too).
SLA_SOON = timedelta(hours=1)


# --- Keyset cursors -------------------------------------------------------------------------


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    keys = SORTS[sort]
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        decoded: list[Any] = []
        for (name, _asc), value in zip(keys, values, strict=True):
            if name in ("sla_due_at", "last_activity_at"):
                parsed = parse_datetime(value) if isinstance(value, str) else None
                if parsed is None:
                    raise ValueError
                decoded.append(parsed)
            elif isinstance(value, int) and not isinstance(value, bool):
                decoded.append(value)
            else:
                raise ValueError
        return decoded
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApplicationError(_("This page link is no longer valid."), code="invalid_cursor") from exc


def _after(keys: tuple[tuple[str, bool], ...], values: list[Any]) -> RawSQL:
    """Return rows strictly after `values` in the sort, as one row-value comparison.

    `(priority, sla_due_at, id) > (%s, %s, %s)` is an index condition on the matching composite
    index, so page 1,000 costs what page 1 does; the OR-spelled equivalent is only a filter.
    Every sort's keys share one direction, which is what makes a single comparison correct.
    """
    table = Ticket._meta.db_table
    column_of = {f.name: f.column for f in Ticket._meta.concrete_fields}
    columns = ", ".join(f'"{table}"."{column_of[name]}"' for name, _asc in keys)
    op = ">" if keys[0][1] else "<"
    placeholders = ", ".join(["%s"] * len(keys))
    # Safe: column names come from model metadata, the values travel as query parameters.
    return RawSQL(f"({columns}) {op} ({placeholders})", values, output_field=BooleanField())  # noqa: S611


# --- Who sees what -------------------------------------------------------------------------


def visible_filter(user, *, prefix: str = "") -> Q | None:
    """The condition on tickets (through `prefix`, e.g. "ticket__") this staff member may see, or
    None when they see every ticket.

    Managers and admins see all. An agent sees the tickets of queues shared by every agent (no
    team) and of their own team's queues, tickets in no queue, and any ticket assigned to them."""
    from helpdesk.accounts.guards import is_agent, is_manager

    if is_manager(user):
        return None
    if not is_agent(user):
        return Q(pk__in=[])
    profile = getattr(user, "profile", None)
    team_id = profile.team_id if profile is not None else None
    hidden_ids = getattr(user, "_hidden_queue_ids", None)  # once per request (the user object)
    if hidden_ids is None:
        hidden = Queue.objects.exclude(team__isnull=True)
        if team_id:
            hidden = hidden.exclude(team_id=team_id)
        hidden_ids = list(hidden.values_list("id", flat=True))
        user._hidden_queue_ids = hidden_ids
    if not hidden_ids:
        return None  # no queue is another team's (the usual install): nothing to filter
    return (
        ~Q(**{f"{prefix}queue_id__in": hidden_ids})
        | Q(**{f"{prefix}queue__isnull": True})
        | Q(**{f"{prefix}assignee_id": user.pk})
    )


def visible_tickets(user) -> QuerySet[Ticket]:
    """The one answer to "which tickets may this user see": pages, API, search, customer pages,
    triage and the websocket subscribe check all start from it."""
    condition = visible_filter(user)
    qs = Ticket.objects.all()
    return qs if condition is None else qs.filter(condition)


def media_url_of(*, user, ticket_id: int, event_id: int, number: int) -> tuple[str, str] | None:
    """Return (channel, provider URL) of the event's file `number` (1-based) when the event is on
    this ticket and the user may see the ticket; None otherwise (the caller answers 404)."""
    event = (
        TimelineEvent.objects.filter(pk=event_id, ticket__in=visible_tickets(user).filter(pk=ticket_id))
        .only("channel", "payload")
        .first()
    )
    if event is None or not isinstance(event.payload, dict):
        return None
    media = event.payload.get("media")
    if not isinstance(media, list) or not 1 <= number <= len(media) or not isinstance(media[number - 1], str):
        return None
    return event.channel, media[number - 1]


def event_with_html(*, user, ticket_id: int, event_id: int) -> TimelineEvent | None:
    """The event with its sanitized HTML when it is on this ticket and the user may see the ticket."""
    return (
        TimelineEvent.objects.filter(pk=event_id, ticket__in=visible_tickets(user).filter(pk=ticket_id))
        .exclude(body_html="")
        .only("channel", "payload", "body_html")
        .first()
    )


def visible_events(user, qs: QuerySet[TimelineEvent]) -> QuerySet[TimelineEvent]:
    """Timeline events of visible tickets, and those on no ticket (a customer's own history)."""
    condition = visible_filter(user, prefix="ticket__")
    return qs if condition is None else qs.filter(condition | Q(ticket__isnull=True))


def visible_queues(user) -> QuerySet[Queue]:
    """The queues whose tickets this user sees (the filter and edit forms offer these)."""
    from helpdesk.accounts.guards import is_manager

    qs = Queue.objects.all()
    if is_manager(user):
        return qs
    profile = getattr(user, "profile", None)
    team_id = profile.team_id if profile is not None else None
    return qs.filter(Q(team__isnull=True) | Q(team_id=team_id)) if team_id else qs.filter(team__isnull=True)


# --- The queue ------------------------------------------------------------------------------


def filtered_tickets(*, agent, filters: QueueFilters) -> QuerySet[Ticket]:
    """Return the tickets matching the filters that the agent may see, unordered."""
    qs = visible_tickets(agent)
    if filters.status == "all":
        pass
    elif filters.status:
        qs = qs.filter(status=filters.status)
    else:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if filters.queue:
        qs = qs.filter(queue_id=filters.queue)
    if filters.assignee == "me":
        qs = qs.filter(assignee=agent)
    elif filters.assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.language:
        qs = qs.filter(language=filters.language)
    if filters.crisis:
        qs = qs.filter(crisis_id=filters.crisis)
    if filters.tag:
        qs = qs.filter(tags__name=filters.tag.strip().lower())
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    if filters.sla in ("soon", "breached"):
        # The breach-soon list: the next open target (the sort key), not paused on the customer.
        reach = timezone.now() + (SLA_SOON if filters.sla == "soon" else timedelta(0))
        qs = qs.filter(sla_due_at__lte=reach, sla_paused_at__isnull=True, status__in=OPEN_STATUSES)
    return qs


def status_counts(*, queue: int | None = None) -> dict[str, int]:
    """Return open-ticket counts per status from the counters the services keep current."""
    rows = QueueCounter.objects.all()
    if queue:
        rows = rows.filter(queue_id=queue)
    return {
        r["status"]: r["n"] or 0 for r in rows.values("status").annotate(n=Sum("count")).order_by("status")
    }


def queue_page(
    *,
    agent,
    filters: QueueFilters,
    after: str = "",
    sort: str = DEFAULT_SORT,
    page_size: int = PAGE_SIZE,
    with_counts: bool = True,
) -> QueuePage:
    """Return one page of the queue after the cursor, with capped and per-status counts."""
    if sort not in SORTS:
        sort = DEFAULT_SORT
    keys = SORTS[sort]
    base = filtered_tickets(agent=agent, filters=filters)
    qs = base
    if after:
        qs = qs.filter(_after(keys, _decode_cursor(after, sort)))
    order = [name if asc else f"-{name}" for name, asc in keys]
    # Two steps: walk the index for the page's ids alone, then fetch those rows with their
    # joins. Joined, the planner misjudges row-value selectivity and may sort 30,000 rows.
    # Every sort ends in id, so a key row's last value is the ticket id.
    key_rows = list(qs.order_by(*order).values_list(*[name for name, _asc in keys])[: page_size + 1])
    ids = [row[-1] for row in key_rows]
    by_id = {
        t.pk: t
        for t in Ticket.objects.filter(pk__in=ids)
        .select_related("customer", "assignee", "queue", "crisis")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    }
    rows = [by_id[pk] for pk in ids if pk in by_id]
    next_cursor = ""
    if len(key_rows) > page_size:
        # The cursor is the sort key as read, even if the row changed since.
        keep = set(ids[:page_size])
        rows = [t for t in rows if t.pk in keep]
        next_cursor = _encode_cursor(list(key_rows[page_size - 1]))
    count, capped = 0, False
    counts: dict[str, int] = {}
    if with_counts:
        # COUNT over a LIMITed subquery: exact up to the cap, cheap past it.
        count = base.order_by()[: COUNT_CAP + 1].count()
        capped = count > COUNT_CAP
        count = min(count, COUNT_CAP)
        counts = status_counts(queue=filters.queue)
    return QueuePage(
        tickets=rows, next_cursor=next_cursor, count=count, count_capped=capped, status_counts=counts
    )


def filter_choices(user) -> dict[str, Any]:
    """Return the queues (those the user sees), agents and crises the filter and edit forms offer."""
    from helpdesk.crisis.models import Crisis, CrisisStatus

    return {
        "queues": list(visible_queues(user).order_by("name")),
        "agents": list(
            get_user_model().objects.filter(is_staff=True, is_active=True).order_by("first_name", "username")
        ),
        "crises": list(Crisis.objects.exclude(status=CrisisStatus.DRAFT).order_by("-created_at")[:20]),
    }


# --- The ticket page ------------------------------------------------------------------------


def ticket_detail(*, ticket_id: int, user) -> Ticket:
    """Return the ticket with what its header needs, or raise Ticket.DoesNotExist (also when
    the user may not see it: a hidden ticket and a missing one look the same)."""
    return (
        visible_tickets(user)
        .select_related("customer", "queue", "assignee", "crisis")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .get(pk=ticket_id)
    )


# A ticket shows its latest events; older ones load a page at a time (a surge ticket can hold
# tens of thousands). Live updates fetch only what came after the newest event shown.
TIMELINE_PAGE = 100
LIVE_CHANGED_MAX = 50


@dataclass
class TimelinePage:
    events: list[TimelineEvent]  # oldest first
    older_cursor: str  # "" when nothing older is left

    @property
    def last_id(self) -> int:
        return max((e.pk for e in self.events), default=0)


def _timeline_rows(ticket: Ticket) -> QuerySet[TimelineEvent]:
    return TimelineEvent.objects.filter(ticket=ticket).select_related("author", "contact_point")


def ticket_timeline(*, ticket: Ticket, before: str = "", limit: int = TIMELINE_PAGE) -> TimelinePage:
    """The ticket's latest `limit` events (or those before the `before` cursor), oldest first.

    Keyset on (created_at, id), the order of the timeline index: page 200 costs what page 1 does."""
    qs = _timeline_rows(ticket)
    if before:
        created_at, event_id = _decode_timeline_cursor(before)
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=event_id))
    rows = list(qs.order_by("-created_at", "-id")[: limit + 1])
    older = ""
    if len(rows) > limit:
        rows = rows[:limit]
        older = f"{rows[-1].created_at.isoformat()}|{rows[-1].pk}"
    return TimelinePage(events=rows[::-1], older_cursor=older)


def _decode_timeline_cursor(cursor: str) -> tuple[datetime, int]:
    created, _sep, event_id = cursor.rpartition("|")
    when = parse_datetime(created)
    if when is None or not event_id.isdigit():
        raise ApplicationError(_("That page of the timeline does not exist."), code="invalid_cursor")
    return when, int(event_id)


def timeline_since(
    *, ticket: Ticket, after_id: int, changed: list[int]
) -> tuple[list[TimelineEvent], list[TimelineEvent]]:
    """For a live update: the events added since `after_id` (oldest first), and those of
    `changed` already shown (a delivery status moved on), to replace in place."""
    new = list(_timeline_rows(ticket).filter(id__gt=after_id).order_by("created_at", "id")[:TIMELINE_PAGE])
    wanted = [i for i in changed if i <= after_id][:LIVE_CHANGED_MAX]
    updated = list(_timeline_rows(ticket).filter(id__in=wanted).order_by("id")) if wanted else []
    return new, updated


def customer_contact_points(*, customer_id: int) -> list[ContactPoint]:
    """Return the customer's contact points, phones first."""
    return list(ContactPoint.objects.filter(customer_id=customer_id).order_by("kind", "id"))


def unverified_sender(*, ticket: Ticket, contact_points: list[ContactPoint]) -> dict | None:
    """What an unproven sender claimed to be (kind, value), while nothing of the customer is verified."""
    if any(p.verified for p in contact_points):
        return None
    # The message that opened the ticket says it (one index row, however long the timeline).
    payload = (
        TimelineEvent.objects.filter(ticket=ticket, direction=Direction.IN)
        .order_by("created_at", "id")
        .values_list("payload", flat=True)
        .first()
    )
    return payload.get("unverified_sender") if isinstance(payload, dict) else None


def other_tickets(*, customer_id: int, user, exclude_id: int | None = None, limit: int = OTHER_TICKETS_LIMIT):
    """Return the customer's other tickets the user sees, most recent activity first."""
    qs = visible_tickets(user).filter(customer_id=customer_id).order_by("-last_activity_at", "-id")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.only("id", "subject", "status", "priority", "last_activity_at", "customer_id")[:limit])


def macros_for(*, language: str) -> list[Macro]:
    """Return macros, the ticket's language first."""
    macros = list(Macro.objects.order_by("title"))
    return sorted(macros, key=lambda m: (m.language != language, m.title.lower()))


# --- Search ---------------------------------------------------------------------------------

SEARCH_KINDS = ("messages", "tickets", "customers")
SEARCH_SORTS = ("relevance", "newest", "oldest")
SEARCH_PAGE_SIZE = 25
SEARCH_MIN_CHARS = 2  # after normalizing: "\u200c\u200c" is nothing to look for
SEARCH_MAX_CHARS = 200
# Matches are counted exactly up to here (a LIMITed COUNT), beyond it PostgreSQL's plan estimate
# is shown as "about N". bench.search, 5M events: a LIMITed count of 5,001 of a frequent word was
# a 100 ms sequential scan (440 ms joined to a status filter), of 2,001 a fifth of that.
SEARCH_COUNT_CAP = 2_000
# When the planner expects more matches than this, none is counted (its estimate is shown) and
# none ranked: relevance reads every match on each page, so such pages come newest first (the
# page says so). Below it the LIMITed count decides, and the pages are ranked.
SEARCH_ESTIMATE_TRUSTED = 20_000
# Contact points are stored in E.164 ("+989121234567"): a typed "0912 123 4567" is looked up by
# its digits without the trunk zero.
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()\-.]{2,}")


@dataclass(frozen=True)
class SearchFilters:
    """What the agent narrowed the search to (messages and tickets; customers match by text only)."""

    channel: str = ""
    status: str = ""
    queue: int | None = None
    crisis: int | None = None
    since: date | None = None  # created on or after this day (the agent's time zone)
    until: date | None = None  # created on or before this day


@dataclass(frozen=True)
class SearchCount:
    value: int
    exact: bool  # False: more than SEARCH_COUNT_CAP, `value` is the planner's estimate
    estimate: int = 0  # what the planner expected (0 on SQLite): search_page picks its plan by it


@dataclass
class SearchPage:
    q: str
    kind: str
    sort: str  # the order of these results: "newest" when relevance was asked of too many matches
    results: list[Any]
    next_cursor: str
    count: SearchCount | None

    newest_instead_of_relevance: bool = False  # too many matches to rank: see SEARCH_ESTIMATE_TRUSTED


def search_query(q: str) -> str:
    """Return the query as search compares it, or raise ApplicationError when it is too short."""
    needle = normalize((q or "")[: SEARCH_MAX_CHARS * 2])[:SEARCH_MAX_CHARS]
    if len(needle) < SEARCH_MIN_CHARS:
        raise ApplicationError(
            _("Type at least %(n)d characters to search.") % {"n": SEARCH_MIN_CHARS},
            code="query_too_short",
            fields={"q": [_("Type at least %(n)d characters to search.") % {"n": SEARCH_MIN_CHARS}]},
        )
    return needle


def _day_start(day: date, *, days_later: int = 0) -> datetime | None:
    """Midnight of `day` (plus `days_later`) in the active time zone; None for days at the
    calendar's edges, which bound nothing."""
    if not 1 < day.year < 9999:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=days_later), time.min))


def _matches(*, kind: str, user, needle: str, filters: SearchFilters) -> QuerySet:
    """Every row of `kind` the user may see whose normalized text contains the needle."""
    if kind == "customers":
        digits = re.sub(r"[^0-9]", "", needle).lstrip("0") if _PHONE_LIKE.fullmatch(needle) else ""
        points = ContactPoint.objects.filter(value__icontains=digits if len(digits) >= 3 else needle)
        by_name = Customer.objects.filter(search_text__contains=needle).order_by().values("pk")
        # A UNION of two trigram index scans: with OR, PostgreSQL read every customer (34 ms at 250k).
        return Customer.objects.filter(pk__in=by_name.union(points.values("customer_id")))
    on_ticket = "ticket__" if kind == "messages" else ""
    qs: QuerySet
    if kind == "messages":
        qs = visible_events(user, TimelineEvent.objects.filter(search_text__contains=needle))
    else:
        qs = visible_tickets(user).filter(search_text__contains=needle)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.status:
        qs = qs.filter(**{f"{on_ticket}status": filters.status})
    if filters.queue:
        qs = qs.filter(**{f"{on_ticket}queue_id": filters.queue})
    if filters.crisis:
        qs = qs.filter(**{f"{on_ticket}crisis_id": filters.crisis})
    if filters.since and (start := _day_start(filters.since)):
        qs = qs.filter(created_at__gte=start)
    if filters.until and (end := _day_start(filters.until, days_later=1)):
        qs = qs.filter(created_at__lt=end)
    return qs


def _rank(model: type[Model], needle: str) -> RawSQL:
    """Relevance as an integer, the same on PostgreSQL and SQLite: 1,000 when the query is a whole
    word of the text, plus the per-mille of the text the matches cover (a short message about the
    query beats a long one that mentions it). Integers, so a cursor repeats it exactly."""
    column = f'"{model._meta.db_table}"."search_text"'
    word = "%" + re.sub(r"([\\%_])", r"\\\1", f" {needle} ") + "%"
    # Safe: the column comes from model metadata, the query travels as parameters.
    sql = (  # noqa: S608
        f"(CASE WHEN (' ' || {column} || ' ') LIKE %s ESCAPE '\\' THEN 1000 ELSE 0 END"
        f" + (CAST(LENGTH({column}) AS BIGINT) - LENGTH(REPLACE({column}, %s, ''))) * 1000"
        f" / NULLIF(LENGTH({column}), 0))"
    )
    return RawSQL(sql, [word, needle], output_field=BigIntegerField())  # noqa: S611


_ZERO = {"created_at": Value(timedelta(0)), "id": Value(0)}
_FIELD: dict[str, Field] = {"created_at": DateTimeField(), "id": BigIntegerField()}


def _search_keys(kind: str, sort: str) -> tuple[tuple[str, bool], ...]:
    """The order of a search list: (name, ascending) pairs, the last always the id."""
    if sort == "relevance":
        return (("rank", False), ("id", False))
    if kind == "messages":
        return (("created_at", sort == "oldest"), ("id", sort == "oldest"))
    return (("id", sort == "oldest"),)


def _encode_search_cursor(kind: str, sort: str, values: tuple) -> str:
    raw = [kind, sort, *[v.isoformat() if isinstance(v, datetime) else v for v in values]]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def _decode_search_cursor(cursor: str, kind: str) -> tuple[str, list[Any]]:
    """Return the cursor's sort and key values, or raise ApplicationError(code="invalid_cursor")."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) < 3 or raw[0] != kind or raw[1] not in SEARCH_SORTS:
            raise ValueError
        sort, values = raw[1], raw[2:]
        keys = _search_keys(kind, sort)
        if len(values) != len(keys):
            raise ValueError
        decoded: list[Any] = []
        for (name, _asc), value in zip(keys, values, strict=True):
            if name == "created_at":
                when = parse_datetime(value) if isinstance(value, str) else None
                if when is None:
                    raise ValueError
                decoded.append(when)
            elif isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
                decoded.append(value)
            else:
                raise ValueError
        return sort, decoded
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ApplicationError(_("This page link is no longer valid."), code="invalid_cursor") from exc


def _estimate(qs: QuerySet) -> int:
    """How many rows PostgreSQL's planner expects the query to match (0 elsewhere)."""
    if connection.vendor != "postgresql":
        return 0
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


# The tabs of the kinds not shown count exactly only this far (then the planner's estimate, "about
# N"): a LIMITed count reads its rows from the heap, and 2,001 tickets of a frequent word behind a
# status and date filter were 14-30 ms of the page's 60 at 1M tickets (bench.search's filtered row).
SEARCH_TAB_COUNT_CAP = 100


def _count(qs: QuerySet, cap: int | None = None) -> SearchCount:
    """Exact up to `cap` (SEARCH_COUNT_CAP: a LIMITed COUNT stops there), past it the planner's estimate."""
    cap = SEARCH_COUNT_CAP if cap is None else cap
    if connection.vendor != "postgresql":
        return SearchCount(qs.order_by().count(), exact=True)  # the demo's few thousand rows
    estimate = _estimate(qs)
    if estimate > SEARCH_ESTIMATE_TRUSTED:
        return SearchCount(estimate, exact=False, estimate=estimate)
    n = qs.order_by()[: cap + 1].count()
    if n <= cap:
        return SearchCount(n, exact=True, estimate=estimate)
    return SearchCount(max(estimate, cap + 1), exact=False, estimate=estimate)


def search_counts(
    *, user, q: str, filters: SearchFilters = SearchFilters(), shown: str | None = None
) -> dict[str, SearchCount]:
    """Return how many messages, tickets and customers match, exact or estimated. With `shown`, the
    other kinds (their tabs) are exact only up to SEARCH_TAB_COUNT_CAP."""
    needle = search_query(q)
    return {
        kind: _count(
            _matches(kind=kind, user=user, needle=needle, filters=filters),
            None if shown in (None, kind) else SEARCH_TAB_COUNT_CAP,
        )
        for kind in SEARCH_KINDS
    }


def search_count(*, user, q: str, kind: str, filters: SearchFilters = SearchFilters()) -> SearchCount:
    """One kind's count, exact up to SEARCH_COUNT_CAP."""
    return _count(_matches(kind=kind, user=user, needle=search_query(q), filters=filters))


def search_page(
    *,
    user,
    q: str,
    kind: str = "messages",
    filters: SearchFilters = SearchFilters(),
    sort: str = "relevance",
    after: str = "",
    page_size: int = SEARCH_PAGE_SIZE,
    count: SearchCount | None = None,
    with_count: bool = True,
) -> SearchPage:
    """Return one page of matching messages, tickets or customers after the cursor, in any script.

    Keyset pagination: the cursor carries the order and the last row's key, so every match is
    reachable and page 200 costs what page 2 does (relevance: what ranking the matches costs)."""
    if kind not in SEARCH_KINDS:
        raise ApplicationError(_("Unknown kind of result."), code="invalid_kind")
    needle = search_query(q)
    matches = _matches(kind=kind, user=user, needle=needle, filters=filters)
    model = matches.model
    if after:
        sort, last = _decode_search_cursor(after, kind)
    else:
        last = []
        sort = sort if sort in SEARCH_SORTS else "relevance"
    if with_count and count is None:
        count = _count(matches)
    estimate = count.estimate if count is not None else _estimate(matches)
    # Many matches: ranking them all, or sorting them by date, would read every one on each
    # page; walking the (created_at, id) or id index meets a frequent word at once instead.
    dense = connection.vendor == "postgresql" and estimate > SEARCH_ESTIMATE_TRUSTED
    fell_back = sort == "relevance" and not after and dense
    if fell_back:
        sort = "newest"
    keys = _search_keys(kind, sort)
    qs = matches.annotate(rank=_rank(model, needle)) if sort == "relevance" else matches
    if last:
        if sort == "relevance":
            qs = qs.filter(Q(rank__lt=last[0]) | Q(rank=last[0], pk__lt=last[1]))
        else:
            table = model._meta.db_table
            columns = ", ".join(f'"{table}"."{name}"' for name, _asc in keys)
            op = ">" if keys[0][1] else "<"
            marks = ", ".join(["%s"] * len(keys))
            # As the column stores them (SQLite keeps datetimes as text in its own format).
            values = [
                model._meta.get_field(name).get_db_prep_value(value, connection)
                for (name, _asc), value in zip(keys, last, strict=True)
            ]
            # Safe: the column names are fixed above, the values travel as parameters.
            qs = qs.filter(RawSQL(f"({columns}) {op} ({marks})", values, output_field=BooleanField()))  # noqa: S611
    order: list[Any] = [name if asc else f"-{name}" for name, asc in keys]
    if sort != "relevance" and connection.vendor == "postgresql" and not dense:
        # Few matches: read them through the trigram index and sort those. Walking the order's
        # own index meets a frequent word at once but looks through millions of rows for a rare,
        # old one: 7 s a page for 4,500 matches ten months back in bench.search, 8 ms this way.
        # `+ 0` hides the order from that index.
        order = [
            getattr(
                ExpressionWrapper(F(name) + _ZERO[name], output_field=_FIELD[name]), "asc" if asc else "desc"
            )()
            for name, asc in keys
        ]
    key_rows = list(qs.order_by(*order).values_list(*[name for name, _asc in keys])[: page_size + 1])
    next_cursor = ""
    if len(key_rows) > page_size:
        key_rows = key_rows[:page_size]
        next_cursor = _encode_search_cursor(kind, sort, key_rows[-1])
    ids = [row[-1] for row in key_rows]
    return SearchPage(
        q=q.strip(),
        kind=kind,
        sort=sort,
        results=_search_rows(model, ids),
        next_cursor=next_cursor,
        count=count,
        newest_instead_of_relevance=fell_back,
    )


def _search_rows(model: type[Model], ids: list[int]) -> list[Any]:
    """The rows of a page, in the page's order, with what their result lines show."""
    if model is TimelineEvent:
        qs: QuerySet = TimelineEvent.objects.select_related("ticket", "customer", "author").defer(
            "body_html", "search_text", "ticket__search_text", "customer__search_text"
        )
    elif model is Ticket:
        qs = (
            Ticket.objects.select_related("customer", "queue", "assignee")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
            .defer("search_text", "customer__search_text")
        )
    else:
        qs = Customer.objects.prefetch_related(
            Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id"))
        ).defer("search_text")
    by_id = {row.pk: row for row in qs.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def last_reply_id(*, ticket: Ticket) -> int:
    """The newest message the desk sent the customer on this ticket (0: none yet)."""
    return (
        TimelineEvent.objects.filter(ticket=ticket, direction=Direction.OUT, kind="message")
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
        or 0
    )


def replies_by_others_since(*, ticket: Ticket, after: int, user) -> list[str]:
    """Who else answered the customer on this ticket after event `after` (names, newest first):
    an agent about to send should read those replies before the customer gets two answers."""
    rows = (
        TimelineEvent.objects.filter(
            ticket=ticket, direction=Direction.OUT, kind="message", pk__gt=after, author__isnull=False
        )  # an agent's answer, not a broadcast
        .exclude(author=user)
        .select_related("author")
        .order_by("-pk")[:5]
    )
    names: list[str] = []
    for event in rows:
        author = event.author
        if author is None:
            continue
        name = author.get_full_name() or author.get_username()
        if name not in names:
            names.append(name)
    return names


def event_id_for(*, provider: str, provider_id: str) -> int | None:
    """The id of the event a provider's message or call became (UNIQUE(provider, provider_id))."""
    return (
        TimelineEvent.objects.filter(provider=provider, provider_id=provider_id)
        .values_list("pk", flat=True)
        .first()
    )
