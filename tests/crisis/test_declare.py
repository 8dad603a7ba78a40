"""Declare in one guided action: preview every channel without writing, then declare in one
transaction; the manage page's statement card publishes, approves and rolls back."""

from __future__ import annotations

import pytest

from helpdesk.accounts.models import Role
from helpdesk.crisis.models import Broadcast, Crisis, CrisisStatus, DirectoryEntry, StatementStatus
from tests.factories import ContactPointFactory, UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "title": "River flood",
    "severity": "4",
    "title_en": "River flood in the north",
    "summary_en": "The river flooded three towns.",
    "what_to_do_en": "Freeze your card in the app.",
    "unknowns_en": "We do not know when branches reopen.",
    "title_fa": "سیل در شمال",
    "summary_fa": "رودخانه سه شهر را فرا گرفت.",
    "what_to_do_fa": "کارت خود را در برنامه مسدود کنید.",
    "dir0_need_en": "Emergencies",
    "dir0_need_fa": "اضطراری",
    "dir0_channel": "call",
    "dir0_target": "+14155550199",
    "dir0_hours": "",
    "publish_banner": "on",
    "broadcast": "on",
    "broadcast_channel": "sms",
    "languages": ["fa"],
    "rate_per_second": "0",
}


@pytest.fixture
def manager_client(client):
    client.force_login(UserFactory(username="mina", role=Role.MANAGER))
    return client


def test_preview_shows_every_channel_and_writes_nothing(manager_client):
    ContactPointFactory(value="+14155550111", language="fa", customer__language="fa")
    response = manager_client.post("/manage/crisis/declare/", {**FORM, "action": "preview"})
    assert response.status_code == 200
    page = response.content.decode()
    for surface in ("Crisis page", "Website banner", "Chat widget", "SMS HELP answer", "Phone line (IVR)"):
        assert surface in page
    assert page.count("رودخانه سه شهر را فرا گرفت.") >= 3  # page, banner, widget in Persian
    assert "Emergencies: Call +14155550199" in page  # the directory in the HELP answer
    assert "River flood in the north. The river flooded three towns. Freeze your card in the app." in page
    assert 'value="declare"' in page
    assert not Crisis.objects.exists() and not DirectoryEntry.objects.exists()


def test_declare_publishes_the_statement_directory_banner_and_first_broadcast(manager_client):
    ContactPointFactory(value="+14155550111", language="fa", customer__language="fa")
    response = manager_client.post("/manage/crisis/declare/", {**FORM, "action": "declare"})
    crisis = Crisis.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/manage/crisis/{crisis.pk}/"
    assert crisis.status == CrisisStatus.ACTIVE
    assert (crisis.statement.number, crisis.statement.status) == (1, StatementStatus.PUBLISHED)
    assert list(crisis.directory_entries.values_list("target", flat=True)) == ["+14155550199"]
    assert crisis.banners.get().published_at is not None
    broadcast = Broadcast.objects.get(crisis=crisis)
    assert broadcast.audience == {"languages": ["fa"]}
    assert "کارت خود را در برنامه مسدود کنید." in broadcast.bodies["fa"]
    public = manager_client.get("/crisis/?lang=fa").content.decode()
    assert "رودخانه سه شهر را فرا گرفت." in public and "+14155550199" in public
    # The manage page's card: a new version, then a rollback, each on every channel at once.
    new = {f"{k}_en": v for k, v in {"title": "Flood", "summary": "Water is receding."}.items()}
    manager_client.post(f"/manage/crisis/{crisis.pk}/statement/new/", new)
    assert "Water is receding." in manager_client.get("/crisis/?lang=en").content.decode()
    manager_client.post(f"/manage/crisis/{crisis.pk}/statement/rollback/")
    english = manager_client.get("/crisis/?lang=en").content.decode()
    assert "The river flooded three towns." in english and "Water is receding." not in english
    card = manager_client.get(f"/manage/crisis/{crisis.pk}/").content.decode()
    assert "Every channel says version 3." in card and "statement_rollback" in card


def test_a_statement_without_what_happened_is_not_declarable(manager_client):
    form = {k: v for k, v in FORM.items() if not k.startswith("summary_")}
    page = manager_client.post("/manage/crisis/declare/", {**form, "action": "preview"}).content.decode()
    assert "Say what happened in at least one language." in page and 'value="declare"' not in page
    manager_client.post("/manage/crisis/declare/", {**form, "action": "declare"})
    assert not Crisis.objects.exists()  # nothing half-declared


def test_agents_cannot_declare(client):
    client.force_login(UserFactory(role=Role.AGENT))
    assert client.get("/manage/crisis/declare/").status_code in (302, 403)
    assert client.post("/manage/crisis/declare/", {**FORM, "action": "declare"}).status_code in (302, 403)
    assert not Crisis.objects.exists()


