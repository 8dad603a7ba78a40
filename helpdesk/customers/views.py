"""Customer pages of the agent workspace."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk.accounts.views import HtmxHttpRequest, agent_view
from helpdesk.customers import selectors, services
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.errors import ApplicationError


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
            "tickets": selectors.customer_tickets(customer_id=pk, user=request.user),
            "events": selectors.recent_events(customer_id=pk, user=request.user),
        },
    )


@require_POST
@agent_view
def contact_point_verify(request: HtmxHttpRequest, pk: int, point_id: int) -> HttpResponse:
    """The agent confirms that the point is this customer's: replies and broadcasts may use it."""
    point = get_object_or_404(ContactPoint, pk=point_id, customer_id=pk)
    if services.verify_contact_point(contact_point=point):
        from helpdesk.tickets.services import add_system_event

        add_system_event(
            customer_id=pk,
            ticket=None,
            kind="contact_verified",
            body=_("%(value)s confirmed as the customer's by %(agent)s.")
            % {"value": point.value, "agent": request.user.get_username()},
            author=request.user,
            contact_point=point,
        )
        messages.success(request, _("%(value)s is verified.") % {"value": point.value})
    return redirect("customers:detail", pk=pk)


@require_POST
@agent_view
def customer_merge(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Link this customer (e.g. an unverified sender) to the real one: everything moves there."""
    source = get_object_or_404(Customer, pk=pk)
    target_id = request.POST.get("target", "").strip().lstrip("#")
    target = Customer.objects.filter(pk=int(target_id)).first() if target_id.isdigit() else None
    if target is None:
        messages.error(request, _("No customer #%(id)s.") % {"id": target_id})
        return redirect("customers:detail", pk=pk)
    try:
        services.merge_customers(source=source, target=target, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("customers:detail", pk=pk)
    messages.success(request, _("Merged into #%(id)s.") % {"id": target.pk})
    return redirect("customers:detail", pk=target.pk)
