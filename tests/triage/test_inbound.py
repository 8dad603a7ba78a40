"""The triage inbound handler: SMS answers, resume, broadcast YES, opt-out — through record_inbound."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.customers.services import opt_out
from helpdesk.tickets.models import EventKind, TimelineEvent
from triage import selectors, services
from triage.models import Run, RunSource, RunStatus

pytestmark = pytest.mark.django_db


def last_out(customer):
    return TimelineEvent.objects.filter(customer=customer, direction="out").order_by("-id").first().body


def test_sms_answers_drive_the_run_to_its_outcome(small_flow, phone, inbound):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    inbound("۱")
    assert last_out(phone.customer).startswith("How many people?")
    inbound("eighty")
    inbound("YES")
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and run.severity == 5
    assert run.outcome["answers"] == {"hurt": "cash", "people": 80, "urgent": True}
    assert TimelineEvent.objects.filter(kind=EventKind.TRIAGE_ANSWER, ticket=run.ticket).count() == 3
    assert last_out(phone.customer).startswith("Thank you.")


def test_an_event_delivered_twice_is_answered_once(small_flow, phone, inbound):
    from helpdesk.tickets.inbound import process_inbound_event

    run = services.start_run(flow=small_flow, customer=phone.customer)
    event = inbound("1")
    process_inbound_event(event.pk)  # Celery redelivery after a worker crash
    assert TimelineEvent.objects.filter(kind=EventKind.TRIAGE_ANSWER).count() == 1
    run.refresh_from_db()
    assert run.state["step"] == "people"


def test_message_without_a_run_is_left_for_routing(phone, inbound):
    inbound("hello, my shop flooded")
    assert not Run.objects.exists()
    assert not TimelineEvent.objects.filter(direction="out").exists()


def test_resume_word_brings_back_an_expired_run(small_flow, phone, inbound, settings):
    start = timezone.now() - timedelta(days=2)
    run = services.start_run(flow=small_flow, customer=phone.customer, now=start)
    services.remind_silent_runs(now=start + timedelta(hours=3))
    services.expire_stale_runs(now=start + timedelta(days=1, hours=1))
    run.refresh_from_db()
    assert run.status == RunStatus.EXPIRED
    inbound("ادامه")
    run.refresh_from_db()
    assert run.status == RunStatus.ACTIVE
    assert last_out(phone.customer).startswith("What hurts most?")


def test_opted_out_phone_ends_the_run_and_gets_nothing(small_flow, phone, inbound):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    sent = TimelineEvent.objects.filter(direction="out").count()
    opt_out(contact_point=phone)  # what the SMS consent handler does on STOP
    inbound("1")
    run.refresh_from_db()
    assert run.status == RunStatus.OPTED_OUT
    assert TimelineEvent.objects.filter(direction="out").count() == sent
    assert not TimelineEvent.objects.filter(kind=EventKind.TRIAGE_ANSWER).exists()


@pytest.mark.parametrize("word", ["YES", "yes", "بله", "آره", "បាទ", "ចាស", "ಹೌದು"])
def test_yes_to_a_triage_broadcast_starts_a_run_in_any_language(
    seeded_flow, phone, inbound, monkeypatch, word
):
    # The crisis app's Broadcast/BroadcastDelivery lookup is covered by test_yes_with_real_broadcast below.
    seen = {}

    def lookup(*, contact_point_id, since):
        seen["args"] = (contact_point_id, since)
        return seeded_flow

    monkeypatch.setattr(selectors, "broadcast_flow_for", lookup)
    inbound(word)
    run = Run.objects.get()
    assert run.source == RunSource.BROADCAST and run.contact_point == phone
    assert seen["args"][0] == phone.pk
    assert timezone.now() - seen["args"][1] > timedelta(hours=71)
    assert "How many of your employees" in last_out(phone.customer)


def test_yes_without_a_triage_broadcast_starts_nothing(seeded_flow, phone, inbound):
    inbound("yes")
    assert not Run.objects.exists()


def test_yes_with_real_broadcast(seeded_flow, phone, inbound):
    from helpdesk.crisis import models as crisis_models

    broadcast_model = getattr(crisis_models, "Broadcast", None)
    if broadcast_model is None or "triage_flow" not in {f.name for f in broadcast_model._meta.get_fields()}:
        pytest.skip("helpdesk.crisis has no Broadcast.triage_flow yet (the crisis work adds it)")
    crisis = crisis_models.Crisis.objects.create(title="Flood", status="active")
    broadcast = broadcast_model.objects.create(crisis=crisis, name="Flood help", triage_flow=seeded_flow)
    old = broadcast_model.objects.create(crisis=crisis, name="Last month", triage_flow=seeded_flow)
    crisis_models.BroadcastDelivery.objects.create(
        broadcast=old, contact_point=phone, to=phone.value, sent_at=timezone.now() - timedelta(hours=80)
    )
    inbound("yes")
    assert not Run.objects.exists()  # older than 72 h: a "yes" is just a message
    crisis_models.BroadcastDelivery.objects.create(
        broadcast=broadcast, contact_point=phone, to=phone.value, sent_at=timezone.now() - timedelta(hours=2)
    )
    inbound("ಹೌದು")
    assert Run.objects.get().source == RunSource.BROADCAST


@pytest.mark.parametrize("word", ["STOP", "stop", "Unsubscribe", "لغو"])
def test_stop_reaching_triage_ends_the_run_without_a_reprompt(small_flow, phone, inbound, word):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    sent = TimelineEvent.objects.filter(direction="out").count()
    inbound(word)
    run.refresh_from_db()
    assert run.status == RunStatus.OPTED_OUT
    assert TimelineEvent.objects.filter(direction="out").count() == sent
