"""Files other websites embed (the crisis banner, the chat widget): served from our own static
folder to any origin, cached for an hour."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import patch_cache_control

EMBED_MAX_AGE = 3600
CONTENT_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def embed_file(folder: str, name: str) -> HttpResponse:
    """static/<folder>/<name> for any site: open CORS (it is public), an hour's cache."""
    path = Path(settings.BASE_DIR) / "static" / folder / name
    response = HttpResponse(path.read_bytes(), content_type=CONTENT_TYPES[path.suffix])
    patch_cache_control(response, public=True, max_age=EMBED_MAX_AGE)
    response["Access-Control-Allow-Origin"] = "*"
    return response
