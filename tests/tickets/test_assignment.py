"""Automatic assignment: language first, available agents only, load kept even."""

from __future__ import annotations

from collections import Counter

import pytest

from helpdesk.accounts.models import AgentProfile, Team
from helpdesk.tickets.services import create_ticket
from tests.factories import CustomerFactory, QueueFactory, UserFactory

pytestmark = pytest.mark.django_db


def agent(name: str, languages: list[str], *, available: bool = True, team=None):
    user = UserFactory(username=name, role="agent")
    AgentProfile.objects.filter(user=user).update(languages=languages, available=available, team=team)
    return user


def test_a_persian_ticket_goes_to_the_available_persian_speaker():
    queue = QueueFactory(assignment="least_loaded")
    speaker = agent("maryam", ["fa", "en"])
    agent("ravi", ["en", "kn"])
    agent("darius", ["fa"], available=False)  # away
    for _ in range(3):
        ticket = create_ticket(
            customer=CustomerFactory(language="fa"), subject="کمک", queue=queue, language="fa"
        )
        assert ticket.assignee == speaker
    khmer = create_ticket(customer=CustomerFactory(language="km"), subject="ជួយ", queue=queue, language="km")
    assert khmer.assignee is not None  # nobody speaks Khmer: the least loaded available agent
    assert khmer.assignee.username == "ravi"


def test_least_loaded_keeps_the_load_within_one_ticket_over_a_hundred():
    queue = QueueFactory(assignment="least_loaded")
    people = [agent(f"a{i}", ["en"]) for i in range(3)]
    for i in range(100):
        create_ticket(customer=CustomerFactory(), subject=f"Outage {i}", queue=queue, language="en")
    load = Counter(queue.tickets.values_list("assignee__username", flat=True))
    assert set(load) == {p.username for p in people}
    assert max(load.values()) - min(load.values()) <= 1


def test_round_robin_takes_turns_and_a_manual_queue_assigns_nobody():
    rotating = QueueFactory(assignment="round_robin")
    first, second = agent("b1", ["en"]), agent("b2", ["en"])
    names = [
        create_ticket(customer=CustomerFactory(), subject="x", queue=rotating, language="en").assignee
        for _ in range(4)
    ]
    assert names == [first, second, first, second]
    manual = QueueFactory()
    assert create_ticket(customer=CustomerFactory(), subject="x", queue=manual).assignee is None


def test_a_team_queue_assigns_only_its_team_and_nobody_when_all_are_away():
    team = Team.objects.create(name="Fraud")
    queue = QueueFactory(assignment="least_loaded", team=team)
    agent("outsider", ["en"])
    member = agent("insider", ["en"], team=team)
    assert create_ticket(customer=CustomerFactory(), subject="x", queue=queue).assignee == member
    AgentProfile.objects.filter(user=member).update(available=False)
    assert create_ticket(customer=CustomerFactory(), subject="y", queue=queue).assignee is None


def test_an_agent_sets_themselves_available_and_away(client):
    user = agent("leyla", ["fa"], available=False)
    client.force_login(user)
    page = client.get("/tickets/").content.decode()
    assert "availability-off" in page
    response = client.post("/accounts/availability/", {"available": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/"  # never off our own host
    assert AgentProfile.objects.get(user=user).available is True
    client.post("/accounts/availability/", {"available": "0", "next": "/tickets/"})
    assert AgentProfile.objects.get(user=user).available is False
