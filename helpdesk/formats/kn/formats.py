"""Kannada date formats Django lacks: without them kn falls back to the US "m/d/Y P".

Day first, as CLDR's kn and Indian usage write dates (21 ಮಾರ್ಚ್ 2026, 09:30 ಪೂರ್ವಾಹ್ನ)."""

DATETIME_FORMAT = "j F Y, h:i A"
SHORT_DATETIME_FORMAT = "j M Y, h:i A"
