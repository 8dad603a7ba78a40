"""Top-level routes: each app owns its own urls module."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from helpdesk import health
from helpdesk.accounts.api import ObtainTokenApi
from helpdesk.accounts.guards import IsStaffAgent
from helpdesk.feedback import views as feedback_views
from helpdesk.messaging import door

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", ObtainTokenApi.as_view(), name="auth-token"),
    path("", include("helpdesk.customers.api_urls")),
    path("", include("helpdesk.tickets.api_urls")),
    path("", include("helpdesk.crisis.api_urls")),
    path("", include("triage.api_urls")),
    path("", include("helpdesk.feedback.api_urls")),
    path("", include("helpdesk.staffing.api_urls")),
    path("", include("helpdesk.integrations.api_urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tickets:queue", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("helpdesk.accounts.urls")),
    path("tickets/", include("helpdesk.tickets.urls")),
    path("customers/", include("helpdesk.customers.urls")),
    path("contact/", include("channels_app.webform.urls")),
    path("portal/", include("helpdesk.portal.urls")),
    path("email/unsubscribe/", include("channels_app.email.unsubscribe_urls")),
    path("email/", include("channels_app.email.urls")),
    path("embed/", include("channels_app.chat.embed_urls")),
    path("chat/api/", include("channels_app.chat.urls")),
    path("manage/chat/", include("channels_app.chat.manage_urls")),
    path("manage/webhooks/", include("helpdesk.integrations.urls")),
    path("voice/", include("channels_app.voice.page_urls")),
    path("survey/<str:token>/<int:score>/", feedback_views.rate, name="survey_rate"),
    path("webhooks/reviews/<int:source_id>/", feedback_views.review_webhook, name="review_webhook"),
    # Every channel's webhooks, routed by the channel registry (settings.CHANNELS).
    path("webhooks/<path:route_path>", door.webhook_view, name="webhook"),
    path("demo/phone/", include("channels_app.sms.demo_urls")),
    path("demo/call/", include("channels_app.voice.demo_urls")),
    path("", include("helpdesk.crisis.urls")),
    path("triage/", include("triage.urls")),
    path("", include("helpdesk.feedback.urls")),
    path("", include("helpdesk.staffing.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    # For signed-in staff only: the schema maps every operation, an attacker's first read.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsStaffAgent]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[IsStaffAgent]),
        name="api-docs",
    ),
]

handler404 = "helpdesk.api.not_found"
