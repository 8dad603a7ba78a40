"""Queues belong to teams: an agent of team A never sees team B's tickets, anywhere."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from helpdesk.accounts.models import AgentProfile, Role, Team
from helpdesk.tickets import services
from helpdesk.tickets.consumers import WorkspaceConsumer
from helpdesk.tickets.selectors import visible_tickets
from tests import asyncrun
from tests.factories import CustomerFactory, QueueFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    fraud, flood = Team.objects.create(name="Fraud"), Team.objects.create(name="Flood")
    customer = CustomerFactory(name="Shared Customer")
    theirs = TicketFactory(customer=customer, subject="Zebra card stolen", queue=QueueFactory(team=fraud))
    ours = TicketFactory(customer=customer, subject="Zebra basement flooded", queue=QueueFactory(team=flood))
    shared = TicketFactory(customer=customer, subject="Zebra general question", queue=QueueFactory(team=None))
    services.add_note(ticket=theirs, author=None, body="Zebra note about the fraud case")
    agent = UserFactory(username="flood-agent", role=Role.AGENT)
    AgentProfile.objects.filter(user=agent).update(team=flood)
    agent.refresh_from_db()
    return {"agent": agent, "theirs": theirs, "ours": ours, "shared": shared, "customer": customer}


def test_the_selector_shows_own_team_and_shared_queues_and_managers_everything(teams):
    assert set(visible_tickets(teams["agent"])) == {teams["ours"], teams["shared"]}
    manager = UserFactory(username="boss", role=Role.MANAGER)
    assert set(visible_tickets(manager)) == {teams["ours"], teams["shared"], teams["theirs"]}


def test_assigned_to_me_is_visible_whatever_the_queue(teams):
    services.update_ticket(ticket=teams["theirs"], assignee=teams["agent"])
    assert teams["theirs"] in visible_tickets(teams["agent"])


def test_pages_answer_404_for_another_teams_ticket(client, teams):
    client.force_login(teams["agent"])
    theirs = teams["theirs"].pk
    for path in (f"/tickets/{theirs}/", f"/tickets/{theirs}/timeline/", f"/triage/tickets/{theirs}/panel/"):
        assert client.get(path).status_code == 404, path
    for path in (f"/tickets/{theirs}/reply/", f"/tickets/{theirs}/note/", f"/tickets/{theirs}/update/"):
        assert client.post(path, {"body": "x", "status": "open"}).status_code == 404, path
    assert client.get(f"/tickets/{teams['ours'].pk}/").status_code == 200
    queue = client.get("/tickets/?status=all").content.decode()
    assert "Zebra basement" in queue and "Zebra card stolen" not in queue


def test_search_and_the_customer_page_leave_it_out(client, teams):
    client.force_login(teams["agent"])
    # The matched word is marked (<mark>Zebra</mark>), so look for the words after it.
    found = client.get("/tickets/search/?q=Zebra&kind=tickets").content.decode()
    assert "basement flooded" in found and "card stolen" not in found
    messages = client.get("/tickets/search/?q=Zebra&kind=messages").content.decode()
    assert "fraud case" not in messages and "Nothing found" in messages
    page = client.get(f"/customers/{teams['customer'].pk}/").content.decode()
    assert "Zebra basement" in page and "Zebra card stolen" not in page and "fraud case" not in page
    other = client.get(f"/tickets/{teams['ours'].pk}/").content.decode()
    assert "Zebra card stolen" not in other  # "other tickets" of the same customer


def test_the_api_answers_404_and_lists_only_visible_tickets(teams):
    api = APIClient()
    api.force_authenticate(teams["agent"])
    theirs = teams["theirs"].pk
    for path in (f"/api/v1/tickets/{theirs}/", f"/api/v1/tickets/{theirs}/timeline/"):
        assert api.get(path).status_code == 404, path
    assert api.post(f"/api/v1/tickets/{theirs}/notes/", {"body": "x"}, format="json").status_code == 404
    assert api.post(f"/api/v1/tickets/{theirs}/replies/", {"body": "x"}, format="json").status_code == 404
    assert api.patch(f"/api/v1/tickets/{theirs}/", {"status": "open"}, format="json").status_code == 404
    listed = {t["id"] for t in api.get("/api/v1/tickets/").json()["results"]}
    assert listed == {teams["ours"].pk, teams["shared"].pk}


@pytest.mark.django_db(transaction=True)  # the consumer's database_sync_to_async closes connections
def test_the_websocket_refuses_to_follow_another_teams_ticket(teams):
    async def scenario():
        socket = WebsocketCommunicator(WorkspaceConsumer.as_asgi(), "/ws/workspace/")
        socket.scope["user"] = teams["agent"]
        assert (await socket.connect())[0]
        await socket.send_json_to({"subscribe_ticket": teams["theirs"].pk})
        refused = await socket.receive_json_from(timeout=2)
        assert refused == {"type": "error", "error": "not_found", "ticket_id": teams["theirs"].pk}
        await socket.send_json_to({"subscribe_ticket": teams["ours"].pk})
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    asyncrun.run(scenario)
