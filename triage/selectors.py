"""Reads for triage views and the API: runs, playbooks, similar tickets, resource links."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from helpdesk.tickets.models import Queue, Tag, Ticket, TicketStatus, TimelineEvent
from triage import engine
from triage.models import (
    Flow,
    FlowVersion,
    Playbook,
    ResourceLink,
    Run,
    RunMode,
    RunStatus,
    SegmentRequest,
    SegmentStatus,
)

SIMILAR_LIMIT = 3


def definition_problems(definition: Any) -> list[str]:
    """Return what stops this definition from being published: the engine's checks, then each
    rule's queue (it must exist, or routing would silently do nothing) and tags (they are created
    on first use, so only their spelling is checked: the stored name must be the one written)."""
    errors = engine.validate_definition(definition)
    if errors:
        return errors
    rules = [(n, rule) for n, rule in enumerate(definition.get("rules") or [], start=1)]
    wanted = {rule["queue"] for _n, rule in rules if rule.get("queue")}
    existing = set(Queue.objects.filter(slug__in=wanted).values_list("slug", flat=True)) if wanted else set()
    for n, rule in rules:
        label = engine.rule_label(n, rule)
        queue = rule.get("queue")
        if queue and queue not in existing:
            errors.append(
                _("%(rule)s: there is no queue '%(queue)s'; create it first or name another queue.")
                % {"rule": label, "queue": queue}
            )
        for tag in rule.get("tags") or []:
            stored = Tag.normalize(tag)
            if not stored:
                errors.append(_("%(rule)s: a tag is empty.") % {"rule": label})
            elif stored != tag:
                errors.append(
                    _("%(rule)s: the tag '%(tag)s' would be stored as '%(stored)s'; write it that way.")
                    % {"rule": label, "tag": tag, "stored": stored}
                )
    return errors


def active_run(*, customer_id: int, mode: str = RunMode.SMS) -> Run | None:
    """Return the customer's active run in this mode (there is at most one), without its relations:
    `answer_run` reads them again under its lock. The four-table join cost 4.9 ms of CPU against
    1.9 ms for the run alone, on every SMS answer (bench.triage)."""
    return Run.objects.filter(customer_id=customer_id, mode=mode, status=RunStatus.ACTIVE).first()


def resumable_run(*, customer_id: int, since, channel: str = "sms") -> Run | None:
    """Return the customer's latest expired message run on the channel, still inside the resume window."""
    return (
        Run.objects.filter(
            customer_id=customer_id,
            mode=RunMode.SMS,
            channel=channel,
            status=RunStatus.EXPIRED,
            ended_at__gte=since,
        )
        .order_by("-ended_at")
        .first()
    )


def run_prompt(run: Run) -> str:
    """The question the run waits on, for a caller that reads it out (voice) or shows it (agent)."""
    if run.status != RunStatus.ACTIVE:
        return ""
    return engine.current_prompt(run.flow_version.definition, run.state)


def runs_for_ticket(*, ticket: Ticket) -> QuerySet[Run]:
    return (
        Run.objects.filter(ticket=ticket).select_related("flow_version__flow").order_by("-started_at", "-id")
    )


def flows_with_versions() -> QuerySet[Flow]:
    return Flow.objects.prefetch_related("versions").order_by("name")


def recent_segments(limit: int = 10) -> list[SegmentRequest]:
    """Segments waiting for a second manager first, then the latest ones started or cancelled."""
    rows = SegmentRequest.objects.select_related("flow", "requested_by", "approved_by")
    waiting = list(rows.filter(status=SegmentStatus.AWAITING_APPROVAL).order_by("created_at"))
    done = list(rows.exclude(status=SegmentStatus.AWAITING_APPROVAL)[:limit])
    return waiting + done


def published_flows() -> QuerySet[Flow]:
    return (
        Flow.objects.filter(is_active=True, versions__published_at__isnull=False).distinct().order_by("name")
    )


def latest_version(flow: Flow) -> FlowVersion | None:
    return flow.versions.order_by("-number").first()


