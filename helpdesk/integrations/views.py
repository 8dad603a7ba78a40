"""The managers' webhook pages: subscriptions, each one's delivery log with a replay button."""

from __future__ import annotations

from django.contrib import messages as messages_framework
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.accounts.guards import manager_required
from helpdesk.errors import ApplicationError
from helpdesk.events import NAMES
from helpdesk.integrations import webhooks
from helpdesk.integrations.models import WebhookDelivery, WebhookSubscription

LOG_ROWS = 200


@manager_required
def subscriptions(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            webhooks.subscribe(url=request.POST.get("url", "").strip(), events=request.POST.getlist("events"),
                               secret=request.POST.get("secret", ""), actor=request.user)  # fmt: skip
        except ApplicationError as exc:
            error = exc.message
        else:
            messages_framework.success(request, _("Subscription saved."))
            return redirect("integrations:webhooks")
    return render(
        request, "integrations/webhooks.html",
        {"subscriptions": WebhookSubscription.objects.order_by("-id"), "names": NAMES, "error": error},
    )  # fmt: skip


@manager_required
def deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    return render(
        request, "integrations/deliveries.html",
        {"subscription": subscription, "deliveries": subscription.deliveries.order_by("-id")[:LOG_ROWS]},
    )  # fmt: skip


@manager_required
@require_POST
def replay(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, subscription_id=pk)
    webhooks.replay(delivery=delivery)
    messages_framework.success(request, _("Sent again, with the same event id."))
    return redirect("integrations:deliveries", pk=pk)


@manager_required
@require_POST
def enable(request: HttpRequest, pk: int) -> HttpResponse:
    webhooks.enable(subscription=get_object_or_404(WebhookSubscription, pk=pk))
    return redirect("integrations:deliveries", pk=pk)
