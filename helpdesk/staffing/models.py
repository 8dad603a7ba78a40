"""Reports and staffing: 30-minute rollups of the timeline, imported history, holidays, a roster.

The reports read only these rollups (a worker keeps them current: helpdesk.staffing.rollups), so a
view costs the same at 5 million events as at 5 thousand. One interval is 30 minutes (UTC starts).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

INTERVAL_MINUTES = 30


class IntervalRollup(models.Model):
    """Counts of one interval for one channel, queue and language."""

    start = models.DateTimeField()
    channel = models.CharField(max_length=16)
    queue_id = models.BigIntegerField(null=True)
    language = models.CharField(max_length=8, default="")
    crisis_id = models.BigIntegerField(null=True)
    contacts = models.PositiveIntegerField(default=0)  # inbound messages and calls
    opened = models.PositiveIntegerField(default=0)  # tickets created
    first_responses = models.PositiveIntegerField(default=0)
    first_response_met = models.PositiveIntegerField(default=0)  # within the first-response target
    solved = models.PositiveIntegerField(default=0)
    resolution_met = models.PositiveIntegerField(default=0)  # within the resolution target
    replies = models.PositiveIntegerField(default=0)  # agents' outbound messages

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["start", "channel", "queue_id", "language", "crisis_id"], name="rollup_one_row"
            )
        ]
        indexes = [models.Index(fields=["start"], name="rollup_start_idx")]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} {self.channel}"


class DurationMeasure(models.TextChoices):
    FIRST_RESPONSE = "frt", _("First response")
    RESOLUTION = "resolution", _("Resolution")


class DurationRollup(models.Model):
    """How many first responses (or resolutions) of an interval took a bucket's time: the report's
    median and p90 come from summing buckets, never from the tickets."""

    start = models.DateTimeField()
    channel = models.CharField(max_length=16)
    queue_id = models.BigIntegerField(null=True)
    language = models.CharField(max_length=8, default="")
    crisis_id = models.BigIntegerField(null=True)
    measure = models.CharField(max_length=12, choices=DurationMeasure.choices)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["start", "channel", "queue_id", "language", "crisis_id", "measure", "bucket"],
                name="duration_one_row",
            )
        ]
        indexes = [models.Index(fields=["measure", "start"], name="duration_measure_start_idx")]

    def __str__(self) -> str:
        return f"{self.measure} {self.bucket}: {self.count}"


class DayRollup(models.Model):
    """IntervalRollup summed per UTC day: what reports over weeks and months read (48× fewer rows)."""

    day = models.DateField()
    channel = models.CharField(max_length=16)
    queue_id = models.BigIntegerField(null=True)
    language = models.CharField(max_length=8, default="")
    crisis_id = models.BigIntegerField(null=True)
    contacts = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    first_responses = models.PositiveIntegerField(default=0)
    first_response_met = models.PositiveIntegerField(default=0)
    solved = models.PositiveIntegerField(default=0)
    resolution_met = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "queue_id", "language", "crisis_id"], name="day_one_row"
            )
        ]
        indexes = [models.Index(fields=["day"], name="day_rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel}"


class DayDurationRollup(models.Model):
    day = models.DateField()
    channel = models.CharField(max_length=16)
    queue_id = models.BigIntegerField(null=True)
    language = models.CharField(max_length=8, default="")
    crisis_id = models.BigIntegerField(null=True)
    measure = models.CharField(max_length=12, choices=DurationMeasure.choices)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["measure", "day"], name="day_duration_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.bucket}: {self.count}"


class AgentRollup(models.Model):
    day = models.DateField()
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    replies = models.PositiveIntegerField(default=0)
    handled = models.PositiveIntegerField(default=0)  # tickets they solved

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "agent"], name="agent_rollup_one_row")]

    def __str__(self) -> str:
        return f"{self.day} {self.agent_id}"


class RollupMark(models.Model):
    """How far the rollups have read the timeline (by event id)."""

    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"rollups up to event {self.last_event_id}"


class ImportedVolume(models.Model):
    """Contacts per interval from an old system (CSV): history for the forecast before our own."""

    start = models.DateTimeField()
    channel = models.CharField(max_length=16)
    language = models.CharField(max_length=8, default="")
    contacts = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["start", "channel", "language"], name="imported_one_row")
        ]

    def __str__(self) -> str:
        return f"{self.start} {self.channel}: {self.contacts}"


class Holiday(models.Model):
    day = models.DateField(_("day"), unique=True)
    name = models.CharField(_("name"), max_length=120)

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class Shift(models.Model):
    """One agent on shift: what they can answer (channels) and in which languages."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    channels = models.JSONField(_("channels"), default=list)
    languages = models.JSONField(_("languages"), default=list)

    class Meta:
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="shift_time_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.starts_at:%Y-%m-%d %H:%M}"
