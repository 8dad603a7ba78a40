from __future__ import annotations

import pytest

from helpdesk.accounts.models import Role
from helpdesk.crisis import closing, services, statements
from helpdesk.crisis.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Crisis,
    CrisisAudit,
    CrisisStatus,
    DeliveryState,
    StatementStatus,
)
from helpdesk.customers.models import ContactKind
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import Channel
from tests.crisis.closing_scene import (
    BODIES,
    FINAL,
    SUBJECTS,
    Scene,
    add_bystanders,
    build_scene,
    point,
    wrote,
)
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene() -> Scene:
    return build_scene()


def test_each_affected_customer_is_reached_once_on_the_channel_they_used(scene):
    add_bystanders(scene)
    assert closing.affected_contact_points(scene.crisis) == {
        "sms": [scene.a_phone.pk],
        "email": sorted([scene.b_email.pk, scene.c_email.pk, scene.d_email.pk]),
    }


def test_preview_counts_recipients_per_channel_and_who_is_left_out(scene):
    assert closing.closing_preview(scene.crisis) == {
        "sms": 1,
        "email": 3,
        "left_out": 2,
        "no_channel": 1,  # F, chat only
        "unreachable": 1,  # E, opted out
    }


def test_a_caller_or_chat_visitor_is_texted_if_they_have_a_verified_phone_else_emailed():
    crisis = services.activate_crisis(crisis=services.create_crisis(title="Outage"))
    caller = CustomerFactory()
    caller_phone = point(caller, ContactKind.PHONE, "+14155550111")
    point(caller, ContactKind.EMAIL, "caller@example.com")
    wrote(crisis, caller_phone, Channel.VOICE)
    visitor = CustomerFactory()
    point(visitor, ContactKind.PHONE, "+14155550112", verified=False)
    visitor_email = point(visitor, ContactKind.EMAIL, "visitor@example.com")
    wrote(crisis, point(visitor, ContactKind.CHAT, "visitor-1", verified=False), Channel.CHAT)
    assert closing.affected_contact_points(crisis) == {"sms": [caller_phone.pk], "email": [visitor_email.pk]}


def test_the_channel_of_the_last_inbound_message_wins():
    crisis = services.activate_crisis(crisis=services.create_crisis(title="Outage"))
    customer = CustomerFactory()
    phone = point(customer, ContactKind.PHONE, "+14155550121")
    email = point(customer, ContactKind.EMAIL, "last@example.com")
    wrote(crisis, email, Channel.EMAIL, minutes_ago=30)
    wrote(crisis, phone, Channel.SMS, minutes_ago=2)
    assert closing.affected_contact_points(crisis) == {"sms": [phone.pk]}


def test_the_audience_is_one_query_however_many_customers(scene, django_assert_num_queries):
    for i in range(50):
        wrote(scene.crisis, point(CustomerFactory(), ContactKind.PHONE, f"+1415556{i:04d}"), Channel.SMS)
    with django_assert_num_queries(1):
        points = closing.affected_contact_points(scene.crisis)
    assert len(points["sms"]) == 51


def test_closing_publishes_the_final_statement_resolves_and_starts_one_broadcast_per_channel(scene):
    manager = UserFactory(role=Role.MANAGER)
    result = closing.close_crisis(
        crisis=scene.crisis, final_texts=FINAL, closing_bodies=BODIES, subjects=SUBJECTS, actor=manager
    )

    crisis = Crisis.objects.get(pk=scene.crisis.pk)
    assert result.closed and not result.statement_waiting
    assert result.statement.status == StatementStatus.PUBLISHED
    assert crisis.statement_id == result.statement.pk and crisis.texts == FINAL
    assert crisis.status == CrisisStatus.RESOLVED and crisis.ends_at is not None
    by_channel = {b.channel: b for b in Broadcast.objects.filter(pk__in=[b.pk for b in result.broadcasts])}
    assert set(by_channel) == {"sms", "email"}
    assert by_channel["sms"].audience == {"contact_point_ids": [scene.a_phone.pk]}
    assert by_channel["email"].audience == {
        "contact_point_ids": sorted([scene.b_email.pk, scene.c_email.pk, scene.d_email.pk])
    }
    for broadcast in by_channel.values():
        assert broadcast.crisis_id == crisis.pk and broadcast.name == "Closing: Network outage"
        assert broadcast.bodies == BODIES and broadcast.created_by == manager
        assert broadcast.status == BroadcastStatus.PLANNING
    assert by_channel["email"].subjects == SUBJECTS
    [audit] = CrisisAudit.objects.filter(crisis_id=crisis.pk, action="crisis_closed")
    assert sorted(audit.detail["broadcast_ids"]) == sorted(b.pk for b in result.broadcasts)
    assert audit.actor_id == manager.pk


