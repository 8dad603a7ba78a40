"""SMS through Twilio, as the registry knows it (settings.CHANNELS)."""

from django.utils.translation import gettext_lazy as _

from channels_app.base import ChannelSpec, WebhookRoute

SMS = ChannelSpec(
    name="sms",
    label=_("SMS"),
    contact_kind="phone",
    webhooks=(
        # Signed form posts, the hottest path in a surge: served by the fast door.
        WebhookRoute(
            name="sms:inbound",
            path="twilio/sms/",
            handler="channels_app.sms.webhooks.handle_inbound",
            fast=True,
            retries_dropped_connection=True,
        ),
        WebhookRoute(
            name="sms:status",
            path="twilio/sms/status/",
            handler="channels_app.sms.webhooks.handle_status",
            fast=True,
        ),
    ),
    keywords_handler="channels_app.sms.consent.handle",
    media_fetcher="channels_app.twilio_api.media.fetch",
)
