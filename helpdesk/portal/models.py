"""Self-service: actions managers configure (a form and a signed call to the business's system),
and each use of one by a customer (a call made once, retried until it is)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class SelfServiceAction(models.Model):
    """`fields`: [{"name", "label": {lang: text}, "kind": "text"|"number"|"choice"|"date",
    "required": bool, "choices": [...], "max_length": n}]; `title`, `result_text`: {lang: text};
    the result text may use {reference} from the backend's answer."""

    slug = models.SlugField(_("slug"), unique=True)
    title = models.JSONField(_("title"), default=dict)
    description = models.JSONField(_("description"), default=dict, blank=True)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    url = models.URLField(_("backend address"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    result_text = models.JSONField(_("result text"), default=dict)
    sensitive = models.BooleanField(_("asks for a fresh code (step-up)"), default=False)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.slug

    def text(self, field: str, language: str) -> str:
        texts = getattr(self, field) or {}
        return str(texts.get(language) or texts.get("en") or self.slug)


class UseStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the system")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused by the system")
    FAILED = "failed", _("Could not be done")


class ActionUse(models.Model):
    """One customer's use of an action: recorded first, then called (claimed by a worker) with the
    idempotency key, retried with backoff until the backend answers; its result on their timeline."""

    action = models.ForeignKey(SelfServiceAction, on_delete=models.PROTECT, related_name="uses")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="self_service")
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True)
    values = models.JSONField(default=dict)
    language = models.CharField(max_length=8, default="en")
    status = models.CharField(max_length=10, choices=UseStatus.choices, default=UseStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    result = models.JSONField(default=dict, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="action_use_due_idx")]

    def __str__(self) -> str:
        return f"{self.action_id} for {self.customer_id} ({self.status})"
