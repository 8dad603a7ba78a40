from __future__ import annotations

import pytest

from helpdesk.crisis.models import Broadcast
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_manager_creates_and_activates_a_crisis_over_the_api(manager_client):
    response = manager_client.post(
        "/api/v1/crises/", {"title": "Flood", "severity": 5}, content_type="application/json"
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    assert manager_client.post(f"/api/v1/crises/{pk}/activate/").json()["status"] == "active"


def test_agents_read_but_cannot_write_crises(agent_client):
    assert agent_client.get("/api/v1/crises/").status_code == 200
    assert (
        agent_client.post("/api/v1/crises/", {"title": "x"}, content_type="application/json").status_code
        == 403
    )


def test_broadcast_without_audience_is_a_400_with_a_code(manager_client):
    response = manager_client.post(
        "/api/v1/broadcasts/",
        {"name": "b", "bodies": {"en": "Hi"}, "audience": {}},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == "no_audience"
    assert not Broadcast.objects.exists()


def test_broadcast_create_pause_and_progress_over_the_api(manager_client):
    ContactPointFactory(customer=CustomerFactory(tags=["t"]))
    response = manager_client.post(
        "/api/v1/broadcasts/",
        {"name": "b", "bodies": {"en": "Hi"}, "audience": {"tags": ["t"]}},
        content_type="application/json",
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    assert manager_client.post(f"/api/v1/broadcasts/{pk}/pause/").status_code == 400  # a draft cannot pause
    progress = manager_client.get(f"/api/v1/broadcasts/{pk}/progress/").json()
    assert progress["status"] == "draft" and progress["total"] == 0
