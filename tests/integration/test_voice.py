"""Voice end to end with real processes: the fake Twilio rings the app server (gunicorn) and walks
its TwiML with the caller's keys; the SMS a caller asks for goes out through a real Celery worker
and the real SDK to the fake; a voicemail's recording is fetched from the fake through the media
proxy; an agent's call back is placed through the SDK, and the fake's status callbacks log it.
"""

from __future__ import annotations

import pytest

from channels_app.voice.models import Call, CallOutcome, IvrConfig
from helpdesk.crisis.models import Crisis, CrisisStatus
from helpdesk.tickets.models import Direction, Priority, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "+14155550177"


@pytest.fixture
def flood(db):
    return Crisis.objects.create(
        title="Flood",
        status=CrisisStatus.ACTIVE,
        texts={
            "en": {"summary": "The river flooded the town.", "what_to_do": "Freeze your card in the app."}
        },
    )


@pytest.fixture
def customer_point(db):
    return ContactPointFactory(customer=CustomerFactory(language="en"), value=CUSTOMER, verified=True)


def _dial(fake_twilio, app_server, *inputs, **spec) -> dict:
    sid = fake_twilio.dial(
        caller=CUSTOMER, url=app_server.url + "/webhooks/twilio/voice/", inputs=inputs, **spec
    )
    return fake_twilio.wait_call(sid)


def test_pressing_1_texts_the_steps_and_counts_the_call_as_deflected(
    fake_twilio, celery_worker_process, app_server, flood, customer_point
):
    state = _dial(fake_twilio, app_server, "1")
    said = " ".join(s.get("text", "") for s in state["steps"])
    assert "The river flooded the town." in said and "sent you the steps" in said
    sms = fake_twilio.wait_for(to=CUSTOMER)
    assert "Freeze your card in the app." in sms[0]["body"]
    call = wait_until(lambda: Call.objects.filter(call_sid=state["sid"], status="completed").first())
    assert call.outcome == CallOutcome.DEFLECTED and call.duration >= 1
    event = TimelineEvent.objects.get(provider="twilio", provider_id=state["sid"])
    assert event.payload["call"]["outcome"] == "deflected"
    reply = TimelineEvent.objects.get(channel="sms", direction=Direction.OUT)
    wait_until(lambda: TimelineEvent.objects.get(pk=reply.pk).provider_id == sms[0]["sid"])


def test_a_voicemail_lands_on_the_timeline_with_its_recording_and_transcript(
    fake_twilio, app_server, flood, customer_point, agent_client
):
    state = _dial(fake_twilio, app_server, "3", recording_text="Please freeze my card, I am abroad.")
    assert [s["verb"] for s in state["steps"]][-2:] == ["Say", "Hangup"]
    voicemail = wait_until(
        lambda: TimelineEvent.objects.filter(kind="voicemail", body__startswith="Please").first(), timeout=10
    )
    assert voicemail.body == "Please freeze my card, I am abroad."
    call = wait_until(lambda: Call.objects.filter(call_sid=state["sid"], status="completed").first())
    assert call.outcome == CallOutcome.VOICEMAIL and voicemail.ticket_id == call.ticket_id
    # The agent plays it through the authenticated media proxy (the fake asks for credentials).
    page = agent_client.get(f"/tickets/{voicemail.ticket_id}/")
    assert b'<audio class="media-audio"' in page.content
    audio = agent_client.get(f"/tickets/{voicemail.ticket_id}/media/{voicemail.pk}/1/")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"
    assert audio.content.startswith(b"ID3")


def test_a_call_back_request_becomes_a_ticket_and_the_agent_calls_back(
    fake_twilio, app_server, flood, customer_point, agent_client, agent
):
    IvrConfig.objects.create(crisis=flood, surge_wait_seconds=30)
    state = _dial(fake_twilio, app_server, "2", "1")
    assert "called back" in " ".join(s.get("text", "") for s in state["steps"])
    call = wait_until(
        lambda: Call.objects.filter(call_sid=state["sid"], outcome=CallOutcome.CALLBACK).first()
    )
    ticket = call.ticket
    assert ticket.priority == Priority.HIGH and "callback" in [t.name for t in ticket.tags.all()]

    response = agent_client.post(f"/voice/tickets/{ticket.pk}/call-back/", {"to": CUSTOMER})
    assert response.status_code == 200 and b"Calling" in response.content
    placed = Call.objects.get(direction="outbound")
    assert placed.placed_by == agent and placed.ticket_id == ticket.pk
    assert placed.answered_by is None or placed.answered_at is not None  # not before they pick up
    outbound = fake_twilio.wait_call(placed.call_sid)
    assert outbound["direction"] == "outbound"
    assert {"verb": "Dial", "to": [{"kind": "Client", "value": "agent-agent"}]} in outbound["steps"]
    logged = wait_until(
        lambda: TimelineEvent.objects.filter(ticket=ticket, kind="call", body__contains="answered").first()
    )
    assert logged.author == agent
    placed.refresh_from_db()
    assert placed.status == "completed" and placed.outcome == CallOutcome.ANSWERED
    assert placed.answered_by == agent and placed.answered_at is not None
