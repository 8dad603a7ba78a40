"""Customer pages of the agent workspace."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from helpdesk.accounts.views import HtmxHttpRequest, agent_view
from helpdesk.customers import selectors
from helpdesk.customers.models import Customer


@require_GET
@agent_view
def customer_list(request: HtmxHttpRequest) -> HttpResponse:
    """Customers newest first, one keyset page at a time."""
    before = request.GET.get("before", "")
    page = selectors.customer_page(before=int(before) if before.isdigit() else None)
    template = "customers/partials/_rows.html" if request.htmx else "customers/list.html"
    return render(request, template, {"page": page})


@require_GET
@agent_view
def customer_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A customer's profile, contact points, every ticket and their latest timeline."""
    try:
        customer = selectors.customer_detail(customer_id=pk)
    except Customer.DoesNotExist:
        raise Http404(_("No such customer.")) from None
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "tickets": selectors.customer_tickets(customer_id=pk),
            "events": selectors.recent_events(customer_id=pk),
        },
    )
