"""The customer portal's pages: sign in with a code, see the crisis and your tickets, reply, and
use a self-service action. A signed-in customer is `request.session["portal"]`; staff sign-in is
unrelated (a customer never becomes a Django user)."""

from __future__ import annotations

import time
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk import languages as desk_languages
from helpdesk.customers import codes
from helpdesk.customers.models import ContactPoint
from helpdesk.errors import Refused
from helpdesk.portal import services
from helpdesk.portal.models import ActionUse, SelfServiceAction
from helpdesk.tickets.models import OPEN_STATUSES, Ticket, TimelineEvent

SESSION = "portal"
SESSION_SECONDS = 3600


def _language(request: HttpRequest) -> str:
    chosen = request.GET.get("lang", "") or request.session.get("portal_language", "")
    if desk_languages.is_known(chosen):
        request.session["portal_language"] = chosen
        return chosen
    return (get_language() or "en")[:2]


def _context(request: HttpRequest, **extra) -> dict:
    return {
        "languages": [(code, get_language_info(code)["name_local"]) for code in desk_languages.codes()],
        **extra,
    }


def portal_page(view):
    """Render in the customer's chosen language (`?lang=` sticks for the session)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        with translation.override(_language(request)):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            response.headers["Cache-Control"] = "no-store"
            return response

    return wrapped


def signed_in(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        state = request.session.get(SESSION)
        if not state or time.time() - state.get("at", 0) > SESSION_SECONDS:
            request.session.pop(SESSION, None)
            return redirect("portal:sign_in")
        point = ContactPoint.objects.filter(pk=state["point"]).select_related("customer").first()
        if point is None or not point.can_receive:
            request.session.pop(SESSION, None)
            return redirect("portal:sign_in")
        request.portal_point = point  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return portal_page(wrapped)


@portal_page
def sign_in(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        value = request.POST.get("value", "")
        try:
            services.send_code(value=value, language=translation.get_language() or "en")
        except Refused as exc:
            error = exc.message
        else:
            request.session["portal_pending"] = value.strip()[:254]
            return redirect("portal:code")
    return render(request, "portal/sign_in.html", _context(request, error=error))


@portal_page
def code(request: HttpRequest) -> HttpResponse:
    value = request.session.get("portal_pending", "")
    if not value:
        return redirect("portal:sign_in")
    error = ""
    if request.method == "POST":
        try:
            point = services.check_code(value=value, code=request.POST.get("code", ""))
        except (Refused, codes.CodeRefused) as exc:
            error = exc.message
        else:
            request.session.cycle_key()  # a new session id once signed in
            request.session[SESSION] = {"point": point.pk, "customer": point.customer_id, "at": time.time()}
            request.session.pop("portal_pending", None)
            return redirect("portal:home")
    return render(request, "portal/code.html", _context(request, error=error, value=value))


def _tickets(customer_id: int):
    return Ticket.objects.filter(customer_id=customer_id).order_by("-last_activity_at")[:10]


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    from helpdesk.crisis import public

    point = request.portal_point  # type: ignore[attr-defined]
    language = translation.get_language() or "en"
    snapshot = public.current()
    crises = [
        {"title": public.statement_text(c, language, "title") or c["title"],
         "summary": public.statement_text(c, language, "summary"),
         "what_to_do": public.statement_text(c, language, "what_to_do")}
        for c in snapshot.get("crises", [])
    ]  # fmt: skip
    tickets = list(_tickets(point.customer_id))
    events = (
        TimelineEvent.objects.filter(ticket__in=tickets, kind="message", direction__in=("in", "out"))
        .exclude(direction="out", delivery_status__in=("pending", "blocked", "failed"))
        .order_by("-created_at")[:40]
    )
    return render(
        request, "portal/home.html",
        _context(request, customer=point.customer, point=point, crises=crises, directory=public.directory_for(
            snapshot, language), tickets=tickets, events=list(events)[::-1],
            actions=SelfServiceAction.objects.filter(is_active=True),
            uses=ActionUse.objects.filter(customer_id=point.customer_id).select_related("action")[:10],
            open_ticket=next((t for t in tickets if t.status in OPEN_STATUSES), None)),
    )  # fmt: skip


@signed_in
@require_POST
def reply(request: HttpRequest) -> HttpResponse:
    """The customer writes to us from the portal: the same inbound path as every channel."""
    import uuid

    from channels_app.base import InboundMessage
    from helpdesk.tickets.services import record_inbound

    point = request.portal_point  # type: ignore[attr-defined]
    text = (request.POST.get("body") or "").strip()[:4000]
    if text:
        record_inbound(
            message=InboundMessage(
                channel="web", provider="portal", provider_id=f"portal:{uuid.uuid4()}", sender=point.value,
                sender_kind=point.kind, sender_name=point.customer.name, body=text, sender_proven=True,
                language=translation.get_language() or "",
            )
        )  # fmt: skip
    return redirect("portal:home")


@signed_in
def action(request: HttpRequest, slug: str) -> HttpResponse:
    point = request.portal_point  # type: ignore[attr-defined]
    chosen = get_object_or_404(SelfServiceAction, slug=slug, is_active=True)
    language = translation.get_language() or "en"
    state = request.session[SESSION]
    needs_code = services.step_up_needed(chosen, state["at"])
    errors: dict[str, str] = {}
    error = ""
    values: dict[str, object] = {}
    posted = request.POST if request.method == "POST" else {}

    def page(*, error: str = "", ask_code: bool = False) -> HttpResponse:
        return render(request, "portal/action.html", _context(
            request, action=chosen, errors=errors, error=error, posted=posted, ask_code=ask_code,
            needs_code=needs_code,
        ))  # fmt: skip

    if request.method == "POST":
        values, errors = services.clean_values(chosen, request.POST)
        if not errors and needs_code:
            if not request.POST.get("code"):
                try:
                    services.send_code(value=point.value, language=language, purpose=services.STEP_UP)
                except Refused as exc:
                    return page(error=exc.message)
                return page(error=_("We sent you a new code: type it to confirm."), ask_code=True)
            try:
                services.check_code(value=point.value, code=request.POST["code"], purpose=services.STEP_UP)
            except (Refused, codes.CodeRefused) as exc:
                return page(error=exc.message, ask_code=True)
        if not errors:
            use = services.use_action(
                action=chosen, customer=point.customer, values=values, language=language
            )
            return redirect("portal:use", pk=use.pk)
    return page(error=error)


@signed_in
def use(request: HttpRequest, pk: int) -> HttpResponse:
    point = request.portal_point  # type: ignore[attr-defined]
    found = get_object_or_404(
        ActionUse.objects.select_related("action"), pk=pk, customer_id=point.customer_id
    )
    language = translation.get_language() or "en"
    return render(request, "portal/use.html", _context(
        request, use=found, text=services.result_text(found.action, found.status, found.result, language),
        waiting=found.status in ("pending", "sending")))  # fmt: skip


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION, None)
    return redirect("portal:sign_in")
