"""The channel-neutral message stores: the inbox (what arrived) and the outbox (what leaves)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BLOCKED = "blocked", _("Blocked")


class Outbox(models.Model):
    event = models.OneToOneField("tickets.TimelineEvent", on_delete=models.CASCADE, related_name="outbox")
    channel = models.CharField(max_length=16)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField()
    language = models.CharField(max_length=8, default="en")
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="outbox_due_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sending", "sent", "failed", "blocked"]),
                name="outbox_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"outbox #{self.pk} {self.channel}->{self.to} {self.status}"


class InboxMessage(models.Model):
    """A provider's inbound message as it arrived, stored once before anything else happens.

    Webhooks insert here (ON CONFLICT DO NOTHING on the provider's id) and answer at once; a
    worker turns the row into a customer, a ticket and a timeline event. A row whose task was
    lost is picked up again by the sweep, so a message the provider handed us is never lost.
    """

    provider = models.CharField(max_length=32)
    provider_id = models.CharField(max_length=128)
    channel = models.CharField(max_length=16)
    message = models.JSONField()
    received_at = models.DateTimeField()
    # When a drain claimed the row (null: waiting); processed_at says when it was recorded.
    queued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # The message as it arrived, for channels whose doors store it unparsed (an email): the worker
    # parses it (ChannelSpec.raw_parser); it stays here as the source agents and admins can open.
    raw = models.BinaryField(null=True, blank=True, editable=False)
    note = models.CharField(
        max_length=300, blank=True, db_default=""
    )  # what the worker did with a non-message

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="inbox_provider_id_uniq"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="inbox_unprocessed_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_id}"
