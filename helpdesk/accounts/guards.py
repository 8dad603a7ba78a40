"""Who may do what: the one set of permission guards for pages, the API and websockets.

Predicates (`is_agent`, `is_manager`), view decorators (`staff_required`, `manager_required`) and
DRF permission classes are all built on the same two predicates, so a rule changes in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission


def is_agent(user: Any) -> bool:
    """Help desk staff (agents, managers, admins), signed in and active; customers never are."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def is_manager(user: Any) -> bool:
    """Managers and admins."""
    from helpdesk.accounts.models import Role

    if not is_agent(user):
        return False
    if user.is_superuser:
        return True
    profile = getattr(user, "profile", None)
    return bool(profile and profile.role in (Role.MANAGER, Role.ADMIN))


def _guard(check: Callable[[Any], bool], message: str = "") -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied(message or None)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def staff_required(view: Callable) -> Callable:
    """A page for help desk staff only (sign-in first)."""
    return _guard(is_agent)(view)


def manager_required(view: Callable | None = None, *, message: str = "") -> Callable:
    """A page for managers and admins only; `message` says why to everyone else."""
    decorator = _guard(is_manager, message)
    return decorator(view) if view is not None else decorator


class IsStaffAgent(BasePermission):
    """Only staff (agents, managers, admins) use the API; customers never see it."""

    message = "Only help desk staff may use the API."

    def has_permission(self, request, view) -> bool:
        return is_agent(request.user)


class IsManager(BasePermission):
    message = "Only managers may do this."

    def has_permission(self, request, view) -> bool:
        return is_manager(request.user)


class IsManagerForWrites(BasePermission):
    """Agents read; only managers and admins write."""

    message = "Only managers can change this."

    def has_permission(self, request, view) -> bool:
        return is_agent(request.user) and (request.method in SAFE_METHODS or is_manager(request.user))
