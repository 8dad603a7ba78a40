"""Triage pages: the ticket panel for agents (agent-guided run), the flow editor for managers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tickets.models import EventKind, TimelineEvent
from tests.factories import TicketFactory
from tests.triage.conftest import SMALL
from triage.models import Flow, Run, RunStatus

pytestmark = pytest.mark.django_db


def test_ticket_panel_is_registered_for_the_ticket_page(settings):
    assert "triage:ticket_panel" in settings.TICKET_PANELS
    assert reverse("triage:ticket_panel", args=[1])


def test_agent_guided_run_from_the_panel(agent_client, agent, seeded_flow, phone):
    ticket = TicketFactory(customer=phone.customer)
    panel = reverse("triage:ticket_panel", args=[ticket.pk])
    response = agent_client.get(panel, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Start triage" in response.text
    response = agent_client.post(
        reverse("triage:start_run", args=[ticket.pk]),
        {"flow": seeded_flow.pk, "mode": "agent"},
        HTTP_HX_REQUEST="true",
    )
    assert "How many of your employees" in response.text
    run = Run.objects.get()
    url = reverse("triage:answer_run", args=[run.pk])
    response = agent_client.post(url, {"answer": "lots"}, HTTP_HX_REQUEST="true")
    assert "did not fit" in response.text
    for answer in ("40", "1", "3", "a", "Pay the staff"):
        response = agent_client.post(url, {"answer": answer}, HTTP_HX_REQUEST="true")
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert "Severity 4 of 5" in response.text and "Pay the staff" in response.text
    assert run.outcome["playbook"]["option_1"] in response.text
    assert TimelineEvent.objects.filter(kind=EventKind.TRIAGE_ANSWER, author=agent).count() == 6
    assert not TimelineEvent.objects.filter(direction="out").exists()  # a call: nothing texted
    response = agent_client.post(reverse("triage:send_options", args=[run.pk]), HTTP_HX_REQUEST="true")
    sent = TimelineEvent.objects.get(direction="out")
    assert run.outcome["playbook"]["option_2"] in sent.body and sent.channel == "sms"


def test_customer_text_is_escaped_in_the_panel(agent_client, small_flow, phone):
    ticket = TicketFactory(customer=phone.customer)
    agent_client.post(reverse("triage:start_run", args=[ticket.pk]), {"flow": small_flow.pk, "mode": "agent"})
    run = Run.objects.get()
    agent_client.post(reverse("triage:answer_run", args=[run.pk]), {"answer": "1"})
    response = agent_client.get(reverse("triage:ticket_panel", args=[ticket.pk]))
    assert "<script>" not in response.text


def test_flow_editor_is_for_managers_only(agent_client):
    from django.test import Client

    assert agent_client.get(reverse("triage:flow_list")).status_code == 403
    assert Client().get(reverse("triage:flow_list")).status_code == 302


def test_manager_builds_previews_and_publishes_a_flow(manager_client):
    response = manager_client.post(reverse("triage:flow_list"), {"name": "Shop check"})
    flow = Flow.objects.get(name="Shop check")
    assert response.status_code == 302
    steps = reverse("triage:step_save", args=[flow.pk])
    manager_client.post(
        steps,
        {"kind": "single", "text_en": "What broke?", "text_fa": "چه چیزی خراب شد؟",
         "choices_en": "Roof = 3\nDoor = 1", "choices_fa": "سقف\nدر", "branches": "Door -> end"},
    )  # fmt: skip
    manager_client.post(steps, {"kind": "number", "text_en": "How many staff?", "bands": "10- = 3"})
    manager_client.post(steps, {"kind": "yesno", "text_en": "Can you open tomorrow?", "yes_weight": "0"})
    definition = flow.versions.get().definition
    assert [s["kind"] for s in definition["steps"]] == ["single", "number", "yesno"]
    assert definition["steps"][0]["choices"][0] == {
        "value": "roof",
        "label": {"en": "Roof", "fa": "سقف"},
        "weight": 3,
    }
    assert definition["steps"][0]["branches"] == [{"when": {"in": ["door"]}, "next": "end"}]
    preview = reverse("triage:flow_preview", args=[flow.pk])
    manager_client.post(preview, {"action": "restart", "language": "fa"})
    for answer in ("۱", "۱۲", "بله"):
        manager_client.post(preview, {"action": "reply", "answer": answer})
    page = manager_client.get(reverse("triage:flow_edit", args=[flow.pk])).text
    assert "چه چیزی خراب شد؟" in page and "Severity" in page
    assert TimelineEvent.objects.count() == 0  # the preview sends nothing
    manager_client.post(reverse("triage:flow_publish", args=[flow.pk]))
    assert flow.versions.get().is_published


def test_the_editor_refuses_to_publish_a_rule_routing_to_a_missing_queue(manager_client, small_flow):
    from triage import services

    rules = [{"when": {"severity_gte": 5}, "queue": "crisis-response"}]
    services.save_draft(flow=small_flow, definition={**SMALL, "rules": rules})
    editor = reverse("triage:flow_edit", args=[small_flow.pk])
    assert "there is no queue &#x27;crisis-response&#x27;" in manager_client.get(editor).text  # before trying
    page = manager_client.post(reverse("triage:flow_publish", args=[small_flow.pk]), follow=True).text
    assert "Rule 1 (when" in page and "there is no queue &#x27;crisis-response&#x27;" in page
    assert small_flow.versions.filter(published_at__isnull=True).count() == 1


def test_export_is_importable(manager_client, small_flow):
    response = manager_client.get(reverse("triage:flow_export", args=[small_flow.pk]))
    assert response.json()["slug"] == "small"


@pytest.mark.parametrize("count", [10, 100])
def test_flow_list_query_count_does_not_grow_with_flows(manager_client, django_assert_max_num_queries, count):
    from triage import services

    for n in range(count):
        services.import_flow(data={"name": f"Flow {n}", "slug": f"flow-{n}", "definition": SMALL})
    with django_assert_max_num_queries(12):
        assert manager_client.get(reverse("triage:flow_list")).status_code == 200


@pytest.mark.parametrize("count", [10, 100])
def test_ticket_panel_query_count_is_fixed(
    agent_client, seeded_flow, phone, django_assert_max_num_queries, count
):
    from helpdesk.tickets.services import set_tags, update_ticket

    ticket = TicketFactory(customer=phone.customer)
    set_tags(ticket=ticket, names=["finances"])
    for _ in range(count):
        solved = TicketFactory()
        set_tags(ticket=solved, names=["finances"])
        update_ticket(ticket=solved, status="solved")
    agent_client.post(
        reverse("triage:start_run", args=[ticket.pk]), {"flow": seeded_flow.pk, "mode": "agent"}
    )
    with django_assert_max_num_queries(16):
        assert agent_client.get(reverse("triage:ticket_panel", args=[ticket.pk])).status_code == 200


def test_a_flow_file_over_the_cap_is_refused(manager_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from triage.forms import MAX_FLOW_FILE_BYTES

    big = SimpleUploadedFile("flow.json", b'{"name": "x", "pad": "' + b"a" * MAX_FLOW_FILE_BYTES + b'"}')
    response = manager_client.post("/triage/flows/import/", {"file": big}, follow=True)
    assert "A flow file is at most 256 KB." in response.content.decode()


def test_a_panel_action_without_htmx_goes_back_to_the_ticket_not_to_the_referer(agent_client):
    from tests.factories import TicketFactory

    ticket = TicketFactory()
    response = agent_client.post(
        f"/triage/tickets/{ticket.pk}/start/", {}, HTTP_REFERER="https://evil.example/phish"
    )
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"


def test_the_panel_lists_similar_solved_tickets_on_the_demos_sqlite_too(tmp_path):
    """The similar-cases query used PostgreSQL's DISTINCT ON: the demo's panel answered 500."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from tests.factories import TicketFactory, TimelineEventFactory\n"
        "from triage.selectors import similar_resolved_tickets\n"
        "from helpdesk.crisis.models import Crisis\n"
        "c = Crisis.objects.create(title='Flood')\n"
        "done = TicketFactory(crisis=c, status='solved')\n"
        "TimelineEventFactory(ticket=done, direction='out', body='Claim opened')\n"
        "[row] = similar_resolved_tickets(ticket=TicketFactory(crisis=c))\n"
        "assert row['resolution'] == 'Claim opened', row\n"
        "print('ok')\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
    }
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_a_large_segment_is_approved_on_the_flow_page_by_another_manager(
    client, manager, small_flow, settings, django_capture_on_commit_callbacks
):
    from helpdesk.accounts.models import Role
    from tests.factories import ContactPointFactory, CustomerFactory, UserFactory
    from triage.models import SegmentRequest

    settings.SEGMENT_APPROVAL_THRESHOLD = 1
    for _ in range(2):
        ContactPointFactory(customer=CustomerFactory(tags=["flooded"]))
    client.force_login(manager)
    response = client.post(
        reverse("triage:segment_start", args=[small_flow.pk]), {"tag": "flooded"}, follow=True
    )
    assert "a second manager must approve" in response.text
    segment = SegmentRequest.objects.get()
    approve = reverse("triage:segment_decide", args=[segment.pk, "approve"])
    assert approve not in response.text  # the requester is not offered their own approval
    assert not Run.objects.exists()
    client.force_login(UserFactory(username="second-manager", role=Role.MANAGER))
    assert approve in client.get(reverse("triage:flow_list")).text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(approve, follow=True)
    assert "Starting 2 runs." in response.text
    assert Run.objects.count() == 2
    assert client.post(reverse("triage:segment_decide", args=[segment.pk, "launch"])).status_code == 404
