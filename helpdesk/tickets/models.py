"""Tickets and the unified timeline every channel writes to."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels_app.base import DeliveryStatus as Delivery
from helpdesk.searchtext import SearchTextModel

OPEN_STATUSES = ("new", "open", "pending")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


class Priority(models.IntegerChoices):
    # Lower sorts first: the queue shows urgent work at the top.
    URGENT = 1, _("Urgent")
    HIGH = 2, _("High")
    NORMAL = 3, _("Normal")
    LOW = 4, _("Low")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    VOICE = "voice", _("Voice")
    CHAT = "chat", _("Chat")
    WEB = "web", _("Web form")
    SYSTEM = "system", _("System")


class Direction(models.TextChoices):
    IN = "in", _("Inbound")
    OUT = "out", _("Outbound")
    INTERNAL = "internal", _("Internal")


class EventKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    CALL = "call", _("Call")
    VOICEMAIL = "voicemail", _("Voicemail")
    NOTE = "note", _("Internal note")
    STATUS_CHANGE = "status_change", _("Status change")
    PRIORITY_CHANGE = "priority_change", _("Priority change")
    ASSIGNMENT = "assignment", _("Assignment")
    TRIAGE_ANSWER = "triage_answer", _("Triage answer")
    BROADCAST = "broadcast", _("Broadcast")
    SURVEY = "survey", _("Survey")
    REVIEW = "review", _("Review")
    CONSENT = "consent", _("Consent")
    MERGE = "merge", _("Merge")


class DeliveryStatus(models.TextChoices):
    # The values are channels_app.base.DeliveryStatus's (gateways return those); labels live here.
    # Ordered by progress: a late callback never moves an event backwards (base.DELIVERY_RANK).
    PENDING = Delivery.PENDING.value, _("Pending")
    QUEUED = Delivery.QUEUED.value, _("Queued")
    SENDING = Delivery.SENDING.value, _("Sending")  # the provider's word: handed to the carrier
    SENT = Delivery.SENT.value, _("Sent")
    DELIVERED = Delivery.DELIVERED.value, _("Delivered")
    UNDELIVERED = Delivery.UNDELIVERED.value, _("Undelivered")
    FAILED = Delivery.FAILED.value, _("Failed")
    BLOCKED = Delivery.BLOCKED.value, _("Not sent")
    PRINTED = Delivery.PRINTED.value, _("Printed (demo)")
    RECEIVED = Delivery.RECEIVED.value, _("Received")


class Queue(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(unique=True)
    sla_minutes = models.PositiveIntegerField(_("first response SLA (minutes)"), default=24 * 60)
    urgent_sla_minutes = models.PositiveIntegerField(_("SLA for urgent tickets (minutes)"), default=60)
    resolution_minutes = models.PositiveIntegerField(_("resolution SLA (minutes)"), default=3 * 24 * 60)
    urgent_resolution_minutes = models.PositiveIntegerField(
        _("resolution SLA for urgent tickets (minutes)"), default=8 * 60
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, help_text=_("Of its business hours; empty: the desk's.")
    )
    assignment = models.CharField(
        _("automatic assignment"),
        max_length=16,
        choices=[
            ("manual", _("None: agents take tickets")),
            ("least_loaded", _("To the available agent with the fewest open tickets")),
            ("round_robin", _("To the available agents in turn")),
        ],
        default="manual",
        db_default="manual",
        help_text=_("Agents who speak the ticket's language come first."),
    )
    last_assigned_id = models.BigIntegerField(null=True, blank=True, editable=False)  # round robin
    # Bumped whenever its hours or holidays change, so cached calendars are read again.
    calendar_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    inbound_address = models.CharField(
        _("inbound address"),
        max_length=254,
        blank=True,
        help_text=_("Phone number or email that routes here."),
    )
    is_default = models.BooleanField(default=False)
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="queues",
        help_text=_("Only this team's agents (and managers) see its tickets; empty: every agent."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def sla_for(self, priority: int) -> timedelta:
        """Return how long a ticket of this priority may wait for a first response."""
        return self.targets_for(priority)[0]

    def targets_for(self, priority: int) -> tuple[timedelta, timedelta]:
        """(first response, resolution) targets in business time: the queue's SlaTarget for the
        priority, else its defaults (high priority: a quarter of normal, never below urgent)."""
        target = next((t for t in self._targets() if t.priority == priority), None)
        if target is not None:
            return timedelta(minutes=target.first_response_minutes), timedelta(
                minutes=target.resolution_minutes
            )
        if priority == Priority.URGENT:
            first, resolution = self.urgent_sla_minutes, self.urgent_resolution_minutes
        elif priority == Priority.HIGH:
            first = max(self.urgent_sla_minutes, self.sla_minutes // 4)
            resolution = max(self.urgent_resolution_minutes, self.resolution_minutes // 4)
        else:
            first, resolution = self.sla_minutes, self.resolution_minutes
        return timedelta(minutes=first), timedelta(minutes=max(first, resolution))

    def _targets(self) -> list[SlaTarget]:
        if not hasattr(self, "_sla_targets"):
            self._sla_targets = list(self.sla_targets.all()) if self.pk else []
        return self._sla_targets


class SlaTarget(models.Model):
    """A queue's targets for one priority, in business minutes (the queue's calendar)."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="sla_targets")
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolved within (minutes)"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "priority"], name="slatarget_queue_priority")]

    def __str__(self) -> str:
        return f"{self.queue} · {self.get_priority_display()}"


