"""The agent workspace: queue, ticket page, replies, notes and search (server-rendered, htmx)."""

from __future__ import annotations

import logging
from typing import TypeVar, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from channels_app.base import ChannelError, fetch_media
from helpdesk.accounts.guards import manager_required
from helpdesk.accounts.views import HtmxHttpRequest, agent_view
from helpdesk.errors import ApplicationError
from helpdesk.tickets import audit, bulk, selectors, services
from helpdesk.tickets.forms import (
    SEARCH_KIND_LABELS,
    SEARCH_SORT_LABELS,
    STATUS_FILTER_CHOICES,
    AuditExportForm,
    NoteForm,
    QueueFilterForm,
    ReplyForm,
    SearchForm,
    TicketUpdateForm,
    reply_channel_choices,
)
from helpdesk.tickets.media import inline_images, mail_frame_response, media_response
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    BulkAction,
    Channel,
    Macro,
    Priority,
    Ticket,
    TicketStatus,
    TimelineEvent,
)

logger = logging.getLogger(__name__)


M = TypeVar("M", bound=Model)


@require_GET
@agent_view
def queue(request: HtmxHttpRequest) -> HttpResponse:
    """The queue: filter, sort and walk pages by keyset cursor."""
    form = QueueFilterForm(request.GET)
    filters = form.to_filters()
    sort = (form.cleaned_data.get("sort") if form.is_valid() else "") or selectors.DEFAULT_SORT
    after = request.GET.get("after", "")
    more = bool(after) and request.htmx
    try:
        page = selectors.queue_page(
            agent=request.user, filters=filters, after=after, sort=sort, with_counts=not more
        )
    except ApplicationError as exc:
        return HttpResponseBadRequest(exc.message)
    params = request.GET.copy()
    params.pop("after", None)
    context = {
        "form": form,
        "filters": filters,
        "sort": sort,
        "page": page,
        "query": params.urlencode(),
        "status_choices": STATUS_FILTER_CHOICES,
        "priority_choices": Priority.choices,
        "channel_choices": Channel.choices,
        "sort_choices": cast(forms.ChoiceField, form.fields["sort"]).choices,
        "sla_choices": cast(forms.ChoiceField, form.fields["sla"]).choices,
        "languages": settings.LANGUAGES,
        "open_statuses": [TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING],
        **selectors.filter_choices(request.user),
    }
    if more:
        return render(request, "tickets/partials/_queue_page.html", context)
    if request.htmx and request.htmx.target == "queue-results":
        return render(request, "tickets/partials/_queue_rows.html", context)
    return render(request, "tickets/queue.html", context)


def _ticket_or_404(request: HtmxHttpRequest, pk: int) -> Ticket:
    try:
        return selectors.ticket_detail(ticket_id=pk, user=request.user)
    except Ticket.DoesNotExist:
        raise Http404(_("No such ticket.")) from None


def _ticket_context(request: HtmxHttpRequest, ticket: Ticket, **extra) -> dict:
    contact_points = selectors.customer_contact_points(customer_id=ticket.customer_id)
    return {
        "ticket": ticket,
        "timeline": selectors.ticket_timeline(ticket=ticket),
        "contact_points": contact_points,
        "unverified_sender": selectors.unverified_sender(ticket=ticket, contact_points=contact_points),
        "other_tickets": selectors.other_tickets(
            customer_id=ticket.customer_id, user=request.user, exclude_id=ticket.pk
        ),
        "macros": selectors.macros_for(language=ticket.language),
        "reply_channel": services.reply_channel_for(ticket),
        "reply_channels": reply_channel_choices(),
        "last_reply_id": selectors.last_reply_id(ticket=ticket),
        "status_choices": TicketStatus.choices,
        "priority_choices": Priority.choices,
        "panels": [reverse(name, args=[ticket.pk]) for name in settings.TICKET_PANELS],
        "open_statuses": OPEN_STATUSES,
        **selectors.filter_choices(request.user),
        **extra,
    }


