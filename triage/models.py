"""Triage flows as data: flows and their versions, runs, playbooks and resource links."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.links import validate_link


class Flow(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    """One version of a flow's definition; immutable once published (runs keep theirs)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"), default=dict)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [models.UniqueConstraint(fields=["flow", "number"], name="flowversion_number_uniq")]

    def __str__(self) -> str:
        return f"{self.flow} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class RunStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    OPTED_OUT = "opted_out", _("Ended: opted out")


class RunMode(models.TextChoices):
    # Prompts are sent as messages on the run's channel (SMS, or any channel that sends); the value
    # predates the other channels.
    SMS = "sms", _("By message")
    AGENT = "agent", _("Agent-guided")
    # Prompts are returned to the caller (the IVR reads them out); nothing is sent.
    VOICE = "voice", _("Read out by phone")


class RunSource(models.TextChoices):
    AGENT = "agent", _("Started by an agent")
    BROADCAST = "broadcast", _("Reply to a broadcast")
    SEGMENT = "segment", _("Segment started by a manager")


class Run(models.Model):
    flow_version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="runs")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="triage_runs")
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="triage_runs"
    )
    contact_point = models.ForeignKey(
        "customers.ContactPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mode = models.CharField(_("mode"), max_length=8, choices=RunMode.choices, default=RunMode.SMS)
    # The channel the run talks on: prompts go out and answers come in there ('' for agent-guided).
    channel = models.CharField(_("channel"), max_length=16, default="sms", blank=True)
    source = models.CharField(_("source"), max_length=16, choices=RunSource.choices, default=RunSource.AGENT)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.ACTIVE)
    language = models.CharField(_("language"), max_length=8, default="en")
    state = models.JSONField(default=dict)
    outcome = models.JSONField(default=dict, blank=True)
    severity = models.PositiveSmallIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One conversation at a time: an SMS answer must never be ambiguous between two runs.
            models.UniqueConstraint(
                fields=["customer", "mode"],
                condition=models.Q(status="active"),
                name="run_one_active_per_customer_mode",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in RunStatus]), name="run_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__isnull=True) | models.Q(severity__gte=1, severity__lte=5),
                name="run_severity_1_5",
            ),
        ]
        indexes = [
            # The reminder sweep walks active runs by silence.
            models.Index(
                fields=["last_activity_at"],
                condition=models.Q(status="active"),
                name="run_active_silence_idx",
            ),
            models.Index(fields=["ticket", "-started_at"], name="run_ticket_idx"),
            models.Index(fields=["customer", "status"], name="run_customer_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} ({self.status})"


class Playbook(models.Model):
    """A manager's rule: when the answers match, propose two ways to stop the bleeding and a story."""

    name = models.CharField(_("name"), max_length=200)
    flow = models.ForeignKey(
        Flow, null=True, blank=True, on_delete=models.CASCADE, related_name="playbooks",
        help_text=_("Empty: applies to every flow."),
    )  # fmt: skip
    crisis = models.ForeignKey(
        "crisis.Crisis", null=True, blank=True, on_delete=models.CASCADE, related_name="playbooks",
        help_text=_("Empty: applies to every crisis."),
    )  # fmt: skip
    condition = models.JSONField(
        _("when"), default=dict, blank=True, help_text=_('e.g. {"step": "finances", "in": ["cash"]}')
    )
    texts = models.JSONField(
        _("texts per language"),
        default=dict,
        help_text=_('{"en": {"option_1": ..., "option_2": ..., "story": ...}}'),
    )
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class ResourceKind(models.TextChoices):
    AID = "aid", _("Government aid")
    COMMUNITY = "community", _("Community group")
    GUIDE = "guide", _("Free guide")
    SELF_CARE = "self_care", _("Self-care")


class ResourceLink(models.Model):
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("link"), max_length=500, validators=[validate_link])
    kind = models.CharField(_("kind"), max_length=16, choices=ResourceKind.choices)
    language = models.CharField(_("language"), max_length=8, default="en")
    crisis = models.ForeignKey(
        "crisis.Crisis", null=True, blank=True, on_delete=models.CASCADE, related_name="resource_links",
        help_text=_("Empty: shown for every crisis."),
    )  # fmt: skip
    description = models.CharField(_("description"), max_length=300, blank=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["kind", "order", "id"]
        indexes = [models.Index(fields=["language", "crisis"], name="resourcelink_lang_crisis_idx")]

    def __str__(self) -> str:
        return self.title


class SegmentStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", _("Waiting for a second manager")
    STARTED = "started", _("Started")
    CANCELLED = "cancelled", _("Cancelled")


class SegmentRequest(models.Model):
    """A manager's "start this flow for every customer tagged X": a mass send, so it is recorded,
    and above SEGMENT_APPROVAL_THRESHOLD recipients it waits for a second manager (as broadcasts
    do). The segment is counted again when it starts: approval does not freeze who is in it."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="segment_requests")
    tag = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=8, blank=True)
    planned_count = models.PositiveIntegerField(default=0)
    started_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=SegmentStatus.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="segmentrequest_status_idx")]

    def __str__(self) -> str:
        return f"{self.flow} · {self.tag or '*'} · {self.language or '*'}"
