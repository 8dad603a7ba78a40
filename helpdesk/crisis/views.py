"""Public crisis page, the embed endpoints, and the manager's crisis center."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from helpdesk import languages as desk_languages
from helpdesk.accounts import guards
from helpdesk.accounts.views import HtmxHttpRequest
from helpdesk.crisis import public, selectors, services
from helpdesk.crisis.forms import BannerForm, BroadcastForm, CrisisForm, DirectoryEntryForm
from helpdesk.crisis.models import (
    Banner,
    Broadcast,
    BroadcastStatus,
    Crisis,
    DirectoryChannel,
    DirectoryEntry,
)
from helpdesk.embed import embed_file
from helpdesk.errors import ApplicationError

BANNER_JSON_MAX_AGE = 30  # seconds: a new banner reaches every site within half a minute
CRISIS_PAGE_MAX_AGE = 30  # seconds: caches may keep the page no longer than a statement takes to spread


# --- Public -------------------------------------------------------------------------------


@require_GET
def crisis_page(request: HttpRequest) -> HttpResponse:
    """Active crises, what to do, and where to get help, in the visitor's language (`?lang=`, else
    the browser's). Publicly cacheable: the page has no CSRF token, no session, no staff parts."""
    chosen = request.GET.get("lang", "")
    if desk_languages.is_known(chosen):
        with translation.override(chosen):
            return _crisis_page(request, chosen)
    return _crisis_page(request, (get_language() or "en")[:2])


def _crisis_page(request: HttpRequest, language: str) -> HttpResponse:
    snapshot = public.current()  # answers from the last published copy with the database down
    context: dict[str, object] = {
        "crises": [
            {
                "crisis": c,
                "title": public.statement_text(c, language, "title") or c["title"],
                "summary": public.statement_text(c, language, "summary"),
                "what_to_do": public.statement_text(c, language, "what_to_do"),
                "unknowns": public.statement_text(c, language, "unknowns"),
                "starts_at": parse_datetime(c["starts_at"]) if c.get("starts_at") else None,
                "published_at": parse_datetime(c["published_at"]) if c.get("published_at") else None,
            }
            for c in snapshot.get("crises", [])
        ],
        "entries": [
            {**e, "via": dict(DirectoryChannel.choices).get(e["channel"], "")}
            for e in public.directory_for(snapshot, language)
        ],
    }
    context["languages"] = [(code, get_language_info(code)["name_local"]) for code in desk_languages.codes()]
    context["language"] = language
    response = render(request, "crisis/public.html", context)
    patch_cache_control(response, public=True, max_age=CRISIS_PAGE_MAX_AGE)
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


@require_GET
def banner_js(request: HttpRequest) -> HttpResponse:
    """The embed script: hand-written, dependency-free."""
    return embed_file("crisis", "banner.js")


@require_GET
def banner_css(request: HttpRequest) -> HttpResponse:
    """The banner's stylesheet, which banner.js links from this origin (no inline styles)."""
    return embed_file("crisis", "banner.css")


def banner_json(request: HttpRequest) -> HttpResponse:
    """Active banners and the directory for any website: ETag, short cache, open CORS."""
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    elif request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD, OPTIONS"
    else:
        empty: dict = {"banners": [], "directory": [], "rtl": []}
        payload = public.with_open_flags(public.current().get("banner") or empty)
        etag = selectors.payload_etag(payload)
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponseNotModified()
        else:
            response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
        response["ETag"] = etag
        patch_cache_control(response, public=True, max_age=BANNER_JSON_MAX_AGE)
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response["Access-Control-Allow-Headers"] = "If-None-Match"
    response["Access-Control-Expose-Headers"] = "ETag"
    return response


DEFLECTION_BEACONS_PER_MINUTE = 20  # per address: a page's visitors click a few links, not hundreds