@require_GET
@agent_view
def ticket_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The ticket page: header, whole timeline, reply and note forms, customer sidebar."""
    ticket = _ticket_or_404(request, pk)
    return render(request, "tickets/detail.html", _ticket_context(request, ticket))


@require_GET
@agent_view
def event_media(request: HtmxHttpRequest, pk: int, event_id: int, number: int) -> HttpResponse:
    """A file a customer attached (an MMS photo), fetched from the provider for someone who may
    see the ticket; served inline only when it is a raster image (helpdesk.tickets.media)."""
    found = selectors.media_url_of(user=request.user, ticket_id=pk, event_id=event_id, number=number)
    if found is None:
        raise Http404(_("No such file."))
    channel, url = found
    try:
        media = fetch_media(channel, url)
    except ChannelError as exc:
        if exc.code == "not_allowed":
            raise Http404(_("No such file.")) from None
        logger.warning("file %s of event %s not fetched: %s", number, event_id, exc.message)
        return HttpResponse(
            _("The file could not be fetched from the provider; try again later."),
            status=502,
            content_type="text/plain; charset=utf-8",
        )
    return media_response(media, name=f"message-{event_id}-{number}")


@require_GET
@agent_view
def event_html(request: HtmxHttpRequest, pk: int, event_id: int) -> HttpResponse:
    """An email's HTML, sanitized, as a document for the sandboxed frame on the ticket page; remote
    images only with ?images=1 (the agent's click)."""
    from django.templatetags.static import static

    event = selectors.event_with_html(user=request.user, ticket_id=pk, event_id=event_id)
    if event is None:
        raise Http404(_("No such message."))
    images = {}
    payload = event.payload if isinstance(event.payload, dict) else {}
    media: list = payload.get("media") or []
    media = media if isinstance(media, list) else []
    for number, attachment in enumerate(payload.get("attachments") or []):
        if isinstance(attachment, dict) and attachment.get("content_id") and number < len(media):
            try:
                images[attachment["content_id"]] = fetch_media(event.channel, media[number])
            except ChannelError:
                continue
    return mail_frame_response(
        inline_images(event.body_html, images),
        stylesheet=static("tickets/mail-frame.css"),
        remote=request.GET.get("images") == "1",
    )


@require_GET
@agent_view
def ticket_timeline(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The timeline's pieces: `?before=<cursor>` an older page ("load older"); `?after=<id>` the
    events since the newest one shown, plus `changed=<ids>` shown ones to replace (live updates,
    by websocket notice or by polling); neither: the latest page."""
    ticket = get_object_or_404(selectors.visible_tickets(request.user).only("id", "customer_id"), pk=pk)
    try:
        if request.GET.get("before"):
            page = selectors.ticket_timeline(ticket=ticket, before=request.GET["before"])
            return render(
                request, "tickets/partials/_timeline_older.html", {"ticket": ticket, "timeline": page}
            )
        after = request.GET.get("after", "")
        if after.isdigit():
            changed = [int(i) for i in request.GET.get("changed", "").split(",") if i.isdigit()]
            new, updated = selectors.timeline_since(ticket=ticket, after_id=int(after), changed=changed)
            return render(request, "tickets/partials/_timeline_since.html", {"new": new, "updated": updated})
    except ApplicationError as exc:
        return HttpResponseBadRequest(exc.message)
    return render(
        request,
        "tickets/partials/_timeline.html",
        {"ticket": ticket, "timeline": selectors.ticket_timeline(ticket=ticket)},
    )


def _timeline_or_errors(
    request: HtmxHttpRequest, ticket: Ticket, *, errors: list[str], target: str, seen_reply: int | None = None
) -> HttpResponse:
    """After a reply or note: the fresh timeline, or the errors into the form's error slot (with
    `seen_reply`, the reply form's marker moves on, out of band, so sending again goes through)."""
    if errors:
        response = render(
            request, "tickets/partials/_form_errors.html", {"errors": errors, "seen_reply": seen_reply}
        )
        if request.htmx:
            # htmx swaps only 2xx responses by default; point this one at the form's error slot.
            response["HX-Retarget"] = f"#{target}"
            response["HX-Reswap"] = "innerHTML"
        else:
            response.status_code = 400
        return response
    if not request.htmx:
        return redirect("tickets:detail", pk=ticket.pk)
    ticket = _ticket_or_404(request, ticket.pk)
    response = render(
        request,
        "tickets/partials/_timeline_and_header.html",
        {"ticket": ticket, "timeline": selectors.ticket_timeline(ticket=ticket), **_header_context(request)},
    )
    response["HX-Trigger"] = "ticket-form-sent"
    return response


def _header_context(request: HtmxHttpRequest) -> dict:
    return {
        "status_choices": TicketStatus.choices,
        "priority_choices": Priority.choices,
        **selectors.filter_choices(request.user),
    }


def _errors(form, exc: ApplicationError | None = None) -> list[str]:
    if exc is not None:
        return [exc.message] + [m for msgs in exc.fields.values() for m in msgs if m != exc.message]
    return [
        f"{form.fields[name].label}: {m}" if name in form.fields else m
        for name, msgs in form.errors.items()
        for m in msgs
    ]


@require_POST
@agent_view
def ticket_reply(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Send the agent's reply through the outbox and show it on the timeline."""
    ticket = get_object_or_404(selectors.visible_tickets(request.user), pk=pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _timeline_or_errors(request, ticket, errors=_errors(form), target="reply-errors")
    seen = form.cleaned_data.get("seen_reply")
    if seen is not None:
        others = selectors.replies_by_others_since(ticket=ticket, after=seen, user=request.user)
        if others:
            # Not sent: the agent reads the colleague's answer first; sending again sends it.
            message = _(
                "%(names)s replied to the customer since you opened this ticket. "
                "Read it first; send again to send yours as well."
            ) % {"names": ", ".join(others)}
            return _timeline_or_errors(
                request, ticket, errors=[message], target="reply-errors",
                seen_reply=selectors.last_reply_id(ticket=ticket),
            )  # fmt: skip
    try:
        services.send_reply(
            ticket=ticket,
            author=request.user,
            body=form.cleaned_data["body"],
            channel=form.cleaned_data["channel"],
        )
    except ApplicationError as exc:
        return _timeline_or_errors(request, ticket, errors=_errors(form, exc), target="reply-errors")
    return _timeline_or_errors(request, ticket, errors=[], target="reply-errors")


@require_POST
@agent_view
def ticket_note(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Add an internal note and show it on the timeline."""
    ticket = get_object_or_404(selectors.visible_tickets(request.user), pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _timeline_or_errors(request, ticket, errors=_errors(form), target="note-errors")
    try:
        services.add_note(ticket=ticket, author=request.user, body=form.cleaned_data["body"])
    except ApplicationError as exc:
        return _timeline_or_errors(request, ticket, errors=_errors(form, exc), target="note-errors")
    return _timeline_or_errors(request, ticket, errors=[], target="note-errors")


@require_POST
@agent_view
def ticket_update(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Change status, priority, assignee, queue and tags; answer with the fresh header."""
    ticket = get_object_or_404(selectors.visible_tickets(request.user), pk=pk)
    form = TicketUpdateForm(request.POST)
    errors: list[str] = []
    conflict = False
    if form.is_valid():
        try:
            services.update_ticket(
                ticket=ticket,
                actor=request.user,
                seen_version=form.cleaned_data["version"],
                **form.changes(),
            )
        except ApplicationError as exc:
            errors = _errors(form, exc)
            conflict = exc.code == "conflict"
    else:
        errors = _errors(form)
    if not request.htmx:
        if errors:
            return HttpResponse("; ".join(errors), status=409 if conflict else 400)
        return redirect("tickets:detail", pk=pk)
    # The fresh header either way: after a conflict it shows the colleague's values, and the
    # version to write against next.
    ticket = _ticket_or_404(request, pk)
    response = render(
        request,
        "tickets/partials/_header.html",
        {
            "ticket": ticket,
            "errors": errors,
            "conflict": conflict,
            "status_choices": TicketStatus.choices,
            "priority_choices": Priority.choices,
            **selectors.filter_choices(request.user),
        },
    )
    if not errors or conflict:  # after a conflict the timeline shows the colleague's change
        response["HX-Trigger"] = "ticket-updated"
    return response


@require_GET
@agent_view
def macro_text(request: HtmxHttpRequest, pk: int, macro_id: int) -> JsonResponse:
    """Return a macro filled in for this ticket's customer, for the reply box."""
    ticket = get_object_or_404(selectors.visible_tickets(request.user).select_related("customer"), pk=pk)
    macro = get_object_or_404(Macro, pk=macro_id)
    return JsonResponse({"body": services.render_macro(macro=macro, ticket=ticket, agent=request.user)})


@require_GET
@agent_view
def search(request: HtmxHttpRequest) -> HttpResponse:
    """Search every message, note, subject, customer name and contact point ever written, a page
    at a time, with counts per kind, filters and the matches marked."""
    form = SearchForm(request.GET, user=request.user)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    q = (data.get("q") or "").strip()
    filters = form.to_filters()
    after = request.GET.get("after", "")
    context: dict = {"form": form, "q": q, "filters": filters, "error": "", "page": None}
    context.update(
        filtered=filters != selectors.SearchFilters(),
        cap=selectors.SEARCH_ESTIMATE_TRUSTED,
        sort_choices=list(SEARCH_SORT_LABELS.items()),
        channel_choices=Channel.choices,
        status_choices=TicketStatus.choices,
        **selectors.filter_choices(request.user),
    )
    if form.errors and not q:
        context["error"] = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if q:
        kind = data.get("kind") or ""
        sort = data.get("sort") or "relevance"
        try:
            if after and request.htmx:  # "Load more": the rows after the cursor, no recount
                page = selectors.search_page(
                    user=request.user, q=q, kind=kind or "messages", filters=filters, after=after,
                    with_count=False,
                )  # fmt: skip
                return render(request, "search/partials/_results_page.html", {**context, "page": page})
            shown = kind if kind in selectors.SEARCH_KINDS else "messages"
            counts = selectors.search_counts(user=request.user, q=q, filters=filters, shown=shown)
            if kind not in counts:  # the first kind with matches, messages when none has any
                kind = next((k for k, c in counts.items() if c.value), "messages")
                if kind != shown and not counts[kind].exact:  # its tab counted only so far
                    counts[kind] = selectors.search_count(user=request.user, q=q, kind=kind, filters=filters)
            context["tabs"] = [(k, SEARCH_KIND_LABELS[k], counts[k]) for k in selectors.SEARCH_KINDS]
            context["page"] = selectors.search_page(
                user=request.user, q=q, kind=kind, filters=filters, sort=sort, after=after, count=counts[kind]
            )
        except ApplicationError as exc:
            if exc.code == "invalid_cursor":
                return HttpResponseBadRequest(exc.message)
            context["error"] = exc.message
    params = request.GET.copy()
    for name in ("after", "kind"):
        params.pop(name, None)
    context["query"] = params.urlencode()
    return render(request, "search/results.html", context)


@agent_view
def ticket_history(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Every recorded change and message of one ticket, newest first (the audit record)."""
    ticket = get_object_or_404(selectors.visible_tickets(request.user), pk=pk)
    events = audit.history(ticket_id=ticket.pk)[:500]
    return render(request, "tickets/history.html", {"ticket": ticket, "events": events})


@agent_view
def customer_history(request: HtmxHttpRequest, customer_id: int) -> HttpResponse:
    """A customer's recorded changes and messages across the tickets this agent may see."""
    from helpdesk.customers.models import Customer

    customer = get_object_or_404(Customer, pk=customer_id)
    mine = selectors.visible_tickets(request.user).filter(customer_id=customer.pk).values("id")
    events = audit.history(customer_id=customer.pk).filter(ticket_id__in=mine)[:500]
    return render(request, "tickets/history.html", {"customer": customer, "events": events})


@manager_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The audit record of a date range as CSV, streamed (managers; ?from=YYYY-MM-DD&to=…)."""
    form = AuditExportForm(request.GET)
    if not form.is_valid():
        return render(
            request, "tickets/audit_export.html", {"form": form}, status=400 if request.GET else 200
        )
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    response = StreamingHttpResponse(audit.csv_lines(audit.in_range(start, end)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="audit-{start}-{end}.csv"'
    return response


def _posted_row(rows: QuerySet[M], raw: str) -> M | None:
    """The row whose id a form sent, among `rows`; None for anything that is not such an id."""
    return rows.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None


@require_POST
@agent_view
def ticket_merge(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Merge this ticket into another of the customer's (both must be visible to the agent)."""
    visible = selectors.visible_tickets(request.user)
    source = get_object_or_404(visible, pk=pk)
    raw = (request.POST.get("target") or "").strip().lstrip("#")
    target = _posted_row(visible, raw)
    if target is None:
        messages.error(request, _("No such ticket to merge into."))
        return redirect("tickets:detail", pk=pk)
    try:
        services.merge_tickets(
            source=source, target=target, actor=request.user, tell_customer=request.POST.get("tell", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("tickets:detail", pk=pk)
    messages.success(request, _("Merged into this ticket."))
    return redirect("tickets:detail", pk=target.pk)


@require_POST
@agent_view
def ticket_split(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Split one message of this ticket off into a new ticket."""
    ticket = get_object_or_404(selectors.visible_tickets(request.user), pk=pk)
    event = _posted_row(TimelineEvent.objects.filter(ticket=ticket), request.POST.get("event") or "")
    if event is None:
        messages.error(request, _("Choose a message of this ticket."))
        return redirect("tickets:detail", pk=pk)
    try:
        new = services.split_event(event=event, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("tickets:detail", pk=pk)
    messages.success(request, _("Split off into this new ticket."))
    return redirect("tickets:detail", pk=new.pk)


BULK_LABELS = {
    "assign": gettext_lazy("Assign to"),
    "status": gettext_lazy("Set status"),
    "priority": gettext_lazy("Set priority"),
    "queue": gettext_lazy("Move to queue"),
    "tag": gettext_lazy("Add tag"),
    "reply": gettext_lazy("Reply to each customer"),
}


def _bulk_choices() -> dict:
    return {
        "bulk_actions": list(BULK_LABELS.items()),
        "bulk_statuses": TicketStatus.choices,
        "bulk_priorities": Priority.choices,
    }


def _bulk_params(post) -> dict:
    action = post.get("action", "")
    raw = {
        "assign": {"assignee": int(post["assignee"]) if post.get("assignee", "").isdigit() else None},
        "status": {"status": post.get("status", "")},
        "priority": {"priority": int(post["priority"]) if post.get("priority", "").isdigit() else None},
        "queue": {"queue": int(post["queue"]) if post.get("queue", "").isdigit() else None},
        "tag": {"tag": post.get("tag", "").strip()[:64]},
        "reply": {
            "body": post.get("body", "")[:1600],
            "macro": int(post["macro"]) if post.get("macro", "").isdigit() else None,
        },
    }
    return raw.get(action, {})


@require_GET
@agent_view
def bulk_form(request: HtmxHttpRequest) -> HttpResponse:
    """The queue's bulk panel, loaded when the agent opens it (the queue itself stays lean)."""
    context = {
        "query": request.GET.urlencode(),
        "post": {},
        "macros": selectors.macros_for(language=""),
        **_bulk_choices(),
        **selectors.filter_choices(request.user),
    }
    return render(request, "tickets/partials/_bulk_form.html", context)


@require_POST
@agent_view
def bulk_start(request: HtmxHttpRequest) -> HttpResponse:
    """Preview (how many tickets) then, confirmed, start a bulk action on the queue filter's
    matches; the filter travels in the query string, as on the queue page."""
    form = QueueFilterForm(request.GET)
    filters = form.to_filters()
    ids = list(
        selectors.filtered_tickets(agent=request.user, filters=filters)
        .order_by("id")
        .values_list("id", flat=True)[: bulk.MAX_TICKETS + 1]
    )
    action = request.POST.get("action", "")
    params = _bulk_params(request.POST)
    context = {
        "count": len(ids),
        "action": action,
        "action_label": BULK_LABELS.get(action, ""),
        "post": request.POST,
        "query": request.GET.urlencode(),
        "macros": selectors.macros_for(language=""),
        **_bulk_choices(),
        **selectors.filter_choices(request.user),
    }
    if request.POST.get("confirm") != "1":
        try:
            bulk.check(action, params)
        except ApplicationError as exc:
            context["error"] = exc.message
        return render(request, "tickets/bulk_preview.html", context)
    try:
        job = bulk.start(actor=request.user, ticket_ids=ids, action=action, params=params)
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "tickets/bulk_preview.html", context, status=400)
    return redirect("tickets:bulk_progress", pk=job.pk)


@agent_view
def bulk_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A bulk action's progress; the page polls its own partial while it runs."""
    job = get_object_or_404(BulkAction, pk=pk, created_by=request.user)
    template = "tickets/partials/_bulk_progress.html" if request.htmx else "tickets/bulk_progress.html"
    return render(request, template, {"job": job, "label": BULK_LABELS.get(job.action, job.action)})


@manager_required
@require_http_methods(["GET", "POST"])
def macro_manage(request: HttpRequest) -> HttpResponse:
    """Managers keep the canned replies: one title, a version per language, with use counts."""
    editing = (
        Macro.objects.filter(pk=request.GET.get("edit") or 0).first()
        if request.GET.get("edit", "").isdigit()
        else None
    )
    error = ""
    if request.method == "POST":
        if request.POST.get("delete", "").isdigit():
            Macro.objects.filter(pk=int(request.POST["delete"])).delete()
            messages.success(request, _("Canned reply deleted."))
            return redirect("tickets:macros")
        target = (
            Macro.objects.filter(pk=request.POST.get("id") or 0).first()
            if request.POST.get("id", "").isdigit()
            else None
        )
        try:
            services.save_macro(
                macro=target,
                title=request.POST.get("title", ""),
                language=request.POST.get("language", ""),
                body=request.POST.get("body", ""),
            )
        except ApplicationError as exc:
            error = exc.message
            editing = target
        else:
            messages.success(request, _("Canned reply saved."))
            return redirect("tickets:macros")
    groups: dict[str, list[Macro]] = {}
    for macro in Macro.objects.order_by("title", "language"):
        groups.setdefault(macro.title, []).append(macro)
    return render(
        request,
        "tickets/macros.html",
        {
            "groups": groups,
            "editing": editing,
            "error": error,
            "languages": settings.LANGUAGES,
            "placeholders": sorted(services.MACRO_PLACEHOLDERS),
            "values": (
                {k: request.POST.get(k, "") for k in ("title", "language", "body")}
                if error
                else {"title": editing.title, "language": editing.language, "body": editing.body}
                if editing
                else {"title": "", "language": "", "body": ""}
            ),
        },
    )
