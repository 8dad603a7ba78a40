"""Property-based run of schemathesis over every operation in the real /api/schema/: no 5xx.

Requests go straight into the Django WSGI app (same thread, same test transaction), with a
staff token, so generated bodies, ids and query strings reach the real views and database.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from tests.factories import (
    ContactPointFactory,
    QueueFactory,
    TicketFactory,
    TimelineEventFactory,
    UserFactory,
)

# Bounded so the whole run stays well under a minute on a shared two-core machine.
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(autouse=True)
def _keep_test_connection_open():
    """As Django's test client does: a finished request must not close the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def staff_token(db) -> str:
    agent = UserFactory(username="schema-agent")
    ticket = TicketFactory(queue=QueueFactory())
    ContactPointFactory(customer=ticket.customer)
    TimelineEventFactory(ticket=ticket)
    return Token.objects.create(user=agent).key


# Loaded at collection from the app itself: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_with_a_server_error(case, staff_token):
    case.call_and_validate(headers={"Authorization": f"Token {staff_token}"}, checks=[not_a_server_error])
