"""Twilio media: fetch a file a customer sent (an MMS photo, a voicemail recording) for the core's proxy.

A stored media URL is fetched only when it is Twilio's API (api.twilio.com, or TWILIO_API_BASE:
the local fake), with the account's credentials, because Twilio may enforce HTTP auth on media.
Twilio answers with a redirect to its media CDN; that hop is followed without the credentials,
and only to the CDN hosts named here. Anything else is refused with code "not_allowed": a URL
in an event is data a customer's carrier sent, never a reason to call an arbitrary host.
"""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from channels_app.base import ChannelError, Media
from channels_app.twilio_api.http import TWILIO_HOST, api_url

# Twilio accepts at most 5 MB of media per message, so no single file of ours is larger.
MAX_MEDIA_BYTES = 5 * 1024 * 1024
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10.0
# The whole fetch, redirects and a slow trickle of bytes included: an agent's page waits on it.
TOTAL_SECONDS = 20.0
MAX_REDIRECTS = 3
CHUNK_BYTES = 64 * 1024
# Where api.twilio.com redirects media: mms.twiliocdn.com when HTTP auth is enforced on media, the
# older public bucket otherwise (Twilio support, "Protect media access with HTTP basic auth").
CDN_HOSTS = frozenset({"mms.twiliocdn.com", "s3-external-1.amazonaws.com"})
MEDIA_PATH_PREFIX = "/2010-04-01/Accounts/"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _api_origins() -> set[tuple[str, str]]:
    origins = {_origin(TWILIO_HOST)}
    if settings.TWILIO_API_BASE:
        origins.add(_origin(settings.TWILIO_API_BASE))
    return origins


def _cdn(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname in CDN_HOSTS and parts.port in (None, 443)


def _refuse(message: str) -> ChannelError:
    return ChannelError(message, permanent=True, code="not_allowed")


def fetch(url: str) -> Media:
    """Fetch one MMS file from Twilio: allow-listed hosts only, size-capped, timed out."""
    url = api_url(url)
    api = _api_origins()
    if _origin(url) not in api or not urlsplit(url).path.startswith(MEDIA_PATH_PREFIX):
        raise _refuse("This media URL is not Twilio's.")
    credentials = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    deadline = time.monotonic() + TOTAL_SECONDS
    try:
        with requests.Session() as session:
            for _hop in range(MAX_REDIRECTS + 1):
                on_api = _origin(url) in api
                with session.get(
                    url,
                    auth=credentials if on_api else None,
                    stream=True,
                    allow_redirects=False,
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                ) as response:
                    if response.is_redirect:
                        target = urljoin(url, response.headers.get("Location", ""))
                        if not (_origin(target) in api or _cdn(target)):
                            raise _refuse("Twilio redirected the media to a host we do not fetch from.")
                        url = target
                        continue
                    return _read(response, deadline)
    except requests.Timeout as exc:
        raise ChannelError("Twilio did not send the media in time.", permanent=False) from exc
    except requests.RequestException as exc:
        message = f"The media could not be fetched ({type(exc).__name__})."
        raise ChannelError(message, permanent=False) from exc
    raise ChannelError("Too many redirects for one media file.", permanent=True)


def _read(response: requests.Response, deadline: float) -> Media:
    status = response.status_code
    if status != 200:
        raise ChannelError(
            f"Twilio answered {status} for the media.",
            permanent=status < 500 and status != 429,
            code=str(status),
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_MEDIA_BYTES:
        raise ChannelError("The media file is larger than MMS allows.", permanent=True, code="too_large")
    chunks, size = [], 0
    for chunk in response.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > MAX_MEDIA_BYTES:
            raise ChannelError("The media file is larger than MMS allows.", permanent=True, code="too_large")
        if time.monotonic() > deadline:
            raise ChannelError("Twilio did not send the media in time.", permanent=False)
        chunks.append(chunk)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return Media(content_type=content_type, body=b"".join(chunks))
