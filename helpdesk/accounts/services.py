"""Actions on agents and their roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, User
from django.db import transaction

from helpdesk.accounts.models import AgentProfile, CalendarChoice, DigitsChoice, Role, Team
from helpdesk.errors import ApplicationError
from helpdesk.localformat import available_time_zones

ROLE_GROUPS = {Role.AGENT: "Agents", Role.MANAGER: "Managers", Role.ADMIN: "Admins"}


@transaction.atomic
def create_agent(
    *,
    username: str,
    password: str,
    role: str = Role.AGENT,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    team: Team | None = None,
    languages: list[str] | None = None,
    time_zone: str = "",
) -> AbstractUser:
    """Create a staff user with a profile and the group of their role ("" zone: the site's)."""
    user = get_user_model().objects.create_user(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=True,
        is_superuser=role == Role.ADMIN,
    )
    AgentProfile.objects.create(
        user=user, role=role, team=team, languages=languages or ["en"], time_zone=time_zone
    )
    group, _ = Group.objects.get_or_create(name=ROLE_GROUPS[Role(role)])
    user.groups.add(group)
    return user


@transaction.atomic
def update_display_preferences(*, user: User, time_zone: str, digits: str, calendar: str) -> AgentProfile:
    """Save how the agent reads times and numbers: their zone ("" the site's), digits, calendar."""
    if time_zone and time_zone not in available_time_zones():
        raise ApplicationError("Unknown time zone.", "invalid", {"time_zone": ["Unknown time zone."]})
    if digits not in DigitsChoice.values or calendar not in CalendarChoice.values:
        raise ApplicationError("Unknown digits or calendar.", "invalid")
    profile, _ = AgentProfile.objects.select_for_update().get_or_create(user=user)
    profile.time_zone, profile.digits, profile.calendar = time_zone, digits, calendar
    profile.save(update_fields=["time_zone", "digits", "calendar"])
    return profile


def is_manager(user: AbstractUser) -> bool:
    """Return True for managers and admins (helpdesk.accounts.guards owns the rule)."""
    from helpdesk.accounts.guards import is_manager as rule

    return rule(user)
