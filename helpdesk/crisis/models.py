"""Crises: the event that drives a surge. Banners, directory and broadcasts build on this."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
