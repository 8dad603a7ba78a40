"""Triage services: versions, runs, outcome on the ticket, reminders and expiry with explicit time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.accounts.models import Role
from helpdesk.customers.services import opt_out
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import EventKind, Priority, Queue, TimelineEvent
from helpdesk.tickets.services import default_queue
from tests.factories import QueueFactory, TicketFactory
from tests.triage.conftest import SMALL
from triage import selectors, services
from triage.models import Flow, Playbook, ResourceLink, Run, RunMode, RunSource, RunStatus, SegmentStatus

pytestmark = pytest.mark.django_db


def sms_out(ticket):
    return list(
        TimelineEvent.objects.filter(ticket=ticket, direction="out")
        .order_by("id")
        .values_list("body", flat=True)
    )


def test_seed_is_idempotent_and_installs_playbooks_and_links():
    first = services.seed_stop_the_bleeding()
    second = services.seed_stop_the_bleeding()
    assert first.pk == second.pk
    assert first.versions.count() == 1 and first.versions.get().is_published
    assert Playbook.objects.filter(flow=first).count() == 4
    assert ResourceLink.objects.filter(language="fa").exists()


def test_published_version_is_immutable_and_runs_keep_theirs(small_flow, phone):
    v1 = small_flow.versions.get()
    run = services.start_run(flow=small_flow, customer=phone.customer)
    changed = {**SMALL, "steps": SMALL["steps"][:1]}
    draft = services.save_draft(flow=small_flow, definition=changed)
    assert draft.pk != v1.pk and draft.number == 2
    v1.refresh_from_db()
    assert v1.definition == SMALL
    services.publish_version(version=draft)
    with pytest.raises(ApplicationError):
        services.publish_version(version=draft)
    services.answer_run(run=run, answer="1")
    run.refresh_from_db()
    assert run.flow_version_id == v1.pk and run.state["step"] == "people"  # still the 3-step version


def test_publish_refuses_an_invalid_definition(small_flow):
    draft = services.save_draft(flow=small_flow, definition={"steps": [{"key": "Bad Key", "kind": "?"}]})
    with pytest.raises(ApplicationError) as err:
        services.publish_version(version=draft)
    assert err.value.code == "invalid_flow"


def _routing(rule: dict) -> dict:
    return {**SMALL, "rules": [*SMALL["rules"], rule]}


def test_publish_refuses_a_rule_routing_to_a_queue_that_does_not_exist(small_flow):
    draft = services.save_draft(
        flow=small_flow, definition=_routing({"when": {"severity_gte": 4}, "queue": "crisis-response"})
    )
    with pytest.raises(ApplicationError) as err:
        services.publish_version(version=draft)
    assert err.value.code == "invalid_flow"
    assert 'Rule 2 (when {"severity_gte": 4})' in err.value.message
    assert "no queue 'crisis-response'" in err.value.message
    draft.refresh_from_db()
    assert draft.published_at is None


def test_publish_accepts_the_rule_once_its_queue_exists(small_flow):
    QueueFactory(slug="crisis-response")
    draft = services.save_draft(flow=small_flow, definition=_routing({"queue": "crisis-response"}))
    assert services.publish_version(version=draft).is_published


def test_publish_refuses_a_rule_routing_by_skill(small_flow):
    draft = services.save_draft(
        flow=small_flow, definition=_routing({"when": {"severity_gte": 4}, "skill": "Flood response"})
    )
    with pytest.raises(ApplicationError) as err:
        services.publish_version(version=draft)
    assert "Rule 2" in err.value.message and "cannot route by skill" in err.value.message


def test_a_rule_tag_need_not_exist_but_must_be_written_as_it_is_stored(small_flow):
    draft = services.save_draft(flow=small_flow, definition=_routing({"tags": ["Severity High"]}))
    with pytest.raises(ApplicationError) as err:
        services.publish_version(version=draft)
    assert "'Severity High' would be stored as 'severity high'" in err.value.message
    draft = services.save_draft(flow=small_flow, definition=_routing({"tags": ["a-brand-new-tag"]}))
    assert services.publish_version(version=draft).is_published


def test_import_of_a_flow_routing_to_a_missing_queue_creates_nothing():
    with pytest.raises(ApplicationError) as err:
        services.import_flow(data={"slug": "routed", "definition": _routing({"queue": "nowhere"})})
    assert "no queue 'nowhere'" in err.value.message
    assert not Flow.objects.filter(slug="routed").exists()


def test_the_seed_creates_the_queue_its_severe_rule_routes_to():
    flow = services.seed_stop_the_bleeding()
    routed = {r["queue"] for r in flow.versions.get().definition["rules"] if r.get("queue")}
    assert routed == {"crisis-response"}
    assert Queue.objects.filter(slug="crisis-response").exists()
    # On a fresh install the seed's queue is not where unrouted work goes.
    assert default_queue().slug == "general"


def test_the_seed_keeps_a_crisis_response_queue_that_is_already_there():
    mine = QueueFactory(slug="crisis-response", name="Our crisis desk", sla_minutes=30)
    services.seed_stop_the_bleeding()
    assert list(Queue.objects.filter(slug="crisis-response")) == [mine]
    mine.refresh_from_db()
    assert (mine.name, mine.sla_minutes) == ("Our crisis desk", 30)


def test_export_then_import_round_trips(small_flow):
    data = services.export_flow(flow=small_flow)
    data["slug"] = "copy"
    version = services.import_flow(data=data)
    assert version.flow.slug == "copy" and version.definition == SMALL and version.is_published


def test_sms_run_sends_first_question_through_the_outbox(small_flow, phone):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    assert run.status == RunStatus.ACTIVE and run.ticket is not None
    assert sms_out(run.ticket) == ["What hurts most?\n1) Cash\n2) Staff\nReply with a number."]


def test_second_active_run_is_refused(small_flow, phone):
    services.start_run(flow=small_flow, customer=phone.customer)
    with pytest.raises(ApplicationError) as err:
        services.start_run(flow=small_flow, customer=phone.customer)
    assert err.value.code == "run_active"


def test_agent_guided_run_sends_nothing_and_sets_severity_priority_and_tags(small_flow, phone, agent):
    ticket = TicketFactory(customer=phone.customer)
    run = services.start_run(
        flow=small_flow, customer=phone.customer, ticket=ticket, mode=RunMode.AGENT, actor=agent
    )
    for answer in ("1", "80", "yes"):
        result = services.answer_run(run=run, answer=answer, actor=agent)
    assert result.completed
    ticket.refresh_from_db()
    assert (ticket.severity, ticket.priority) == (5, Priority.URGENT)
    assert set(ticket.tags.values_list("name", flat=True)) == {"urgent-triage"}
    answers = TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.TRIAGE_ANSWER)
    assert answers.count() == 3 and {e.author_id for e in answers} == {agent.pk}
    assert sms_out(ticket) == []


def test_invalid_answer_is_reprompted_and_recorded_as_invalid(small_flow, phone):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    result = services.answer_run(run=run, answer="banana")
    assert not result.valid
    assert sms_out(run.ticket)[-1].startswith("Sorry, I did not understand that.\nWhat hurts most?")
    event = TimelineEvent.objects.filter(kind=EventKind.TRIAGE_ANSWER).get()
    assert event.payload["valid"] is False and event.payload["answer"] == "banana"


def test_outcome_picks_the_playbook_and_routes_to_the_rules_queue(seeded_flow, phone):
    crisis_queue = Queue.objects.get(slug="crisis-response")  # the seed made it
    phone.customer.language = "fa"
    phone.customer.save()
    run = services.start_run(flow=seeded_flow, customer=phone.customer)
    for answer in ("۱۲۰", "۱", "۴", "ب", "پرداخت حقوق"):
        services.answer_run(run=run, answer=answer)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and run.severity == 5
    assert run.outcome["playbook"]["name"] == "Income stopped"
    assert run.outcome["playbook"]["option_1"].startswith("از بانک")
    run.ticket.refresh_from_db()
    assert run.ticket.queue == crisis_queue and run.ticket.priority == Priority.URGENT
    note = TimelineEvent.objects.filter(ticket=run.ticket, kind=EventKind.NOTE).last()
    assert "پرداخت حقوق" in note.body and run.outcome["playbook"]["option_2"] in note.body


def test_a_queue_deleted_after_publishing_is_named_on_the_ticket_not_skipped_silently(seeded_flow, phone):
    ticket = TicketFactory(customer=phone.customer)
    Queue.objects.filter(slug="crisis-response").delete()
    run = services.start_run(flow=seeded_flow, customer=phone.customer, ticket=ticket, mode=RunMode.AGENT)
    for answer in ("5000", "1", "4", "1", "payroll"):
        services.answer_run(run=run, answer=answer)
    ticket.refresh_from_db()
    assert ticket.severity == 5 and ticket.queue.slug != "crisis-response"
    note = TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.NOTE).last()
    assert "'crisis-response', which no longer exists" in note.body


def test_one_reminder_after_silence_then_expiry_then_resume(small_flow, phone, settings):
    settings.TRIAGE_REMIND_AFTER_MINUTES = 60
    settings.TRIAGE_EXPIRE_AFTER_MINUTES = 600
    start = timezone.now() - timedelta(hours=20)
    run = services.start_run(flow=small_flow, customer=phone.customer, now=start)
    assert services.remind_silent_runs(now=start + timedelta(minutes=59)) == 0
    assert services.remind_silent_runs(now=start + timedelta(minutes=61)) == 1
    assert services.remind_silent_runs(now=start + timedelta(minutes=300)) == 0  # only one
    assert sms_out(run.ticket)[-1].startswith("We are still here to help.")
    assert services.expire_stale_runs(now=start + timedelta(minutes=599)) == 0
    assert services.expire_stale_runs(now=start + timedelta(minutes=601)) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.EXPIRED
    services.resume_run(run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.ACTIVE and run.state["step"] == "hurt"
    assert sms_out(run.ticket)[-1].startswith("What hurts most?")


def test_unreminded_sms_run_is_not_expired_before_its_reminder(small_flow, phone, settings):
    start = timezone.now() - timedelta(days=3)
    services.start_run(flow=small_flow, customer=phone.customer, now=start)
    assert services.expire_stale_runs(now=timezone.now()) == 0


def test_opt_out_ends_the_active_run(small_flow, phone):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    opt_out(contact_point=phone)
    run.refresh_from_db()
    assert run.status == RunStatus.OPTED_OUT
    with pytest.raises(ApplicationError):
        services.start_run(flow=small_flow, customer=phone.customer)


def test_segment_starts_runs_for_matching_customers_only(
    small_flow, manager, django_capture_on_commit_callbacks
):
    from tests.factories import ContactPointFactory, CustomerFactory

    wanted = [ContactPointFactory(customer=CustomerFactory(language="km", tags=["market"])) for _ in range(3)]
    ContactPointFactory(customer=CustomerFactory(language="en", tags=["market"]))
    gone = ContactPointFactory(customer=CustomerFactory(language="km", tags=["market"]))
    opt_out(contact_point=gone)
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.start_segment(flow=small_flow, actor=manager, tag="market", language="km")
    assert segment.status == SegmentStatus.STARTED and segment.planned_count == 3
    runs = Run.objects.filter(source=RunSource.SEGMENT)
    assert {r.customer_id for r in runs} == {p.customer_id for p in wanted}
    segment.refresh_from_db()
    assert segment.started_count == 3 and segment.requested_by == manager


def test_a_segment_past_the_threshold_waits_for_a_second_manager(
    small_flow, manager, settings, django_capture_on_commit_callbacks
):
    from tests.factories import ContactPointFactory, CustomerFactory, UserFactory

    settings.SEGMENT_APPROVAL_THRESHOLD = 2
    for _ in range(3):
        ContactPointFactory(customer=CustomerFactory(tags=["flooded"]))
    with django_capture_on_commit_callbacks(execute=True) as queued:
        segment = services.start_segment(flow=small_flow, actor=manager, tag="flooded")
    assert segment.status == SegmentStatus.AWAITING_APPROVAL and segment.planned_count == 3
    assert not queued and not Run.objects.exists()  # nothing sent, nothing queued
    with pytest.raises(ApplicationError) as same:
        services.approve_segment(segment=segment, approver=manager)
    assert same.value.code == "same_approver" and not Run.objects.exists()
    ContactPointFactory(customer=CustomerFactory(tags=["flooded"]))  # the segment grew meanwhile
    second = UserFactory(username="second-manager", role=Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.approve_segment(segment=segment, approver=second)
    assert segment.approved_by == second and segment.planned_count == 4
    assert Run.objects.filter(source=RunSource.SEGMENT).count() == 4
    with pytest.raises(ApplicationError) as twice:
        services.approve_segment(segment=segment, approver=second)
    assert twice.value.code == "invalid_state"


def test_a_waiting_segment_can_be_cancelled_and_then_never_starts(small_flow, manager, settings):
    from tests.factories import ContactPointFactory, CustomerFactory, UserFactory

    settings.SEGMENT_APPROVAL_THRESHOLD = 1
    for _ in range(2):
        ContactPointFactory(customer=CustomerFactory(tags=["flooded"]))
    segment = services.start_segment(flow=small_flow, actor=manager, tag="flooded")
    services.cancel_segment(segment=segment, actor=manager)
    second = UserFactory(username="second-manager", role=Role.MANAGER)
    with pytest.raises(ApplicationError):
        services.approve_segment(segment=segment, approver=second)
    assert not Run.objects.exists()


def test_send_playbook_options_and_links_on_the_channel_in_use(seeded_flow, phone, agent):
    run = services.start_run(flow=seeded_flow, customer=phone.customer)
    for answer in ("3", "2", "1", "c", "rent"):
        services.answer_run(run=run, answer=answer)
    run.refresh_from_db()
    event = services.send_playbook_options(run=run, actor=agent)
    assert event.channel == "sms" and "1) " in event.body and "2) " in event.body
    links = selectors.resource_links_for(language="en", crisis_id=None)
    event = services.send_resource_links(ticket=run.ticket, actor=agent, links=links)
    assert all(link.url in event.body for link in links)


def test_similar_resolved_tickets_show_their_resolution(agent):
    from helpdesk.tickets.services import send_reply, set_tags, update_ticket

    ticket = TicketFactory()
    set_tags(ticket=ticket, names=["finances"])
    solved = TicketFactory()
    set_tags(ticket=solved, names=["finances"])
    send_reply(ticket=solved, author=agent, body="We paused your payments for 90 days.", channel="sms")
    update_ticket(ticket=solved, status="solved")
    TicketFactory()  # unrelated
    similar = selectors.similar_resolved_tickets(ticket=ticket)
    assert [s["ticket"].pk for s in similar] == [solved.pk]
    assert similar[0]["resolution"] == "We paused your payments for 90 days."


def test_seeded_playbooks_speak_all_four_languages(seeded_flow):
    for playbook in Playbook.objects.filter(flow=seeded_flow):
        assert set(playbook.texts) == {"en", "fa", "km", "kn"}
        assert all(
            playbook.texts[lang]["option_1"] and playbook.texts[lang]["story"] for lang in playbook.texts
        )
