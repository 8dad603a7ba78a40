"""Voice calls through Twilio: the IVR, voicemail and call backs; a caller is answered by SMS."""

from django.utils.translation import gettext_lazy as _

from channels_app.base import ChannelSpec, WebhookRoute

# Each TwiML step of the IVR is a signed form post that must answer at once (the caller hears
# silence meanwhile): all are served by the fast door.
ROUTES = {
    "voice:inbound": ("twilio/voice/", "handle_incoming"),
    "voice:status": ("twilio/voice/status/", "handle_status"),
    "voice:language": ("twilio/voice/language/", "handle_language"),
    "voice:menu": ("twilio/voice/menu/", "handle_menu"),
    "voice:main": ("twilio/voice/main/", "handle_main"),
    "voice:callback": ("twilio/voice/callback/", "handle_callback_choice"),
    "voice:wait": ("twilio/voice/wait/", "handle_wait"),
    "voice:queue": ("twilio/voice/queue/", "handle_queue_exit"),
    "voice:recording": ("twilio/voice/recording/", "handle_recording"),
    "voice:recording_status": ("twilio/voice/recording/status/", "handle_recording_status"),
    "voice:transcription": ("twilio/voice/transcription/", "handle_transcription"),
    "voice:outbound": ("twilio/voice/outbound/", "handle_outbound"),
    "voice:triage": ("twilio/voice/triage/", "handle_triage"),
    "voice:survey": ("twilio/voice/survey/", "handle_survey"),
}

VOICE = ChannelSpec(
    name="voice",
    label=_("Voice"),
    contact_kind="phone",
    reply_channel="sms",
    sends=False,
    realtime=True,
    webhooks=tuple(
        WebhookRoute(name=name, path=path, handler=f"channels_app.voice.webhooks.{handler}", fast=True)
        for name, (path, handler) in ROUTES.items()
    ),
    media_fetcher="channels_app.twilio_api.media.fetch",
)
