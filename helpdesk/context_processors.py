"""Template context every workspace page needs: the active crisis banner for agents."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language

from helpdesk.accounts.guards import is_agent, is_manager
from helpdesk.crisis.selectors import active_crises


def workspace(request):
    user = getattr(request, "user", None)
    if not is_agent(user):
        return {}
    crises = list(active_crises().select_related("statement")[:3])
    language = (get_language() or "en")[:2]
    for crisis in crises:  # the agents' crisis bar says the published statement's "what to do"
        statement = crisis.statement
        crisis.statement_line = ""
        if statement is not None:
            crisis.statement_line = statement.text(language, "what_to_do") or statement.text(
                language, "summary"
            )
    manager = is_manager(user)
    alerts = []
    if manager:  # managers see a surge's capacity alert on every page, with the expected wait
        from helpdesk.crisis.surge import capacity_alerts, scope_label

        alerts = [
            {
                "scope": scope_label(a.scope),
                "minutes": max(1, round(a.expected_wait_seconds / 60)),
                "count": a.count,
            }
            for a in capacity_alerts()
        ]
    return {
        "active_crises": crises,
        "capacity_alerts_bar": alerts,
        "websocket_base_url": settings.WEBSOCKET_BASE_URL,
        "is_manager": manager,
    }
