"""A chat widget: one per website (or brand) that embeds /embed/chat.js."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

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

    def greeting_for(self, language: str) -> str:
        for lang in (language, "en"):
            if (self.greeting or {}).get(lang):
                return str(self.greeting[lang])
        return ""
