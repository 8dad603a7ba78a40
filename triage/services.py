"""Actions on triage flows and runs. The only place that writes them.

Every answer, whatever the channel (SMS, the agent's form), goes through `answer_run`, which locks
the run, feeds the pure engine, writes a `triage_answer` event and sends the next question through
the outbox in the same transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from channels_app.base import contact_kind_of
from helpdesk.bulkwrite import update_each
from helpdesk.customers.models import ContactKind, ContactPoint, Customer
from helpdesk.errors import ApplicationError
from helpdesk.tickets import realtime
from helpdesk.tickets import services as ticket_services
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    Channel,
    Direction,
    EventKind,
    Queue,
    Ticket,
    TimelineEvent,
)
from triage import engine
from triage.models import (
    Flow,
    FlowVersion,
    Playbook,
    ResourceLink,
    Run,
    RunMode,
    RunSource,
    RunStatus,
    SegmentRequest,
    SegmentStatus,
)

logger = logging.getLogger(__name__)

# Sent in the transaction that completes a run (kwarg run), after its last prompt went out: apps
# record what follows (helpdesk.feedback asks how it went).
run_completed = Signal()

SEED_PATH = Path(__file__).resolve().parent / "fixtures" / "stop_the_bleeding.json"
# The queues its rules route to, playbooks (two options and a story) and resource links that ship
# with the seeded flow.
SEED_EXTRAS_PATH = Path(__file__).resolve().parent / "fixtures" / "stop_the_bleeding_playbooks.json"
# A reminder or expiry sweep handles at most this many runs, so one beat tick stays short.
SWEEP_BATCH = 500
# A segment starts this many runs per task: each sends an SMS, so the outbox absorbs the burst.
SEGMENT_CHUNK = 200


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def remind_after() -> timedelta:
    return timedelta(minutes=_setting("TRIAGE_REMIND_AFTER_MINUTES", 120))


def expire_after() -> timedelta:
    return timedelta(minutes=_setting("TRIAGE_EXPIRE_AFTER_MINUTES", 24 * 60))


def resume_window() -> timedelta:
    return timedelta(days=_setting("TRIAGE_RESUME_WINDOW_DAYS", 7))


def yes_window() -> timedelta:
    return timedelta(hours=_setting("TRIAGE_BROADCAST_YES_WINDOW_HOURS", 72))


# --- Flows and versions -------------------------------------------------------------------


def _check(definition: Any) -> None:
    errors = engine.validate_definition(definition)
    if errors:
        raise ApplicationError(" ".join(errors), code="invalid_flow", fields={"definition": errors})


@transaction.atomic
def create_flow(*, name: str, actor=None, slug: str = "", description: str = "") -> Flow:
    """Create a flow with an empty draft version for the editor."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("A flow needs a name."), code="invalid", fields={"name": [_("Required.")]})
    slug = slugify(slug or name)[:80] or "flow"
    base, n = slug, 2
    while Flow.objects.filter(slug=slug).exists():
        slug, n = f"{base[:74]}-{n}", n + 1
    flow = Flow.objects.create(name=name[:200], slug=slug, description=description, created_by=actor)
    FlowVersion.objects.create(flow=flow, number=1, definition={"max_retries": 2, "steps": []})
    return flow


def draft_for(*, flow: Flow) -> FlowVersion:
    """Return the flow's unpublished draft, copying the latest version when there is none."""
    with transaction.atomic():
        latest = FlowVersion.objects.select_for_update().filter(flow=flow).order_by("-number").first()
        if latest is not None and latest.published_at is None:
            return latest
        return FlowVersion.objects.create(
            flow=flow,
            number=(latest.number + 1) if latest else 1,
            definition=json.loads(json.dumps(latest.definition)) if latest else {"steps": []},
        )


@transaction.atomic
def save_draft(*, flow: Flow, definition: dict, actor=None) -> FlowVersion:
    """Store the editor's definition in the draft; published versions are never changed."""
    if not isinstance(definition, dict):
        raise ApplicationError(_("The flow must be a JSON object."), code="invalid_flow")
    draft = draft_for(flow=flow)
    FlowVersion.objects.filter(pk=draft.pk, published_at__isnull=True).update(definition=definition)
    draft.definition = definition
    Flow.objects.filter(pk=flow.pk).update(updated_at=timezone.now())
    return draft


