"""Voice calls: a caller is answered by SMS (the call's own webhooks land with the voice channel)."""

from django.utils.translation import gettext_lazy as _

from channels_app.base import ChannelSpec

VOICE = ChannelSpec(
    name="voice", label=_("Voice"), contact_kind="phone", reply_channel="sms", sends=False, realtime=True
)
