"""Fill PostgreSQL with a large, realistic help desk for benchmarks, using COPY.

    manage.py seed_bulk --tickets 1000000 --events-per-ticket 5 [--customers 250000]

Rows are generated in Python and streamed to `COPY ... FROM STDIN` in chunks, so memory stays
flat. For big loads the secondary indexes of the loaded tables are dropped first and rebuilt
once at the end (one sorted build is far cheaper than millions of incremental inserts, above
all for the trigram GIN indexes), and foreign-key triggers are skipped for the session because
every id is generated here. Sequences are moved past the new ids, queue counters recounted and
the tables analyzed.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from helpdesk.searchtext import normalize
from helpdesk.tickets.models import Queue, Ticket
from helpdesk.tickets.services import recount_queue_counters

# Tickets per COPY chunk: large enough to amortise a round trip, small enough to show progress.
CHUNK_TICKETS = 50_000
# Below this many tickets indexes stay in place: rebuilding them would cost more than it saves.
REBUILD_INDEXES_FROM = 50_000
TABLES = ("customers_customer", "customers_contactpoint", "tickets_ticket", "tickets_timelineevent")

STATUSES = (("solved", 55), ("closed", 20), ("open", 12), ("new", 6), ("pending", 7))
PRIORITIES = ((1, 5), (2, 15), (3, 60), (4, 20))
CHANNELS = (("sms", 40), ("email", 25), ("web", 15), ("chat", 12), ("voice", 8))
LANGUAGES = (("en", 50), ("fa", 20), ("km", 15), ("kn", 15))
OPEN = {"new", "open", "pending"}

# Words every search benchmark can look for: they occur in a known share of messages.
SEARCH_TERMS = {"fa": "سیلاب", "km": "ទឹកជំនន់", "kn": "ಪ್ರವಾಹ", "en": "flooded"}

SUBJECTS = {
    "en": [
        "Card frozen after the flood",
        "Flight grounded, need to rebook",
        "Cannot reach the branch",
        "Water in the house, insurance claim",
        "Refund for cancelled trip",
        "Hotel booking during the evacuation",
        "Locked out of online banking",
    ],
    "fa": [
        "کارت بانکی پس از سیلاب مسدود شد",
        "پرواز لغو شد، تغییر بلیت",
        "خانه آب گرفته است",
        "درخواست بازپرداخت سفر",
        "دسترسی به حساب ندارم",
    ],
    "km": [
        "កាតធនាគារត្រូវបានបង្កក",
        "ជើងហោះហើរត្រូវបានលុបចោល",
        "ផ្ទះលិចទឹកជំនន់",
        "សុំប្រាក់សងវិញ",
        "មិនអាចចូលគណនីបាន",
    ],
    "kn": [
        "ಪ್ರವಾಹದ ನಂತರ ಕಾರ್ಡ್ ಸ್ಥಗಿತಗೊಂಡಿದೆ",
        "ವಿಮಾನ ರದ್ದಾಗಿದೆ, ಮರುಬುಕ್ ಮಾಡಬೇಕು",
        "ಮನೆಗೆ ನೀರು ನುಗ್ಗಿದೆ",
        "ಹಣ ಮರುಪಾವತಿ ಬೇಕು",
        "ಖಾತೆಗೆ ಪ್ರವೇಶವಿಲ್ಲ",
    ],
}

INBOUND = {
    "en": [
        "Our street flooded last night and my card stopped working at the shop. Please help.",
        "The airport is closed and my flight was grounded. I need a new date as soon as possible.",
        "I have been waiting on the phone for an hour. Is anybody there?",
        "The basement is flooded and the power is out. What should I do about my policy?",
        "Thank you, that worked. The card is active again.",
        "I am abroad and cannot get cash. My family needs money for food.",
    ],
    "fa": [
        "دیشب سیلاب خیابان ما را گرفت و کارتم در فروشگاه کار نکرد. لطفاً کمک کنید.",
        "فرودگاه بسته است و پرواز من لغو شد. به تاریخ جدید نیاز دارم.",
        "یک ساعت پشت خط منتظر ماندم. کسی هست؟",
        "زیرزمین آب گرفته و برق قطع است. برای بیمه‌ام چه کنم؟",
        "ممنون، درست شد. کارت دوباره فعال است.",
    ],
    "km": [
        "យប់មិញទឹកជំនន់លិចផ្លូវរបស់យើង ហើយកាតរបស់ខ្ញុំមិនដំណើរការទេ។ សូមជួយផង។",
        "អាកាសយានដ្ឋានបិទ ហើយជើងហោះហើររបស់ខ្ញុំត្រូវបានលុបចោល។",
        "ខ្ញុំរង់ចាំតាមទូរស័ព្ទមួយម៉ោងហើយ។ មាននរណានៅទីនោះទេ?",
        "សូមអរគុណ វាដំណើរការហើយ។",
    ],
    "kn": [
        "ನಿನ್ನೆ ರಾತ್ರಿ ಪ್ರವಾಹ ನಮ್ಮ ಬೀದಿಗೆ ನುಗ್ಗಿತು, ಅಂಗಡಿಯಲ್ಲಿ ನನ್ನ ಕಾರ್ಡ್ ಕೆಲಸ ಮಾಡಲಿಲ್ಲ. ದಯವಿಟ್ಟು ಸಹಾಯ ಮಾಡಿ.",
        "ವಿಮಾನ ನಿಲ್ದಾಣ ಮುಚ್ಚಿದೆ, ನನ್ನ ವಿಮಾನ ರದ್ದಾಗಿದೆ.",
        "ಒಂದು ಗಂಟೆಯಿಂದ ಫೋನಿನಲ್ಲಿ ಕಾಯುತ್ತಿದ್ದೇನೆ.",
        "ಧನ್ಯವಾದಗಳು, ಈಗ ಕೆಲಸ ಮಾಡುತ್ತಿದೆ.",
    ],
}

REPLIES = {
    "en": [
        "We are sorry. We have unfrozen your card; it works again within 10 minutes.",
        "Your flight is rebooked for Thursday at no cost. The new ticket is in your email.",
        "We have your case. An adviser will call you today before 6 pm.",
    ],
    "fa": [
        "متأسفیم. کارت شما از حالت مسدود خارج شد و تا ۱۰ دقیقه دیگر کار می‌کند.",
        "پرواز شما بدون هزینه برای پنجشنبه تغییر کرد.",
        "پرونده شما ثبت شد. همکار ما امروز با شما تماس می‌گیرد.",
    ],
    "km": [
        "យើងសុំទោស។ កាតរបស់អ្នកអាចប្រើបានវិញក្នុងរយៈពេល ១០ នាទី។",
        "ជើងហោះហើររបស់អ្នកត្រូវបានកក់ឡើងវិញដោយឥតគិតថ្លៃ។",
    ],
    "kn": [
        "ಕ್ಷಮಿಸಿ. ನಿಮ್ಮ ಕಾರ್ಡ್ ಮತ್ತೆ ಸಕ್ರಿಯವಾಗಿದೆ.",
        "ನಿಮ್ಮ ವಿಮಾನವನ್ನು ಉಚಿತವಾಗಿ ಮರುಬುಕ್ ಮಾಡಲಾಗಿದೆ.",
    ],
}

NOTES = [
    "Customer is in the flooded district; waived the fee.",
    "Called back, no answer. Will try again in an hour.",
    "Escalated to the card team.",
]

FIRST_NAMES = {
    "en": ["Alice", "Ben", "Chloe", "Daniel", "Emma", "Frank", "Grace", "Henry", "Isla", "Jack"],
    "fa": ["مریم", "علی", "سارا", "رضا", "نگار", "حسین", "زهرا", "امیر"],
    "km": ["សុខា", "ដារ៉ា", "ចាន់ធា", "សុភាព", "វិចិត្រ", "ស្រីនាង"],
    "kn": ["ಅನನ್ಯ", "ರಾಹುಲ್", "ಕಾವ್ಯ", "ಸುರೇಶ್", "ದೀಪಾ", "ಮಂಜುನಾಥ್"],
}
LAST_NAMES = {
    "en": ["Smith", "Jones", "Taylor", "Brown", "Walker", "Evans", "Green", "Hall"],
    "fa": ["احمدی", "رضایی", "کریمی", "حسینی", "موسوی", "جعفری"],
    "km": ["សុខ", "ចាន់", "ហេង", "លី", "គឹម"],
    "kn": ["ಗೌಡ", "ಹೆಗಡೆ", "ರಾವ್", "ಶೆಟ್ಟಿ", "ನಾಯಕ್"],
}


def _escape(value: str) -> str:
    """Escape text for COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _weighted(pairs: tuple, size: int = 1000) -> list:
    """A lookup table: picking a random element follows the weights."""
    total = sum(w for _v, w in pairs)
    table: list = []
    for value, weight in pairs:
        table += [value] * round(size * weight / total)
    return table