@transaction.atomic
def publish_version(*, version: FlowVersion, actor=None, now: datetime | None = None) -> FlowVersion:
    """Publish a draft: new runs start on it; runs already going keep their version."""
    version = FlowVersion.objects.select_for_update().get(pk=version.pk)
    if version.published_at is not None:
        raise ApplicationError(_("This version is already published."), code="already_published")
    from triage import selectors

    problems = selectors.definition_problems(version.definition)
    if problems:
        raise ApplicationError(" ".join(problems), code="invalid_flow", fields={"definition": problems})
    version.published_at = now or timezone.now()
    version.published_by = actor
    version.save(update_fields=["published_at", "published_by"])
    return version


def published_version(flow: Flow) -> FlowVersion:
    version = flow.versions.filter(published_at__isnull=False).order_by("-number").first()
    if version is None:
        raise ApplicationError(_("This flow has no published version yet."), code="flow_not_published")
    return version


@transaction.atomic
def import_flow(*, data: dict, actor=None, publish: bool = True) -> FlowVersion:
    """Create or update a flow from exported JSON; a changed definition becomes a new version."""
    if not isinstance(data, dict) or not isinstance(data.get("definition"), dict):
        raise ApplicationError(_("Expected {name, slug, definition}."), code="invalid_flow")
    definition = data["definition"]
    _check(definition)
    slug = slugify(data.get("slug") or data.get("name") or "")[:80]
    if not slug:
        raise ApplicationError(_("The flow needs a slug or a name."), code="invalid_flow")
    flow, _created = Flow.objects.get_or_create(
        slug=slug,
        defaults={"name": (data.get("name") or slug)[:200], "description": data.get("description", "")},
    )
    latest = flow.versions.order_by("-number").first()
    if latest is not None and latest.definition == definition and (latest.published_at or not publish):
        return latest
    version = save_draft(flow=flow, definition=definition, actor=actor)
    if publish:
        version = publish_version(version=version, actor=actor)
    return version


def export_flow(*, flow: Flow, version: FlowVersion | None = None) -> dict:
    """Return the flow as importable JSON (the latest version unless one is given)."""
    version = version or flow.versions.order_by("-number").first()
    return {
        "name": flow.name,
        "slug": flow.slug,
        "description": flow.description,
        "version": version.number if version else None,
        "definition": version.definition if version else {"steps": []},
    }


# --- The seeded flow ----------------------------------------------------------------------


@transaction.atomic
def seed_stop_the_bleeding() -> Flow:
    """Install the "Stop the bleeding" flow, the queues its rules route to, its playbooks and
    resource links; safe to run again."""
    data = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    extras = json.loads(SEED_EXTRAS_PATH.read_text(encoding="utf-8"))
    for spec in extras["queues"]:  # before the import: a flow routing to a missing queue cannot publish
        ticket_services.ensure_queue(**spec)
    version = import_flow(data=data, publish=True)
    flow = version.flow
    for spec in extras["playbooks"]:
        Playbook.objects.get_or_create(
            name=spec["name"],
            flow=flow,
            defaults={"condition": spec["condition"], "texts": spec["texts"], "order": spec["order"]},
        )
    for spec in extras["links"]:
        ResourceLink.objects.get_or_create(
            url=spec["url"], language=spec["language"], crisis=None, defaults=spec
        )
    return flow


# --- Runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerResult:
    run: Run
    valid: bool
    prompts: list[str]
    completed: bool


def _point_for(customer: Customer, channel: str) -> ContactPoint | None:
    """The customer's point on the channel: a reachable one first, then the oldest."""
    kind = contact_kind_of(channel) or ContactKind.PHONE
    points = list(ContactPoint.objects.filter(customer=customer, kind=kind).order_by("id"))
    return next((p for p in points if p.can_receive), points[0] if points else None)


def _crisis_key(ticket: Ticket | None) -> str | None:
    return str(ticket.crisis_id) if ticket is not None and ticket.crisis_id else None