class BusinessHours(models.Model):
    """One open interval of a queue on a weekday, in the queue's time zone (closes 00:00: midnight).
    A queue without any is open around the clock."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="business_hours")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=[(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
                 (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday"))],
    )  # fmt: skip
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["queue", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")) | models.Q(closes="00:00"),
                name="businesshours_closes_after_opens",
            )
        ]

    def __str__(self) -> str:
        return f"{self.queue} {self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Holiday(models.Model):
    """A day a queue is closed all day (its SLA clocks do not run)."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="holidays")
    day = models.DateField(_("day"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["queue", "day"], name="holiday_queue_day")]

    def __str__(self) -> str:
        return f"{self.queue} {self.day} {self.name}"


class EscalationAction(models.TextChoices):
    NOTIFY = "notify", _("Notify (a note on the ticket, a live alert)")
    RAISE_PRIORITY = "raise_priority", _("Raise the priority one step")
    REASSIGN = "reassign", _("Reassign")


class SlaTargetName(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")


class EscalationRule(models.Model):
    """Run by beat: when a queue's ticket is within `minutes_before` of missing a target (0: when
    it misses it), do the action, once per ticket and rule."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="escalation_rules")
    target = models.CharField(_("target"), max_length=16, choices=SlaTargetName.choices)
    minutes_before = models.PositiveIntegerField(_("minutes before it is due"), default=0)
    action = models.CharField(_("action"), max_length=16, choices=EscalationAction.choices)
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("For reassign: empty leaves the ticket unassigned for anyone to take."),
    )  # fmt: skip
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        before = f"−{self.minutes_before} min" if self.minutes_before else "0"
        return f"{self.queue} · {self.get_target_display()} {before} · {self.get_action_display()}"


class SlaEscalation(models.Model):
    """That a rule fired for a ticket: unique, so it fires once even if beat runs twice."""

    ticket = models.ForeignKey("Ticket", on_delete=models.CASCADE, related_name="escalations")
    rule = models.ForeignKey(EscalationRule, on_delete=models.CASCADE, related_name="+")
    fired_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "rule"], name="slaescalation_once")]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.rule_id} · {self.fired_at:%Y-%m-%d %H:%M}"


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def normalize(name: str) -> str:
        """Return the name as tags are stored: trimmed, lower-case, at most 64 characters."""
        return name.strip().lower()[:64]


class Ticket(SearchTextModel):
    SEARCH_SOURCE = "subject"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="tickets")
    subject = models.CharField(_("subject"), max_length=250)
    status = models.CharField(
        _("status"), max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    crisis = models.ForeignKey(
        "crisis.Crisis", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    channel = models.CharField(_("last channel"), max_length=16, choices=Channel.choices, default=Channel.WEB)
    language = models.CharField(_("language"), max_length=8, default="en")
    severity = models.PositiveSmallIntegerField(_("severity"), null=True, blank=True)
    # The queue's sort key: the next target still open (helpdesk/tickets/sla.py).
    sla_due_at = models.DateTimeField(_("SLA due"))
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)  # pending on the customer since
    sla_paused_seconds = models.PositiveIntegerField(default=0, db_default=0)  # business time pending
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"))
    solved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # create_ticket passes its `now`
    # Bumped by every change of its fields (services.update_ticket): a write carrying an older
    # one was made on a stale page and is refused rather than overwriting a colleague's change.
    version = models.PositiveIntegerField(default=1, db_default=1)
    # A ticket merged into another: its events moved there, it is closed and points at it.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "sla_due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=4), name="ticket_priority_1_4"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__isnull=True) | models.Q(severity__gte=1, severity__lte=5),
                name="ticket_severity_1_5",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TicketStatus]), name="ticket_status_valid"
            ),
        ]
        indexes = [
            # The queue's sort key, for open work only: keyset pagination walks this index.
            models.Index(
                fields=["priority", "sla_due_at", "id"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="ticket_open_queue_idx",
            ),
            # The "newest activity" sort of the queue, for open work.
            models.Index(
                fields=["-last_activity_at", "-id"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="ticket_open_recent_idx",
            ),
            models.Index(fields=["queue", "priority", "sla_due_at", "id"], name="ticket_queue_sort_idx"),
            models.Index(
                fields=["assignee", "priority", "sla_due_at", "id"], name="ticket_assignee_sort_idx"
            ),
            models.Index(fields=["status", "priority", "sla_due_at", "id"], name="ticket_status_sort_idx"),
            models.Index(fields=["customer", "-last_activity_at"], name="ticket_customer_idx"),
            models.Index(fields=["crisis", "priority", "sla_due_at", "id"], name="ticket_crisis_sort_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TimelineEvent(SearchTextModel):
    SEARCH_SOURCE = "body"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="events")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    kind = models.CharField(max_length=32, choices=EventKind.choices, default=EventKind.MESSAGE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    contact_point = models.ForeignKey(
        "customers.ContactPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=32, blank=True, default="")
    provider_id = models.CharField(max_length=128, null=True, blank=True)
    delivery_status = models.CharField(max_length=16, choices=DeliveryStatus.choices, blank=True, default="")
    delivery_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Every webhook is idempotent: a provider's retry hits this and is recorded once.
            models.UniqueConstraint(fields=["provider", "provider_id"], name="timeline_provider_id_uniq"),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="timeline_ticket_idx"),
            models.Index(fields=["customer", "created_at"], name="timeline_customer_idx"),
            # Search filtered by channel walks only that channel's messages, newest first: the
            # created_at index read twice as many rows (bench.search's filtered row, 34 -> 18 ms).
            models.Index(fields=["channel", "created_at"], name="timeline_channel_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.direction}/{self.kind} #{self.pk}"


class Macro(models.Model):
    """A canned reply; `{{ customer.name }}`-style variables are filled when used."""

    # Macros sharing a title are one canned reply's translations (bulk replies pick the
    # customer's language among them).
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"))
    language = models.CharField(_("language"), max_length=8, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    uses = models.PositiveIntegerField(_("uses"), default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """Only the placeholders `render_macro` fills (the admin and the API call this)."""
        from django.core.exceptions import ValidationError

        from helpdesk.tickets.services import MACRO_PLACEHOLDERS, unknown_placeholders

        unknown = unknown_placeholders(self.body)
        if unknown:
            raise ValidationError(
                {
                    "body": _("Unknown placeholders: %(unknown)s. Use: %(known)s.")
                    % {
                        "unknown": ", ".join("{{ " + u + " }}" for u in unknown),
                        "known": ", ".join("{{ " + k + " }}" for k in MACRO_PLACEHOLDERS),
                    }
                }
            )


class QueueCounter(models.Model):
    """Open-ticket counts per queue and status, kept current in the same transaction as the change."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="counters")
    status = models.CharField(max_length=16, choices=TicketStatus.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "status"], name="queuecounter_uniq")]

    def __str__(self) -> str:
        return f"{self.queue_id}/{self.status}: {self.count}"


