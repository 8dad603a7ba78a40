"""API permissions (kept apart from helpdesk.api so DRF can import them early)."""

from __future__ import annotations

from rest_framework import permissions


class IsStaffAgent(permissions.BasePermission):
    """Only staff (agents, managers, admins) use the API; customers never see it."""

    message = "Only help desk staff may use the API."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
