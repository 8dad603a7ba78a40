"""Pages and doors of helpdesk.feedback.

The business's systems redeem a code: POST /api/v1/recovery/redeem/ with JSON {"code",
"reference"}, signed `X-Tourniquet-Signature: sha256=<hex HMAC-SHA256 of the body with
INCENTIVE_REDEEM_SECRET>`. 200 redeemed; 409 already used; 404 unknown; 410 expired or not granted;
403 unsigned; 400 malformed. Exactly one of any number of racing calls gets 200."""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.contrib import messages as messages_framework
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from helpdesk.accounts.guards import manager_required, staff_required
from helpdesk.errors import ApplicationError
from helpdesk.feedback import recovery, reports, reviews, services, surveys
from helpdesk.feedback.forms import PolicyForm, ReportFilterForm, StepForm
from helpdesk.feedback.models import RecoveryCase, RecoveryStatus, Survey, SurveyPolicy, SurveyState

STATUS = {"redeemed": 200, "already_redeemed": 409, "unknown": 404, "expired": 410, "not_granted": 410}


def _signed(request: HttpRequest) -> bool:
    secret = settings.INCENTIVE_REDEEM_SECRET
    given = request.headers.get("X-Tourniquet-Signature", "")
    if not secret or not given.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given[7:].strip().lower(), expected)


@csrf_exempt
@require_POST
def redeem(request: HttpRequest) -> JsonResponse:
    if not _signed(request):
        return JsonResponse({"error": "bad_signature"}, status=403)
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "malformed"}, status=400)
    code = data.get("code") if isinstance(data, dict) else None
    reference = data.get("reference", "") if isinstance(data, dict) else ""
    if not isinstance(code, str) or not code.strip() or len(code) > 64 or not isinstance(reference, str):
        return JsonResponse({"error": "malformed"}, status=400)
    result = services.redeem(code=code.strip(), reference=reference)
    return JsonResponse({"redeemed": result.ok, "reason": result.reason}, status=STATUS[result.reason])


# --- Email and web: the signed rating links ---------------------------------------------------


