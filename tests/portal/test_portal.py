"""The portal's sign-in (a code works once and expires; ten wrong codes lock the sign-in) and a
self-service action whose backend is down: retried, and done exactly once when it is back."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.customers import codes
from helpdesk.messaging.models import Outbox
from helpdesk.portal import services
from helpdesk.portal.fake_backends import FakeBackends
from helpdesk.portal.models import ActionUse, SelfServiceAction, UseStatus
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db

ABROAD = "+85512345678"  # a Cambodian number
SECRET = "backend-secret-0123456789"


@pytest.fixture
def customer_point(db):
    return ContactPointFactory(value=ABROAD, customer=CustomerFactory(name="Sok Dara", language="km"))


def _code_sent_to(value: str) -> str:
    row = Outbox.objects.filter(to=value).order_by("-id").first()
    assert row is not None, "no code was sent"
    return re.search(r"\d{6}", row.body).group(0)


def _sign_in(client, value: str, code: str):
    client.post("/portal/", {"value": value})
    return client.post("/portal/code/", {"code": code})


def test_a_code_signs_in_once(client, customer_point):
    client.post("/portal/", {"value": ABROAD})
    code = _code_sent_to(ABROAD)
    response = client.post("/portal/code/", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/portal/home/"
    assert "Sok Dara" in client.get("/portal/home/").content.decode()
    other = client.__class__()
    other.post("/portal/", {"value": ABROAD})
    Outbox.objects.all().delete()  # the new code is not looked at: the old one is tried again
    assert other.post("/portal/code/", {"code": code}).status_code == 200  # used up
    assert other.get("/portal/home/").status_code == 302


def test_a_code_expires(client, customer_point, monkeypatch):
    monkeypatch.setattr(codes, "CODE_TTL_SECONDS", 1)
    client.post("/portal/", {"value": ABROAD})
    code = _code_sent_to(ABROAD)
    time.sleep(1.5)
    response = client.post("/portal/code/", {"code": code})
    assert response.status_code == 200 and "expired" in response.content.decode()
    assert client.get("/portal/home/").status_code == 302


def test_ten_wrong_codes_lock_the_sign_in_even_with_new_codes(client, customer_point):
    for attempt in range(10):
        if attempt % 4 == 0:  # a new code now and then: the lock counts the address, not the code
            client.post("/portal/", {"value": ABROAD})
        client.post("/portal/code/", {"code": "000000" if attempt % 2 else "999999"})
    client.post("/portal/", {"value": ABROAD})
    page = client.post("/portal/", {"value": ABROAD})
    assert "locked" in page.content.decode()
    with pytest.raises(services.PortalRefused) as refused:
        services.check_code(value=ABROAD, code=_code_sent_to(ABROAD))
    assert refused.value.code == "locked" and refused.value.retry_after > 0


def test_an_unknown_address_gets_the_same_answer_and_no_message(client, db):
    response = client.post("/portal/", {"value": "+85599999999"})
    assert response.status_code == 302 and response["Location"] == "/portal/code/"
    assert not Outbox.objects.exists()


def test_an_opted_out_number_gets_no_code(client, customer_point):
    customer_point.opted_out_at = timezone.now()
    customer_point.save()
    client.post("/portal/", {"value": ABROAD})
    assert not Outbox.objects.exists()


@pytest.fixture
def freeze(db, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    backends = FakeBackends(secret=SECRET).start()
    action = SelfServiceAction.objects.create(
        slug="freeze-card", title={"en": "Freeze my card"}, url=backends.url + "/bank/freeze", secret=SECRET,
        fields=[{"name": "card", "label": {"en": "Last 4 digits"}, "kind": "text", "required": True,
                 "max_length": 4}],
        result_text={"en": "Your card is frozen (reference {reference})."},
    )  # fmt: skip
    yield action, backends
    backends.stop()


def test_a_backend_that_is_down_is_retried_and_does_it_exactly_once_when_back(customer_point, freeze):
    action, backends = freeze
    port = int(backends.url.rsplit(":", 1)[1])
    backends.stop()  # the bank is down
    use = services.use_action(
        action=action, customer=customer_point.customer, values={"card": "4242"}, language="en"
    )
    assert services.call_due_actions() == 0
    use.refresh_from_db()
    assert use.status == UseStatus.PENDING and use.attempts == 1 and use.last_error
    later = timezone.now() + timedelta(seconds=31)
    assert services.call_due_actions(now=later) == 0  # still down: a second attempt, later again
    back = FakeBackends(secret=SECRET, port=port).start()
    try:
        done = 0
        for step in range(2, 8):
            done += services.call_due_actions(now=later + timedelta(minutes=2**step))
        use.refresh_from_db()
        assert done == 1 and use.status == UseStatus.DONE and use.result["reference"].startswith("FRZ-")
        assert back.done == {str(use.idempotency_key): 1}
        # A lost answer and a replay of the same key do the work no second time.
        ActionUse.objects.filter(pk=use.pk).update(status=UseStatus.PENDING, next_attempt_at=timezone.now())
        services.call_due_actions()
        assert back.done == {str(use.idempotency_key): 1} and back.requests == 2
    finally:
        back.stop()


def test_a_self_service_use_is_on_the_timeline_and_counted_as_deflected(customer_point, freeze):
    from helpdesk.crisis.models import Crisis, CrisisStatus, Deflection
    from helpdesk.crisis.surge import deflection_counts
    from helpdesk.tickets.models import TimelineEvent

    action, _backends = freeze
    crisis = Crisis.objects.create(title="Flood", status=CrisisStatus.ACTIVE)
    services.use_action(
        action=action, customer=customer_point.customer, values={"card": "4242"}, language="en"
    )
    services.call_due_actions()
    assert Deflection.objects.get().kind == "self_service"
    assert deflection_counts(crisis=crisis)["self_service"] == 1
    from helpdesk.crisis.dashboard import crisis_dashboard

    assert crisis_dashboard(crisis=crisis).deflection.by_kind == {"self_service": 1}  # the dashboard's panel
    notes = TimelineEvent.objects.filter(customer=customer_point.customer, payload__has_key="self_service")
    assert notes.count() == 2 and "Your card is frozen" in notes.order_by("id").last().body


def test_the_action_form_checks_its_fields_and_asks_a_fresh_code_when_sensitive(
    client, customer_point, freeze
):
    action, _backends = freeze
    client.post("/portal/", {"value": ABROAD})
    client.post("/portal/code/", {"code": _code_sent_to(ABROAD)})
    page = client.post("/portal/actions/freeze-card/", {"card": ""})
    assert page.status_code == 200 and "This field is required." in page.content.decode()
    SelfServiceAction.objects.filter(pk=action.pk).update(sensitive=True)
    session = client.session
    session["portal"]["at"] = time.time() - 3600 + 60  # signed in 59 minutes ago: not fresh
    session.save()
    asked = client.post("/portal/actions/freeze-card/", {"card": "4242"})
    assert "code" in asked.content.decode() and not ActionUse.objects.exists()
    done = client.post("/portal/actions/freeze-card/", {"card": "4242", "code": _code_sent_to(ABROAD)})
    assert done.status_code == 302 and ActionUse.objects.count() == 1
