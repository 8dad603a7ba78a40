"""The one guard for every outbound call to an address someone typed (webhooks, review feeds):
no loopback, link-local (cloud metadata at 169.254.169.254 included), private, shared, multicast
or reserved address, unless OUTBOUND_ALLOWED_NETWORKS lists it (self-hosted systems on the
LAN). The name is resolved here and every address it resolves to must pass, right before each
call, and each redirect is checked the same way before it is followed. (A DNS answer that changes
between the check and the connection, rebinding, is not caught: pinning the checked address into
the connection is the next step.)
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from helpdesk.errors import ApplicationError

MAX_REDIRECTS = 3


class Refused(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="address_refused")


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    for network in settings.OUTBOUND_ALLOWED_NETWORKS:
        if address in ipaddress.ip_network(network, strict=False):
            return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved)


def resolve(url: str) -> list[str]:
    """The addresses the URL's host resolves to, all of them allowed; Refused otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(_("Only http and https addresses can be called."))
    if parts.username or parts.password:
        raise Refused(_("An address with a user name or password is refused."))
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(_("The host %(host)s cannot be found.") % {"host": host}) from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%")[0])
        if not _allowed(address):
            raise Refused(
                _("%(host)s is a private, local or reserved address (%(address)s): refused.")
                % {"host": host, "address": address}
            )
    return addresses


def check(url: str) -> None:
    """Refuse a URL the guard would not call (at subscription time)."""
    resolve(url)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    url: str
    content_type: str = ""


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST with the guard on the address and on every redirect (a 307/308 keeps the POST)."""
    return _call("POST", url, body=body, headers=headers, timeout=timeout)


def get(url: str, *, headers: dict[str, str], timeout: float, max_bytes: int) -> Answer:
    return _call("GET", url, body=None, headers=headers, timeout=timeout, max_bytes=max_bytes)


def _call(method: str, url: str, *, body: bytes | None, headers: dict[str, str], timeout: float,
          max_bytes: int = 1_000_000) -> Answer:  # fmt: skip
    for _hop in range(MAX_REDIRECTS + 1):
        resolve(url)
        with requests.request(method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                              stream=True) as response:  # fmt: skip
            if response.is_redirect and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                if response.status_code in (301, 302, 303):
                    method, body = "GET", None
                continue
            data = response.raw.read(max_bytes, decode_content=True)
            return Answer(response.status_code, data, url, response.headers.get("Content-Type", ""))
    raise Refused(_("Too many redirects."))
