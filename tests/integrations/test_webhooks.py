"""Outbound webhooks: each event reaches a receiver that fails then recovers exactly once as a
success, signed, with the same event id on every attempt; the address guard refuses loopback,
metadata, private and IPv6 loopback addresses, at subscription and on every redirect."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from helpdesk.integrations import netguard, webhooks
from helpdesk.integrations.models import DeliveryStatus, WebhookDelivery
from helpdesk.tickets.services import create_ticket
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SECRET = "a-long-signing-secret-0123"


class Receiver:
    """A local HTTP receiver that answers `fail_first` requests with 503, then 200."""

    def __init__(
        self, *, fail_first: int = 0, host: str = "127.0.0.1", port: int = 0, redirect_to: str = ""
    ) -> None:
        self.fail_first, self.requests = fail_first, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                if redirect_to:
                    self.send_response(307)
                    self.send_header("Location", redirect_to)
                elif len(receiver.requests) <= receiver.fail_first:
                    self.send_response(503)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the tests' receivers; nothing else local


def _retry_until_settled(rounds: int = 12) -> None:
    moment = timezone.now()
    for _ in range(rounds):
        moment += timedelta(hours=3)
        webhooks.deliver_due(now=moment)


def test_a_receiver_that_fails_then_recovers_gets_each_event_once_signed(
    local, django_capture_on_commit_callbacks
):
    receiver = Receiver(fail_first=3)
    try:
        webhooks.subscribe(url=receiver.url, events=["ticket.created"], secret=SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            tickets = [create_ticket(customer=CustomerFactory(), subject=f"Flooded {i}") for i in range(2)]
        _retry_until_settled()
    finally:
        receiver.stop()
    deliveries = WebhookDelivery.objects.order_by("id")
    assert [d.status for d in deliveries] == [DeliveryStatus.DELIVERED] * 2
    ids = Counter(headers["X-Tourniquet-Event-Id"] for headers, _body in receiver.requests)
    assert set(ids) == {d.event_id for d in deliveries} and sum(ids.values()) == 2 + 3  # three 503s retried
    succeeded = receiver.requests[3:]
    assert len({h["X-Tourniquet-Event-Id"] for h, _b in succeeded}) == 2  # each event succeeded once
    for headers, body in receiver.requests:
        expected = hmac.new(SECRET.encode(), headers["X-Tourniquet-Timestamp"].encode() + b"." + body,
                            hashlib.sha256).hexdigest()  # fmt: skip
        assert headers["X-Tourniquet-Signature"] == "sha256=" + expected
        assert headers["X-Tourniquet-Event"] == "ticket.created"
    payloads = {json.loads(body)["data"]["ticket"] for _h, body in succeeded}
    assert payloads == {t.pk for t in tickets}


def test_a_receiver_that_is_down_then_up_is_retried_with_backoff(local, django_capture_on_commit_callbacks):
    receiver = Receiver()
    url = receiver.url
    receiver.stop()  # down: connection refused
    webhooks.subscribe(url=url, events=["ticket.created"], secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        create_ticket(customer=CustomerFactory(), subject="Down")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now() and "Connection" in delivery.last_error
    assert webhooks.deliver_due() == 0  # not due yet: backoff
    again = Receiver(port=receiver.port)  # back up on the same address
    try:
        _retry_until_settled()
    finally:
        again.stop()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert len(again.requests) == 1


def test_a_subscription_failing_again_and_again_is_disabled_and_a_replay_resends(local, settings):
    receiver = Receiver(fail_first=10_000)
    try:
        subscription = webhooks.subscribe(url=receiver.url, events=["ticket.created"], secret=SECRET)
        for i in range(webhooks.MAX_CONSECUTIVE_FAILURES):
            create_ticket(customer=CustomerFactory(), subject=f"t{i}")
        webhooks.deliver_due()
        subscription.refresh_from_db()
        assert not subscription.is_active and "20 failed deliveries" in subscription.disabled_reason
        receiver.fail_first = 0
        webhooks.enable(subscription=subscription)
        delivery = WebhookDelivery.objects.order_by("id").first()
        webhooks.replay(delivery=delivery)
        webhooks.deliver_due()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED
        assert receiver.requests[-1][0]["X-Tourniquet-Event-Id"] == delivery.event_id
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hook", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook", "http://[::1]/hook",
     "http://localhost/hook", "ftp://example.com/", "http://user:pw@example.com/"],
)  # fmt: skip
def test_the_guard_refuses_local_private_and_metadata_addresses(url):
    with pytest.raises(netguard.Refused):
        netguard.check(url)


def test_the_api_answers_400_for_an_address_the_guard_refuses(client, manager):
    client.force_login(manager)
    for url in ("http://127.0.0.1/hook", "http://169.254.169.254/", "http://10.0.0.1/", "http://[::1]/"):
        body = {"url": url, "events": ["ticket.created"], "secret": SECRET}
        response = client.post("/api/v1/webhooks/", body, content_type="application/json")
        assert response.status_code == 400, url
        assert "url" in response.json()["fields"]


def test_the_api_creates_a_subscription_for_managers(client, manager, agent, local):
    receiver = Receiver()
    try:
        client.force_login(agent)
        body = {"url": receiver.url, "events": ["ticket.created", "survey.answered"], "secret": SECRET}
        assert client.post("/api/v1/webhooks/", body, content_type="application/json").status_code == 403
        client.force_login(manager)
        created = client.post("/api/v1/webhooks/", body, content_type="application/json")
        assert created.status_code == 201 and "secret" not in created.json()
        assert client.get("/api/v1/webhooks/").json()["results"][0]["url"] == receiver.url
    finally:
        receiver.stop()


@pytest.mark.parametrize("target", ["http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data/"])
def test_a_redirect_to_a_refused_address_is_not_followed(settings, target):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]  # the redirector only
    redirector = Receiver(host="127.0.0.2", redirect_to=target)
    try:
        with pytest.raises(netguard.Refused):
            netguard.post(redirector.url, body=b"{}", headers={}, timeout=2)
    finally:
        redirector.stop()
    assert len(redirector.requests) == 1


def test_the_delivery_log_page_replays_a_delivery(client, manager, local, django_capture_on_commit_callbacks):
    receiver = Receiver(fail_first=1)
    try:
        subscription = webhooks.subscribe(url=receiver.url, events=["ticket.created"], secret=SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            create_ticket(customer=CustomerFactory(), subject="Logged")
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING
        client.force_login(manager)
        page = client.get(f"/manage/webhooks/{subscription.pk}/")
        assert page.status_code == 200 and delivery.event_id in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/manage/webhooks/{subscription.pk}/deliveries/{delivery.pk}/replay/")
        assert response.status_code == 302
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED and len(receiver.requests) == 2
    finally:
        receiver.stop()
