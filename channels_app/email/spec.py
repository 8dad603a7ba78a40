"""Email as the registry knows it: raw mail in through three doors, replies out through SMTP."""

from django.utils.translation import gettext_lazy as _

from channels_app.base import ChannelSpec, WebhookRoute

EMAIL = ChannelSpec(
    name="email",
    label=_("Email"),
    contact_kind="email",
    webhooks=(
        WebhookRoute(
            name="email:inbound",
            path="email/inbound/",
            handler="channels_app.email.inbound.handle_inbound",
            max_body_setting="EMAIL_MAX_BYTES",
        ),
    ),
    raw_parser="channels_app.email.inbound.parse_raw",
    media_fetcher="channels_app.email.media.fetch",
    keywords_handler="channels_app.email.consent.handle",
)
