"""Closing the loop end to end: resolving a crisis sends its closing message through a real Celery
worker to the fake Twilio (SMS, through the real SDK) and to a real SMTP server (aiosmtpd), and
each affected customer gets exactly one, on their channel, in their language.

The worker is started for this test (not the session's worker, whose email is the console
gateway) with SMS through the fake and email through SMTP; quiet hours are off in it, so the
test passes at any hour."""

from __future__ import annotations

import socket
import time
from collections import Counter
from email import policy
from email.parser import BytesParser

import pytest
from django.conf import settings as django_settings

from helpdesk.crisis import closing
from helpdesk.crisis.models import Broadcast, BroadcastStatus
from tests.crisis import workers
from tests.crisis.closing_scene import BODIES, FINAL, SUBJECTS, add_bystanders, build_scene
from tests.factories import UserFactory
from tests.fixtures.processes import TWILIO_GATEWAY, base_env, database_url, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Inbox:
    """An SMTP handler that keeps each recipient's plain-text bodies."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[str]] = {}

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        text = message.get_body(preferencelist=("plain",)).get_content()
        for rcpt in envelope.rcpt_tos:
            self.bodies.setdefault(rcpt, []).append(text)
        return "250 OK"


@pytest.fixture
def smtp_inbox():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def closing_worker(fake_twilio, smtp_inbox, settings, tmp_path):
    """A worker sending SMS to the fake Twilio and email to the SMTP inbox."""
    _inbox, port = smtp_inbox
    fake_twilio.configure(callbacks=False)  # no app server here to take status callbacks
    workers.purge_queues(django_settings.REDIS_URL)
    env = workers.worker_env(
        database_url=database_url(), redis_url=django_settings.REDIS_URL, gateway=TWILIO_GATEWAY
    )
    env.update({k: v for k, v in base_env().items() if k.startswith("TWILIO_")})
    env.update(
        CHANNEL_GATEWAYS=f"sms={TWILIO_GATEWAY},email=channels_app.email.gateway.SmtpGateway",
        TWILIO_API_BASE=fake_twilio.url,
        TWILIO_MESSAGES_PER_SECOND="0",
        BROADCAST_QUIET_HOURS="",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        DEFAULT_FROM_EMAIL="help@desk.test",
    )
    proc = workers.start_worker(env, name="closing", log=tmp_path / "worker.log")
    others = _set_aside_other_workers()
    try:
        yield
    finally:
        _take_back(others)
        workers.stop(proc)
        workers.purge_queues(django_settings.REDIS_URL)


def _set_aside_other_workers() -> list[str]:
    """The session's worker (started by an earlier test) listens on the same broker and would take
    the closing broadcasts with its console email gateway: it stops consuming the broadcast queue
    while this test runs. Waits until the closing worker answers, so it is the one left."""
    from helpdesk.celery import app

    deadline = time.monotonic() + 20
    while True:
        names = [name for reply in app.control.ping(timeout=0.5) for name in reply]
        if any(name.startswith("closing@") for name in names) or time.monotonic() > deadline:
            break
    others = [name for name in names if not name.startswith("closing@")]
    if others:
        app.control.cancel_consumer("broadcast", destination=others, reply=True, timeout=2)
    return others


def _take_back(others: list[str]) -> None:
    from helpdesk.celery import app

    if others:
        app.control.add_consumer("broadcast", destination=others, reply=True, timeout=2)


def test_resolving_sends_each_affected_customer_one_closing_message_on_their_channel_in_their_language(
    closing_worker, fake_twilio, smtp_inbox
):
    inbox, _port = smtp_inbox
    scene = build_scene(persian=("a", "c"))
    bystanders = add_bystanders(scene)
    began = time.monotonic()

    result = closing.close_crisis(
        crisis=scene.crisis,
        final_texts=FINAL,
        closing_bodies=BODIES,
        subjects=SUBJECTS,
        actor=UserFactory(username="closer"),
    )
    assert result.closed and len(result.broadcasts) == 2 and result.broadcasts_waiting == []
    ids = [b.pk for b in result.broadcasts]
    wait_until(
        lambda: (
            set(Broadcast.objects.filter(pk__in=ids).values_list("status", flat=True))
            == {BroadcastStatus.COMPLETED}
        ),
        timeout=25,
        step=0.2,
    )
    took = time.monotonic() - began

    texts = Counter(m["to"] for m in fake_twilio.messages())
    emails = Counter({to: len(bodies) for to, bodies in inbox.bodies.items()})
    print(f"closing: {dict(texts)} by SMS, {dict(emails)} by email, {took:.1f} s after close_crisis")
    # A wrote by SMS; B and C wrote by email (C's SMS broadcast does not earn a second message);
    # D got an email broadcast. E opted out, F is chat-only, the bystanders are not affected.
    assert texts == {scene.a_phone.value: 1}
    assert emails == {scene.b_email.value: 1, scene.c_email.value: 1, scene.d_email.value: 1}
    never = {scene.c_phone.value, scene.e_phone.value, scene.f_chat.value, *(p.value for p in bystanders)}
    assert never.isdisjoint(texts) and never.isdisjoint(emails)

    [sms] = fake_twilio.messages(scene.a_phone.value)
    assert sms["body"] == BODIES["fa"]  # A prefers Persian
    assert BODIES["fa"] in inbox.bodies[scene.c_email.value][0]
    assert BODIES["en"] in inbox.bodies[scene.b_email.value][0]
    assert BODIES["en"] in inbox.bodies[scene.d_email.value][0]
