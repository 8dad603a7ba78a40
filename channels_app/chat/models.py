"""A chat widget: one per website (or brand) that embeds /embed/chat.js."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.tickets.sla import Calendar

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _new_key() -> str:
    return "w" + secrets.token_urlsafe(9)


def normalize_origin(value: str) -> str:
    """`https://Shop.Example.org/` → `https://shop.example.org` ('' for anything but http(s))."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def validate_origins(value: str) -> None:
    bad = [line for line in value.splitlines() if line.strip() and not normalize_origin(line)]
    if bad:
        raise ValidationError(_("Not a website origin (https://host): %(line)s") % {"line": bad[0][:100]})


def validate_colour(value: str) -> None:
    if not _COLOUR.match(value or ""):
        raise ValidationError(_("A colour is written #rrggbb."))


def _clock(value: object) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise ValidationError(_("A time is written HH:MM."))
    hour, minute = int(value[:2]), int(value[3:])
    if hour == 24 and minute == 0:
        return time(0)  # until midnight
    if hour > 23 or minute > 59:
        raise ValidationError(_("A time is written HH:MM."))
    return time(hour, minute)


def validate_hours(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Business hours are a list of [weekday, opens, closes]."))
    for entry in value:
        if not (isinstance(entry, list) and len(entry) == 3 and entry[0] in range(7)):
            raise ValidationError(_("Business hours are a list of [weekday, opens, closes]."))
        opens, closes = _clock(entry[1]), _clock(entry[2])
        if closes != time(0) and closes <= opens:
            raise ValidationError(_("A day closes after it opens."))


def validate_time_zone(value: str) -> None:
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(_("Not a time zone: %(zone)s") % {"zone": value[:64]}) from exc


class WidgetPosition(models.TextChoices):
    END = "end", _("Bottom corner after the text (right in English, left in Persian)")
    START = "start", _("Bottom corner before the text")


class ChatWidget(models.Model):
    name = models.CharField(_("name"), max_length=100)
    # Public: the script tag names it (data-widget), so it identifies, never authorizes.
    key = models.CharField(_("key"), max_length=24, unique=True, default=_new_key, editable=False)
    allowed_origins = models.TextField(
        _("allowed origins"),
        blank=True,
        validators=[validate_origins],
        help_text=_("One per line, e.g. https://www.example.org. Only these pages may open the chat."),
    )
    colour = models.CharField(_("colour"), max_length=7, default="#1d4ed8", validators=[validate_colour])
    position = models.CharField(
        _("position"), max_length=8, choices=WidgetPosition.choices, default=WidgetPosition.END
    )
    greeting = models.JSONField(_("greeting per language"), default=dict, blank=True)
    queue = models.ForeignKey(
        "tickets.Queue",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("queue"),
    )
    reply_minutes = models.PositiveSmallIntegerField(_("expected reply time (minutes)"), default=5)
    # Business hours: [[weekday (Monday 0), "08:00", "18:00"], ...] in time_zone; none: always open.
    hours = models.JSONField(_("business hours"), default=list, blank=True, validators=[validate_hours])
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone],
        help_text=_("For the business hours, e.g. Asia/Tehran; empty: the desk's."),
    )  # fmt: skip
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chat widget")
        verbose_name_plural = _("chat widgets")

    def __str__(self) -> str:
        return self.name

    def origins(self) -> set[str]:
        return {o for o in (normalize_origin(line) for line in self.allowed_origins.splitlines()) if o}

    def allows(self, origin: str) -> bool:
        """Whether a page of this origin may open the chat (no Origin header: never)."""
        return bool(origin) and normalize_origin(origin) in self.origins()

    def calendar(self) -> Calendar:
        return Calendar(
            zone=ZoneInfo(self.time_zone or settings.TIME_ZONE),
            hours=tuple(
                sorted((day, _clock(opens), _clock(closes)) for day, opens, closes in self.hours or [])
            ),
        )

    def opens_at(self, now: datetime) -> datetime:
        """`now` when the chat is within its business hours, else when it next opens."""
        return self.calendar().opens_at(now)

    def greeting_for(self, language: str) -> str:
        for lang in (language, "en"):
            if (self.greeting or {}).get(lang):
                return str(self.greeting[lang])
        return ""


class ChatUpload(models.Model):
    """An image or PDF a visitor sent, kept for the agents (shown through the media proxy)."""

    widget_key = models.CharField(max_length=24)
    visitor_id = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)  # what the bytes are (sniffed), never what was claimed
    size = models.PositiveIntegerField()
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chat upload")
        verbose_name_plural = _("chat uploads")

    def __str__(self) -> str:
        return self.name
