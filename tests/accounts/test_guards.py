"""One set of guards: pages, the API and websockets agree on who is staff and who is a manager."""

from __future__ import annotations

import pytest

from helpdesk.accounts.guards import is_agent, is_manager
from helpdesk.accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_agents_managers_customers_and_the_deactivated():
    agent, manager = UserFactory(username="a", role=Role.AGENT), UserFactory(username="m", role=Role.MANAGER)
    customer = UserFactory(username="c", is_staff=False)
    gone = UserFactory(username="g", role=Role.MANAGER, is_active=False)
    assert [is_agent(u) for u in (agent, manager, customer, gone)] == [True, True, False, False]
    assert [is_manager(u) for u in (agent, manager, customer, gone)] == [False, True, False, False]


@pytest.mark.parametrize("path", ["/tickets/", "/manage/crisis/", "/triage/flows/", "/api/v1/tickets/"])
def test_every_door_turns_away_a_signed_in_non_staff_user(client, path):
    client.force_login(UserFactory(username="someone", is_staff=False))
    assert client.get(path).status_code in (403, 404)
