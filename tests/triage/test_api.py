"""Triage API and the import/export command: JSON round trip, runs driven over the API."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tests.factories import TicketFactory
from tests.triage.conftest import SMALL
from triage.models import Flow, Run

pytestmark = pytest.mark.django_db


def test_import_requires_a_manager_and_rejects_bad_flows(agent_client):
    response = agent_client.post(
        "/api/v1/triage/flows/import/", {"slug": "x", "definition": SMALL}, content_type="application/json"
    )
    assert response.status_code == 403


def test_manager_imports_exports_and_gets_clear_errors(manager_client):
    ok = manager_client.post(
        "/api/v1/triage/flows/import/",
        {"slug": "x", "name": "X", "definition": SMALL},
        content_type="application/json",
    )
    assert ok.status_code == 201 and ok.json()["published_version"] == 1
    bad = manager_client.post(
        "/api/v1/triage/flows/import/",
        {"slug": "y", "definition": {"steps": []}},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_flow"  # an object, but no flow
    exported = manager_client.get("/api/v1/triage/flows/x/export/").json()
    assert exported["definition"] == SMALL


def test_agent_drives_a_run_over_the_api(agent_client, small_flow, phone):
    ticket = TicketFactory(customer=phone.customer)
    started = agent_client.post(
        "/api/v1/triage/runs/",
        {"flow": "small", "ticket": ticket.pk, "mode": "agent"},
        content_type="application/json",
    )
    assert started.status_code == 201 and started.json()["step"] == "hurt"
    url = f"/api/v1/triage/runs/{started.json()['id']}/answer/"
    assert agent_client.post(url, {"answer": "x"}, content_type="application/json").json()["valid"] is False
    for answer in ("2", "3", "no"):
        data = agent_client.post(url, {"answer": answer}, content_type="application/json").json()
    assert data["status"] == "completed" and data["severity"] == 1
    again = agent_client.post(url, {"answer": "1"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "run_not_active"


def test_command_exports_and_imports_a_new_version(tmp_path, small_flow):
    path = tmp_path / "flow.json"
    call_command("triage_flow", "export", "small", "-o", str(path))
    data = json.loads(path.read_text("utf-8"))
    data["definition"]["max_retries"] = 3
    path.write_text(json.dumps(data), "utf-8")
    call_command("triage_flow", "import", str(path))
    assert [v.number for v in Flow.objects.get(slug="small").versions.order_by("number")] == [1, 2]


def test_seed_command_is_idempotent():
    call_command("seed_triage")
    call_command("seed_triage")
    assert Flow.objects.filter(slug="stop-the-bleeding").count() == 1
    assert not Run.objects.exists()


def _routed_to(queue: str) -> dict:
    return {**SMALL, "rules": [{"when": {"severity_gte": 5}, "queue": queue}]}


def test_import_of_a_flow_routing_to_a_missing_queue_is_a_422_naming_the_rule(manager_client):
    response = manager_client.post(
        "/api/v1/triage/flows/import/",
        {"slug": "routed", "definition": _routed_to("crisis-response")},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_flow"
    assert body["fields"]["definition"] == [
        "Rule 1 (when {\"severity_gte\": 5}): there is no queue 'crisis-response'; "
        "create it first or name another queue."
    ]
    assert not Flow.objects.filter(slug="routed").exists()


def test_publishing_a_draft_routing_to_a_missing_queue_is_a_422(manager_client, small_flow):
    from triage import services

    services.save_draft(flow=small_flow, definition=_routed_to("nowhere"))
    response = manager_client.post("/api/v1/triage/flows/small/publish/")
    assert response.status_code == 422 and "no queue 'nowhere'" in response.json()["message"]
    assert small_flow.versions.filter(published_at__isnull=True).exists()


def test_command_refuses_a_flow_routing_to_a_missing_queue(tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "flow.json"
    path.write_text(json.dumps({"slug": "routed", "definition": _routed_to("nowhere")}), "utf-8")
    with pytest.raises(CommandError, match="no queue 'nowhere'"):
        call_command("triage_flow", "import", str(path))
    assert not Flow.objects.filter(slug="routed").exists()
