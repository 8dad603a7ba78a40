"""The reports page and the staffing plan as a manager uses them: filters, charts, CSV, import."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from helpdesk.staffing.models import ImportedVolume
from tests.staffing.test_reports import BEGIN, _desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_the_reports_page_draws_its_charts_and_exports_csv(manager_client):
    from helpdesk.staffing import rollups

    _desk(80)
    rollups.refresh(now=BEGIN + timedelta(days=8))
    page = manager_client.get("/reports/?since=2026-11-02&until=2026-11-08")
    html = page.content.decode()
    assert page.status_code == 200 and html.count('role="img"') == 6
    csv = manager_client.get("/reports/export.csv?what=series&since=2026-11-02&until=2026-11-08")
    lines = csv.content.decode().splitlines()
    assert lines[0] == "start,contacts,opened,solved,backlog" and len(lines) == 1 + 7
    assert manager_client.get("/reports/export.csv?what=agents").status_code == 200
    assert manager_client.get("/reports/export.csv?what=nope").status_code == 400
    bad = manager_client.get("/reports/?since=2026-11-08&until=2026-11-01")
    assert bad.status_code == 200 and "The end comes before the start." in bad.content.decode()


def test_the_reports_are_for_managers(agent_client):
    assert agent_client.get("/reports/").status_code == 403
    assert agent_client.get("/staffing/").status_code == 403


def test_history_is_imported_by_csv_and_planned_from(manager_client):
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = ["start,channel,language,contacts"]
    for day in range(21, 0, -1):
        for slot in range(48):
            start = today - timedelta(days=day) + timedelta(minutes=30 * slot)
            rows.append(f"{start.isoformat()},voice,en,{40 if 16 <= slot < 36 else 4}")
    upload = SimpleUploadedFile("history.csv", "\n".join(rows).encode(), "text/csv")
    assert manager_client.post("/staffing/", {"file": upload}).status_code == 302
    assert ImportedVolume.objects.count() == 21 * 48
    again = SimpleUploadedFile("history.csv", "\n".join(rows).encode(), "text/csv")
    manager_client.post("/staffing/", {"file": again})
    assert ImportedVolume.objects.count() == 21 * 48  # once per interval
    tomorrow = (today + timedelta(days=1)).date().isoformat()
    page = manager_client.get(f"/staffing/?day={tomorrow}")
    assert page.status_code == 200 and 'role="img"' in page.content.decode()
    csv = manager_client.get(f"/staffing/plan.csv?day={tomorrow}").content.decode().splitlines()
    assert (
        csv[0].startswith("start,channel,language,expected_contacts,agents_needed,on_shift,gap")
        and len(csv) == 49
    )
    with_broadcast = (
        manager_client.get(
            f"/staffing/plan.csv?day={tomorrow}&broadcast_recipients=10000&broadcast_at=09:00&broadcast_language=en"
        )
        .content.decode()
        .splitlines()
    )
    assert len(with_broadcast) > len(csv)  # the broadcast's replies add an SMS line
    bad = SimpleUploadedFile("bad.csv", b"start,channel,contacts\n2026-01-01T00:10:00Z,voice,3\n", "text/csv")
    response = manager_client.post("/staffing/", {"file": bad}, follow=True)
    assert "Row 2" in response.content.decode()
