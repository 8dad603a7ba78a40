"""The one link validator: every href we render or hand to banner.js goes through it.

Our pages and the embed banner share an origin with the agent workspace: a `javascript:` link
there runs with an agent's session. Only http(s) to a host, tel:, sms: and mailto: are links;
anything else (other schemes, `//host`, paths, control characters, backslashes, entities in
disguise) is shown as text or refused when saved."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

SCHEMES = ("http", "https", "tel", "sms", "mailto")
PHONE = re.compile(r"^\+?[0-9][0-9().-]{2,30}$")
# Browsers drop tabs and newlines inside URLs and read "\" as "/": "java\tscript:" and "\\host"
# are live. Anything outside printable ASCII has no business in a link we render either, nor
# quotes and angle brackets (escaped in our templates, but a sign of an attempt elsewhere).
_UNSAFE = re.compile(r"[^\x21-\x7e]|[\\<>\"'`]")
# Phone numbers are written with spaces: "tel:+1 555 010 0199" links as "tel:+15550100199".
_PHONE_LINK = re.compile(r"^(tel|sms):", re.IGNORECASE)
MAX_LENGTH = 2000


def safe_url(value: object) -> str:
    """Return the link when it is safe to put in an href, else ''."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if _PHONE_LINK.match(url):
        url = url.replace(" ", "")
    if not url or len(url) > MAX_LENGTH or _UNSAFE.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or url[: len(scheme) + 1].lower() != scheme + ":":
        return ""
    if scheme in ("http", "https"):
        if not url[len(scheme) + 1 :].startswith("//") or not parts.hostname or "@" in parts.netloc:
            return ""
        return url
    rest = url[len(scheme) + 1 :]
    if scheme in ("tel", "sms"):
        return url if PHONE.match(rest) else ""
    address = rest.split("?", 1)[0]
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return url


def validate_link(value: str) -> None:
    """Django validator (forms, model fields, the admin, DRF): refuse what `safe_url` drops."""
    if value and not safe_url(value):
        raise ValidationError(
            _("Not a link we can show: use https://…, tel:…, sms:… or mailto:… (%(value)s)"),
            code="invalid_link",
            params={"value": value[:80]},
        )


def contact_href(channel: str, target: str) -> str:
    """The href for a directory line: tel:/sms:/mailto: built from a number or address, a checked
    URL for chat and self-service links; '' when the target does not fit its channel."""
    target = (target or "").strip()
    prefix = {"call": "tel:", "sms": "sms:", "email": "mailto:"}.get(channel)
    if prefix:
        return safe_url(prefix + target)
    return safe_url(target)
