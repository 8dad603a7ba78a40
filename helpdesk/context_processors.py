"""Template context every workspace page needs: the active crisis banner for agents."""

from __future__ import annotations

from django.conf import settings

from helpdesk.accounts.guards import is_agent, is_manager
from helpdesk.crisis.selectors import active_crises


def workspace(request):
    user = getattr(request, "user", None)
    if not is_agent(user):
        return {}
    return {
        "active_crises": list(active_crises()[:3]),
        "websocket_base_url": settings.WEBSOCKET_BASE_URL,
        "is_manager": is_manager(user),
    }
