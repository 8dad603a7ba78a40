"""The satisfaction report: its figures equal a direct recount, its query count does not grow with
the number of responses, and the API lists responses for staff only."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.feedback import reports
from helpdesk.feedback.models import RecoveryCase, Survey, SurveyState
from tests.factories import CustomerFactory, QueueFactory, UserFactory

pytestmark = pytest.mark.django_db


def _responses(n: int, *, seed: int = 1) -> None:
    rng = random.Random(seed)
    customers = [CustomerFactory() for _ in range(20)]
    queues = [QueueFactory(slug=f"q{i}", name=f"Queue {i}") for i in range(3)]
    agents = [UserFactory(username=f"report-agent-{i}") for i in range(4)]
    now = timezone.now()
    rows = []
    for i in range(n):
        nps = i % 7 == 0
        answered = rng.random() < 0.7
        asked = now - timedelta(days=rng.randrange(0, 60), minutes=i % 1000)
        rows.append(
            Survey(
                customer=customers[i % 20],
                channel=rng.choice(["sms", "email", "chat", "voice"]),
                trigger="solved",
                scale="nps" if nps else "csat",
                state=SurveyState.ANSWERED if answered else SurveyState.ASKED,
                score=(rng.randint(0, 10) if nps else rng.randint(1, 5)) if answered else None,
                queue=rng.choice(queues),
                agent=rng.choice(agents + [None]),
                due_at=asked,
                asked_at=asked,
                answered_at=asked if answered else None,
            )  # fmt: skip
        )
    Survey.objects.bulk_create(rows, batch_size=5000)


def _queries(django_client, manager) -> int:
    django_client.force_login(manager)
    with CaptureQueriesContext(connection) as ctx:
        page = django_client.get("/feedback/reports/")
    assert page.status_code == 200
    return len(ctx.captured_queries)


def test_the_report_page_counts_the_same_queries_for_1k_and_100k_responses(client, manager):
    _responses(1_000)
    small = _queries(client, manager)
    _responses(99_000, seed=2)
    assert Survey.objects.count() == 100_000
    large = _queries(client, manager)
    assert small == large, (small, large)


def test_the_figures_equal_a_direct_recount(db):
    _responses(500)
    cases = [RecoveryCase(customer=CustomerFactory(), reason="low_score", due_at=timezone.now(),
                          score_before=b, score_after=a) for b, a in ((1, 4), (2, 2), (1, None),
                              (2, 5))]  # fmt: skip
    RecoveryCase.objects.bulk_create(cases)
    data = reports.report(reports.Filters())
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT channel, count(*), count(score),
                      count(*) FILTER (WHERE scale = 'csat' AND score IS NOT NULL),
                      count(*) FILTER (WHERE scale = 'csat' AND score >= 4),
                      count(*) FILTER (WHERE scale = 'nps' AND score >= 9),
                      count(*) FILTER (WHERE scale = 'nps' AND score <= 6),
                      count(*) FILTER (WHERE scale = 'nps' AND score IS NOT NULL)
               FROM feedback_survey WHERE state IN ('asked', 'answered', 'expired') GROUP BY channel"""
        )
        expected = {row[0]: row[1:] for row in cursor.fetchall()}
    got = {
        row.key: (row.asked, row.answered, row.csat_answers, row.satisfied, row.promoters, row.detractors,
                  row.nps_answers)
        for row in data["groups"]["channel"]
    }  # fmt: skip
    assert got == expected
    total = data["totals"]
    assert total.asked == 500 and total.csat == pytest.approx(
        sum(e[3] for e in expected.values()) / sum(e[2] for e in expected.values())
    )
    assert data["recovered"].resurveyed == 3 and data["recovered"].improved == 2
    assert sum(r.asked for r in data["groups"]["week"]) == 500
    assert sum(r.asked for r in data["groups"]["queue"]) == 500


def test_the_csv_export_has_a_row_per_channel(client, manager):
    _responses(200)
    client.force_login(manager)
    response = client.get("/feedback/reports.csv?group=channel")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert (
        lines[0].startswith("channel,asked,answered")
        and len(lines) == 1 + Survey.objects.values("channel").distinct().count()
    )
    assert client.get("/feedback/reports.csv?group=nope").status_code == 400


def test_the_report_is_for_managers(agent_client):
    assert agent_client.get("/feedback/reports/").status_code == 403


def test_the_surveys_api_lists_responses_for_staff(client, agent):
    _responses(30)
    assert client.get("/api/v1/surveys/").status_code in (401, 403)
    client.force_login(agent)
    data = client.get("/api/v1/surveys/?answered=true&page_size=100").json()
    rows = data["results"]
    assert rows and all(r["score"] is not None for r in rows)
    assert {"score", "channel", "customer", "ticket", "asked_at", "answered_at"} <= set(rows[0])
    assert client.get("/api/v1/recovery/cases/").status_code == 200
    assert client.get("/api/v1/recovery/incentives/").status_code == 200
