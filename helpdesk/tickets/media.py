"""Files customers send (MMS photos, voicemail recordings): which are shown inline, how they are served.

The timeline shows a file as an <img> only when its provider declared a raster image type; the
proxy (`media_response`) serves a file inline only when its bytes are one of those images, with
the type it sniffed, never the provider's word. Everything else (SVG, HTML, PDF, video, a file
lying about its type) is served as an opaque download.
"""

from __future__ import annotations

import base64
import re

from django.http import HttpResponse

from channels_app.base import Media

# Raster images browsers decode without running anything. SVG is not one: it is a document.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
# Only the headers the proxied file needs: nothing in it may load, run, or be framed.
PROXY_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
# A photo of someone's flooded shop is private: kept by this browser only, and not for long.
PROXY_CACHE = "private, max-age=300"


def shown_inline(content_type: str) -> bool:
    """True when the timeline may show a file of this declared type as an image."""
    return content_type.split(";")[0].strip().lower() in INLINE_IMAGE_TYPES


def sniff_image(body: bytes) -> str:
    """Return the raster image type these bytes begin with, or '' when they are not one."""
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return ""


# Recordings (a voicemail): played by the timeline's <audio>, which runs nothing either.
INLINE_AUDIO_TYPES = frozenset({"audio/mpeg", "audio/wav"})


def shown_as_audio(content_type: str) -> bool:
    """True when the timeline may offer a file of this declared type in an audio player."""
    return content_type.split(";")[0].strip().lower() in INLINE_AUDIO_TYPES


def sniff_audio(body: bytes) -> str:
    """Return the audio type these bytes begin with (MP3, WAV), or '' when they are not one."""
    if body.startswith(b"ID3") or (len(body) > 1 and body[0] == 0xFF and body[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if body[:4] == b"RIFF" and body[8:12] == b"WAVE":
        return "audio/wav"
    return ""


MAX_RECORDING_BYTES = 5 * 1024 * 1024


def recording_problem(upload) -> str:
    """Why an uploaded file cannot be a recording the IVR plays (too big, not MP3 or WAV), or ''."""
    from django.utils.translation import gettext

    if upload.size > MAX_RECORDING_BYTES:
        return gettext("A recording is at most 5 MB.")
    head = upload.read(16)
    upload.seek(0)
    if not sniff_audio(head):
        return gettext("This file is not an MP3 or WAV recording.")
    return ""


def media_response(media: Media, *, name: str) -> HttpResponse:
    """Serve a fetched file safely: a real raster image or recording inline, anything else as a
    download."""
    image = sniff_image(media.body)
    audio = "" if image else sniff_audio(media.body)
    if image:
        response = HttpResponse(media.body, content_type=image)
        response["Content-Disposition"] = f'inline; filename="{name}.{_EXTENSIONS[image]}"'
    elif audio:
        response = HttpResponse(media.body, content_type=audio)
        response["Content-Disposition"] = f'inline; filename="{name}.{audio.rsplit("/", 1)[1]}"'
    elif media.body.startswith(b"%PDF-"):  # a document: downloaded, never shown in our origin
        response = HttpResponse(media.body, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    else:
        response = HttpResponse(media.body, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{name}.bin"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PROXY_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = PROXY_CACHE
    return response


# The frame an HTML email is shown in: its markup was sanitized when it arrived (no script, no
# handler, no style); this policy is the second wall. Nothing runs, nothing is submitted, no
# remote image loads until the agent allows them (`remote=True`), and only our page may frame it.
MAIL_FRAME_CSP = (
    "default-src 'none'; img-src data:{remote}; style-src 'self'; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)
MAX_INLINE_IMAGE = 2_000_000


def mail_frame_response(markup: str, *, stylesheet: str, remote: bool) -> HttpResponse:
    """Serve sanitized mail HTML as its own document, walled off from the agent's page."""
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe

    document = format_html(
        '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="{}">'
        '<base target="_blank"></head><body dir="auto">{}</body></html>',
        stylesheet,
        mark_safe(markup),  # noqa: S308 - sanitized by nh3 when recorded (channels_app.email.html)
    )
    response = HttpResponse(document, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = MAIL_FRAME_CSP.format(remote=" https: http:" if remote else "")
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = PROXY_CACHE
    return response


def inline_images(markup: str, images: dict[str, Media]) -> str:
    """`cid:` references → data: URIs of the parts they name, raster images only."""

    def data_uri(content_id: str) -> str:
        media = images.get(content_id)
        image = sniff_image(media.body) if media and len(media.body) <= MAX_INLINE_IMAGE else ""
        if not image or media is None:
            return ""
        return f"data:{image};base64," + base64.b64encode(media.body).decode()

    return re.sub(r'src="cid:([^"]{1,250})"', lambda m: f'src="{data_uri(m.group(1))}"', markup)
