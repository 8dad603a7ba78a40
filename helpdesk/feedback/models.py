"""Winning back trust (issue 18), first part: incentives. A coupon is single-use: granted to one
customer for one recovery, redeemed by the business's systems exactly once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IncentiveKind(models.TextChoices):
    COUPON = "coupon", _("Coupon")
    DISCOUNT = "discount", _("Discount")
    SAMPLE = "sample", _("Free sample")


class CouponPool(models.Model):
    """Codes of one offer (imported by CSV or generated), each worth `value`."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(
        _("kind"), max_length=12, choices=IncentiveKind.choices, default=IncentiveKind.COUPON
    )
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CouponState(models.TextChoices):
    AVAILABLE = "available", _("Available")
    GRANTED = "granted", _("Granted")
    REDEEMED = "redeemed", _("Redeemed")


class Coupon(models.Model):
    pool = models.ForeignKey(CouponPool, on_delete=models.PROTECT, related_name="coupons")
    code = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=12, choices=CouponState.choices, default=CouponState.AVAILABLE)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_ref = models.CharField(max_length=120, blank=True)  # the business system's reference

    class Meta:
        indexes = [models.Index(fields=["pool", "state"], name="coupon_pool_state_idx")]

    def __str__(self) -> str:
        return f"{self.code} ({self.state})"


class IncentiveEvent(models.Model):
    """Append-only: every grant and redemption (and refused redemption) of a coupon."""

    coupon_id = models.BigIntegerField(db_index=True)
    action = models.CharField(max_length=24)
    detail = models.JSONField(default=dict, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} coupon {self.coupon_id}"
