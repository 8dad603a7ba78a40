from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceChannelConfig(AppConfig):
    name = "channels_app.voice"
    label = "voice_channel"  # "voice" alone is too generic to stay unique among installed apps
    verbose_name = _("Voice")