def playbook_for(*, run: Run, answers: dict[str, Any], severity: int | None) -> Playbook | None:
    """Return the first active playbook whose rule matches the answers (flow and crisis scoped)."""
    flow_id = run.flow_version.flow_id
    crisis_id = run.ticket.crisis_id if run.ticket_id and run.ticket else None
    candidates = Playbook.objects.filter(is_active=True).filter(Q(flow__isnull=True) | Q(flow_id=flow_id))
    candidates = candidates.filter(Q(crisis__isnull=True) | Q(crisis_id=crisis_id))
    # A playbook written for this crisis beats a general one of the same order.
    for playbook in sorted(candidates, key=lambda p: (p.order, p.crisis_id is None, p.id)):
        if engine.matches(playbook.condition or {}, answers, severity):
            return playbook
    return None


def playbook_texts(playbook: Playbook, language: str) -> dict[str, str]:
    texts = playbook.texts or {}
    chosen: dict = texts.get(language) or texts.get("en") or next(iter(texts.values()), {})
    return {k: str(chosen.get(k, "")) for k in ("option_1", "option_2", "story")}


def similar_resolved_tickets(*, ticket: Ticket, limit: int = SIMILAR_LIMIT) -> list[dict[str, Any]]:
    """Return solved tickets of the same crisis or sharing tags, with the resolution (last reply)."""
    tag_ids = list(ticket.tags.values_list("id", flat=True))
    match = Q(pk__in=[])
    if ticket.crisis_id:
        match |= Q(crisis_id=ticket.crisis_id)
    if tag_ids:
        match |= Q(tags__in=tag_ids)
    # The resolution is each ticket's last reply, as a subquery: portable (DISTINCT ON is
    # PostgreSQL's, and the demo runs on SQLite) and still one query.
    last_reply = (
        TimelineEvent.objects.filter(ticket_id=OuterRef("pk"), direction="out")
        .order_by("-created_at", "-id")
        .values("body")[:1]
    )
    ids = (
        Ticket.objects.filter(match, status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED])
        .exclude(pk=ticket.pk)
        .values("pk")
    )
    tickets = list(
        Ticket.objects.filter(pk__in=ids)
        .annotate(resolution=Subquery(last_reply))
        .order_by("-solved_at", "-id")[:limit]
    )
    return [{"ticket": t, "resolution": t.resolution or ""} for t in tickets]


def resource_links_for(*, language: str, crisis_id: int | None) -> list[ResourceLink]:
    """Return links in the language (English when there are none) for this crisis or every crisis."""
    scope = Q(crisis__isnull=True) | Q(crisis_id=crisis_id) if crisis_id else Q(crisis__isnull=True)
    links = list(ResourceLink.objects.filter(scope, language=language))
    if not links and language != "en":
        links = list(ResourceLink.objects.filter(scope, language="en"))
    return links


def broadcast_flow_for(*, contact_point_id: int | None, since) -> Flow | None:
    """Return the triage flow of the latest broadcast this contact point received since then.

    The crisis app owns broadcasts; this reads `Broadcast.triage_flow` (FK to triage.Flow) and
    `BroadcastDelivery(broadcast, contact_point, sent_at|created_at)` only when they exist.
    """
    from django.apps import apps

    if contact_point_id is None or not apps.is_installed("helpdesk.crisis"):
        return None
    try:
        from helpdesk.crisis.models import Broadcast, BroadcastDelivery  # type: ignore[attr-defined]
    except ImportError:
        return None
    if "triage_flow" not in {f.name for f in Broadcast._meta.get_fields()}:
        return None
    delivery_fields = {f.name for f in BroadcastDelivery._meta.get_fields()}
    deliveries = BroadcastDelivery.objects.filter(
        contact_point_id=contact_point_id, broadcast__triage_flow__isnull=False
    )
    time_field = next((f for f in ("sent_at", "created_at", "attempted_at") if f in delivery_fields), None)
    if time_field:
        deliveries = deliveries.filter(**{f"{time_field}__gte": since}).order_by(f"-{time_field}")
    delivery = deliveries.select_related("broadcast").first()
    # getattr: the field is the crisis app's, and may not exist in every deployment's schema yet.
    return getattr(delivery.broadcast, "triage_flow", None) if delivery is not None else None


def waiting_buttons(run_id: object) -> list[dict[str, str]]:
    """The answer buttons of the question an active run waits on ([] when it waits on none)."""
    from triage import engine

    if not isinstance(run_id, int):
        return []
    run = Run.objects.filter(pk=run_id, status=RunStatus.ACTIVE).select_related("flow_version").first()
    if run is None:
        return []
    step = engine.current_step(run.flow_version.definition, run.state)
    if step is None:
        return []
    return engine.answer_buttons(step, run.language, run.state.get("crisis"))
