"""Triage pages: the ticket panel (agents) and the flow editor with its SMS preview (managers).

Views stay thin: they validate with forms and call services; reads come from selectors.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.accounts import guards
from helpdesk.errors import ApplicationError
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.selectors import visible_tickets
from triage import engine, selectors, services
from triage.forms import (
    LANGUAGES,
    AdvancedForm,
    AnswerForm,
    FlowCreateForm,
    ImportForm,
    SegmentForm,
    StartRunForm,
    StepForm,
)
from triage.models import Flow, Run, RunMode, RunStatus, SegmentRequest, SegmentStatus

PREVIEW_SESSION_KEY = "triage_preview"


staff_required = guards.staff_required
manager_required = guards.manager_required


# --- The ticket panel ---------------------------------------------------------------------


def _panel_context(ticket: Ticket, *, start_form=None, answer_form=None, error: str = "") -> dict:
    runs = list(selectors.runs_for_ticket(ticket=ticket)[:5])
    current = runs[0] if runs else None
    question = ""
    answers: list[dict] = []
    if current is not None:
        definition = current.flow_version.definition
        question = (
            engine.current_prompt(definition, current.state) if current.status == RunStatus.ACTIVE else ""
        )
        given = current.state.get("answers") or {}
        # In the flow's order: the stored answers are a JSON object, whose key order is not kept.
        for step in definition.get("steps") or []:
            if step.get("key") not in given:
                continue
            value = given[step.get("key")]
            answers.append(
                {
                    "question": engine.text_for(step.get("text"), current.language),
                    "value": _label(step, value, current),
                }
            )
    crisis_id = ticket.crisis_id
    return {
        "ticket": ticket,
        "run": current,
        "question": question,
        "answers": answers,
        "playbook": (current.outcome or {}).get("playbook") if current else None,
        "focus": (current.outcome or {}).get("focus") if current else None,
        "similar": selectors.similar_resolved_tickets(ticket=ticket),
        "links": selectors.resource_links_for(language=ticket.language, crisis_id=crisis_id),
        "start_form": start_form or StartRunForm(flows=selectors.published_flows()),
        "answer_form": answer_form or AnswerForm(),
        "error": error,
        "panel_url": reverse("triage:ticket_panel", args=[ticket.pk]),
    }


def _label(step: dict, value, run: Run) -> str:
    if value is None:
        return _("(skipped)")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    choices = {c.get("value"): c for c in engine.choices_for(step, run.state.get("crisis"))}
    values = value if isinstance(value, list) else [value]
    return ", ".join(
        engine.text_for((choices.get(v) or {}).get("label"), run.language) or str(v) for v in values
    )


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _panel_run(request: HttpRequest, run_id: int) -> tuple[Run, Ticket]:
    runs = Run.objects.select_related("ticket").filter(ticket__in=visible_tickets(request.user))
    run = get_object_or_404(runs, pk=run_id)
    if run.ticket is None:  # its ticket was deleted: there is no panel to show it on
        raise Http404
    return run, run.ticket


def _panel(request: HttpRequest, ticket: Ticket, **extra) -> HttpResponse:
    if request.method == "POST" and not _is_htmx(request):
        if extra.get("error"):
            messages.error(request, extra["error"])
        # Back to the ticket page, never to wherever a Referer header points (an open redirect).
        return redirect("tickets:detail", pk=ticket.pk)
    return render(request, "triage/partials/_ticket_panel.html", _panel_context(ticket, **extra))


@staff_required
def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The triage card in the ticket sidebar, loaded by htmx."""
    ticket = get_object_or_404(visible_tickets(request.user).select_related("customer"), pk=ticket_id)
    return _panel(request, ticket)


