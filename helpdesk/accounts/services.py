"""Actions on agents and their roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction

from helpdesk.accounts.models import AgentProfile, Role, Team

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
    time_zone: str = "UTC",
) -> AbstractUser:
    """Create a staff user with a profile and the group of their role."""
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


def is_manager(user: AbstractUser) -> bool:
    """Return True for managers and admins (helpdesk.accounts.guards owns the rule)."""
    from helpdesk.accounts.guards import is_manager as rule

    return rule(user)
