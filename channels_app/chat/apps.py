from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatChannelConfig(AppConfig):
    name = "channels_app.chat"
    label = "chat_channel"  # "chat" alone is too generic to stay unique among installed apps
    verbose_name = _("Chat")