def _answer_channel(run: Run) -> str:
    # Agent-guided runs talk on no channel (run.channel is ''): the agent types what the customer
    # said on the ticket's own channel (an email, a call), so the answers carry that one.
    if run.channel:
        return run.channel
    return run.ticket.channel if run.ticket is not None else Channel.SYSTEM


def _prompt_body(prompts: list[str]) -> str:
    # One message per turn: the invalid-answer note, the next question and the closing line travel
    # together.
    return "\n\n".join(p for p in prompts if p)


def _send_prompts(run: Run, prompts: list[str], *, author=None) -> None:
    # Voice and agent-guided runs return their prompts instead (AnswerResult.prompts).
    body = _prompt_body(prompts)
    if run.mode != RunMode.SMS or not body or run.ticket is None:
        return
    ticket_services.send_message(
        ticket=run.ticket,
        channel=run.channel,
        body=body,
        author=author,
        contact_point=run.contact_point,
        payload={"triage_run": run.pk},
    )


def start_run(
    *,
    flow: Flow,
    customer: Customer,
    ticket: Ticket | None = None,
    mode: str = RunMode.SMS,
    source: str = RunSource.AGENT,
    actor=None,
    language: str = "",
    contact_point: ContactPoint | None = None,
    channel: str = Channel.SMS,
    now: datetime | None = None,
) -> Run:
    """Start the flow's published version for the customer. By message the first question goes out
    on `channel`; by phone (voice) and agent-guided runs, prompts are read from the run."""
    now = now or timezone.now()
    version = published_version(flow)
    point = None
    if mode == RunMode.SMS:
        ticket_services.check_can_send(channel)
        point = contact_point or _point_for(customer, channel)
        if point is None:
            raise ApplicationError(
                _("The customer has no contact point for %(channel)s.") % {"channel": channel},
                code="no_phone",
            )
        if point.opted_out_at is not None:
            raise ApplicationError(_("The customer opted out of SMS."), code="opted_out")
    elif mode == RunMode.VOICE:
        point = contact_point
        channel = Channel.VOICE
    else:
        channel = ""
    language = language or (ticket.language if ticket else "") or customer.language or "en"
    try:
        with transaction.atomic():
            if ticket is None:
                ticket = ticket_services.find_thread(customer=customer, channel=channel, now=now)
            if ticket is None:
                ticket = ticket_services.create_ticket(
                    customer=customer,
                    subject=_("Triage: %(flow)s") % {"flow": flow.name},
                    channel=channel or Channel.VOICE,
                    language=language,
                    now=now,
                )
            state, prompts, _outcome = engine.advance(
                version.definition, engine.new_state(language=language, crisis=_crisis_key(ticket)), None
            )
            run = Run.objects.create(
                flow_version=version,
                customer=customer,
                ticket=ticket,
                contact_point=point,
                mode=mode,
                channel=channel,
                source=source,
                language=language,
                state=state,
                started_by=actor,
                started_at=now,
                last_activity_at=now,
            )
            _send_prompts(run, prompts, author=actor)
    except IntegrityError as exc:
        raise ApplicationError(_("This customer already has a triage run going."), code="run_active") from exc
    return run


@dataclass(frozen=True)
class Turn:
    """What one answer does to a run, worked out by the engine before anything is written."""

    step: dict | None
    state: dict[str, Any]
    prompts: list[str]
    outcome: engine.Outcome | None
    valid: bool
    value: Any


def next_turn(*, run: Run, answer: str) -> Turn:
    """Feed the answer to the engine for this run (its flow version loaded); writes nothing."""
    definition = run.flow_version.definition
    step = engine.current_step(definition, run.state)
    before = dict(run.state.get("answers") or {})
    state, prompts, outcome = engine.advance(definition, run.state, answer)
    key = step.get("key") if step else None
    moved_on = key is not None and key in state["answers"] and key not in before
    return Turn(
        step=dict(step) if step else None,
        state=state,
        prompts=prompts,
        outcome=outcome,
        valid=moved_on and state["answers"].get(key) is not None,
        value=state["answers"].get(key) if moved_on else None,
    )


