"""One statement, versioned: publishing a version changes every public surface at once (crisis
page, banner.json, chat widget, SMS HELP answer, IVR), rollback publishes the previous words, a
second manager approves where the crisis asks for it, and every step is audited."""

from __future__ import annotations

import itertools

import pytest

from channels_app.chat.models import ChatWidget
from channels_app.sms.consent import help_text
from helpdesk.crisis import public, services, statements
from helpdesk.crisis.models import CrisisAudit, Statement, StatementStatus
from helpdesk.errors import ApplicationError
from tests.channels_app.chat.conftest import SITE, WidgetClient
from tests.channels_app.sms.conftest import Twilio
from tests.channels_app.voice.conftest import Caller
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CALLERS = itertools.count(100)

V1 = {
    "en": {
        "title": "River flood",
        "summary": "The river flooded the town centre.",
        "what_to_do": "Freeze your card in the app.",
        "unknowns": "We do not know yet when branches reopen.",
    },
    "fa": {
        "title": "سیل رودخانه",
        "summary": "رودخانه مرکز شهر را فرا گرفت.",
        "what_to_do": "کارت خود را در برنامه مسدود کنید.",
    },
}
V2 = {
    "en": {"title": "River flood", "summary": "Water is receding.", "what_to_do": "Branches reopen at noon."},
    "fa": {"title": "سیل رودخانه", "summary": "آب در حال فروکش است.", "what_to_do": "شعبه‌ها ظهر باز می‌شوند."},
}


@pytest.fixture
def manager():
    from helpdesk.accounts.models import Role

    return UserFactory(username="mina", role=Role.MANAGER)


@pytest.fixture
def crisis():
    crisis = services.create_crisis(title="Flood", severity=4)
    return services.activate_crisis(crisis=crisis)


def surfaces(client, language: str) -> dict[str, str]:
    """What each public surface says right now, in the language."""
    widget = ChatWidget.objects.first() or ChatWidget.objects.create(name="Shop", allowed_origins=SITE)
    session = WidgetClient(client, widget).start().json()
    # A new caller each time: the language menu first, then the crisis message.
    walk = Caller(Twilio(client)).call(
        {"en": "1", "fa": "2"}[language], "hangup-by-silence", caller=f"+1415555{next(CALLERS):04d}"
    )
    return {
        "page": client.get(f"/crisis/?lang={language}").content.decode(),
        "banner": client.get("/embed/banner.json").content.decode(),
        "widget": str(session["crisis"]),
        "help": help_text(language),
        "ivr": walk.said,
    }


def test_publishing_a_version_changes_every_surface_and_rollback_brings_the_old_words_back(
    client, crisis, manager
):
    v1 = statements.create_statement(crisis=crisis, texts=V1, author=manager)
    statements.request_publish(statement=v1, actor=manager)
    now = surfaces(client, "fa")
    assert "رودخانه مرکز شهر را فرا گرفت." in now["page"]
    # Persian has no "unknowns": the English words rather than silence about what is unknown.
    assert "We do not know yet when branches reopen." in now["page"]
    assert "رودخانه مرکز شهر را فرا گرفت." in now["banner"]  # the banner says the statement
    assert "رودخانه مرکز شهر را فرا گرفت." in now["widget"]
    assert "کارت خود را در برنامه مسدود کنید." in now["help"]
    # Persian has no Twilio voice: the IVR says the English words (no recording for this version).
    assert "The river flooded the town centre." in now["ivr"]

    v2 = statements.create_statement(crisis=crisis, texts=V2, author=manager)
    statements.request_publish(statement=v2, actor=manager)
    now = surfaces(client, "fa")
    assert {s: "آب در حال فروکش است." in now[s] for s in ("page", "banner", "widget")} == dict.fromkeys(
        ("page", "banner", "widget"), True
    )
    assert "شعبه‌ها ظهر باز می‌شوند." in now["help"]
    assert "Water is receding." in now["ivr"]
    assert not any("رودخانه مرکز شهر" in text for text in now.values())

    v3 = statements.rollback(crisis=crisis, actor=manager)
    assert (v3.number, v3.texts) == (3, v1.texts)
    now = surfaces(client, "en")
    assert {
        s: "The river flooded the town centre." in now[s] for s in ("page", "banner", "widget", "ivr")
    } == (dict.fromkeys(("page", "banner", "widget", "ivr"), True))
    assert "Freeze your card in the app." in now["help"]
    # Superseded versions stay readable; the crisis says v3's words.
    assert list(Statement.objects.filter(crisis=crisis).values_list("number", "status")) == [
        (3, StatementStatus.PUBLISHED),
        (2, StatementStatus.SUPERSEDED),
        (1, StatementStatus.SUPERSEDED),
    ]
    crisis.refresh_from_db()
    assert crisis.statement_id == v3.pk
    actions = list(
        CrisisAudit.objects.filter(crisis_id=crisis.pk).order_by("id").values_list("action", "actor_id")
    )
    assert actions == [
        ("statement_created", manager.pk),
        ("statement_published", manager.pk),
        ("statement_created", manager.pk),
        ("statement_published", manager.pk),
        ("statement_rollback", manager.pk),
        ("statement_published", manager.pk),
    ]


