"""Files customers attach to messages (MMS photos): which are shown inline, and how they are served.

The timeline shows a file as an <img> only when its provider declared a raster image type; the
proxy (`media_response`) serves a file inline only when its bytes are one of those images, with
the type it sniffed, never the provider's word. Everything else (SVG, HTML, PDF, video, a file
lying about its type) is served as an opaque download.
"""

from __future__ import annotations

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


def media_response(media: Media, *, name: str) -> HttpResponse:
    """Serve a fetched file safely: a real raster image inline, anything else as a download."""
    image = sniff_image(media.body)
    if image:
        response = HttpResponse(media.body, content_type=image)
        response["Content-Disposition"] = f'inline; filename="{name}.{_EXTENSIONS[image]}"'
    else:
        response = HttpResponse(media.body, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{name}.bin"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PROXY_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = PROXY_CACHE
    return response
