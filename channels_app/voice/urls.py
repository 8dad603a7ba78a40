"""Absolute URLs of the voice webhooks, as Twilio must call them (PUBLIC_BASE_URL + path)."""

from django.conf import settings

from channels_app.voice.spec import ROUTES


def absolute(name: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/webhooks/" + ROUTES[name][0]
