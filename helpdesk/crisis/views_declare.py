"""Declare a crisis in one guided flow, and work its statement: new version, approve, roll back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.crisis import declare, statements
from helpdesk.crisis.models import STATEMENT_FIELDS, Crisis, DeflectionKind, Statement
from helpdesk.crisis.views import manager_required
from helpdesk.errors import ApplicationError


def _manager(request: HttpRequest) -> Any:
    """The signed-in manager (manager_required let the request in)."""
    return request.user


@manager_required
def declare_crisis(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST action=preview: every channel side by side, nothing written.
    POST action=declare: declared in one transaction, then the crisis's page."""
    form = declare.DeclareForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form, "preview": None, **form.groups()}
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "declare":
                done = declare.declare(form=form, actor=_manager(request))
                if done.waiting_for_approval:
                    messages.warning(
                        request,
                        _("Crisis declared; its statement goes out once a second manager approves it."),
                    )
                else:
                    messages.success(request, _("Crisis declared: every channel now says its statement."))
                return redirect("crisis:manage_crisis", done.crisis.pk)
            context["preview"] = declare.build_preview(form)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            context["preview"] = declare.build_preview(form)
    return render(request, "crisis/declare.html", context)


def _initial_from(statement: Statement | None) -> dict:
    if statement is None:
        return {}
    return {
        f"{key}_{lang}": value for lang, values in statement.texts.items() for key, value in values.items()
    }


@manager_required
@require_POST
def statement_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """new (create a version and publish it, or submit it for approval), approve/<id>, rollback."""
    crisis = get_object_or_404(Crisis, pk=pk)
    try:
        if action == "new":
            form = declare.StatementForm(request.POST, request.FILES)
            if not form.is_valid():
                problems = "; ".join(str(e) for errors in form.errors.values() for e in errors)
                messages.error(request, _("Check the statement's fields.") + " " + problems)
                return redirect("crisis:manage_crisis", crisis.pk)
            statement = statements.create_statement(
                crisis=crisis, texts=form.texts(), author=_manager(request), recordings=form.recordings()
            )
            statement = statements.request_publish(statement=statement, actor=_manager(request))
            if statement.status == "pending_approval":
                messages.warning(
                    request, _("Version %(n)d waits for a second manager.") % {"n": statement.number}
                )
            else:
                messages.success(
                    request, _("Version %(n)d published on every channel.") % {"n": statement.number}
                )
        elif action == "approve":
            statement = get_object_or_404(Statement, pk=request.POST.get("statement") or 0, crisis=crisis)
            statements.approve_statement(statement=statement, approver=_manager(request))
            messages.success(request, _("Version %(n)d approved and published.") % {"n": statement.number})
        elif action == "close":
            from helpdesk.crisis import closing

            closing_form = declare.ClosingForm(request.POST, prefix="close")
            if not closing_form.is_valid():
                messages.error(request, _("Check the final statement and the closing message."))
                return redirect("crisis:manage_crisis", crisis.pk)
            result = closing.close_crisis(
                crisis=crisis,
                final_texts=closing_form.texts(),
                closing_bodies=closing_form.per_language("closing"),
                subjects=closing_form.per_language("subject"),
                actor=_manager(request),
                send=closing_form.cleaned_data["send"],
            )
            if result.statement_waiting:
                messages.warning(
                    request,
                    _("The final statement waits for a second manager; close again once it is approved."),
                )
            else:
                sent = sum(len(b.audience.get("contact_point_ids", [])) for b in result.broadcasts)
                messages.success(
                    request,
                    _("Crisis resolved; the closing message goes to %(n)d people on their own channel.")
                    % {"n": sent},
                )
        elif action == "rollback":
            statement = statements.rollback(crisis=crisis, actor=_manager(request))
            messages.success(
                request, _("Rolled back: version %(n)d says the earlier words.") % {"n": statement.number}
            )
        else:
            return HttpResponse(status=404)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("crisis:manage_crisis", crisis.pk)


def statement_context(crisis: Crisis) -> dict:
    """The manage page's statement card: the versions, a form for the next one, the audit."""
    versions = statements.versions(crisis)
    names = dict(declare.LANGUAGE_NAMES)
    return {
        "versions": [
            {
                "statement": v,
                "texts": [
                    (
                        lang,
                        names.get(lang, lang),
                        [(declare.FIELD_LABELS[k], values.get(k, "")) for k in STATEMENT_FIELDS],
                    )
                    for lang, values in v.texts.items()
                ],
            }
            for v in versions
        ],
        "statement_form": declare.StatementForm(initial=_initial_from(crisis.statement)),
        "audit": statements.audit_trail(crisis),
        "closing_form": _closing_form(crisis),
    }


def _closing_form(crisis: Crisis):
    """The final statement starts from the current one; the closing message is left to write."""
    from helpdesk.crisis import closing

    if crisis.status != "active" or closing.is_closed(crisis):
        return None
    form = declare.ClosingForm(initial=_initial_from(crisis.statement), prefix="close")
    form.preview = closing.closing_preview(crisis)
    return form


@manager_required
@require_POST
def surge_action(request: HttpRequest) -> HttpResponse:
    """A manager's switch: force surge mode on or off for a scope, hand it back to volume, or set
    its thresholds (each audited with the manager)."""
    from helpdesk.crisis import surge

    scope = request.POST.get("scope", surge.ALL)
    action = request.POST.get("action", "")
    try:
        if action in ("on", "off", "auto"):
            forced = {"on": True, "off": False, "auto": None}[action]
            surge.set_surge(scope=scope, forced=forced, actor=_manager(request))
            messages.success(request, _("Surge mode updated."))
        elif action == "thresholds":
            try:
                on_at, off_at = int(request.POST.get("on_at", "")), int(request.POST.get("off_at", ""))
            except ValueError as exc:
                raise ApplicationError(
                    _("Thresholds are whole numbers of contacts."), code="invalid_thresholds"
                ) from exc
            surge.set_thresholds(scope=scope, on_at=on_at, off_at=off_at, actor=_manager(request))
            messages.success(request, _("Thresholds saved."))
        else:
            return HttpResponse(status=404)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("crisis:manage_home")


def surge_context() -> dict:
    from helpdesk.crisis import surge

    rows = surge.surges()
    if not any(row.scope == surge.ALL for row in rows):
        rows.insert(0, surge.Surge(scope=surge.ALL))
    for row in rows:
        row.label = surge.scope_label(row.scope)  # type: ignore[attr-defined]
    return {
        "surges": rows,
        "capacity_alerts": [
            {
                "alert": a,
                "label": surge.scope_label(a.scope),
                "minutes": max(1, round(a.expected_wait_seconds / 60)),
            }
            for a in surge.capacity_alerts()
        ],
        "deflections": [
            (DeflectionKind(kind).label, n)
            for kind, n in surge.deflection_counts().items()
            if kind in DeflectionKind.values
        ],
    }
