"""Managers set up chat widgets: sites, look, a greeting per language, business hours."""

from __future__ import annotations

from channels_app.chat.models import ChatWidget


def form(**changes) -> dict:
    data = {
        "name": "Airline help", "allowed_origins": "https://fly.example.org", "colour": "#0f766e",
        "position": "start", "queue": "", "reply_minutes": "10", "time_zone": "Asia/Tehran",
        "is_active": "on",
        "greeting_en": "Stuck abroad? Write to us.", "greeting_fa": "در سفر مانده‌اید؟ بنویسید.",
        "opens_0": "08:00", "closes_0": "18:00", "opens_5": "10:00", "closes_5": "",
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_manager_creates_a_widget_with_its_hours_and_greetings(manager_client):
    answer = manager_client.post("/manage/chat/new/", form())
    assert answer.status_code == 302
    widget = ChatWidget.objects.get()
    assert widget.hours == [[0, "08:00", "18:00"], [5, "10:00", "24:00"]]
    assert widget.greeting == {"en": "Stuck abroad? Write to us.", "fa": "در سفر مانده‌اید؟ بنویسید."}
    assert widget.time_zone == "Asia/Tehran" and widget.position == "start" and widget.colour == "#0f766e"
    page = manager_client.get("/manage/chat/").content.decode()
    assert f'data-widget="{widget.key}"' in page and "https://fly.example.org" in page
    edit = manager_client.get(f"/manage/chat/{widget.pk}/").content.decode()
    assert 'value="08:00"' in edit and "Stuck abroad?" in edit


def test_wrong_hours_and_sites_are_said_and_nothing_is_saved(manager_client):
    answer = manager_client.post("/manage/chat/new/", form(opens_2="18:00", closes_2="09:00"))
    assert answer.status_code == 200 and "closes after it opens" in answer.content.decode()
    answer = manager_client.post("/manage/chat/new/", form(allowed_origins="javascript:alert(1)"))
    assert answer.status_code == 200 and "Not a website origin" in answer.content.decode()
    answer = manager_client.post("/manage/chat/new/", form(time_zone="Mars/Olympus"))
    assert answer.status_code == 200 and "Not a time zone" in answer.content.decode()
    assert not ChatWidget.objects.exists()


def test_agents_may_not_change_widgets(agent_client):
    assert agent_client.get("/manage/chat/").status_code == 403
    assert agent_client.post("/manage/chat/new/", form()).status_code == 403
    assert not ChatWidget.objects.exists()