def test_the_closing_reaches_each_recipient_once_in_their_language(
    django_capture_on_commit_callbacks, settings
):
    settings.BROADCAST_QUIET_HOURS = None  # planned now, whatever the hour
    scene = build_scene(persian=("a",))
    with django_capture_on_commit_callbacks(execute=True):
        result = closing.close_crisis(
            crisis=scene.crisis, final_texts=FINAL, closing_bodies=BODIES, subjects=SUBJECTS, actor=None
        )
    deliveries = BroadcastDelivery.objects.filter(broadcast__in=result.broadcasts)
    assert sorted(deliveries.values_list("contact_point_id", "language", "status")) == sorted(
        [
            (scene.a_phone.pk, "fa", DeliveryState.SENT),
            (scene.b_email.pk, "en", DeliveryState.SENT),
            (scene.c_email.pk, "en", DeliveryState.SENT),
            (scene.d_email.pk, "en", DeliveryState.SENT),
        ]
    )


def test_a_second_closing_is_refused_and_sends_nothing(scene):
    closing.close_crisis(
        crisis=scene.crisis, final_texts=FINAL, closing_bodies=BODIES, subjects=SUBJECTS, actor=None
    )
    broadcasts = Broadcast.objects.count()
    with pytest.raises(ApplicationError) as refused:
        closing.close_crisis(
            crisis=scene.crisis, final_texts=FINAL, closing_bodies=BODIES, subjects=SUBJECTS, actor=None
        )
    assert refused.value.code == "already_closed"
    assert Broadcast.objects.count() == broadcasts
    assert scene.crisis.statements.count() == 1


def test_closing_waits_for_the_statements_second_manager_then_goes_ahead_without_a_new_version(scene):
    Crisis.objects.filter(pk=scene.crisis.pk).update(statements_need_approval=True)
    author, second = UserFactory(role=Role.MANAGER), UserFactory(role=Role.MANAGER)
    kwargs = {"final_texts": FINAL, "closing_bodies": BODIES, "subjects": SUBJECTS, "actor": author}

    waiting = closing.close_crisis(crisis=scene.crisis, **kwargs)
    assert waiting.statement_waiting and waiting.broadcasts == []
    assert waiting.statement.status == StatementStatus.PENDING_APPROVAL
    assert Crisis.objects.get(pk=scene.crisis.pk).status == CrisisStatus.ACTIVE
    assert not Broadcast.objects.filter(name__startswith="Closing").exists()

    statements.approve_statement(statement=waiting.statement, approver=second)
    done = closing.close_crisis(crisis=scene.crisis, **kwargs)
    assert done.closed and done.statement.pk == waiting.statement.pk
    assert Crisis.objects.get(pk=scene.crisis.pk).status == CrisisStatus.RESOLVED
    assert len(done.broadcasts) == 2


def test_closing_broadcasts_past_the_threshold_wait_for_a_second_manager(scene, settings):
    settings.BROADCAST_APPROVAL_THRESHOLD = 2
    result = closing.close_crisis(
        crisis=scene.crisis, final_texts=FINAL, closing_bodies=BODIES, subjects=SUBJECTS, actor=None
    )
    assert result.closed
    assert [b.channel for b in result.broadcasts_waiting] == ["email"]  # 3 recipients > 2


def test_an_email_closing_without_a_subject_is_refused_and_changes_nothing(scene):
    with pytest.raises(ApplicationError) as refused:
        closing.close_crisis(crisis=scene.crisis, final_texts=FINAL, closing_bodies=BODIES, actor=None)
    assert refused.value.code == "subject_required"
    assert Crisis.objects.get(pk=scene.crisis.pk).status == CrisisStatus.ACTIVE
    assert scene.crisis.statements.count() == 0 and not closing.is_closed(scene.crisis)


def test_closing_without_sending_resolves_and_still_counts_as_closed(scene):
    result = closing.close_crisis(
        crisis=scene.crisis, final_texts=FINAL, closing_bodies={}, actor=None, send=False
    )
    assert result.closed and result.broadcasts == []
    assert Crisis.objects.get(pk=scene.crisis.pk).status == CrisisStatus.RESOLVED
    assert closing.is_closed(scene.crisis)
