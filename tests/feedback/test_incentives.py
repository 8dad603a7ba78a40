"""Incentives: single-use codes, granted to one customer (a manager above the approval value),
redeemed exactly once however many calls race, each step audited; the signed redemption door."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection

from helpdesk.accounts.models import Role
from helpdesk.errors import ApplicationError
from helpdesk.feedback import services
from helpdesk.feedback.models import Coupon, CouponPool, CouponState, IncentiveEvent
from tests.factories import CustomerFactory, UserFactory

SECRET = "tests-redeem-secret"


@pytest.fixture
def pool(db):
    return CouponPool.objects.create(name="Flood apology", value=Decimal("15.00"))


def _signed_post(client, body: dict, secret: str = SECRET):
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        "/api/v1/recovery/redeem/",
        raw,
        content_type="application/json",
        HTTP_X_TOURNIQUET_SIGNATURE=signature,
    )


@pytest.mark.django_db(transaction=True)
def test_a_hundred_concurrent_redemptions_of_one_code_succeed_exactly_once():
    pool = CouponPool.objects.create(name="Race", value=Decimal("5.00"))
    services.import_codes(pool=pool, data=b"code\nRACE-1\n")
    coupon = services.grant(pool=pool, customer=CustomerFactory(), actor=UserFactory(role=Role.AGENT))
    start = threading.Barrier(100)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            start.wait()
            outcome = services.redeem(code=coupon.code, reference=f"order-{n}")
            with lock:
                results.append(outcome.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(results)) == ["already_redeemed", "redeemed"] and results.count("redeemed") == 1
    coupon.refresh_from_db()
    assert coupon.state == CouponState.REDEEMED and coupon.redeemed_ref.startswith("order-")
    actions = list(IncentiveEvent.objects.filter(coupon_id=coupon.pk).values_list("action", flat=True))
    assert actions.count("redeemed") == 1 and actions.count("redemption_refused") == 99
    assert actions.count("granted") == 1


def test_codes_are_imported_once_and_granted_one_each(pool):
    assert services.import_codes(pool=pool, data=b"code\nA-1\nA-2\n\nA-1\n") == 2
    assert services.import_codes(pool=pool, data=b"A-2\nA-3\n") == 1
    agent = UserFactory(role=Role.AGENT)
    granted = {services.grant(pool=pool, customer=CustomerFactory(), actor=agent).code for _ in range(3)}
    assert granted == {"A-1", "A-2", "A-3"}
    with pytest.raises(ApplicationError) as empty:
        services.grant(pool=pool, customer=CustomerFactory(), actor=agent)
    assert empty.value.code == "pool_empty"


def test_an_incentive_above_the_approval_value_needs_a_manager(pool, settings):
    settings.INCENTIVE_APPROVAL_VALUE = 10
    services.generate_codes(pool=pool, count=2)
    with pytest.raises(ApplicationError) as refused:
        services.grant(pool=pool, customer=CustomerFactory(), actor=UserFactory(role=Role.AGENT))
    assert refused.value.code == "needs_manager"
    coupon = services.grant(pool=pool, customer=CustomerFactory(), actor=UserFactory(role=Role.MANAGER))
    assert coupon.state == CouponState.GRANTED and len(coupon.code) == 10


def test_the_redemption_door_is_signed_and_says_why(client, pool, settings):
    settings.INCENTIVE_REDEEM_SECRET = SECRET
    services.import_codes(pool=pool, data=b"D-1\nD-2\n")
    services.grant(pool=pool, customer=CustomerFactory(), actor=UserFactory(role=Role.AGENT))  # D-1
    assert _signed_post(client, {"code": "D-1"}, secret="wrong").status_code == 403
    assert client.post("/api/v1/recovery/redeem/", b"{}", content_type="application/json").status_code == 403
    raw = b"not json"
    bad = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    malformed = client.post(
        "/api/v1/recovery/redeem/", raw, content_type="application/json", HTTP_X_TOURNIQUET_SIGNATURE=bad
    )
    assert malformed.status_code == 400
    assert _signed_post(client, {"code": 7}).status_code == 400
    assert _signed_post(client, {"code": "D-2"}).status_code == 410  # never granted
    assert _signed_post(client, {"code": "NOPE"}).status_code == 404
    first = _signed_post(client, {"code": "D-1", "reference": "order-9"})
    assert (first.status_code, first.json()) == (200, {"redeemed": True, "reason": "redeemed"})
    assert _signed_post(client, {"code": "D-1"}).status_code == 409
    assert Coupon.objects.get(code="D-1").redeemed_ref == "order-9"


def test_a_code_of_an_expired_pool_is_not_redeemed(client, settings, db):
    from datetime import timedelta

    from django.utils import timezone

    settings.INCENTIVE_REDEEM_SECRET = SECRET
    pool = CouponPool.objects.create(
        name="Old", value=Decimal("5"), expires_at=timezone.now() - timedelta(days=1)
    )
    services.import_codes(pool=pool, data=b"OLD-1\n")
    services.grant(pool=pool, customer=CustomerFactory(), actor=UserFactory(role=Role.AGENT))
    response = _signed_post(client, {"code": "OLD-1"})
    assert (response.status_code, response.json()["reason"]) == (410, "expired")
    assert Coupon.objects.get(code="OLD-1").state == CouponState.GRANTED
