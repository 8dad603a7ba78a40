"""seed_bulk loads consistent data with COPY; seed_demo builds the demo once, however often it runs."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.tickets.models import OPEN_STATUSES, QueueCounter, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _ticket_customer():
    """The customer of the event's ticket, as a subquery."""
    from django.db.models import OuterRef, Subquery

    return Subquery(Ticket.objects.filter(pk=OuterRef("ticket_id")).values("customer_id")[:1])


def test_seed_bulk_loads_exact_counts_with_consistent_references():
    call_command("seed_bulk", tickets=200, events=4, customers=30)
    assert Customer.objects.count() == 30
    assert ContactPoint.objects.count() == 30
    assert Ticket.objects.count() == 200
    assert TimelineEvent.objects.count() == 800
    # Every event belongs to its ticket's customer; every inbound event to that customer's point.
    assert not TimelineEvent.objects.exclude(customer_id=_ticket_customer()).exists()
    assert (
        not TimelineEvent.objects.filter(direction="in")
        .exclude(contact_point__customer_id=_ticket_customer())
        .exists()
    )


def test_seed_bulk_resets_sequences_so_new_rows_do_not_collide():
    call_command("seed_bulk", tickets=50, events=2)
    customer = Customer.objects.create(name="After the load")
    assert customer.pk > Customer.objects.exclude(pk=customer.pk).order_by("-pk").first().pk
    event_ids = set(TimelineEvent.objects.values_list("id", flat=True))
    from helpdesk.tickets.services import add_note

    note = add_note(ticket=Ticket.objects.first(), author=None, body="after")
    assert note.pk not in event_ids


def test_seed_bulk_runs_twice_and_appends():
    call_command("seed_bulk", tickets=20, events=3)
    call_command("seed_bulk", tickets=20, events=3)
    assert Ticket.objects.count() == 40
    assert TimelineEvent.objects.count() == 120


def test_seed_bulk_skip_if_seeded_does_nothing_when_already_loaded():
    call_command("seed_bulk", tickets=20, events=3)
    call_command("seed_bulk", tickets=20, events=3, skip_if_seeded=True)
    assert Ticket.objects.count() == 20


def test_seed_bulk_recounts_queue_counters():
    call_command("seed_bulk", tickets=300, events=1)
    counted = sum(QueueCounter.objects.values_list("count", flat=True))
    assert counted == Ticket.objects.filter(status__in=OPEN_STATUSES).count() > 0


def test_seed_bulk_writes_searchable_multilingual_bodies():
    call_command("seed_bulk", tickets=400, events=2)
    for word in ("سیلاب", "ទឹកជំនន់", "ಪ್ರವಾಹ"):
        assert TimelineEvent.objects.filter(body__contains=word).exists(), word
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_timelineevent WHERE body LIKE %s", ["%\\\\%"])
        assert cursor.fetchone()[0] == 0  # COPY escapes decoded, nothing doubled


def test_seed_bulk_keeps_indexes_after_a_big_load(settings):
    from helpdesk.tickets.management.commands import seed_bulk

    def index_names():
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets_timelineevent'")
            return {row[0] for row in cursor.fetchall()}

    before = index_names()
    old = seed_bulk.REBUILD_INDEXES_FROM
    seed_bulk.REBUILD_INDEXES_FROM = 10  # exercise the drop-and-rebuild path with small data
    try:
        call_command("seed_bulk", tickets=20, events=2)
    finally:
        seed_bulk.REBUILD_INDEXES_FROM = old
    assert index_names() == before


def test_seed_bulk_refuses_bad_sizes():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_bulk", tickets=0, events=1)


def test_seed_demo_is_idempotent_and_builds_the_demo(settings):
    from django.contrib.auth import authenticate

    from helpdesk.crisis.models import Crisis
    from helpdesk.tickets.models import Macro, Queue

    settings.CHANNEL_GATEWAYS = {
        "sms": "tests.crisis.gateways.RecordingGateway",  # stands in for Twilio: its messages leave
        "email": "channels_app.console.gateway.ConsoleGateway",
    }
    call_command("seed_demo", force=True)  # tests run with DEBUG off
    counts = (Ticket.objects.count(), TimelineEvent.objects.count(), Customer.objects.count())
    call_command("seed_demo", force=True)
    assert (Ticket.objects.count(), TimelineEvent.objects.count(), Customer.objects.count()) == counts

    assert counts[0] >= 50 and counts[2] >= 40
    for username in ("agent", "manager", "admin"):
        assert authenticate(username=username, password="tourniquet-demo") is not None
    assert Queue.objects.filter(inbound_address="+15005550006", name="Flood line").exists()
    assert Queue.objects.filter(is_default=True).count() == 1
    crisis = Crisis.objects.get(status="active")
    assert set(crisis.texts) == {"en", "fa", "km", "kn"}
    assert Ticket.objects.filter(crisis=crisis).exists()
    assert set(Ticket.objects.values_list("channel", flat=True)) >= {"sms", "email", "web", "voice", "chat"}
    assert set(Customer.objects.values_list("language", flat=True)) == {"en", "fa", "km", "kn"}
    assert set(Macro.objects.values_list("language", flat=True)) == {"en", "fa", "km", "kn"}
    assert all("{{ customer.name }}" in body for body in Macro.objects.values_list("body", flat=True))
    statuses = set(TimelineEvent.objects.filter(direction="out").values_list("delivery_status", flat=True))
    assert {"delivered", "failed", "printed"} <= statuses
    # Nothing the console printed is shown as delivered, however the history is dressed up.
    assert not TimelineEvent.objects.filter(
        direction="out", delivery_status="delivered", provider="console"
    ).exists()
    assert TimelineEvent.objects.filter(kind="note").exists()
    counted = sum(QueueCounter.objects.values_list("count", flat=True))
    assert counted == Ticket.objects.filter(status__in=OPEN_STATUSES).count()
    # The crisis in full: two statement versions, its directory, the banner, a broadcast, surge stats.
    assert list(crisis.statements.values_list("number", "status")) == [(2, "published"), (1, "superseded")]
    assert crisis.statement.number == 2 and crisis.directory_entries.count() == 3
    assert crisis.banners.filter(published_at__isnull=False).exists()
    broadcast = crisis.broadcasts.get()
    assert broadcast.status == "completed" and broadcast.deliveries.filter(replied_at__isnull=False).exists()
    from helpdesk.crisis.models import CrisisAudit, Deflection

    assert Deflection.objects.filter(crisis=crisis).count() > 100
    assert set(CrisisAudit.objects.filter(crisis_id=crisis.pk).values_list("action", flat=True)) >= {
        "statement_published",
        "surge_on",
        "surge_off",
    }
    # The seeded triage flow is published and every queue its rules route to is there.
    from triage.models import FlowVersion

    version = FlowVersion.objects.get(flow__slug="stop-the-bleeding", published_at__isnull=False)
    routed = {rule["queue"] for rule in version.definition["rules"] if rule.get("queue")}
    assert routed and set(Queue.objects.filter(slug__in=routed).values_list("slug", flat=True)) == routed


def test_seed_demo_refuses_without_debug_unless_forced(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        call_command("seed_demo")
    assert not Ticket.objects.exists() and not get_user_model().objects.filter(username="admin").exists()
