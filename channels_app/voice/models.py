"""Calls and the IVR: what each call did, and what the IVR says during a crisis.

A `Call` is the adapter's own record of one call (one CallSid), written by the voice webhooks as
the call moves; its summary (status, path, duration, who answered) is copied into the call's
event on the customer's timeline (`calls.sync_event`). An `IvrConfig` is what callers hear: one
per crisis, and one with no crisis for ordinary days.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CallOutcome(models.TextChoices):
    IN_IVR = "in_ivr", _("In the menu")
    DEFLECTED = "deflected", _("Deflected (steps sent by SMS)")
    QUEUED = "queued", _("Waiting for an agent")
    ANSWERED = "answered", _("Answered by an agent")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    CALLBACK = "callback", _("Asked for a call back")
    ABANDONED = "abandoned", _("Hung up")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Not connected")


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound (call back)")


class Call(models.Model):
    call_sid = models.CharField(max_length=34, unique=True)
    direction = models.CharField(max_length=8, choices=CallDirection.choices, default=CallDirection.INBOUND)
    from_number = models.CharField(max_length=64)
    to_number = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=8, blank=True)  # '' until known or chosen
    status = models.CharField(max_length=16, default="ringing")  # Twilio's CallStatus, as last told
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices, default=CallOutcome.IN_IVR)
    # The IVR path, in order: [{"step": "language", "value": "fa", "at": iso}, {"step": "menu", ...}]
    path = models.JSONField(default=list, blank=True)
    crisis = models.ForeignKey("crisis.Crisis", null=True, blank=True, on_delete=models.SET_NULL)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL)
    # The call's event on the timeline, once recorded (the drain's or `calls.ensure_recorded`).
    event = models.ForeignKey(
        "tickets.TimelineEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    placed_by = models.ForeignKey(  # an outbound call back: the agent who pressed the button
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True)  # seconds, as Twilio reports
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["started_at"]), models.Index(fields=["outcome", "started_at"])]

    def __str__(self) -> str:
        return self.call_sid


class IvrConfig(models.Model):
    """What callers hear. The one of the active crisis wins; the one without a crisis otherwise."""

    crisis = models.OneToOneField(
        "crisis.Crisis", null=True, blank=True, on_delete=models.CASCADE, related_name="ivr"
    )
    # Spoken by <Say> when no recording exists for the language: {"fa": "…"}; empty: the crisis's
    # own summary and what to do.
    messages = models.JSONField(_("message per language"), default=dict, blank=True)
    # Uploaded or phoned-in recordings played by <Play>: {"fa": "/media/ivr/…mp3"} (our own URLs).
    recordings = models.JSONField(_("recording per language"), default=dict, blank=True)
    # The self-service steps texted to a caller who presses 1: {"en": "…"}; empty: the crisis's
    # "what to do" with its channel directory.
    sms_steps = models.JSONField(_("SMS steps per language"), default=dict, blank=True)
    offer_sms = models.BooleanField(_("offer the steps by SMS (1)"), default=True)
    offer_agent = models.BooleanField(_("offer an agent (2)"), default=True)
    offer_voicemail = models.BooleanField(_("offer voicemail (3)"), default=True)
    offer_triage = models.BooleanField(_("offer the triage questions (4)"), default=False)
    # Past this estimated wait, a caller asking for an agent is offered a call back instead.
    surge_wait_seconds = models.PositiveIntegerField(_("offer a call back past (seconds)"), default=300)
    handle_seconds = models.PositiveIntegerField(_("average handle time (seconds)"), default=240)
    agents_on_phones = models.PositiveSmallIntegerField(_("agents answering calls"), default=2)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)  # empty: always open
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["crisis"], condition=models.Q(crisis__isnull=True), name="ivr_one_default"
            )
        ]

    def __str__(self) -> str:
        return f"IVR for {self.crisis}" if self.crisis_id else "IVR (ordinary days)"


class Recording(models.Model):
    """A voicemail: its recording and, once Twilio has made it, its transcript (separate callbacks)."""

    recording_sid = models.CharField(max_length=34, unique=True)
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="recordings"
    )
    url = models.CharField(max_length=500)
    duration = models.PositiveIntegerField(null=True, blank=True)
    transcript = models.TextField(blank=True)
    transcript_status = models.CharField(max_length=16, blank=True)  # completed, failed
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.recording_sid
