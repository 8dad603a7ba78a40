"""Who is asking: the client's address, also behind the reverse proxy the deployment names."""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest


@cache
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in trusted if n.strip())


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest | None) -> str:
    """REMOTE_ADDR; behind our proxy (DJANGO_BEHIND_PROXY, and the request really comes from one of
    DJANGO_TRUSTED_PROXIES) the address that proxy appended to X-Forwarded-For, i.e. its last
    entry. Earlier entries come from the client and prove nothing, and so does the whole header
    on a request that reached the server directly."""
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_PROXY and _trusted(remote):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return remote


def counting_key(address: str) -> str:
    """What a per-address limit counts: the address, or its /64 for IPv6 (one host's share)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
