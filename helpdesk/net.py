"""Who is asking: the client's address, also behind the reverse proxy the deployment names."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest | None) -> str:
    """REMOTE_ADDR; behind our proxy (DJANGO_BEHIND_PROXY) the address that proxy appended to
    X-Forwarded-For, i.e. its last entry. Earlier entries come from the client and prove nothing."""
    if request is None:
        return ""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")
