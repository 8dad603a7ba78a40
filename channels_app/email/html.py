"""HTML mail made harmless: sanitized with nh3 when recorded, shown in a sandboxed frame.

Sanitizing keeps the structure people read (paragraphs, tables, lists, links, images) and drops
everything that runs or restyles the page: scripts, event handlers, forms, styles, `javascript:`
and other link schemes. The frame that shows it (`helpdesk.tickets.views.event_html`) adds its own
CSP: no script at all, images only from the message itself until the agent allows remote ones.
"""

from __future__ import annotations

import html as html_lib
import re

import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "dd", "del", "div", "dl", "dt",
    "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre",
    "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "*": {"dir", "lang"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}
MAX_HTML = 500_000


def sanitize(markup: str) -> str:
    """Mail HTML → markup with nothing that runs, loads on its own, or leaves the frame styled."""
    return nh3.clean(
        markup[: MAX_HTML * 2],
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )[:MAX_HTML]


_BLOCK = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h[1-6]|hr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def to_text(markup: str) -> str:
    """Plain text of sanitized HTML (an HTML-only mail's body for the timeline and search)."""
    text = _BLOCK.sub("\n", markup)
    text = html_lib.unescape(_TAG.sub("", text))
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