class AuditAction(models.TextChoices):
    CHANGE = "change", _("Changed a field")
    MESSAGE_SENT = "message_sent", _("Message sent")
    MESSAGE_BLOCKED = "message_blocked", _("Message blocked")
    MERGE = "merge", _("Merged")


class AuditEvent(models.Model):
    """What happened to a ticket, by whom and when: immutable (the database refuses UPDATE and
    DELETE on this table, see migration 0008). References are plain ids, not foreign keys, so
    nothing deleted elsewhere can cascade into the record; the actor's name is kept as it was."""

    ticket_id = models.BigIntegerField(db_index=True)
    customer_id = models.BigIntegerField()
    version = models.PositiveIntegerField(help_text=_("The ticket's version this change made."))
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    field = models.CharField(max_length=32, blank=True)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)
    channel = models.CharField(max_length=16, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True)  # the timeline event, for messages
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)  # "" for the system
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ticket_id", "version"], name="auditevent_ticket_version")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} v{self.version} {self.action} {self.field}"


class BulkStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Stopped by an error")


class BulkAction(models.Model):
    """One agent action on many tickets (a queue filter's matches), run by a worker in chunks so
    the page shows progress and the queue stays responsive (helpdesk/tickets/bulk.py)."""

    action = models.CharField(max_length=16)  # assign, status, priority, queue, tag, reply
    params = models.JSONField(default=dict)
    ticket_ids = models.JSONField(default=list)  # fixed when it starts: what the preview counted
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # e.g. opted out: nothing sent
    status = models.CharField(max_length=16, choices=BulkStatus.choices, default=BulkStatus.RUNNING)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.action} × {self.total}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * (self.done + self.skipped) / self.total)


def _calendar_changed(sender, instance, **kwargs) -> None:
    """Hours or holidays changed: a new calendar version, so every process reads it again
    (helpdesk/tickets/sla.py caches calendars per queue and version)."""
    Queue.objects.filter(pk=instance.queue_id).update(calendar_version=models.F("calendar_version") + 1)


for _model in (BusinessHours, Holiday):
    models.signals.post_save.connect(
        _calendar_changed, sender=_model, dispatch_uid=f"calendar-{_model.__name__}"
    )
    models.signals.post_delete.connect(
        _calendar_changed, sender=_model, dispatch_uid=f"calendar-x-{_model.__name__}"
    )