def _already_fed(run: Run, event: TimelineEvent | None) -> bool:
    # At-least-once delivery of inbound events: an event already fed to the run is ignored.
    return event is not None and event.pk <= int(run.state.get("last_event_id") or 0)


def _answer_event(run: Run, turn: Turn, *, answer: str, actor, event, now) -> TimelineEvent:
    step, valid, value = turn.step, turn.valid, turn.value
    question = engine.text_for(step.get("text"), run.language) if step else ""
    meaning = engine.describe_value(step or {}, value, run.language, run.state.get("crisis")) if valid else ""
    shown = f"{answer} ({meaning})" if meaning and meaning != answer.strip() else answer
    if not valid:
        shown = f"{answer} — " + _("not understood")
    body = f"{question}\n→ {shown}" if question else shown
    return TimelineEvent(
        customer_id=run.customer_id,
        ticket=run.ticket,
        channel=_answer_channel(run),
        direction=Direction.INTERNAL,
        kind=EventKind.TRIAGE_ANSWER,
        author=actor,
        contact_point=run.contact_point,
        body=body[:4000],
        payload={
            "run": run.pk,
            "step": step.get("key") if step else None,
            "answer": answer[:1000],
            "value": value,
            "valid": valid,
            "event": event.pk if event is not None else None,
        },
        created_at=now,
    )


def _take_turn(run: Run, turn: Turn, *, event: TimelineEvent | None, now: datetime) -> list[str]:
    """Move the run (in memory) to the turn's state; return the fields to save."""
    if event is not None:
        turn.state["last_event_id"] = event.pk
    run.state = turn.state
    run.last_activity_at = now
    run.reminded_at = None
    fields = ["state", "last_activity_at", "reminded_at"]
    if turn.outcome is not None:
        run.status = RunStatus.COMPLETED
        run.ended_at = now
        run.severity = turn.outcome.severity
        fields += ["status", "ended_at", "severity"]
    return fields


def answer_run(
    *, run: Run, answer: str, actor=None, event: TimelineEvent | None = None, now: datetime | None = None
) -> AnswerResult:
    """Feed one answer to an active run: record it, send the next question, apply the outcome at the end."""
    now = now or timezone.now()
    with transaction.atomic():
        run = (
            Run.objects.select_for_update(of=("self",))
            .select_related("flow_version", "ticket", "contact_point")
            .get(pk=run.pk)
        )
        if run.status != RunStatus.ACTIVE:
            raise ApplicationError(_("This triage run is not active."), code="run_not_active")
        if _already_fed(run, event):
            return AnswerResult(run, valid=False, prompts=[], completed=False)
        turn = next_turn(run=run, answer=answer or "")
        _answer_event(run, turn, answer=answer or "", actor=actor, event=event, now=now).save(
            force_insert=True
        )
        run.save(update_fields=_take_turn(run, turn, event=event, now=now))
        if turn.outcome is not None:
            _apply_outcome(run, turn.outcome, actor=actor)
        _send_prompts(run, turn.prompts)
        if turn.outcome is not None:
            run_completed.send(sender=Run, run=run)
            from helpdesk import events

            events.publish("triage.completed", {
                "run": run.pk, "ticket": run.ticket_id, "customer": run.customer_id, "severity": run.severity,
                "outcome": run.outcome,
            })  # fmt: skip
        if run.ticket is not None and run.mode != RunMode.SMS:
            # Over SMS, send_message already announced the change; one notification per answer.
            realtime.ticket_changed(run.ticket)
    return AnswerResult(run, valid=turn.valid, prompts=turn.prompts, completed=turn.outcome is not None)


def lock_active_runs(*, customer_ids: Sequence[int], mode: str = RunMode.SMS) -> dict[int, Run]:
    """The customers' active runs in this mode by customer id, locked until the transaction ends,
    with their version, ticket and contact point (one query for them all)."""
    runs = (
        Run.objects.select_for_update(of=("self",))
        .select_related("flow_version", "ticket", "contact_point")
        .filter(customer_id__in=customer_ids, mode=mode, status=RunStatus.ACTIVE)
        .order_by("id")  # one lock order for every batch
    )
    return {run.customer_id: run for run in runs}


