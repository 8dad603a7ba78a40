"""Agents, managers and admins: Django users with a profile, teams and skills."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")


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
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    # The agent says so (the switch in the top bar): only available agents get new tickets
    # automatically (helpdesk/tickets/assignment.py).
    available = models.BooleanField(_("available for new tickets"), default=False, db_default=False)

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"
