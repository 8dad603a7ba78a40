"""Deploy checks for messaging: a registered channel nothing can send on is a silent dead end."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

from channels_app.base import channels, gateway_configured


@register(Tags.security, deploy=True)
def check_channel_gateways(app_configs=None, **kwargs) -> list[Warning]:
    """Warn about each channel that agents could reply on but no gateway sends on here."""
    problems = []
    for spec in channels().values():
        if not spec.sends or gateway_configured(spec.name):
            continue
        demo = settings.CHANNEL_GATEWAYS.get(spec.name, "")
        why = "only the demo's console gateway, which sends nothing" if demo else "no gateway"
        problems.append(
            Warning(
                f"Channel {spec.name!r} has {why}: replies on it are refused and it is not offered.",
                hint=f"Set CHANNEL_GATEWAYS={spec.name}=<dotted.Gateway>, or leave it out of CHANNELS.",
                id="messaging.W001",
            )
        )
    return problems