@staff_required
@require_POST
def start_run(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(visible_tickets(request.user), pk=ticket_id)
    form = StartRunForm(request.POST, flows=selectors.published_flows())
    if not form.is_valid():
        return _panel(request, ticket, start_form=form)
    try:
        services.start_run(
            flow=form.cleaned_data["flow"],
            customer=ticket.customer,
            ticket=ticket,
            mode=form.cleaned_data["mode"],
            actor=request.user,
        )
    except ApplicationError as exc:
        return _panel(request, ticket, start_form=form, error=exc.message)
    return _panel(request, ticket)


@staff_required
@require_POST
def answer_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """The agent types what the customer said on the call; the same engine checks it."""
    run, ticket = _panel_run(request, run_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _panel(request, ticket, answer_form=form)
    try:
        result = services.answer_run(run=run, answer=form.cleaned_data["answer"], actor=request.user)
    except ApplicationError as exc:
        return _panel(request, ticket, error=exc.message)
    error = "" if result.valid or result.completed else _("That answer did not fit the question; ask again.")
    response = _panel(request, ticket, error=error)
    if result.completed and _is_htmx(request):
        response["HX-Refresh"] = "true"  # severity, priority and queue changed: show the whole ticket anew
    return response


@staff_required
@require_POST
def resume_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run, ticket = _panel_run(request, run_id)
    try:
        services.resume_run(run=run, actor=request.user)
    except ApplicationError as exc:
        return _panel(request, ticket, error=exc.message)
    return _panel(request, ticket)


@staff_required
@require_POST
def cancel_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run, ticket = _panel_run(request, run_id)
    services.cancel_run(run=run, actor=request.user)
    return _panel(request, ticket)


@staff_required
@require_POST
def send_options(request: HttpRequest, run_id: int) -> HttpResponse:
    run, ticket = _panel_run(request, run_id)
    try:
        services.send_playbook_options(run=run, actor=request.user)
    except ApplicationError as exc:
        return _panel(request, ticket, error=exc.message)
    return _panel(request, ticket)


@staff_required
@require_POST
def send_links(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(visible_tickets(request.user), pk=ticket_id)
    links = selectors.resource_links_for(language=ticket.language, crisis_id=ticket.crisis_id)
    try:
        services.send_resource_links(ticket=ticket, actor=request.user, links=links)
    except ApplicationError as exc:
        return _panel(request, ticket, error=exc.message)
    return _panel(request, ticket)


# --- The flow editor (managers) -----------------------------------------------------------


@manager_required
@require_http_methods(["GET", "POST"])
def flow_list(request: HttpRequest) -> HttpResponse:
    form = FlowCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        flow = services.create_flow(
            name=form.cleaned_data["name"], description=form.cleaned_data["description"], actor=request.user
        )
        return redirect("triage:flow_edit", flow_id=flow.pk)
    return render(
        request,
        "triage/flow_list.html",
        {
            "flows": selectors.flows_with_versions(),
            "form": form,
            "import_form": ImportForm(),
            "segment_form": SegmentForm(),
            "segments": selectors.recent_segments(),
        },
    )


def _editor(
    request: HttpRequest, flow: Flow, *, step_form=None, edit_index=None, advanced_form=None
) -> HttpResponse:
    draft = selectors.latest_version(flow)
    definition = draft.definition if draft else {"steps": []}
    steps = definition.get("steps") or []
    preview = request.session.get(PREVIEW_SESSION_KEY, {}).get(str(flow.pk), {})
    settings_json = {k: definition[k] for k in ("severity_bands", "rules", "texts") if k in definition}
    return render(
        request,
        "triage/flow_edit.html",
        {
            "flow": flow,
            "version": draft,
            "steps": [
                {
                    "index": i,
                    "step": s,
                    "question": engine.text_for(s.get("text"), "en"),
                    "prompt": engine.render_prompt(s, "en"),
                }
                for i, s in enumerate(steps)
            ],
            "errors": selectors.definition_problems(definition) if steps else [],
            "step_form": step_form or StepForm(),
            "edit_index": edit_index,
            "advanced_form": advanced_form
            or AdvancedForm(
                initial={
                    "max_retries": engine.max_retries(definition),
                    "settings_json": json.dumps(settings_json, ensure_ascii=False, indent=1),
                }
            ),
            "triage_languages": LANGUAGES,
            "preview_language": preview.get("language", "en"),
            "transcript": preview.get("transcript", []),
            "preview_done": preview.get("done", False),
            "published": [v for v in flow.versions.all() if v.published_at],
        },
    )


@manager_required
def flow_edit(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=flow_id)
    edit_index = request.GET.get("step")
    if edit_index is not None and edit_index.isdigit():
        draft = selectors.latest_version(flow)
        steps = (draft.definition if draft else {}).get("steps") or []
        index = int(edit_index)
        if index < len(steps):
            return _editor(
                request,
                flow,
                step_form=StepForm(initial=StepForm.initial_for(steps[index])),
                edit_index=index,
            )
    return _editor(request, flow)


def _draft_definition(flow: Flow) -> dict:
    draft = services.draft_for(flow=flow)
    return json.loads(json.dumps(draft.definition))


@manager_required
@require_POST
def step_save(request: HttpRequest, flow_id: int) -> HttpResponse:
    """Add a step, or replace the one at `index`, in the draft."""
    flow = get_object_or_404(Flow, pk=flow_id)
    form = StepForm(request.POST)
    index = request.POST.get("index", "")
    if not form.is_valid():
        return _editor(request, flow, step_form=form, edit_index=int(index) if index.isdigit() else None)
    definition = _draft_definition(flow)
    steps = definition.setdefault("steps", [])
    step = form.to_step()
    others = [s.get("key") for i, s in enumerate(steps) if str(i) != index]
    if step["key"] in others:
        step["key"] = f"{step['key']}_{len(steps) + 1}"
    if index.isdigit() and int(index) < len(steps):
        steps[int(index)] = step
    else:
        steps.append(step)
    services.save_draft(flow=flow, definition=definition, actor=request.user)
    return redirect("triage:flow_edit", flow_id=flow.pk)


@manager_required
@require_POST
def step_move(request: HttpRequest, flow_id: int, index: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=flow_id)
    definition = _draft_definition(flow)
    steps = definition.get("steps") or []
    action = request.POST.get("action")
    if index < len(steps):
        if action == "delete":
            steps.pop(index)
        elif action == "up" and index > 0:
            steps[index - 1], steps[index] = steps[index], steps[index - 1]
        elif action == "down" and index + 1 < len(steps):
            steps[index + 1], steps[index] = steps[index], steps[index + 1]
        services.save_draft(flow=flow, definition=definition, actor=request.user)
    return redirect("triage:flow_edit", flow_id=flow.pk)


@manager_required
@require_POST
def flow_settings(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=flow_id)
    form = AdvancedForm(request.POST)
    if not form.is_valid():
        return _editor(request, flow, advanced_form=form)
    definition = _draft_definition(flow)
    for key in ("severity_bands", "rules", "texts"):
        definition.pop(key, None)
    definition.update(form.cleaned_data["settings_json"])
    definition["max_retries"] = form.cleaned_data["max_retries"]
    services.save_draft(flow=flow, definition=definition, actor=request.user)
    return redirect("triage:flow_edit", flow_id=flow.pk)


@manager_required
@require_POST
def flow_publish(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=flow_id)
    try:
        version = services.publish_version(version=services.draft_for(flow=flow), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Version %(n)s is published.") % {"n": version.number})
    return redirect("triage:flow_edit", flow_id=flow.pk)


@manager_required
@require_POST
def flow_preview(request: HttpRequest, flow_id: int) -> HttpResponse:
    """Simulate the SMS conversation with the draft: the same engine, nothing is sent."""
    flow = get_object_or_404(Flow, pk=flow_id)
    draft = selectors.latest_version(flow)
    definition = draft.definition if draft else {"steps": []}
    store = request.session.get(PREVIEW_SESSION_KEY, {})
    preview = store.get(str(flow.pk))
    answer = request.POST.get("answer", "")
    if request.POST.get("action") == "restart" or preview is None:
        language = request.POST.get("language") or "en"
        state, prompts, _outcome = engine.advance(definition, engine.new_state(language=language), None)
        preview = {
            "language": language,
            "state": state,
            "transcript": [{"from": "us", "text": p} for p in prompts],
        }
    else:
        preview["transcript"].append({"from": "customer", "text": answer})
        state, prompts, outcome = engine.advance(definition, preview["state"], answer)
        preview["state"] = state
        preview["transcript"] += [{"from": "us", "text": p} for p in prompts]
        if outcome is not None:
            preview["done"] = True
            preview["transcript"].append(
                {
                    "from": "system",
                    "text": _("Severity %(severity)s of 5 · priority %(priority)s · tags: %(tags)s")
                    % {
                        "severity": outcome.severity,
                        "priority": outcome.priority or "—",
                        "tags": ", ".join(outcome.tags) or "—",
                    },
                }
            )
    store[str(flow.pk)] = preview
    request.session[PREVIEW_SESSION_KEY] = store
    if _is_htmx(request):
        return render(
            request,
            "triage/partials/_preview.html",
            {"flow": flow, "transcript": preview["transcript"], "preview_done": preview.get("done", False),
             "preview_language": preview["language"], "triage_languages": LANGUAGES},
        )  # fmt: skip
    return redirect(reverse("triage:flow_edit", args=[flow.pk]) + "#preview")


@manager_required
def flow_export(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=flow_id)
    response = JsonResponse(
        services.export_flow(flow=flow), json_dumps_params={"ensure_ascii": False, "indent": 1}
    )
    response["Content-Disposition"] = f'attachment; filename="{flow.slug}.json"'
    return response


@manager_required
@require_POST
def flow_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            data = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
            version = services.import_flow(data=data, actor=request.user, publish=False)
        except (ValueError, UnicodeDecodeError):
            messages.error(request, _("The file is not valid JSON."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("triage:flow_edit", flow_id=version.flow_id)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("triage:flow_list")


@manager_required
@require_POST
def segment_start(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=flow_id)
    form = SegmentForm(request.POST)
    if form.is_valid():
        try:
            segment = services.start_segment(
                flow=flow,
                actor=request.user,
                tag=form.cleaned_data["tag"],
                language=form.cleaned_data["language"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if segment.status == SegmentStatus.AWAITING_APPROVAL:
                messages.warning(
                    request,
                    _("%(count)s customers: a second manager must approve before anything is sent.")
                    % {"count": segment.planned_count},
                )
            else:
                messages.success(request, _("Starting %(count)s runs.") % {"count": segment.planned_count})
    return redirect("triage:flow_list")


@manager_required
@require_POST
def segment_decide(request: HttpRequest, segment_id: int, decision: str) -> HttpResponse:
    """A second manager approves a waiting segment, or either manager cancels it."""
    if decision not in ("approve", "cancel"):
        raise Http404
    segment = get_object_or_404(SegmentRequest, pk=segment_id)
    try:
        if decision == "approve":
            segment = services.approve_segment(segment=segment, approver=request.user)
            messages.success(request, _("Starting %(count)s runs.") % {"count": segment.planned_count})
        else:
            services.cancel_segment(segment=segment, actor=request.user)
            messages.success(request, _("Segment cancelled: nothing was sent."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("triage:flow_list")


@manager_required
@require_POST
def flow_start_for_phone(request: HttpRequest, flow_id: int) -> HttpResponse:
    """Start an SMS run for one phone number (a customer is found or created for it)."""
    from helpdesk.customers.services import resolve_customer

    flow = get_object_or_404(Flow, pk=flow_id)
    try:
        resolved = resolve_customer(  # a manager typed the number in: staff vouch for it
            kind="phone",
            value=request.POST.get("phone", ""),
            language=request.POST.get("language", ""),
            proven=True,
        )
        run = services.start_run(
            flow=flow,
            customer=resolved.customer,
            mode=RunMode.SMS,
            actor=request.user,
            language=request.POST.get("language", ""),
            contact_point=resolved.contact_point,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Run started: the first question is on its way (ticket #%(id)s).") % {"id": run.ticket_id},
        )
    return redirect("triage:flow_edit", flow_id=flow.pk)