def test_a_recorded_version_is_played_in_the_callers_language(client, crisis, manager):
    recorded = statements.create_statement(
        crisis=crisis, texts=V1, author=manager, recordings={"fa": "/media/ivr/flood-v1-fa.mp3"}
    )
    statements.request_publish(statement=recorded, actor=manager)
    walk = Caller(Twilio(client)).call("2", "hangup-by-silence", caller="+14155551234")
    assert any(h.get("play", "").endswith("/media/ivr/flood-v1-fa.mp3") for h in walk.heard)


def test_a_version_waits_for_a_second_manager_when_the_crisis_asks(client, crisis, manager):
    from helpdesk.accounts.models import Role

    crisis.statements_need_approval = True
    crisis.save()
    v1 = statements.create_statement(crisis=crisis, texts=V1, author=manager)
    waiting = statements.request_publish(statement=v1, actor=manager)
    assert waiting.status == StatementStatus.PENDING_APPROVAL
    assert "River flood" not in client.get("/crisis/?lang=en").content.decode()  # not out yet
    with pytest.raises(ApplicationError) as refused:
        statements.approve_statement(statement=v1, approver=manager)
    assert refused.value.code == "same_approver"
    with pytest.raises(ApplicationError) as agent:
        statements.approve_statement(statement=v1, approver=UserFactory(role=Role.AGENT))
    assert agent.value.code == "forbidden"
    second = UserFactory(username="omid", role=Role.MANAGER)
    published = statements.approve_statement(statement=v1, approver=second)
    assert (published.status, published.approved_by_id, published.published_by_id) == (
        StatementStatus.PUBLISHED,
        second.pk,
        second.pk,
    )
    assert "The river flooded the town centre." in client.get("/crisis/?lang=en").content.decode()
    audit = CrisisAudit.objects.filter(crisis_id=crisis.pk, action="statement_approved").get()
    assert (audit.actor_name, audit.detail) == ("omid", {"version": 1})


def test_a_statement_must_say_what_happened_and_rollback_needs_an_earlier_version(crisis, manager):
    with pytest.raises(ApplicationError) as empty:
        statements.create_statement(crisis=crisis, texts={"en": {"title": "Flood"}}, author=manager)
    assert empty.value.code == "summary_required"
    with pytest.raises(ApplicationError):
        statements.rollback(crisis=crisis, actor=manager)
    v1 = statements.create_statement(crisis=crisis, texts=V1, author=manager)
    statements.request_publish(statement=v1, actor=manager)
    with pytest.raises(ApplicationError) as none_before:
        statements.rollback(crisis=crisis, actor=manager)
    assert none_before.value.code == "no_previous"
    with pytest.raises(ApplicationError) as twice:
        statements.request_publish(statement=v1, actor=manager)
    assert twice.value.code == "invalid_state"