def _searchable(value: str) -> str:
    """The value and its normalized copy (search_text), both escaped, as two COPY columns."""
    return f"{_escape(value)}\t{_escape(normalize(value))}"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


class _RowStream(io.TextIOBase):
    """A file-like object COPY reads from, filled lazily from a generator of lines."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:  # type: ignore[override]
        chunks = [self._buffer]
        length = len(self._buffer)
        while size < 0 or length < size:
            try:
                line = next(self._lines)
            except StopIteration:
                break
            chunks.append(line)
            length += len(line)
        data = "".join(chunks)
        if size < 0:
            self._buffer = ""
            return data
        self._buffer = data[size:]
        return data[:size]

    readline = read  # type: ignore[assignment]


class Command(BaseCommand):
    help = "Bulk-load customers, tickets and timeline events into PostgreSQL with COPY (for benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, required=True)
        parser.add_argument("--events-per-ticket", "--events", dest="events", type=int, default=5)
        parser.add_argument("--customers", type=int, default=None, help="default: one per 4 tickets")
        parser.add_argument("--seed", type=int, default=42, help="random seed (repeatable data)")
        parser.add_argument(
            "--skip-if-seeded", action="store_true", help="do nothing when that many tickets already exist"
        )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_bulk needs PostgreSQL (it loads with COPY). Set DATABASE_URL=postgres://... "
                "For a small demo on SQLite use `manage.py seed_demo`."
            )
        tickets, events = options["tickets"], options["events"]
        if tickets < 1 or events < 1:
            raise CommandError("--tickets and --events-per-ticket must be at least 1.")
        customers = options["customers"] or max(1, tickets // 4)
        if options["skip_if_seeded"] and Ticket.objects.count() >= tickets:
            self.stdout.write(f"seed_bulk: {tickets} tickets already present, skipping")
            return
        self.rng = random.Random(options["seed"])
        self.queues = self._queues()
        self.agents = list(get_user_model().objects.filter(is_staff=True).values_list("id", flat=True)[:50])
        started = time.monotonic()
        rebuild = tickets >= REBUILD_INDEXES_FROM
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute("SET synchronous_commit = off")
            dropped = self._drop_indexes(cursor) if rebuild else []
            try:
                cursor.execute("SET session_replication_role = replica")  # skip FK triggers: ids are ours
                self._load(cursor, tickets=tickets, events=events, customers=customers)
            finally:
                cursor.execute("SET session_replication_role = DEFAULT")
                self._rebuild_indexes(cursor, dropped)
            self._reset_sequences(cursor)
            self.stdout.write("seed_bulk: analyzing")
            for table in TABLES:
                cursor.execute(f"ANALYZE {table}")
        recount_queue_counters()
        self.stdout.write(
            f"seed_bulk: {customers} customers, {tickets} tickets, {tickets * events} events "
            f"in {time.monotonic() - started:.1f}s"
        )

    # --- setup --------------------------------------------------------------------------

    def _queues(self) -> list[int]:
        for slug, name, address, default in (
            ("general", "General", "", True),
            ("flood-line", "Flood line", "+15005550006", False),
            ("billing", "Billing", "", False),
        ):
            Queue.objects.get_or_create(
                slug=slug, defaults={"name": name, "inbound_address": address, "is_default": default}
            )
        return list(Queue.objects.order_by("id").values_list("id", flat=True))

    def _next_id(self, cursor, table: str) -> int:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - fixed table names
        return cursor.fetchone()[0]

    def _drop_indexes(self, cursor) -> list[str]:
        """Drop secondary indexes (not those behind PK/unique constraints); return their definitions."""
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            [list(TABLES)],
        )
        rows = cursor.fetchall()
        for name, _definition in rows:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        self.stdout.write(f"seed_bulk: dropped {len(rows)} secondary indexes for the load")
        return [definition for _name, definition in rows]

    def _rebuild_indexes(self, cursor, definitions: list[str]) -> None:
        for definition in definitions:
            began = time.monotonic()
            cursor.execute(definition)
            self.stdout.write(f"seed_bulk: {definition.split(' ON ')[0]} ({time.monotonic() - began:.1f}s)")

    def _reset_sequences(self, cursor) -> None:
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )

    # --- load ---------------------------------------------------------------------------

    def _copy(self, cursor, table: str, columns: str, lines: Iterator[str]) -> None:
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", _RowStream(lines), size=1 << 20)

    def _load(self, cursor, *, tickets: int, events: int, customers: int) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        first_customer = self._next_id(cursor, "customers_customer")
        first_point = self._next_id(cursor, "customers_contactpoint")
        first_ticket = self._next_id(cursor, "tickets_ticket")
        first_event = self._next_id(cursor, "tickets_timelineevent")

        # Customers and their one contact point each: customer i owns point first_point + i.
        languages = _weighted(LANGUAGES)
        self.customer_language = [self.rng.choice(languages) for _ in range(customers)]
        with transaction.atomic():
            self._copy(
                cursor,
                "customers_customer",
                "id, name, search_text, language, tags, notes, time_zone, created_at, updated_at",
                self._customer_lines(first_customer, now),
            )
            self._copy(
                cursor,
                "customers_contactpoint",
                "id, kind, value, verified, opt_out_reason, language, created_at, customer_id",
                self._point_lines(first_customer, first_point, now),
            )
        self.stdout.write(f"seed_bulk: {customers} customers loaded")
        self._next_point_base = first_point

        for offset in range(0, tickets, CHUNK_TICKETS):
            count = min(CHUNK_TICKETS, tickets - offset)
            plan = self._plan_tickets(count, customers, now)
            with transaction.atomic():
                self._copy(
                    cursor,
                    "tickets_ticket",
                    "id, subject, search_text, status, priority, channel, language, severity, sla_due_at, "
                    "first_response_at, last_activity_at, solved_at, created_at, updated_at, "
                    "assignee_id, customer_id, queue_id, first_response_due_at, resolution_due_at",
                    self._ticket_lines(plan, first_ticket + offset, first_customer, events),
                )
                self._copy(
                    cursor,
                    "tickets_timelineevent",
                    "id, channel, direction, kind, body, search_text, body_html, payload, provider, "
                    "delivery_status, delivery_error, created_at, author_id, contact_point_id, customer_id, "
                    "ticket_id",
                    self._event_lines(
                        plan, first_ticket + offset, first_event + offset * events, events, first_customer
                    ),
                )
            self.stdout.write(f"seed_bulk: {offset + count}/{tickets} tickets")

    def _customer_lines(self, first_id: int, now: datetime) -> Iterator[str]:
        rng = self.rng
        created = _ts(now - timedelta(days=400))
        for i, lang in enumerate(self.customer_language):
            name = _searchable(f"{rng.choice(FIRST_NAMES[lang])} {rng.choice(LAST_NAMES[lang])}")
            yield f"{first_id + i}\t{name}\t{lang}\t[]\t\t\t{created}\t{created}\n"

    def _point_lines(self, first_customer: int, first_point: int, now: datetime) -> Iterator[str]:
        created = _ts(now - timedelta(days=400))
        for i, lang in enumerate(self.customer_language):
            customer_id = first_customer + i
            # Plausible E.164 ranges per language; every value is unique through the id.
            if lang == "fa":
                kind, value = "phone", f"+989{customer_id % 10**9:09d}"
            elif lang == "km":
                kind, value = "phone", f"+85512{customer_id % 10**7:07d}"
            elif lang == "kn":
                kind, value = "phone", f"+919{customer_id % 10**9:09d}"
            else:
                kind, value = "email", f"customer{customer_id}@example.com"
            yield f"{first_point + i}\t{kind}\t{value}\tf\t\t{lang}\t{created}\t{customer_id}\n"

    def _plan_tickets(self, count: int, customers: int, now: datetime) -> list[tuple]:
        """Draw each ticket's attributes once; tickets and events are both written from this."""
        rng = self.rng
        statuses, priorities = _weighted(STATUSES), _weighted(PRIORITIES)
        channels = _weighted(CHANNELS)
        plan = []
        for _ in range(count):
            customer = rng.randrange(customers)
            status = rng.choice(statuses)
            # Open work is recent; solved and closed tickets spread over the year.
            age_minutes = (
                rng.randrange(60, 14 * 24 * 60) if status in OPEN else rng.randrange(60, 365 * 24 * 60)
            )
            created = now - timedelta(minutes=age_minutes)
            plan.append((customer, status, rng.choice(priorities), rng.choice(channels), created))
        return plan

    def _ticket_lines(
        self, plan: list[tuple], first_id: int, first_customer: int, events: int
    ) -> Iterator[str]:
        rng = self.rng
        queues, agents = self.queues, self.agents
        subjects = {lang: [_searchable(t) for t in texts] for lang, texts in SUBJECTS.items()}
        for i, (customer, status, priority, channel, created) in enumerate(plan):
            lang = self.customer_language[customer]
            subject = subjects[lang][rng.randrange(len(subjects[lang]))]
            # The queues' default targets, around the clock (helpdesk/tickets/sla.py).
            first_due = created + timedelta(minutes=60 if priority == 1 else 24 * 60)
            resolution_due = created + timedelta(minutes=8 * 60 if priority == 1 else 3 * 24 * 60)
            last = created + timedelta(minutes=5 * (events - 1))
            responded = _ts(created + timedelta(minutes=5)) if events > 1 else "\\N"
            sla = first_due if events <= 1 else resolution_due  # the next target still open
            solved = _ts(last) if status in ("solved", "closed") else "\\N"
            assignee = str(rng.choice(agents)) if agents and rng.random() < 0.6 else "\\N"
            severity = str(rng.randint(1, 5)) if rng.random() < 0.3 else "\\N"
            yield (
                f"{first_id + i}\t{subject}\t{status}\t{priority}\t{channel}\t{lang}\t{severity}\t"
                f"{_ts(sla)}\t{responded}\t{_ts(last)}\t{solved}\t{_ts(created)}\t{_ts(last)}\t"
                f"{assignee}\t{first_customer + customer}\t{rng.choice(queues)}\t"
                f"{_ts(first_due)}\t{_ts(resolution_due)}\n"
            )

    def _event_lines(
        self, plan: list[tuple], first_ticket: int, first_event: int, events: int, first_customer: int
    ) -> Iterator[str]:
        rng = self.rng
        agents = self.agents
        inbound = {lang: [_searchable(t) for t in texts] for lang, texts in INBOUND.items()}
        replies = {lang: [_searchable(t) for t in texts] for lang, texts in REPLIES.items()}
        notes = [_searchable(t) for t in NOTES]
        first_point = self._next_point_base
        event_id = first_event
        for i, (customer, _status, _priority, channel, created) in enumerate(plan):
            lang = self.customer_language[customer]
            customer_id = first_customer + customer
            point = first_point + customer
            ticket_id = first_ticket + i
            author = str(rng.choice(agents)) if agents else "\\N"
            for j in range(events):
                at = _ts(created + timedelta(minutes=5 * j))
                # In, out, in, out... with an internal note every fourth event.
                if j % 4 == 3:
                    row = ("system", "internal", "note", rng.choice(notes), "", at, author, "\\N")
                elif j % 2 == 0:
                    row = (channel, "in", "message", rng.choice(inbound[lang]), "received", at, "\\N", point)
                else:
                    status = "delivered" if rng.random() < 0.9 else "failed"
                    row = (channel, "out", "message", rng.choice(replies[lang]), status, at, author, point)
                ch, direction, kind, body, delivery, at, author_id, point_id = row
                yield (
                    f"{event_id}\t{ch}\t{direction}\t{kind}\t{body}\t\t{{}}\t\t{delivery}\t\t{at}\t"
                    f"{author_id}\t{point_id}\t{customer_id}\t{ticket_id}\n"
                )
                event_id += 1
