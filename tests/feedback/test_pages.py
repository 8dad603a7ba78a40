"""The feedback pages a manager and an agent use: survey rules, reviews, the ticket's panel."""

from __future__ import annotations

import pytest

from helpdesk.feedback.models import RecoveryCase, ReviewSource, SurveyPolicy
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_a_manager_sets_the_survey_rules(manager_client):
    assert manager_client.get("/feedback/settings/").status_code == 200
    response = manager_client.post(
        "/feedback/settings/",
        {
            "window_hours": 48,
            "delay_minutes": 15,
            "during_open_crisis": "on",
            "low_score": 3,
            "answer_hours": 24,
        },
    )
    assert response.status_code == 302
    policy = SurveyPolicy.current()
    assert (policy.window_hours, policy.delay_minutes, policy.during_open_crisis, policy.low_score) == (
        48,
        15,
        True,
        3,
    )
    bad = manager_client.post("/feedback/settings/", {"window_hours": 1, "delay_minutes": 0, "low_score": 5,
                                                      "answer_hours": 1})  # fmt: skip
    assert bad.status_code == 200 and SurveyPolicy.current().low_score == 3


def test_agents_may_not_change_the_rules(agent_client):
    assert agent_client.get("/feedback/settings/").status_code == 403


def test_the_reviews_page_imports_a_csv(manager_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    source = ReviewSource.objects.create(name="Export", kind="csv")
    data = SimpleUploadedFile(
        "r.csv", b"id,author,rating,body\nx1,Ann,4,<script>alert(1)</script>\n", "text/csv"
    )
    response = manager_client.post("/feedback/reviews/", {"source": source.pk, "file": data})
    assert response.status_code == 302
    page = manager_client.get("/feedback/reviews/").content.decode()
    assert "&lt;script&gt;" in page and "<script>alert" not in page  # text, never markup
    bad = manager_client.post(
        "/feedback/reviews/", {"source": source.pk, "file": SimpleUploadedFile("r.csv", b"\xff")}
    )
    assert bad.status_code == 200 and "UTF-8" in bad.content.decode()


def test_the_ticket_panel_flags_the_customer_for_recovery(agent_client, agent):
    ticket = TicketFactory(channel="sms")
    panel = agent_client.get(f"/feedback/tickets/{ticket.pk}/panel/")
    assert panel.status_code == 200 and "Flag for recovery" in panel.content.decode()
    response = agent_client.post(f"/recovery/flag/{ticket.pk}/")
    case = RecoveryCase.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/recovery/{case.pk}/"
    assert case.owner == agent and case.reason == "agent_flag"
