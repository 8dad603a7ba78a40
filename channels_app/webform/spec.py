"""The public contact form: it receives, and its messages are answered by email."""

from django.utils.translation import gettext_lazy as _

from channels_app.base import ChannelSpec

WEB = ChannelSpec(name="web", label=_("Web form"), contact_kind="email", reply_channel="email", sends=False)