@csrf_exempt
def deflection_beacon(request: HttpRequest) -> HttpResponse:
    """POST from banner.js or the crisis page (navigator.sendBeacon, body "banner_link" or
    "directory_link"): one click on a link that serves a need without an agent. Open CORS like the
    banner; counted per address at most DEFLECTION_BEACONS_PER_MINUTE a minute; always 204 or 400."""
    from django.core.cache import cache

    from helpdesk.crisis.models import DeflectionKind
    from helpdesk.crisis.surge import record_deflection

    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    elif request.method != "POST":
        response = HttpResponse(status=405)
        response["Allow"] = "POST, OPTIONS"
    else:
        kind = request.body[:32].decode("ascii", "replace").strip()
        if kind not in (DeflectionKind.BANNER_LINK, DeflectionKind.DIRECTORY_LINK):
            response = HttpResponse("Unknown kind.", status=400, content_type="text/plain")
        else:
            key = "tourniquet:deflection-beacon:" + request.META.get("REMOTE_ADDR", "")
            cache.add(key, 0, 60)
            if cache.incr(key) <= DEFLECTION_BEACONS_PER_MINUTE:
                record_deflection(kind=kind, channel="web")
            response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    return response


# --- Managers -----------------------------------------------------------------------------


def manager_required(view):
    return guards.manager_required(view, message=_("Only managers can use the crisis center."))


@manager_required
def manage_home(request: HttpRequest) -> HttpResponse:
    """Crises, directory and broadcasts on one page; create a crisis or a directory line."""
    form = CrisisForm(request.POST or None, prefix="crisis")
    entry_form = DirectoryEntryForm(request.POST or None, prefix="entry")
    if request.method == "POST":
        try:
            if "create_crisis" in request.POST and form.is_valid():
                crisis = services.create_crisis(
                    title=form.cleaned_data["title"],
                    severity=form.cleaned_data["severity"],
                    affected_segment=form.cleaned_data["affected_segment"],
                    texts=form.texts(),
                )
                return redirect("crisis:manage_crisis", crisis.pk)
            if "create_entry" in request.POST and entry_form.is_valid():
                services.save_directory_entry(
                    need=entry_form.need(),
                    channel=entry_form.cleaned_data["channel"],
                    target=entry_form.cleaned_data["target"],
                    hours=entry_form.cleaned_data["hours"],
                    position=entry_form.cleaned_data["position"],
                )
                messages.success(request, _("Directory entry added."))
                return redirect("crisis:manage_home")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    language = (get_language() or "en")[:2]
    context = {
        "crises": Crisis.objects.all()[:50],
        "entries": [{"entry": e, "need": e.text(language)} for e in DirectoryEntry.objects.all()],
        "broadcasts": Broadcast.objects.select_related("crisis")[:50],
        "form": form,
        "entry_form": entry_form,
    }
    from helpdesk.crisis.views_declare import surge_context

    context.update(surge_context())
    return render(request, "crisis/manage_home.html", context)


@manager_required
def manage_crisis(request: HttpRequest, pk: int) -> HttpResponse:
    """One crisis: status, texts, its banner with preview and publish."""
    crisis = get_object_or_404(Crisis, pk=pk)
    banner = crisis.banners.first()
    banner_initial: dict[str, object] = {"severity": crisis.severity}
    if banner:
        banner_initial = {"severity": banner.severity, "placement": banner.placement}
        for lang, values in banner.texts.items():
            for key, value in values.items():
                banner_initial[f"{key}_{lang}"] = value
    banner_form = BannerForm(request.POST or None, initial=banner_initial, prefix="banner")
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "activate":
                services.activate_crisis(crisis=crisis)
            elif action == "resolve":
                services.resolve_crisis(crisis=crisis)
            elif action in ("save_banner", "publish_banner") and banner_form.is_valid():
                banner = services.save_banner(
                    crisis=crisis,
                    banner=banner,
                    texts=banner_form.texts(),
                    severity=banner_form.cleaned_data["severity"],
                    placement=banner_form.cleaned_data["placement"],
                    starts_at=banner_form.cleaned_data["starts_at"],
                    ends_at=banner_form.cleaned_data["ends_at"],
                )
                if action == "publish_banner":
                    services.publish_banner(banner=banner)
                    messages.success(request, _("Banner published."))
                else:
                    messages.success(request, _("Banner saved; publish it to show it."))
            elif action == "unpublish_banner" and banner:
                services.unpublish_banner(banner=banner)
            else:
                return _render_crisis(request, crisis, banner, banner_form)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return _render_crisis(request, crisis, banner, banner_form)
        return redirect("crisis:manage_crisis", crisis.pk)
    return _render_crisis(request, crisis, banner, banner_form)


