"""Customers and the points we reach them at (phone, email, chat id)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.searchtext import SearchTextModel


class Customer(SearchTextModel):
    SEARCH_SOURCE = "name"

    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(_("preferred language"), max_length=8, default="en")
    tags = models.JSONField(_("tags"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name or f"Customer #{self.pk}"


class ContactKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social")


class ContactPoint(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=16, choices=ContactKind.choices)
    value = models.CharField(
        _("value"), max_length=254, help_text=_("Normalized: E.164 or lower-case email.")
    )
    verified = models.BooleanField(_("verified"), default=False)
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    opt_out_reason = models.CharField(_("opt-out reason"), max_length=100, blank=True)
    invalid_at = models.DateTimeField(_("invalid since"), null=True, blank=True)
    bouncing_at = models.DateTimeField(_("bouncing since"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="contactpoint_kind_value_uniq")]
        indexes = [models.Index(fields=["customer", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @property
    def can_receive(self) -> bool:
        """Sendable: verified (proven by the customer or confirmed by staff) and not blocked."""
        blocked = self.opted_out_at or self.invalid_at or self.bouncing_at
        return self.verified and blocked is None


class CustomerMergeAudit(models.Model):
    """One row per merge: who merged what into what, and what moved."""

    source_id = models.BigIntegerField()
    source_name = models.CharField(max_length=200, blank=True)
    target = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merge_audits")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    moved = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"merge #{self.source_id} → #{self.target_id}"
