"""What a visitor may read: their own conversation, nothing else."""

from __future__ import annotations

from channels_app.chat.tokens import Visitor
from helpdesk.tickets.models import TimelineEvent

HISTORY_LIMIT = 200


def _events(visitor: Visitor):
    return TimelineEvent.objects.filter(
        channel="chat",
        kind__in=("message", "survey"),  # a survey's question and its "what went wrong?" too
        direction__in=("in", "out"),
        contact_point__kind="chat",
        contact_point__value=visitor.visitor_id,
    )


def history(visitor: Visitor, *, after: int = 0) -> list[dict]:
    """The visitor's messages and the desk's replies, oldest first, after an event id."""
    rows = list(
        _events(visitor)
        .filter(pk__gt=after)
        .exclude(direction="out", delivery_status__in=("pending", "blocked", "failed"))
        .order_by("pk")
        .values("pk", "direction", "body", "payload", "provider_id", "delivery_status", "created_at")[
            :HISTORY_LIMIT
        ]
    )
    messages = [
        {
            "id": row["pk"],
            "from": "visitor" if row["direction"] == "in" else "agent",
            "text": row["body"],
            "client_id": (row["payload"] or {}).get("client_id", ""),
            "provider_id": row["provider_id"] or "",
            "status": row["delivery_status"],
            "at": row["created_at"].isoformat(),
            "choices": [],
        }
        for row in rows
    ]
    if messages and messages[-1]["from"] == "agent":
        # The conversation ends on a triage question: its buttons, while the run waits on it.
        messages[-1]["choices"] = _buttons(rows[-1]["payload"] or {})
    return messages


def _buttons(payload: dict) -> list[dict]:
    """A question's answers: a survey's scores (while it waits), or the triage run's choices."""
    if payload.get("choices") and payload.get("survey"):
        from helpdesk.feedback.models import Survey, SurveyState

        waiting = Survey.objects.filter(pk=payload["survey"], state=SurveyState.ASKED).exists()
        return list(payload["choices"]) if waiting else []
    from triage.selectors import waiting_buttons

    return waiting_buttons(payload.get("triage_run"))


def buttons_for_event(event_id: object) -> list[dict]:
    """The answer buttons for a message the desk sends, when it asks a survey or triage question."""
    if not isinstance(event_id, int):
        return []
    payload = TimelineEvent.objects.filter(pk=event_id).values_list("payload", flat=True).first() or {}
    return _buttons(payload)


def own_replies(visitor: Visitor, event_ids: list) -> list[tuple[int, str, str]]:
    """(event id, provider id, delivery status) of the desk's replies to this visitor among these
    ids, once the outbox has recorded them as sent (others, and other people's, are left out)."""
    ids = [i for i in event_ids if isinstance(i, int) and not isinstance(i, bool)][:100]
    return list(
        _events(visitor).filter(pk__in=ids, direction="out").exclude(provider_id=None)
        .values_list("pk", "provider_id", "delivery_status")
    )  # fmt: skip


def open_ticket_id(visitor: Visitor) -> int | None:
    """The visitor's newest open ticket (where their next message goes), None before the first."""
    from helpdesk.tickets.models import OPEN_STATUSES, Ticket

    return (
        Ticket.objects.filter(
            customer__contact_points__kind="chat",
            customer__contact_points__value=visitor.visitor_id,
            status__in=OPEN_STATUSES,
        )
        .order_by("-last_activity_at")
        .values_list("pk", flat=True)
        .first()
    )