def _render_crisis(request, crisis: Crisis, banner: Banner | None, banner_form) -> HttpResponse:
    preview = None
    if banner:
        preview = {
            "banners": [
                {
                    "id": banner.pk,
                    "version": banner.version,
                    "severity": banner.severity,
                    "placement": banner.placement,
                    "texts": banner.texts,
                }
            ],
            "directory": [],
        }
    context = {
        "crisis": crisis,
        "banner": banner,
        "banner_form": banner_form,
        "preview": preview,
        "broadcasts": crisis.broadcasts.all()[:20],
    }
    from helpdesk.crisis.views_declare import statement_context

    context.update(statement_context(crisis))
    return render(request, "crisis/manage_crisis.html", context)


@manager_required
def new_broadcast(request: HttpRequest) -> HttpResponse:
    """Write a broadcast; it is created as a draft and previewed before anything is sent."""
    crisis = Crisis.objects.filter(pk=request.GET.get("crisis") or request.POST.get("crisis") or 0).first()
    form = BroadcastForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("csv_file")
        try:
            broadcast = services.create_broadcast(
                name=form.cleaned_data["name"],
                channel=form.cleaned_data["channel"],
                bodies=form.bodies(),
                subjects=form.subjects(),
                audience=form.audience(crisis.pk if crisis else None),
                crisis=crisis,
                max_segments=form.cleaned_data["max_segments"],
                rate_per_second=form.cleaned_data["rate_per_second"],
                requires_approval=form.cleaned_data["requires_approval"],
                scheduled_at=form.cleaned_data["scheduled_at"],
                csv_data=upload.read() if upload else None,
                created_by=request.user,
                triage_flow=form.cleaned_data["triage_flow"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("crisis:broadcast", broadcast.pk)
    return render(request, "crisis/broadcast_new.html", {"form": form, "crisis": crisis})


@manager_required
def broadcast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview (draft) or live progress (sending) with pause/resume/cancel and approval."""
    broadcast = get_object_or_404(
        Broadcast.objects.select_related("crisis", "created_by", "approved_by"), pk=pk
    )
    context = {
        "broadcast": broadcast,
        "progress": selectors.broadcast_progress(broadcast=broadcast),
        "preview": selectors.preview_broadcast(broadcast=broadcast)
        if broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.PENDING_APPROVAL)
        else None,
        "can_approve": broadcast.status == BroadcastStatus.PENDING_APPROVAL
        and broadcast.created_by_id != request.user.pk,
    }
    return render(request, "crisis/broadcast_detail.html", context)


@manager_required
def broadcast_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial the page polls every second."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    context = {"broadcast": broadcast, "progress": selectors.broadcast_progress(broadcast=broadcast)}
    response = render(request, "crisis/partials/_progress.html", context)
    patch_cache_control(response, no_store=True)
    return response


ACTIONS = {
    "start": lambda b, user: services.start_broadcast(broadcast=b, actor=user),
    "approve": lambda b, user: services.approve_broadcast(broadcast=b, approver=user),
    "pause": lambda b, user: services.pause_broadcast(broadcast=b),
    "resume": lambda b, user: services.resume_broadcast(broadcast=b),
    "cancel": lambda b, user: services.cancel_broadcast(broadcast=b),
}


@require_POST
@manager_required
def broadcast_action(request: HtmxHttpRequest, pk: int, action: str) -> HttpResponse:
    """Start, approve, pause, resume or cancel; htmx gets the fresh progress partial."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    if action not in ACTIONS:
        return HttpResponse(status=404)
    try:
        broadcast = ACTIONS[action](broadcast, request.user)
    except ApplicationError as exc:
        if request.htmx:
            return HttpResponse(exc.message, status=409)
        messages.error(request, exc.message)
    if request.htmx:
        return broadcast_progress(request, pk)
    return redirect("crisis:broadcast", pk)
