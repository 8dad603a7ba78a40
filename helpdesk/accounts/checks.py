"""Deploy checks that stop a production start-up with the demo's secrets or switches.

Each is an Error, not a Warning: a shipped SECRET_KEY signs anyone's session, the demo Twilio
token lets anyone sign webhooks (opt numbers out, inject messages, answer triage), the phone
simulator shows any customer's thread, and the demo logins share a published password."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

# Values that ship in this repository (settings defaults, .env.example, docs): never production's.
SHIPPED_SECRET_KEYS = frozenset(
    {
        "demo-insecure-secret-key-change-me-in-production-0123456789",
        "change-me-to-at-least-fifty-random-characters-before-production",
        "build-only",
    }
)
PLACEHOLDER_WORDS = ("change-me", "changeme", "insecure", "placeholder", "example", "your-")
DEMO_USERNAMES = ("agent", "manager", "admin")
DEMO_PASSWORD = "tourniquet-demo"  # noqa: S105 - the published demo login, checked for, never set here


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in PLACEHOLDER_WORDS)


@register(Tags.security, deploy=True)
def check_shipped_secrets(app_configs=None, **kwargs) -> list[Error]:
    problems = []
    key = settings.SECRET_KEY
    if key in SHIPPED_SECRET_KEYS or _placeholder(key):
        problems.append(
            Error(
                "SECRET_KEY is the one shipped with Tourniquet (or a placeholder): anyone can forge "
                "sessions, password-reset links and signed references.",
                hint="Set DJANGO_SECRET_KEY to 50+ random characters (python -c 'import secrets; "
                "print(secrets.token_urlsafe(64))').",
                id="tourniquet.E001",
            )
        )
    if "sms" in _registered_channels():
        token = settings.TWILIO_AUTH_TOKEN
        if token in (settings.TWILIO_DEMO_AUTH_TOKEN, "") or _placeholder(token):
            problems.append(
                Error(
                    "TWILIO_AUTH_TOKEN is the demo's: anyone can sign SMS webhooks (inject messages, "
                    "opt numbers out, answer triage). The SMS webhooks answer 503 until it is set.",
                    hint="Set TWILIO_AUTH_TOKEN to your Twilio account's auth token.",
                    id="tourniquet.E002",
                )
            )
    return problems


@register(Tags.security, deploy=True)
def check_demo_switches(app_configs=None, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return []
    problems = []
    if getattr(settings, "DEMO_PHONE_ENABLED", False):
        problems.append(
            Error(
                "DEMO_PHONE_ENABLED is on: /demo/phone/ lets anyone read a customer's SMS thread and "
                "send signed webhooks as any number.",
                hint="Unset DEMO_PHONE_ENABLED (it defaults to DJANGO_DEBUG).",
                id="tourniquet.E003",
            )
        )
    if getattr(settings, "DEMO_GATEWAYS_ENABLED", False):
        problems.append(
            Error(
                "DEMO_GATEWAYS_ENABLED is on: the console gateway 'sends' replies that never leave.",
                hint="Unset DEMO_GATEWAYS_ENABLED and configure real gateways in CHANNEL_GATEWAYS.",
                id="tourniquet.E004",
            )
        )
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith("locmem.LocMemCache"):
        problems.append(
            Error(
                "The cache is local memory: each server process counts sign-in failures and form "
                "submissions on its own, so the limits multiply by the number of processes.",
                hint="Set CACHE_URL to a shared cache, e.g. rediscache://127.0.0.1:6379/1.",
                id="tourniquet.E005",
            )
        )
    problems.extend(_demo_logins())
    return problems


def _demo_logins() -> list[Error]:
    """Active staff accounts that still accept the demo's published password."""
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    User = get_user_model()
    try:
        # Superusers too: an install may have renamed the demo's admin. Few rows; each check
        # costs one password hash.
        users = list(
            User.objects.filter(is_active=True)
            .filter(username__in=DEMO_USERNAMES)
            .union(User.objects.filter(is_active=True, is_superuser=True))[:50]
        )
    except DatabaseError:  # no database yet (a build step): nothing to check
        return []
    names = sorted(u.get_username() for u in users if u.check_password(DEMO_PASSWORD))
    if not names:
        return []
    return [
        Error(
            f"These accounts accept the demo's published password: {', '.join(names)}.",
            hint="Change their passwords (manage.py changepassword <name>) or deactivate them.",
            id="tourniquet.E006",
        )
    ]


def _registered_channels() -> set[str]:
    from channels_app.base import channels

    return set(channels())
