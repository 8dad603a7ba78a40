"""Crises: the event that drives a surge. Banners, directory and broadcasts build on this."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.links import contact_href, safe_url


class CrisisStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RESOLVED = "resolved", _("Resolved")


class Crisis(models.Model):
    title = models.CharField(_("title"), max_length=200)
    severity = models.PositiveSmallIntegerField(_("severity"), default=3)
    status = models.CharField(
        _("status"), max_length=16, choices=CrisisStatus.choices, default=CrisisStatus.DRAFT
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    affected_segment = models.CharField(_("affected segment"), max_length=200, blank=True)
    texts = models.JSONField(
        _("texts per language"),
        default=dict,
        blank=True,
        help_text=_('{"en": {"summary": ..., "what_to_do": ...}}'),
    )
    is_emergency = models.BooleanField(_("emergency (ignore quiet hours)"), default=False)
    # The version every channel says now (its texts are copied into `texts` when it is published).
    statement = models.ForeignKey(
        "Statement", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Regulated businesses: a statement version goes out only once a second manager approves it.
    statements_need_approval = models.BooleanField(
        _("statements need a second manager's approval"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "crises"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__gte=1, severity__lte=5), name="crisis_severity_1_5"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def text(self, language: str, key: str) -> str:
        """Return a text in the language, falling back to English, then any language."""
        for lang in (language, "en", *self.texts.keys()):
            value = (self.texts.get(lang) or {}).get(key)
            if value:
                return value
        return ""


class Placement(models.TextChoices):
    TOP_BAR = "top_bar", _("Top bar")
    POPUP = "popup", _("Pop-up")


class Banner(models.Model):
    """What the embed script shows on customers' websites while its crisis is active."""

    crisis = models.ForeignKey(Crisis, on_delete=models.CASCADE, related_name="banners")
    texts = models.JSONField(
        _("texts per language"), default=dict, blank=True, help_text=_('{"en": {"title", "message", "link"}}')
    )
    severity = models.PositiveSmallIntegerField(_("severity"), default=3)
    placement = models.CharField(
        _("placement"), max_length=16, choices=Placement.choices, default=Placement.TOP_BAR
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # Bumped on every publish, so a visitor who dismissed version 2 still sees version 3.
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-severity", "-id"]
        indexes = [models.Index(fields=["published_at"], name="banner_published_idx")]

    def __str__(self) -> str:
        return f"{self.crisis} banner v{self.version}"

    def clean(self) -> None:
        """The admin and every other full_clean refuse a link banner.js must not show."""
        for values in (self.texts or {}).values():
            link = values.get("link", "") if isinstance(values, dict) else ""
            if link and not safe_url(link):
                raise ValidationError(
                    {"texts": _("Links must be https://, tel:, sms: or mailto: addresses.")}
                )


class DirectoryChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS")
    CHAT = "chat", _("Live chat")
    EMAIL = "email", _("Email")
    LINK = "link", _("Self-service link")


class DirectoryEntry(models.Model):
    """One line of the channel directory: a need and the channel that serves it best. Lines of a
    crisis replace the desk's every-day lines (crisis null) while that crisis is active."""

    crisis = models.ForeignKey(
        Crisis, null=True, blank=True, on_delete=models.CASCADE, related_name="directory_entries"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    need = models.JSONField(_("need per language"), default=dict, help_text=_('{"en": "Technical problem"}'))
    channel = models.CharField(_("channel"), max_length=8, choices=DirectoryChannel.choices)
    target = models.CharField(_("number or address"), max_length=254)
    hours = models.CharField(_("hours"), max_length=100, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "directory entries"

    def __str__(self) -> str:
        return f"{self.text('en')} → {self.channel}"

    def clean(self) -> None:
        if self.target and not contact_href(self.channel, self.target):
            raise ValidationError({"target": _("Not a number, address or https:// link for this channel.")})

    @property
    def href(self) -> str:
        """The checked link for this line, or '' (then the target is shown as text)."""
        return contact_href(self.channel, self.target)

    def text(self, language: str) -> str:
        """Return the need in the language, falling back to English, then any language."""
        for lang in (language, "en", *self.need.keys()):
            if self.need.get(lang):
                return self.need[lang]
        return ""


class BroadcastStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    SCHEDULED = "scheduled", _("Scheduled")
    PLANNING = "planning", _("Planning")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


# What a broadcast can go out by (crisis.services.BROADCAST_CHANNELS: the same, for the service).
BROADCAST_CHANNEL_CHOICES = [("sms", _("SMS")), ("email", _("Email"))]


class Broadcast(models.Model):
    crisis = models.ForeignKey(
        Crisis, null=True, blank=True, on_delete=models.SET_NULL, related_name="broadcasts"
    )
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=8, default="sms", choices=BROADCAST_CHANNEL_CHOICES)
    audience = models.JSONField(
        _("audience"),
        default=dict,
        blank=True,
        help_text=_("tags, languages, queues, crisis, has_open_tickets, contact_point_ids (CSV), all"),
    )
    bodies = models.JSONField(_("bodies per language"), default=dict)
    # An email broadcast's subject lines, language → text (the name where a language has none).
    subjects = models.JSONField(_("subjects per language"), default=dict, blank=True)
    # "Reply YES for help": a customer who answers YES to this broadcast starts this triage flow.
    triage_flow = models.ForeignKey(
        "triage.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="broadcasts"
    )
    max_segments = models.PositiveSmallIntegerField(_("max segments per message"), default=2)
    # Messages per second across all workers; 0 means no limit.
    rate_per_second = models.PositiveIntegerField(_("messages per second"), default=50)
    status = models.CharField(max_length=20, choices=BroadcastStatus.choices, default=BroadcastStatus.DRAFT)
    requires_approval = models.BooleanField(_("requires approval"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    csv_report = models.JSONField(default=dict, blank=True)
    planned_count = models.PositiveIntegerField(default=0)
    skipped_opted_out = models.PositiveIntegerField(default=0)
    skipped_invalid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="broadcast_status_idx")]

    def __str__(self) -> str:
        return self.name

    def body_for(self, language: str) -> str:
        """Return the body in the language, falling back to English, then any language."""
        for lang in (language, "en", *self.bodies.keys()):
            if self.bodies.get(lang):
                return self.bodies[lang]
        return ""

    def subject_for(self, language: str) -> str:
        """An email's subject in the language, falling back to English, then the broadcast's name."""
        for lang in (language, "en"):
            if (self.subjects or {}).get(lang):
                return self.subjects[lang]
        return self.name


class DeliveryState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED_OPTED_OUT = "skipped_opted_out", _("Skipped: opted out")
    SKIPPED_INVALID = "skipped_invalid", _("Skipped: invalid")


class BroadcastDelivery(models.Model):
    # No index of its own: delivery_claim_idx and the unique constraint both lead with it, and every
    # index costs each delivery row's three writes (plan, claim, result) one more insert.
    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    contact_point = models.ForeignKey("customers.ContactPoint", on_delete=models.CASCADE, related_name="+")
    to = models.CharField(max_length=254)
    language = models.CharField(max_length=8, default="en")
    status = models.CharField(max_length=20, choices=DeliveryState.choices, default=DeliveryState.PLANNED)
    provider_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set before the provider is called: a 'sending' row older than the claim timeout is reconciled.
    attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast", "contact_point"], name="delivery_broadcast_point_uniq"
            )
        ]
        indexes = [
            # Claiming: the next planned rows of a broadcast in id order.
            models.Index(fields=["broadcast", "status", "id"], name="delivery_claim_idx"),
            # Reply threading: did this number get a broadcast lately?
            models.Index(fields=["to", "sent_at"], name="delivery_to_sent_idx"),
            models.Index(fields=["provider_id"], name="delivery_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.broadcast_id} → {self.to} ({self.status})"


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")


# What a statement says, per language: every channel builds its words from these four.
STATEMENT_FIELDS = ("title", "summary", "what_to_do", "unknowns")


class Statement(models.Model):
    """One numbered version of a crisis's public statement. Published versions are never edited:
    a change is a new version, and the old ones stay readable."""

    crisis = models.ForeignKey(Crisis, on_delete=models.CASCADE, related_name="statements")
    number = models.PositiveIntegerField()
    texts = models.JSONField(
        _("texts per language"),
        default=dict,
        help_text=_('{"en": {"title", "summary" (what happened), "what_to_do", "unknowns"}}'),
    )
    # A recorded reading of this version per language (media paths); the IVR plays it, else says it.
    recordings = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=StatementStatus.choices, default=StatementStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["crisis", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["crisis", "number"], name="statement_crisis_number_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.crisis} v{self.number}"

    def text(self, language: str, key: str) -> str:
        for lang in (language, "en", *self.texts.keys()):
            value = (self.texts.get(lang) or {}).get(key)
            if value:
                return value
        return ""


class CrisisAudit(models.Model):
    """Who changed what about a crisis: statements, publishes, rollbacks, surge switches and
    thresholds. Append-only; ids, not foreign keys, so nothing deleted cascades into the record."""

    crisis_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)  # "" for the system
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.actor_name or 'system'}"


class DeflectionKind(models.TextChoices):
    IVR_SMS = "ivr_sms", _("IVR: steps by SMS")
    HELP_ANSWER = "help_answer", _("HELP answer")
    BANNER_LINK = "banner_link", _("Banner link")
    DIRECTORY_LINK = "directory_link", _("Directory link")
    SELF_SERVICE = "self_service", _("Self-service")


class Deflection(models.Model):
    """One contact served without an agent, counted for the crisis dashboard and surge report."""

    crisis = models.ForeignKey(Crisis, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=DeflectionKind.choices)
    channel = models.CharField(max_length=16, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["crisis", "kind"], name="deflection_crisis_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.channel or '-'}) {self.at:%Y-%m-%d %H:%M}"


class Surge(models.Model):
    """Surge mode for one scope ("all", "channel:sms", "queue:<id>"): switched on when inbound
    contacts per evaluation period reach `on_at`, off only once they fall to `off_at` or below
    (hysteresis), or forced either way by a manager."""

    scope = models.CharField(max_length=40, unique=True)
    on_at = models.PositiveIntegerField(_("switch on at (contacts per period)"), default=60)
    off_at = models.PositiveIntegerField(_("switch off at or below"), default=20)
    forced = models.BooleanField(null=True, blank=True)  # None: by volume; True/False: manager's
    is_on = models.BooleanField(default=False)
    since = models.DateTimeField(null=True, blank=True)
    last_count = models.PositiveIntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"surge {self.scope}: {'on' if self.is_on else 'off'}"