def answer_runs(answers: Sequence[tuple[Run, Turn, TimelineEvent]], *, now: datetime | None = None) -> None:
    """`answer_run` for many SMS runs at once, each locked (`lock_active_runs`) and fed the inbound
    event's answer in a turn (`next_turn`) that does not end it: one INSERT of answer events, one
    UPDATE of the runs, the next questions through `send_system_messages`. In the caller's transaction."""
    now = now or timezone.now()
    fresh = [(run, turn, event) for run, turn, event in answers if not _already_fed(run, event)]
    if any(
        turn.outcome is not None or run.mode != RunMode.SMS or run.contact_point is None
        for run, turn, _event in fresh
    ):
        raise ValueError("answer_runs takes SMS runs with a contact point, in turns that do not end them")
    TimelineEvent.objects.bulk_create(
        [
            _answer_event(run, turn, answer=event.body or "", actor=None, event=event, now=now)
            for run, turn, event in fresh
        ]
    )
    for run, turn, event in fresh:
        _take_turn(run, turn, event=event, now=now)
    update_each([run for run, _turn, _event in fresh], ["state", "last_activity_at", "reminded_at"])
    questions = []
    for run, turn, _event in fresh:
        body = _prompt_body(turn.prompts)
        if body and run.ticket is not None and run.contact_point is not None:
            questions.append(
                ticket_services.SystemMessage(
                    ticket=run.ticket,
                    channel=run.channel,
                    body=body,
                    contact_point=run.contact_point,
                    payload={"triage_run": run.pk},
                )
            )
    ticket_services.send_system_messages(questions)


def _apply_outcome(run: Run, outcome: engine.Outcome, *, actor=None) -> None:
    from triage import selectors

    result = outcome.as_dict()
    playbook = selectors.playbook_for(run=run, answers=outcome.answers, severity=outcome.severity)
    if playbook is not None:
        texts = selectors.playbook_texts(playbook, run.language)
        result["playbook"] = {"id": playbook.pk, "name": playbook.name, **texts}
    run.outcome = result
    run.save(update_fields=["outcome"])
    ticket = run.ticket
    if ticket is None:
        return
    changes: dict[str, Any] = {"severity": outcome.severity}
    if outcome.priority is not None and outcome.priority < ticket.priority:
        changes["priority"] = outcome.priority  # triage only ever raises urgency
    lost_queue = ""
    if outcome.queue:
        queue = Queue.objects.filter(slug=outcome.queue).first()
        if queue is not None:
            changes["queue"] = queue
        else:
            # Publishing checked it existed; it was deleted or renamed since. Say so on the ticket.
            lost_queue = outcome.queue
            logger.warning("triage run %s routes to the missing queue %r", run.pk, outcome.queue)
    if outcome.tags:
        current = list(ticket.tags.values_list("name", flat=True))
        changes["tags"] = sorted(set(current) | set(outcome.tags))
    ticket_services.update_ticket(ticket=ticket, actor=actor, **changes)
    lines = [_("Triage complete: severity %(severity)s of 5.") % {"severity": outcome.severity}]
    if outcome.focus:
        lines.append(_("To solve first: %(focus)s") % {"focus": outcome.focus})
    if playbook is not None:
        lines.append(_("Option 1: %(text)s") % {"text": result["playbook"]["option_1"]})
        lines.append(_("Option 2: %(text)s") % {"text": result["playbook"]["option_2"]})
    if lost_queue:
        lines.append(
            _("The flow routes this ticket to the queue '%(queue)s', which no longer exists: it stays here.")
            % {"queue": lost_queue}
        )
    ticket_services.add_system_event(
        customer_id=run.customer_id,
        ticket=ticket,
        kind=EventKind.NOTE,
        author=actor,
        body="\n".join(lines),
        payload={"triage_run": run.pk, "outcome": result},
    )


