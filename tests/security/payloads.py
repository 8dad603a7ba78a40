"""A corpus of script-injection payloads: links, markup, event handlers, SVG, template syntax.

Each one, if it ran, would set `window.__pwned`; the browser test watches that sentinel."""

from __future__ import annotations

SENTINEL = "window.__pwned=1"

# Values fed where a link is expected: every one must be refused or shown as text.
LINKS = [
    f"javascript:{SENTINEL}",
    f"JavaScript:{SENTINEL}",
    f"JAVASCRIPT:{SENTINEL}",
    f" javascript:{SENTINEL}",
    f"\tjavascript:{SENTINEL}",
    f"java\tscript:{SENTINEL}",
    f"java\nscript:{SENTINEL}",
    f"java\x00script:{SENTINEL}",
    f"jav&#x09;ascript:{SENTINEL}",
    f"&#106;avascript:{SENTINEL}",
    f"javascript&colon;{SENTINEL}",
    f"%6A%61%76%61script:{SENTINEL}",
    f"javascript://example.org/%0a{SENTINEL}",
    f"javascript:/*https://ok.example*/{SENTINEL}",
    f"data:text/html,<script>{SENTINEL}</script>",
    "DATA:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+",
    f"data:image/svg+xml,<svg onload='{SENTINEL}'>",
    "vbscript:msgbox(1)",
    f"VBScript:{SENTINEL}",
    "//evil.example/phish",
    "\\\\evil.example/phish",
    "/\\evil.example",
    "https:evil.example",
    "https://ok.example@evil.example/",
    "http://",
    "smb://fileserver/share/report.exe",
    "ftp://files.example/x",
    f'tel:+1555" onmouseover="{SENTINEL}',
    f"sms:+15550100<script>{SENTINEL}</script>",
    f'mailto:x@example.org" onclick="{SENTINEL}',
    f'https://ok.example/" onmouseover="{SENTINEL}',
    f"https://ok.example/'><script>{SENTINEL}</script>",
]

# Text fed where we show words (names, bodies, titles, tags): must appear as text, never run.
TEXTS = [
    f"<script>{SENTINEL}</script>",
    f'<img src=x onerror="{SENTINEL}">',
    f'<svg onload="{SENTINEL}"></svg>',
    f"<svg><script>{SENTINEL}</script></svg>",
    f'<iframe src="javascript:{SENTINEL}"></iframe>',
    f'<a href="javascript:{SENTINEL}">click</a>',
    f'"><script>{SENTINEL}</script>',
    f"'><img src=x onerror={SENTINEL}>",
    f'<body onload="{SENTINEL}">',
    f'<details open ontoggle="{SENTINEL}">',
    f'<math><mtext><img src=x onerror="{SENTINEL}"></mtext></math>',
    f'<object data="javascript:{SENTINEL}"></object>',
    f'<embed src="javascript:{SENTINEL}">',
    f"<style>@import 'javascript:{SENTINEL}';</style>",
    f'<input autofocus onfocus="{SENTINEL}">',
    f'<video><source onerror="{SENTINEL}"></video>',
    "{{ request.user.password }}{% debug %}",
    "{% load static %}{{ settings.SECRET_KEY }}",
    "${7*7}#{7*7}<%= 7*7 %>",
    f"</textarea><script>{SENTINEL}</script>",
    f"</title><script>{SENTINEL}</script>",
    f"<scr<script>ipt>{SENTINEL}</scr</script>ipt>",
    f"&lt;script&gt;{SENTINEL}&lt;/script&gt;",
    f'<base href="javascript:{SENTINEL}//">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{SENTINEL}">',
    f'<form action="javascript:{SENTINEL}"><button>x</button></form>',
    f'<div hx-get="/" hx-on:htmx:load="{SENTINEL}">x</div>',
    f'<div hx-on::load="{SENTINEL}">x</div>',
    f"<template><script>{SENTINEL}</script></template>",
    "مریم <script>window.__pwned=1</script> احمدی",
]

SAFE_LINKS = [
    "https://help.example.org/rebook?lang=fa#top",
    "http://example.org",
    "tel:+1(555)010-0199",
    "sms:+15550100",
    "mailto:help@example.org",
    "mailto:help@example.org?subject=Flood",
]
