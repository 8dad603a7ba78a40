"""The IVR editor, its recordings, and the ticket's calls panel: who may, what is kept, what is refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.voice.models import Call, CallOutcome, IvrConfig
from helpdesk.crisis.models import Crisis, CrisisStatus
from tests.factories import ContactPointFactory, TicketFactory

pytestmark = pytest.mark.django_db

MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 200


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _form(**extra) -> dict:
    return {
        "offer_sms": "on", "offer_agent": "on", "offer_voicemail": "on", "surge_wait_seconds": "120",
        "handle_seconds": "200", "agents_on_phones": "3", "time_zone": "Asia/Tehran",
        "message_en": "The river flooded the town.", "sms_fa": "کارت را در برنامه مسدود کنید.", **extra,
    }  # fmt: skip


def test_a_manager_sets_the_crisis_ivr_with_a_recording_that_twilio_can_play(manager_client):
    from django.test import Client

    crisis = Crisis.objects.create(title="Flood", status=CrisisStatus.ACTIVE)
    upload = SimpleUploadedFile("flood-fa.mp3", MP3, content_type="audio/mpeg")
    response = manager_client.post(f"/voice/ivr/?crisis={crisis.pk}", _form(recording_fa=upload))
    assert response.status_code == 302
    config = IvrConfig.objects.get(crisis=crisis)
    assert config.messages == {"en": "The river flooded the town."}
    assert config.sms_steps == {"fa": "کارت را در برنامه مسدود کنید."}
    assert config.surge_wait_seconds == 120 and config.agents_on_phones == 3
    url = config.recordings["fa"]
    served = Client().get(url)  # public: Twilio fetches it without a session
    assert served.status_code == 200 and served["Content-Type"] == "audio/mpeg"
    assert b"".join(served.streaming_content) == MP3
    page = manager_client.get(f"/voice/ivr/?crisis={crisis.pk}")
    assert page.status_code == 200 and url.encode() in page.content


def test_a_file_that_is_not_audio_is_refused(manager_client):
    upload = SimpleUploadedFile("x.mp3", b"<svg onload=alert(1)>", content_type="audio/mpeg")
    response = manager_client.post("/voice/ivr/", _form(recording_en=upload))
    assert response.status_code == 200
    assert "not an MP3 or WAV" in response.content.decode()
    assert not IvrConfig.objects.exists()


def test_opening_hours_come_in_pairs(manager_client):
    response = manager_client.post("/voice/ivr/", _form(opens_at="08:00"))
    assert "opening and the closing" in response.content.decode()


def test_agents_cannot_edit_the_ivr(agent_client):
    assert agent_client.get("/voice/ivr/").status_code in (302, 403)
    assert agent_client.post("/voice/ivr/", _form()).status_code in (302, 403)
    assert not IvrConfig.objects.exists()


def test_recordings_outside_the_ivr_folder_are_not_served(client):
    for name in ("../settings.py", "en-aaaaaaaaaaaaaaaa.exe", "en-..%2F..%2Fx.mp3"):
        assert client.get(f"/voice/recordings/{name}").status_code == 404


def test_the_stats_count_what_calls_did(manager_client):
    from django.utils import timezone

    for i, outcome in enumerate([CallOutcome.DEFLECTED, CallOutcome.DEFLECTED, CallOutcome.VOICEMAIL]):
        Call.objects.create(call_sid=f"CA{i:032x}", from_number="+14155550100", outcome=outcome,
                            started_at=timezone.now())  # fmt: skip
    page = manager_client.get("/voice/ivr/stats/").content.decode()
    assert page.count("<dd>2</dd>") == 1 and page.count("<dd>1</dd>") == 1


def test_the_calls_panel_offers_a_call_back_only_to_the_customers_numbers(agent_client):
    ticket = TicketFactory()
    ContactPointFactory(customer=ticket.customer, value="+14155550123")
    panel = agent_client.get(f"/voice/tickets/{ticket.pk}/panel/").content.decode()
    assert "+14155550123" in panel
    response = agent_client.post(f"/voice/tickets/{ticket.pk}/call-back/", {"to": "+19005550000"})
    assert "one of the customer" in response.content.decode()
    assert not Call.objects.exists()


def test_the_editor_opens_on_the_active_crisis(manager_client):
    crisis = Crisis.objects.create(title="Ash cloud", status=CrisisStatus.ACTIVE)
    page = manager_client.get("/voice/ivr/").content.decode()
    assert f'<option value="{crisis.pk}" selected' in page
    ordinary = manager_client.get("/voice/ivr/?crisis=").content.decode()  # ordinary days, asked for
    assert f'<option value="{crisis.pk}" selected' not in ordinary
