"""Template context every workspace page needs: the active crisis banner for agents."""

from __future__ import annotations

from django.conf import settings

from helpdesk.crisis.selectors import active_crises


def workspace(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return {}
    return {"active_crises": list(active_crises()[:3]), "websocket_base_url": settings.WEBSOCKET_BASE_URL}
