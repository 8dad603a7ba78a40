"""Sign-in pages and the guard every workspace view wears."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from helpdesk.accounts import services
from helpdesk.accounts.forms import DisplayPreferencesForm, LoginForm
from helpdesk.accounts.guards import is_agent, staff_required


class HtmxHttpRequest(HttpRequest):
    """A request after django-htmx's middleware: `request.htmx` says whether htmx sent it."""

    htmx: HtmxDetails


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after:  # paused after too many failures: say so to people and tools alike
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


class LogoutView(auth_views.LogoutView):
    pass


def agent_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Require a signed-in staff member (their time zone, digits and calendar are set for every
    request by helpdesk.middleware.AgentLocalFormatMiddleware)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_agent(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@require_POST
@staff_required
def set_availability(request: HttpRequest) -> HttpResponse:
    """The agent says whether new tickets may be assigned to them (helpdesk/tickets/assignment.py)."""
    from helpdesk.accounts.models import AgentProfile

    available = request.POST.get("available") == "1"
    AgentProfile.objects.update_or_create(
        user_id=int(request.user.pk or 0), defaults={"available": available}
    )
    target = request.POST.get("next") or "/"
    ours = {request.get_host()}
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=ours, require_https=request.is_secure()):
        target = "/"  # back to our own pages only
    return redirect(target)


@agent_view
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The agent's own time zone, digits and calendar."""
    profile = getattr(request.user, "profile", None)  # loaded already by the middleware
    initial = {"time_zone": "", "digits": "", "calendar": ""}
    if profile is not None:
        initial = {"time_zone": profile.time_zone, "digits": profile.digits, "calendar": profile.calendar}
    form = DisplayPreferencesForm(request.POST or None, initial=initial, site_time_zone=settings.TIME_ZONE)
    if request.method == "POST" and form.is_valid():
        services.update_display_preferences(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, _("Preferences saved."))
        return redirect("accounts:preferences")
    # The time now, as the agent will read dates from here on.
    context = {"form": form, "now": timezone.now()}
    return render(request, "accounts/preferences.html", context)
