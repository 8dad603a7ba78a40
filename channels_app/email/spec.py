"""Email: replies go out through the gateway configured for "email" (inbound lands with the email
channel's own webhooks)."""

from django.utils.translation import gettext_lazy as _

from channels_app.base import ChannelSpec

EMAIL = ChannelSpec(name="email", label=_("Email"), contact_kind="email")
