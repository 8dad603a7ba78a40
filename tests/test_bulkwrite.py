"""update_each: one UPDATE for many rows, each with its own values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.bulkwrite import update_each
from helpdesk.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_and_nothing_else_changes(django_assert_num_queries):
    customers = [Customer.objects.create(name=f"C{i}", language="en") for i in range(3)]
    for i, customer in enumerate(customers):
        customer.language = ["fa", "km", "kn"][i]
        customer.name = "changed in memory only"
    with django_assert_num_queries(1):
        update_each(customers, ["language"])
    stored = list(Customer.objects.filter(pk__in=[c.pk for c in customers]).order_by("pk"))
    assert [c.language for c in stored] == ["fa", "km", "kn"]
    assert [c.name for c in stored] == ["C0", "C1", "C2"]


def test_nothing_to_update_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        update_each([], ["language"])


def test_dates_and_nulls_round_trip():
    from helpdesk.customers.models import ContactPoint

    customer = Customer.objects.create(name="C", language="en")
    points = [
        ContactPoint.objects.create(customer=customer, kind="phone", value=f"+1415555011{i}")
        for i in range(2)
    ]
    when = timezone.now() - timedelta(days=1)
    points[0].opted_out_at, points[1].opted_out_at = when, None
    update_each(points, ["opted_out_at"])
    points[0].refresh_from_db()
    points[1].refresh_from_db()
    assert points[0].opted_out_at == when and points[1].opted_out_at is None
