"""HELP by email answers on the thread with the published crisis statement and directory, as the
SMS HELP answer does; a story that merely mentions help is a normal message."""

from __future__ import annotations

import pytest

from helpdesk.crisis import services, statements
from helpdesk.crisis.models import Deflection
from helpdesk.tickets.models import Direction, Ticket
from tests.channels_app.email.conftest import post_mail
from tests.channels_app.email.mails import mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(db):
    crisis = services.activate_crisis(crisis=services.create_crisis(title="Flood"))
    services.save_directory_entry(
        need={"en": "Emergencies"}, channel="call", target="+14155550199", crisis=crisis
    )
    texts = {
        "en": {"title": "River flood", "summary": "The river flooded.", "what_to_do": "Freeze your card."}
    }
    statements.request_publish(statement=statements.create_statement(crisis=crisis, texts=texts))
    return crisis


def test_an_email_saying_help_gets_the_statement_and_the_directory(
    client, smtp_server, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_mail(client, mail(subject="help", body="HELP")).status_code == 202
    (received,) = smtp_server.to("maryam@example.com")
    text = received.get_body(("plain",)).get_content()
    assert text.startswith("Tourniquet help desk: reply to this email")
    assert "River flood: Freeze your card." in text and "Emergencies: Call +14155550199" in text
    assert Deflection.objects.filter(kind="help_answer", channel="email", crisis=published).count() == 1


def test_a_story_asking_for_help_is_a_message_for_an_agent(
    client, smtp_server, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_mail(client, mail(subject="Help", body="Help, our basement is flooded. What do we do first?"))
    assert smtp_server.to("maryam@example.com") == []
    assert not Ticket.objects.get().events.filter(direction=Direction.OUT).exists()
    assert not Deflection.objects.exists()
