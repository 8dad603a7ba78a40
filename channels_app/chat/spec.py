"""Live chat: offered as a reply channel only once a chat gateway is configured."""

from django.utils.translation import gettext_lazy as _

from channels_app.base import ChannelSpec

CHAT = ChannelSpec(
    name="chat", label=_("Chat"), contact_kind="chat", realtime=True,
    media_fetcher="channels_app.chat.uploads.fetch",
)  # fmt: skip
