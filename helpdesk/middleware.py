"""Response headers Django has no setting for, and each agent's own way of reading times."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from helpdesk import localformat
from helpdesk.accounts.guards import is_agent


class PermissionsPolicyMiddleware:
    """Send `Permissions-Policy` (settings.PERMISSIONS_POLICY) unless the view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.PERMISSIONS_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.policy)
        return response


class AgentLocalFormatMiddleware:
    """For a signed-in agent: times in their own zone, numbers and dates in their digits and
    calendar (AgentProfile), on every page and fragment; everyone else gets the site's zone and
    the language's defaults. Sits after the session, locale and authentication middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # No session cookie, no agent: webhooks and the public pages skip the user lookup.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES or not is_agent(request.user):
            return self.get_response(request)
        profile = getattr(request.user, "profile", None)  # none for a bare createsuperuser
        if profile is None:
            return self.get_response(request)
        with (
            timezone.override(agent_time_zone(profile.time_zone)),
            localformat.override(digits=profile.digits, calendar=profile.calendar),
        ):
            return self.get_response(request)


def agent_time_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone an agent chose, or None (the site's, settings.TIME_ZONE) when blank or unknown."""
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