@csrf_exempt  # the signed token in the address is the proof; the page has no session to ride on
def rate(request: HttpRequest, token: str, score: int) -> HttpResponse:
    """One click in the survey email records the score (no sign-in: the link is signed); a low
    score is then asked what went wrong on the same page. A second click changes nothing."""
    from django.utils import translation

    survey = surveys.survey_from_token(token)
    if survey is None:
        return render(request, "feedback/rated.html", {"unknown": True}, status=404)
    with translation.override(survey.language):
        recorded = False
        if request.method == "POST":
            text = request.POST.get("comment", "")
            recorded = surveys.record_comment(survey=survey, text=text)
        elif survey.state in (SurveyState.ASKED, SurveyState.EXPIRED):
            surveys.record_answer(survey=survey, score=score)
        survey.refresh_from_db()
        context = {
            "survey": survey,
            "token": token,
            "low": surveys.is_low(survey),
            "top": surveys.top_score(survey.scale),
            "commented": recorded or bool(survey.commented_at),
            "LANGUAGE_CODE": survey.language,
        }
        response = render(request, "feedback/rated.html", context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


# --- Recovery cases --------------------------------------------------------------------------


@staff_required
def case_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", RecoveryStatus.OPEN)
    if status not in RecoveryStatus.values:
        status = RecoveryStatus.OPEN
    cases = list(recovery.cases_queue(status=status)[:200])
    return render(
        request, "feedback/cases.html",
        {"cases": cases, "status": status, "statuses": RecoveryStatus.choices, "now": timezone.now()},
    )  # fmt: skip


def _case_context(case: RecoveryCase, **extra) -> dict:
    from helpdesk.feedback.models import CouponPool

    return {
        "case": case,
        "steps": list(case.steps.select_related("owner", "done_by")),
        "coupons": list(case.coupons.select_related("pool")),
        "pools": list(CouponPool.objects.order_by("name")),
        "now": timezone.now(),
        "step_form": extra.pop("step_form", None) or StepForm(),
        "agents": _agents(),
        **extra,
    }


def _agents():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")


@staff_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page: who, why, the apology, the plan, incentives; every button one service."""
    case = get_object_or_404(
        RecoveryCase.objects.select_related("customer", "owner", "ticket", "survey", "review"), pk=pk
    )
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            _case_action(request, case, action)
        except ApplicationError as exc:
            error = exc.message
        else:
            return redirect("feedback:case", pk=case.pk)
    return render(request, "feedback/case.html", _case_context(case, error=error))


def _case_action(request: HttpRequest, case: RecoveryCase, action: str) -> None:
    from helpdesk.feedback.models import CouponPool, RecoveryStep

    if action == "apology":
        recovery.send_apology(case=case, actor=request.user, body=request.POST.get("apology", ""))
    elif action == "step":
        form = StepForm(request.POST)
        if not form.is_valid():
            raise ApplicationError(_("Name the step."), code="invalid")
        recovery.add_step(case=case, **form.cleaned_data)
    elif action == "done":
        step = get_object_or_404(RecoveryStep, pk=request.POST.get("step"), case=case)
        recovery.complete_step(step=step, actor=request.user)
    elif action == "owner":
        recovery.assign_case(case=case, owner=_agents().filter(pk=request.POST.get("owner") or 0).first())
    elif action == "grant":
        pool = get_object_or_404(CouponPool, pk=request.POST.get("pool"))
        services.grant(pool=pool, customer=case.customer, actor=request.user, ticket=case.ticket, case=case)
    elif action == "send_coupon":
        coupon = get_object_or_404(case.coupons.all(), pk=request.POST.get("coupon"))
        services.send_incentive(coupon=coupon, actor=request.user)
    elif action == "close":
        recovery.close_case(case=case, actor=request.user)
    else:
        raise ApplicationError(_("Unknown action."), code="invalid")


@staff_required
@require_POST
def flag_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """An agent flags the ticket's customer for recovery; the case opens with them as owner."""
    from helpdesk.tickets.selectors import visible_tickets

    ticket = get_object_or_404(
        visible_tickets(request.user).select_related("customer", "assignee"), pk=ticket_id
    )
    case = recovery.flag_for_recovery(ticket=ticket, actor=request.user)
    return redirect("feedback:case", pk=case.pk)


@staff_required
def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The sidebar card: the customer's surveys and recovery cases, and the flag button."""
    from helpdesk.tickets.selectors import visible_tickets

    ticket = get_object_or_404(visible_tickets(request.user), pk=ticket_id)
    return render(
        request, "feedback/partials/_ticket_panel.html",
        {
            "ticket": ticket,
            "surveys": list(Survey.objects.filter(customer_id=ticket.customer_id)[:5]),
            "cases": list(RecoveryCase.objects.filter(customer_id=ticket.customer_id).order_by("-id")[:5]),
        },
    )  # fmt: skip


# --- Reports ------------------------------------------------------------------------------------


def _filters(request: HttpRequest) -> reports.Filters:
    form = ReportFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    return reports.Filters(
        since=data.get("since"), until=data.get("until"), channel=data.get("channel") or "",
        queue_id=data["queue"].pk if data.get("queue") else None,
        crisis_id=data["crisis"].pk if data.get("crisis") else None,
    )  # fmt: skip


@manager_required
def report_page(request: HttpRequest) -> HttpResponse:
    from helpdesk.feedback import report_charts

    filters = _filters(request)
    data = reports.report(filters)
    return render(
        request, "feedback/report.html",
        {"form": ReportFilterForm(request.GET or None), "data": data,
         "charts": report_charts.charts_for(data), "query": request.GET.urlencode()},
    )  # fmt: skip


@manager_required
def report_csv(request: HttpRequest) -> HttpResponse:
    import csv

    group = request.GET.get("group", "channel")
    if group not in reports.GROUPS:
        return HttpResponse(_("Unknown grouping."), status=400, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="surveys-by-{group}.csv"'
    writer = csv.writer(response)
    writer.writerow([group, "asked", "answered", "response_rate", "csat", "average", "nps_answers", "nps"])
    for row in reports.grouped(_filters(request), group):
        writer.writerow([
            row.label or row.key, row.asked, row.answered, _ratio(row.response_rate), _ratio(row.csat),
            _ratio(row.average), row.nps_answers, _ratio(row.nps),
        ])  # fmt: skip
    return response


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


# --- Survey policy and reviews ---------------------------------------------------------------------


@manager_required
def policy_page(request: HttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST or None, instance=SurveyPolicy.current())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages_framework.success(request, _("Survey rules saved."))
        return redirect("feedback:policy")
    return render(request, "feedback/policy.html", {"form": form})


@manager_required
def reviews_page(request: HttpRequest) -> HttpResponse:
    from helpdesk.feedback.models import Review, ReviewSource

    error = ""
    if request.method == "POST":
        source = get_object_or_404(ReviewSource, pk=request.POST.get("source"))
        try:
            if request.POST.get("action") == "poll":
                added = reviews.poll_source(source)
                source.refresh_from_db()
                if source.last_error:
                    raise ApplicationError(source.last_error, code="invalid_feed")
            else:
                upload = request.FILES.get("file")
                if upload is None:
                    raise ApplicationError(_("Choose a CSV file."), code="invalid_csv")
                added = reviews.import_csv(source=source, data=upload.read(5_000_001)[:5_000_000])
        except ApplicationError as exc:
            error = exc.message
        else:
            messages_framework.success(request, _("%(count)s new reviews.") % {"count": added})
            return redirect("feedback:reviews")
    return render(
        request, "feedback/reviews.html",
        {"sources": list(ReviewSource.objects.order_by("name")), "error": error,
         "reviews": list(Review.objects.select_related("source", "customer").prefetch_related("cases")[:100]),
         },
    )  # fmt: skip


@csrf_exempt
@require_POST
def review_webhook(request: HttpRequest, source_id: int) -> JsonResponse:
    """POST /webhooks/reviews/<source>/: one review (JSON object) or a list, signed
    `X-Tourniquet-Signature: sha256=<HMAC-SHA256 of the body with the source's secret>`."""
    from helpdesk.feedback.models import ReviewSource

    source = ReviewSource.objects.filter(pk=source_id, kind="webhook", is_active=True).first()
    given = request.headers.get("X-Tourniquet-Signature", "")
    if source is None or not source.secret or not given.startswith("sha256="):
        return JsonResponse({"error": "bad_signature"}, status=403)
    expected = hmac.new(source.secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given[7:].strip().lower(), expected):
        return JsonResponse({"error": "bad_signature"}, status=403)
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "malformed"}, status=400)
    rows = data if isinstance(data, list) else [data]
    items = [reviews.item_from_dict(row) for row in rows if isinstance(row, dict)]
    if not items or any(item is None for item in items) or len(items) > 500:
        return JsonResponse({"error": "malformed", "message": "Each review needs an id."}, status=400)
    new = reviews.store_reviews(source=source, items=[i for i in items if i is not None])
    return JsonResponse({"received": len(items), "new": len(new)})