def test_the_manage_page_resolves_with_a_final_statement_and_one_closing_message_each(
    manager_client, django_capture_on_commit_callbacks
):
    from helpdesk.crisis.models import BroadcastDelivery

    ContactPointFactory(value="+14155550111", language="fa", customer__language="fa")
    with django_capture_on_commit_callbacks(execute=True):  # the first broadcast goes out
        manager_client.post("/manage/crisis/declare/", {**FORM, "action": "declare"})
    crisis = Crisis.objects.get()
    page = manager_client.get(f"/manage/crisis/{crisis.pk}/").content.decode()
    assert "The closing message reaches" in page and 'id="close-crisis"' in page
    closing = {
        "close-summary_en": "The water is gone; all branches are open.",
        "close-closing_en": "The flood is over. Thank you for your patience.",
        "close-closing_fa": "سیل تمام شد. از صبر شما سپاسگزاریم.",
        "close-send": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(f"/manage/crisis/{crisis.pk}/statement/close/", closing)
    crisis.refresh_from_db()
    assert crisis.status == CrisisStatus.RESOLVED and crisis.statement.number == 2
    closing_broadcast = crisis.broadcasts.exclude(name__startswith="First broadcast").get()
    deliveries = BroadcastDelivery.objects.filter(broadcast=closing_broadcast)
    assert list(deliveries.values_list("to", "language")) == [("+14155550111", "fa")]
    again = manager_client.post(f"/manage/crisis/{crisis.pk}/statement/close/", closing, follow=True)
    assert (
        "already been closed" in again.content.decode() or 'id="close-crisis"' not in again.content.decode()
    )
    assert crisis.broadcasts.count() == 2  # the first broadcast and one closing, never a second


def test_a_manager_forces_surge_mode_and_sets_thresholds_from_the_crisis_center(manager_client):
    from helpdesk.crisis.models import CrisisAudit, Surge

    assert "Surge mode" in manager_client.get("/manage/crisis/").content.decode()
    manager_client.post("/manage/crisis/surge/", {"scope": "all", "action": "on"})
    assert Surge.objects.get(scope="all").is_on
    manager_client.post(
        "/manage/crisis/surge/",
        {"scope": "channel:sms", "action": "thresholds", "on_at": "40", "off_at": "10"},
    )
    assert Surge.objects.filter(scope="channel:sms", on_at=40, off_at=10).exists()
    refused = manager_client.post(
        "/manage/crisis/surge/",
        {"scope": "all", "action": "thresholds", "on_at": "5", "off_at": "9"},
        follow=True,
    )
    assert Surge.objects.get(scope="all").on_at != 5
    assert 'class="message error"' in refused.content.decode()  # said why, nothing changed
    assert set(CrisisAudit.objects.values_list("action", "actor_name")) >= {
        ("surge_on", "mina"),
        ("surge_thresholds", "mina"),
    }
    page = manager_client.get("/manage/crisis/").content.decode()
    assert "expected wait about" in page  # the capacity alert of the forced surge


def test_a_version_recorded_per_language_is_played_and_the_next_version_is_said_again(
    manager_client, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from helpdesk.crisis import public

    settings.MEDIA_ROOT = str(tmp_path)
    with_mp3 = {
        "summary_en": "The river flooded.",
        "recording_en": SimpleUploadedFile("v1.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 64),
    }
    crisis = Crisis.objects.create(title="Flood", status=CrisisStatus.ACTIVE)
    manager_client.post(f"/manage/crisis/{crisis.pk}/statement/new/", with_mp3)
    played = public.crisis_entry(public.current(), crisis.pk)["recordings"]["en"]
    assert manager_client.get(played).status_code == 200  # the IVR's public recording URL
    refused = {"summary_en": "Water falls.", "recording_en": SimpleUploadedFile("x.mp3", b"<html>")}
    page = manager_client.post(
        f"/manage/crisis/{crisis.pk}/statement/new/", refused, follow=True
    ).content.decode()
    assert "not an MP3 or WAV" in page and crisis.statements.count() == 1
    manager_client.post(f"/manage/crisis/{crisis.pk}/statement/new/", {"summary_en": "Water falls."})
    assert public.crisis_entry(public.current(), crisis.pk)["recordings"] == {}  # v2 is said, not v1 played


def test_the_preview_says_up_front_when_the_broadcast_would_outlast_the_providers_queue(
    manager_client, settings
):
    settings.BROADCAST_QUEUE_WINDOW_HOURS = 0.0001  # 0.36 s: one recipient at 1 a second is too slow
    ContactPointFactory(value="+14155550111", language="fa", customer__language="fa")
    page = manager_client.post(
        "/manage/crisis/declare/", {**FORM, "rate_per_second": "1", "action": "preview"}
    ).content.decode()
    assert "longer than the" in page and 'value="declare"' not in page
    assert not Crisis.objects.exists()
