"""Customer actions: merging loses nothing, creating refuses taken or invalid contact points."""

from __future__ import annotations

import pytest

from helpdesk.customers.models import ContactPoint, Customer, CustomerMergeAudit
from helpdesk.customers.services import create_customer, merge_customers, update_customer
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import Ticket, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def history(customer: Customer) -> tuple[set[int], set[int], set[int]]:
    """Every contact point, ticket and event id that belongs to the customer."""
    return (
        set(ContactPoint.objects.filter(customer=customer).values_list("id", flat=True)),
        set(Ticket.objects.filter(customer=customer).values_list("id", flat=True)),
        set(TimelineEvent.objects.filter(customer=customer).values_list("id", flat=True)),
    )


def customer_with_history(points: int, tickets: int, events_per_ticket: int) -> Customer:
    customer = CustomerFactory(tags=["flood"])
    ContactPointFactory.create_batch(points, customer=customer)
    for ticket in TicketFactory.create_batch(tickets, customer=customer):
        TimelineEventFactory.create_batch(events_per_ticket, ticket=ticket, customer=customer)
    return customer


def test_merge_loses_no_event_no_contact_point_and_moves_tickets(agent):
    target = customer_with_history(points=2, tickets=1, events_per_ticket=3)
    source = customer_with_history(points=3, tickets=2, events_per_ticket=4)
    bystander = customer_with_history(points=1, tickets=1, events_per_ticket=1)
    totals = (ContactPoint.objects.count(), Ticket.objects.count(), TimelineEvent.objects.count())
    target_before, source_before, bystander_before = history(target), history(source), history(bystander)

    audit = merge_customers(source=source, target=target, actor=agent)

    assert (ContactPoint.objects.count(), Ticket.objects.count(), TimelineEvent.objects.count()) == totals
    assert history(target) == tuple(t | s for t, s in zip(target_before, source_before, strict=True))
    assert history(source) == (set(), set(), set())
    assert history(bystander) == bystander_before
    assert len(history(target)[0]) == 5 and len(history(target)[2]) == 3 + 8
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert audit == CustomerMergeAudit.objects.get()
    assert (audit.source_id, audit.target_id, audit.actor_id) == (source.pk, target.pk, agent.pk)
    assert audit.moved["contact_points"] == 3 and audit.moved["tickets"] == 2 and audit.moved["events"] == 8
    assert sorted(audit.moved["contact_point_ids"]) == sorted(source_before[0])


def test_merge_keeps_the_union_of_tags_and_a_name():
    target, source = CustomerFactory(name="", tags=["a"]), CustomerFactory(name="Dara", tags=["b", "a"])
    merge_customers(source=source, target=target)
    target.refresh_from_db()
    assert target.tags == ["a", "b"] and target.name == "Dara"


def test_merging_twice_is_refused_and_changes_nothing():
    target, source = CustomerFactory(), customer_with_history(points=1, tickets=1, events_per_ticket=1)
    merge_customers(source=source, target=target)
    other = CustomerFactory()
    with pytest.raises(ApplicationError) as err:
        merge_customers(source=source, target=other)
    assert err.value.code == "merge_already"
    assert history(other) == (set(), set(), set())
    assert CustomerMergeAudit.objects.count() == 1


def test_merging_into_self_is_refused():
    customer = customer_with_history(points=1, tickets=1, events_per_ticket=1)
    before = history(customer)
    with pytest.raises(ApplicationError) as err:
        merge_customers(source=customer, target=customer)
    assert err.value.code == "merge_same"
    assert history(customer) == before
    assert not CustomerMergeAudit.objects.exists()


def test_create_customer_normalizes_points_and_refuses_a_taken_one():
    customer = create_customer(
        name="Dara",
        contact_points=[
            {"kind": "phone", "value": "+1 (415) 555-0101"},
            {"kind": "email", "value": "D@X.org"},
        ],
    )
    assert set(customer.contact_points.values_list("value", flat=True)) == {"+14155550101", "d@x.org"}
    with pytest.raises(ApplicationError) as err:
        create_customer(name="Copy", contact_points=[{"kind": "email", "value": "d@x.ORG"}])
    assert err.value.code == "contact_point_taken" and err.value.fields["contact_points"]
    assert Customer.objects.count() == 1


def test_update_customer_changes_only_profile_fields():
    customer = CustomerFactory(name="Old")
    update_customer(customer=customer, name="New", tags=[" X ", "x"])
    customer.refresh_from_db()
    assert customer.name == "New" and customer.tags == ["x"]
    with pytest.raises(ApplicationError):
        update_customer(customer=customer, merged_into=None)


def test_merging_into_a_retired_customer_is_refused():
    kept, retired = CustomerFactory(), CustomerFactory()
    merge_customers(source=retired, target=kept)
    newcomer = customer_with_history(points=1, tickets=1, events_per_ticket=1)
    before = history(newcomer)
    with pytest.raises(ApplicationError) as err:
        merge_customers(source=newcomer, target=retired)
    assert err.value.code == "merge_into_retired"
    assert history(newcomer) == before
