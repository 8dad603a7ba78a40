"""Agents, managers and admins: Django users with a profile, teams and skills."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")


class DigitsChoice(models.TextChoices):
    # Values are helpdesk.localformat's; "" follows the UI language (Persian and Khmer their own).
    LANGUAGE = "", _("As the language writes them")
    NATIVE = "native", _("The language's own digits")
    LATIN = "latin", _("0–9")


class CalendarChoice(models.TextChoices):
    LANGUAGE = "", _("As the language counts (Persian: Solar Hijri)")
    GREGORIAN = "gregorian", _("Gregorian")
    SOLAR_HIJRI = "solar_hijri", _("Solar Hijri")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    languages = models.JSONField(_("languages"), default=list, blank=True)
    skills = models.ManyToManyField(Skill, blank=True, related_name="agents")
    # "" is the site's zone (settings.TIME_ZONE).
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="")
    digits = models.CharField(
        _("digits"), max_length=16, blank=True, default="", db_default="", choices=DigitsChoice.choices
    )
    calendar = models.CharField(
        _("calendar"), max_length=16, blank=True, default="", db_default="", choices=CalendarChoice.choices
    )
    # The agent says so (the switch in the top bar): only available agents get new tickets
    # automatically (helpdesk/tickets/assignment.py).
    available = models.BooleanField(_("available for new tickets"), default=False, db_default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(digits__in=DigitsChoice.values), name="agentprofile_digits_known"
            ),
            models.CheckConstraint(
                condition=models.Q(calendar__in=CalendarChoice.values), name="agentprofile_calendar_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"
