"""Incentives: import or generate a pool's codes, grant one to a customer (a manager's approval
above INCENTIVE_APPROVAL_VALUE), redeem it exactly once. Every step is an IncentiveEvent."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk.errors import ApplicationError
from helpdesk.feedback.models import Coupon, CouponPool, CouponState, IncentiveEvent

CODE_MAX = 64
IMPORT_MAX_CODES = 100_000


def _event(coupon_id: int, action: str, *, actor=None, **detail) -> None:
    IncentiveEvent.objects.create(
        coupon_id=coupon_id, action=action, actor_id=getattr(actor, "pk", None), detail=detail
    )


@transaction.atomic
def import_codes(*, pool: CouponPool, data: bytes) -> int:
    """The first column of each CSV row is a code; blank rows and codes already known are skipped.
    Returns how many were added."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(gettext("The CSV must be UTF-8."), code="invalid_csv") from exc
    codes = []
    for row in csv.reader(io.StringIO(text)):
        code = (row[0] if row else "").strip()
        if code and code.lower() != "code":
            if len(code) > CODE_MAX:
                raise ApplicationError(gettext("A code is at most 64 characters."), code="invalid_csv")
            codes.append(code)
    if len(codes) > IMPORT_MAX_CODES:
        raise ApplicationError(gettext("At most 100,000 codes at once."), code="invalid_csv")
    before = pool.coupons.count()
    Coupon.objects.bulk_create(
        [Coupon(pool=pool, code=c) for c in dict.fromkeys(codes)], ignore_conflicts=True
    )
    return pool.coupons.count() - before


def generate_codes(*, pool: CouponPool, count: int, prefix: str = "") -> int:
    """`count` new random codes (unguessable: 10 characters of a 31-letter alphabet)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    made = 0
    while made < count:
        batch = [
            Coupon(pool=pool, code=prefix + "".join(secrets.choice(alphabet) for _ in range(10)))
            for _ in range(min(1000, count - made))
        ]
        made += len(Coupon.objects.bulk_create(batch, ignore_conflicts=True))
    return made


@transaction.atomic
def grant(*, pool: CouponPool, customer, actor, ticket=None, case=None) -> Coupon:
    """Give the customer one available code of the pool (refused when none is left; a value above
    INCENTIVE_APPROVAL_VALUE only by a manager)."""
    from helpdesk.accounts.services import is_manager

    limit = Decimal(str(settings.INCENTIVE_APPROVAL_VALUE))
    if pool.value > limit and not is_manager(actor):
        raise ApplicationError(
            gettext("An incentive worth more than %(limit)s needs a manager.") % {"limit": limit},
            code="needs_manager",
        )
    coupon = (
        Coupon.objects.select_for_update(skip_locked=True)
        .filter(pool=pool, state=CouponState.AVAILABLE)
        .order_by("id")
        .first()
    )
    if coupon is None:
        raise ApplicationError(gettext("No codes are left in this pool."), code="pool_empty")
    coupon.state, coupon.customer, coupon.ticket, coupon.case = CouponState.GRANTED, customer, ticket, case
    coupon.granted_by, coupon.granted_at = actor if getattr(actor, "pk", None) else None, timezone.now()
    coupon.save(update_fields=["state", "customer", "ticket", "case", "granted_by", "granted_at"])
    _event(
        coupon.pk, "granted", actor=actor, customer=customer.pk, ticket=getattr(ticket, "pk", None),
        case=getattr(case, "pk", None), value=str(pool.value),
    )  # fmt: skip
    return coupon


@transaction.atomic
def send_incentive(*, coupon: Coupon, actor) -> Coupon:
    """Tell the customer their code, on the recovery case's channel (once; an audit event)."""
    from django.utils import translation

    from helpdesk.feedback import recovery

    coupon = Coupon.objects.select_for_update(of=("self",)).select_related("pool", "case").get(pk=coupon.pk)
    if coupon.case is None or coupon.state != CouponState.GRANTED:
        raise ApplicationError(
            gettext("Only a granted code of a recovery case can be sent."), code="invalid_state"
        )
    if coupon.sent_at is not None:
        return coupon
    with translation.override(coupon.case.language):
        body = gettext("As an apology, here is %(offer)s: your code is %(code)s.") % {
            "offer": coupon.pool.name, "code": coupon.code,
        }  # fmt: skip
        if coupon.pool.expires_at:
            from helpdesk import localformat

            body += " " + gettext("It is valid until %(date)s.") % {
                "date": localformat.format_datetime(coupon.pool.expires_at, "DATE")
            }
    recovery.tell_customer(case=coupon.case, body=body, actor=actor, coupon=coupon.pk)
    coupon.sent_at = timezone.now()
    coupon.save(update_fields=["sent_at"])
    _event(coupon.pk, "sent", actor=actor, case=coupon.case_id)
    return coupon


@dataclass(frozen=True)
class Redemption:
    ok: bool
    reason: str  # "redeemed", "unknown", "not_granted", "already_redeemed", "expired"
    coupon: Coupon | None = None


def redeem(*, code: str, reference: str = "") -> Redemption:
    """Mark a granted code used, exactly once however many calls race: one UPDATE decides, and
    only the call whose UPDATE changed the row succeeds."""
    now = timezone.now()
    coupon = Coupon.objects.select_related("pool").filter(code=code).first()
    if coupon is None:
        return Redemption(False, "unknown")
    expired = coupon.pool.expires_at is not None and coupon.pool.expires_at <= now
    with transaction.atomic():
        # One table, the state in its own WHERE: of racing UPDATEs, PostgreSQL re-checks the row
        # each waited for, and only the first still finds it granted. (A filter through the pool
        # made Django write `WHERE id IN (subquery)`, which the waiting UPDATEs did not re-check:
        # 15 of 100 racing calls succeeded.)
        changed = (
            0
            if expired
            else Coupon.objects.filter(pk=coupon.pk, state=CouponState.GRANTED).update(
                state=CouponState.REDEEMED, redeemed_at=now, redeemed_ref=reference[:120]
            )
        )
        if changed:
            _event(coupon.pk, "redeemed", reference=reference[:120])
            return Redemption(True, "redeemed", coupon)
    coupon.refresh_from_db(fields=["state"])
    if coupon.state == CouponState.REDEEMED:
        reason = "already_redeemed"
    elif coupon.state != CouponState.GRANTED:
        reason = "not_granted"
    else:
        reason = "expired"
    _event(coupon.pk, "redemption_refused", reason=reason, reference=reference[:120])
    return Redemption(False, reason, coupon)