def test_a_crisis_directory_replaces_the_everyday_one_honouring_languages_and_hours(client, crisis):
    services.save_directory_entry(need={"en": "Anything else"}, channel="email", target="help@example.org")
    services.save_directory_entry(
        need={"en": "Emergencies", "fa": "اضطراری"}, channel="call", target="+14155550199", crisis=crisis
    )
    services.save_directory_entry(
        need={"fa": "پوشش بیمه"}, channel="sms", target="+14155550188", languages=["fa"], crisis=crisis
    )
    english = client.get("/crisis/?lang=en").content.decode()
    assert "Emergencies" in english and "Anything else" not in english  # the crisis's lines only
    assert "+14155550188" not in english  # a Persian-only line
    assert "+14155550188" in help_text("fa") and "+14155550188" not in help_text("en")
    snapshot = public.current()
    closed = {"need": {"en": "Branch desk"}, "channel": "call", "target": "+1", "hours": "00:00-00:01"}
    lines = public.directory_for({**snapshot, "directory": [closed, *snapshot["directory"]]}, "en")
    assert [line["open"] for line in lines][-1] is False  # closed lines come last, marked
    banner = client.get("/embed/banner.json").json()["directory"]
    assert [(e["target"], e["languages"], e["open"]) for e in banner] == [
        ("+14155550199", [], True),
        ("+14155550188", ["fa"], True),
    ]  # banner.js and the widget leave out the Persian-only line in English, closed lines last
    services.resolve_crisis(crisis=crisis)
    assert "Anything else" in client.get("/crisis/?lang=en").content.decode()  # every-day lines again


def test_the_snapshot_serves_without_the_database_once_stored(
    settings, crisis, manager, django_assert_num_queries
):
    settings.PUBLIC_SNAPSHOT_FRESH_SECONDS = 30
    v1 = statements.create_statement(crisis=crisis, texts=V1, author=manager)
    statements.request_publish(statement=v1, actor=manager)
    stored = public.refresh()  # what the publish's commit does
    assert stored is not None and stored["crises"][0]["version"] == 1
    with django_assert_num_queries(0):
        assert public.current()["crises"][0]["texts"]["fa"]["title"] == "سیل رودخانه"
        assert "کارت خود را در برنامه مسدود کنید." in help_text("fa")


def test_canned_replies_and_the_crisis_bar_say_the_published_version(client, crisis, manager):
    from helpdesk.tickets.models import Macro
    from helpdesk.tickets.services import render_macro
    from tests.factories import TicketFactory

    macro = Macro.objects.create(
        title="Update", language="fa", body="{{ crisis.what_happened }} / {{ crisis.what_to_do }}"
    )
    ticket = TicketFactory(crisis=crisis, language="fa")
    for texts in (V1, V2):
        statement = statements.create_statement(crisis=crisis, texts=texts, author=manager)
        statements.request_publish(statement=statement, actor=manager)
        ticket.refresh_from_db()
        assert (
            render_macro(macro=macro, ticket=ticket)
            == f"{texts['fa']['summary']} / {texts['fa']['what_to_do']}"
        )
    client.force_login(manager)
    bar = client.get("/tickets/").content.decode()
    assert "statement v2" in bar and "Branches reopen at noon." in bar


def test_pressing_1_counts_the_call_as_deflected_once_even_when_twilio_retries(client, crisis, manager):
    from django.conf import settings

    from helpdesk.crisis.models import Deflection

    statements.request_publish(statement=statements.create_statement(crisis=crisis, texts=V1, author=manager))
    twilio = Twilio(client)
    walk = Caller(twilio).call("1", "1", caller="+14155559876")  # English, then 1: the steps
    replay = {"CallSid": walk.sid, "From": "+14155559876", "To": settings.TWILIO_FROM, "AccountSid": "AC0"}
    assert twilio.post("/webhooks/twilio/voice/menu/", {**replay, "Digits": "1"}).status_code == 200
    assert list(Deflection.objects.values_list("kind", "channel", "crisis_id")) == [
        ("ivr_sms", "voice", crisis.pk)
    ]