@transaction.atomic
def cancel_run(
    *, run: Run, actor=None, status: str = RunStatus.CANCELLED, now: datetime | None = None
) -> Run:
    """End an active run without an outcome (agent cancelled, or the customer opted out)."""
    now = now or timezone.now()
    Run.objects.filter(pk=run.pk, status=RunStatus.ACTIVE).update(status=status, ended_at=now)
    run.refresh_from_db()
    return run


def end_runs_for_opt_out(*, contact_point: ContactPoint, now: datetime | None = None) -> int:
    """End every active SMS run of a customer whose phone opted out: nothing more may be sent."""
    now = now or timezone.now()
    return Run.objects.filter(
        Q(contact_point=contact_point) | Q(customer_id=contact_point.customer_id, contact_point__isnull=True),
        status=RunStatus.ACTIVE,
        mode=RunMode.SMS,
    ).update(status=RunStatus.OPTED_OUT, ended_at=now)


def resume_run(*, run: Run, actor=None, now: datetime | None = None) -> Run:
    """Bring an expired run back: the same version, the same answers, the current question again."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            run = (
                Run.objects.select_for_update(of=("self",))
                .select_related("flow_version", "ticket", "contact_point")
                .get(pk=run.pk)
            )
            if run.status != RunStatus.EXPIRED:
                raise ApplicationError(_("Only an expired run can be resumed."), code="run_not_expired")
            if run.contact_point is not None and run.contact_point.opted_out_at is not None:
                raise ApplicationError(_("The customer opted out of SMS."), code="opted_out")
            run.status = RunStatus.ACTIVE
            run.ended_at = None
            run.reminded_at = None
            run.last_activity_at = now
            run.save(update_fields=["status", "ended_at", "reminded_at", "last_activity_at"])
            _send_prompts(run, [engine.current_prompt(run.flow_version.definition, run.state)], author=actor)
    except IntegrityError as exc:
        raise ApplicationError(_("This customer already has a triage run going."), code="run_active") from exc
    return run


def remind_silent_runs(*, now: datetime | None = None) -> int:
    """Send one reminder to each SMS run silent for longer than the reminder delay."""
    now = now or timezone.now()
    ids = list(
        Run.objects.filter(
            status=RunStatus.ACTIVE,
            mode=RunMode.SMS,
            reminded_at__isnull=True,
            last_activity_at__lte=now - remind_after(),
            last_activity_at__gt=now - expire_after(),
        ).values_list("id", flat=True)[:SWEEP_BATCH]
    )
    sent = 0
    for run_id in ids:
        with transaction.atomic():
            # Claim before work: a second beat (or machine) finds reminded_at set and skips.
            if not Run.objects.filter(pk=run_id, status=RunStatus.ACTIVE, reminded_at__isnull=True).update(
                reminded_at=now
            ):
                continue
            run = Run.objects.select_related("flow_version", "ticket", "contact_point").get(pk=run_id)
            if run.contact_point is not None and run.contact_point.opted_out_at is not None:
                Run.objects.filter(pk=run_id).update(status=RunStatus.OPTED_OUT, ended_at=now)
                continue
            definition = run.flow_version.definition
            reminder = engine.flow_text(definition, "reminder", run.language)
            _send_prompts(run, [f"{reminder}\n{engine.current_prompt(definition, run.state)}"])
            sent += 1
    return sent


def expire_stale_runs(*, now: datetime | None = None) -> int:
    """Expire runs silent past the expiry delay (SMS runs only after their one reminder)."""
    now = now or timezone.now()
    cutoff = now - expire_after()
    return Run.objects.filter(
        Q(mode=RunMode.AGENT) | Q(reminded_at__isnull=False),
        status=RunStatus.ACTIVE,
        last_activity_at__lte=cutoff,
    ).update(status=RunStatus.EXPIRED, ended_at=now)


def end_opted_out_runs() -> int:
    """Belt and braces for the opt-out hook: end active SMS runs whose phone has opted out."""
    return Run.objects.filter(
        status=RunStatus.ACTIVE, mode=RunMode.SMS, contact_point__opted_out_at__isnull=False
    ).update(status=RunStatus.OPTED_OUT, ended_at=timezone.now())


# --- Starting runs from a broadcast reply or a segment ------------------------------------


def start_runs_for_yes_reply(event: TimelineEvent, *, now: datetime | None = None) -> Run | None:
    """Start the broadcast's flow when a customer answers its "reply YES for help" with yes."""
    now = now or timezone.now()
    if engine.parse_yes_no(event.body or "") is not True:
        return None
    if engine.normalize(event.body or "") not in engine.YES_WORDS:
        return None  # "yes but..." is a message for an agent, not a trigger
    from triage import selectors

    flow = selectors.broadcast_flow_for(contact_point_id=event.contact_point_id, since=now - yes_window())
    if flow is None:
        return None
    point = event.contact_point
    language = (point.language if point else "") or event.customer.language or "en"
    try:
        return start_run(
            flow=flow,
            customer=event.customer,
            ticket=event.ticket,
            mode=RunMode.SMS,
            channel=event.channel,
            source=RunSource.BROADCAST,
            language=language,
            contact_point=point,
            now=now,
        )
    except ApplicationError as exc:
        logger.info("no triage run for event %s: %s", event.pk, exc.code)
        return None


def segment_customer_ids(*, tag: str = "", language: str = "") -> list[int]:
    """Return customers with a reachable phone, matching the tag and language, and no run going."""
    customers = Customer.objects.filter(
        merged_into__isnull=True,
        contact_points__kind=ContactKind.PHONE,
        contact_points__verified=True,
        contact_points__opted_out_at__isnull=True,
        contact_points__invalid_at__isnull=True,
    ).exclude(triage_runs__status=RunStatus.ACTIVE, triage_runs__mode=RunMode.SMS)
    if tag:
        customers = customers.filter(tags__contains=[tag])
    if language:
        customers = customers.filter(language=language)
    return list(customers.order_by("id").values_list("id", flat=True).distinct())


def segment_needs_approval(count: int) -> bool:
    """Segments larger than SEGMENT_APPROVAL_THRESHOLD wait for a second manager (0: never):
    a stolen manager session must not text the whole customer base alone."""
    threshold = settings.SEGMENT_APPROVAL_THRESHOLD
    return bool(threshold) and count > threshold


def start_segment(*, flow: Flow, actor=None, tag: str = "", language: str = "") -> SegmentRequest:
    """Record a manager's segment and start it: at once up to the approval threshold, else once
    a second manager approves (approve_segment). Runs are queued by a worker, SEGMENT_CHUNK at a
    time; each one's first SMS goes through the outbox at the sending account's rate."""
    published_version(flow)
    if not tag and not language:
        raise ApplicationError(_("Choose a tag or a language for the segment."), code="segment_empty")
    ids = segment_customer_ids(tag=tag, language=language)
    needs_approval = segment_needs_approval(len(ids))
    segment = SegmentRequest.objects.create(
        flow=flow,
        tag=tag,
        language=language,
        planned_count=len(ids),
        status=SegmentStatus.AWAITING_APPROVAL if needs_approval else SegmentStatus.STARTED,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    if not needs_approval:
        _queue_segment(segment, ids, actor)
    return segment


def approve_segment(*, segment: SegmentRequest, approver) -> SegmentRequest:
    """A second manager lets a large segment start; the requester cannot approve their own."""
    with transaction.atomic():
        segment = SegmentRequest.objects.select_for_update().get(pk=segment.pk)
        if segment.status != SegmentStatus.AWAITING_APPROVAL:
            raise ApplicationError(_("This segment is not waiting for approval."), code="invalid_state")
        if segment.requested_by_id is not None and segment.requested_by_id == approver.pk:
            raise ApplicationError(_("A second manager must approve this segment."), code="same_approver")
        segment.approved_by = approver
        ids = segment_customer_ids(tag=segment.tag, language=segment.language)
        segment.planned_count = len(ids)
        segment.status = SegmentStatus.STARTED
        segment.save(update_fields=["approved_by", "planned_count", "status"])
        _queue_segment(segment, ids, approver)
    return segment


def cancel_segment(*, segment: SegmentRequest, actor) -> SegmentRequest:
    """Withdraw a segment that is still waiting for approval (either manager may)."""
    updated = SegmentRequest.objects.filter(pk=segment.pk, status=SegmentStatus.AWAITING_APPROVAL).update(
        status=SegmentStatus.CANCELLED
    )
    if not updated:
        raise ApplicationError(_("This segment is not waiting for approval."), code="invalid_state")
    segment.refresh_from_db()
    return segment


def _queue_segment(segment: SegmentRequest, ids: list[int], actor) -> None:
    from triage import tasks

    SegmentRequest.objects.filter(pk=segment.pk).update(started_at=timezone.now())
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    for start in range(0, len(ids), SEGMENT_CHUNK):
        chunk = ids[start : start + SEGMENT_CHUNK]
        transaction.on_commit(
            partial(tasks.start_segment_runs.delay, segment.flow_id, chunk, actor_id, segment.pk)
        )


def start_segment_runs(
    *, flow: Flow, customer_ids: list[int], actor=None, segment_id: int | None = None
) -> int:
    """Start one SMS run per customer (skipping those who meanwhile started one or opted out)."""
    started = 0
    for customer in Customer.objects.filter(pk__in=customer_ids):
        try:
            start_run(flow=flow, customer=customer, mode=RunMode.SMS, source=RunSource.SEGMENT, actor=actor)
            started += 1
        except ApplicationError as exc:
            logger.info("segment run skipped for customer %s: %s", customer.pk, exc.code)
    if segment_id is not None:
        SegmentRequest.objects.filter(pk=segment_id).update(started_count=F("started_count") + started)
    return started


# --- One click: send the options or the links ---------------------------------------------


def _reply_channel(ticket: Ticket) -> str:
    return ticket_services.reply_channel_for(ticket)


def send_playbook_options(*, run: Run, actor) -> TimelineEvent:
    """Send the playbook's two options (and its story) to the customer on the channel in use."""
    playbook = (run.outcome or {}).get("playbook")
    if not playbook or run.ticket is None:
        raise ApplicationError(_("This run has no playbook to send."), code="no_playbook")
    texts = _message_texts(run.language)
    body = "\n".join(
        [
            texts["options"],
            f"1) {playbook['option_1']}",
            f"2) {playbook['option_2']}",
            playbook.get("story", ""),
        ]
    ).strip()
    return ticket_services.send_message(
        ticket=run.ticket,
        channel=_reply_channel(run.ticket),
        body=body,
        author=actor,
        payload={"triage_run": run.pk},
    )


def send_resource_links(*, ticket: Ticket, actor, links: list[ResourceLink]) -> TimelineEvent:
    """Send these resource links to the customer on the channel in use."""
    if not links:
        raise ApplicationError(_("There are no links to send."), code="no_links")
    texts = _message_texts(ticket.language)
    body = "\n".join([texts["links"], *[f"- {link.title}: {link.url}" for link in links]])
    return ticket_services.send_message(
        ticket=ticket, channel=_reply_channel(ticket), body=body, author=actor
    )


def _message_texts(language: str) -> dict[str, str]:
    # Sent to the customer in the run's language, whatever language the agent's screen is in.
    texts = {
        "en": {"options": "Two ways to stop the bleeding now:", "links": "Help you can use now:"},
        "fa": {
            "options": "دو راه برای جلوگیری از آسیب بیشتر:",
            "links": "منابعی که همین حالا به کارتان می‌آید:",
        },
        "km": {"options": "វិធីពីរយ៉ាងដើម្បីបញ្ឈប់ការខូចខាតឥឡូវនេះ៖", "links": "ជំនួយដែលអ្នកអាចប្រើឥឡូវនេះ៖"},
        "kn": {"options": "ಹಾನಿಯನ್ನು ಈಗಲೇ ತಡೆಯಲು ಎರಡು ಮಾರ್ಗಗಳು:", "links": "ಈಗ ನೀವು ಬಳಸಬಹುದಾದ ನೆರವು:"},
    }
    return texts.get(language, texts["en"])


def open_ticket_ids(customer: Customer) -> list[int]:
    return list(
        Ticket.objects.filter(customer=customer, status__in=OPEN_STATUSES).values_list("id", flat=True)
    )
