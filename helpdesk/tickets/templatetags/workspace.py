"""Small display helpers for the workspace templates."""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import TIME_STRINGS
from django.utils.translation import get_language, gettext, gettext_noop

from helpdesk import localformat
from helpdesk.localformat import localize_digits
from helpdesk.searchtext import highlight
from helpdesk.tickets import sla
from helpdesk.tickets.media import shown_as_audio, shown_inline
from helpdesk.tickets.selectors import SLA_SOON

register = template.Library()


@register.filter
def sla_state(ticket) -> str:
    """The SLA badge's class: 'overdue', 'soon', 'ok', 'paused' or 'met' (helpdesk/tickets/sla.py:
    the next target still open, else how the closed targets went)."""
    return _badge_class(*sla.badge(ticket))


def _badge_class(state: str, due) -> str:
    if state == sla.BREACHED:
        return "overdue"
    if state == sla.DUE and due is not None:
        return "soon" if due - timezone.now() <= SLA_SOON else "ok"
    return state  # paused, met


@register.simple_tag
def sla_badge(ticket) -> str:
    """The SLA badge's text: which target, and when it is (or was) due."""
    state, due = sla.badge(ticket)
    which = text(FIRST_RESPONSE) if ticket.first_response_at is None else text(RESOLUTION)
    if state == sla.MET:
        return text(SLA_MET)
    if state == sla.PAUSED:
        return text(SLA_PAUSED) % {"target": which}
    if due is None:
        return text(SLA_MISSED)
    if state == sla.BREACHED:
        ago = span((timezone.now() - due).total_seconds())
        return localize_digits(text(SLA_OVERDUE) % {"target": which, "span": ago})
    left = span((due - timezone.now()).total_seconds())
    return localize_digits(text(SLA_DUE) % {"target": which, "span": left})


@register.simple_tag
def search_mark(text: str, q: str, width: int | None = None) -> str:
    """The text (escaped) with each match of the search in <mark>, cut to `width` around the first."""
    return highlight(text or "", q, width=width)


@register.simple_tag
def status_count(counts: dict, status: str) -> int:
    return counts.get(status, 0)


# --- Hot-path renderers ----------------------------------------------------------------------
# The queue (50 rows) and the timeline (every event of a ticket) are the pages agents load most.
# Rendered node by node by the template engine they cost ~1 ms a row, mostly in lazy-label
# translation and variable lookups; these tags build the same escaped HTML in Python, with the
# labels translated once per language.

OVERDUE = gettext_noop("overdue %(span)s")
DUE_IN = gettext_noop("in %(span)s")
FIRST_RESPONSE = gettext_noop("First response")
RESOLUTION = gettext_noop("Resolution")
SLA_MET = gettext_noop("SLA met")
SLA_MISSED = gettext_noop("SLA missed")
SLA_PAUSED = gettext_noop("%(target)s: paused while pending")
SLA_OVERDUE = gettext_noop("%(target)s overdue %(span)s")
SLA_DUE = gettext_noop("%(target)s due in %(span)s")
PAUSED = gettext_noop("paused")
MET = gettext_noop("met")
UNASSIGNED = gettext_noop("Unassigned")
FROM_CUSTOMER = gettext_noop("from customer")
TO_CUSTOMER = gettext_noop("to customer")
INTERNAL_NOTE = gettext_noop("internal note")
PHOTO = gettext_noop("Photo %(number)s from the customer")
QUOTED = gettext_noop("Show the quoted history")
SIGNATURE = gettext_noop("Signature")
HTML_VERSION = gettext_noop("Formatted version")
REMOTE_IMAGES = gettext_noop("Show remote images")
FORWARDED = gettext_noop("Forwarded message from %(sender)s")
AUTOMATED = gettext_noop("Sent automatically (%(reason)s): not answered, does not reopen the ticket")
UNVERIFIED_MAIL = gettext_noop("Sender not verified (SPF/DKIM/DMARC did not pass)")
ATTACHMENT = gettext_noop("Download attachment %(number)s")
RECORDING = gettext_noop("Voicemail recording")
DOWNLOAD_RECORDING = gettext_noop("Download the recording")
CALL_STATUS = gettext_noop("Call status")
CALL_DURATION = gettext_noop("%(minutes)s min %(seconds)s s")
CALL_OUTCOME = gettext_noop("Outcome")
CALL_PATH = gettext_noop("IVR path")
CALL_ANSWERED_BY = gettext_noop("Answered by")
CALL_DURATION_LABEL = gettext_noop("Duration")
# What became of a call (the voice channel's outcomes; the core names them, never imports them).
CALL_OUTCOMES = {
    "in_ivr": gettext_noop("In the menu"),
    "deflected": gettext_noop("Deflected (steps sent by SMS)"),
    "queued": gettext_noop("Waiting for an agent"),
    "answered": gettext_noop("Answered by an agent"),
    "voicemail": gettext_noop("Left a voicemail"),
    "callback": gettext_noop("Asked for a call back"),
    "abandoned": gettext_noop("Hung up"),
    "completed": gettext_noop("Completed"),
    "failed": gettext_noop("Not connected"),
}

_UNITS = (
    ("year", 365 * 24 * 3600),
    ("month", 30 * 24 * 3600),
    ("week", 7 * 24 * 3600),
    ("day", 24 * 3600),
    ("hour", 3600),
    ("minute", 60),
)


@lru_cache(maxsize=4096)
def _label(language: str, kind: str, value) -> str:
    from helpdesk.tickets.models import Channel, DeliveryStatus, EventKind, Priority, TicketStatus

    choices = {
        "priority": Priority,
        "status": TicketStatus,
        "channel": Channel,
        "delivery": DeliveryStatus,
        "kind": EventKind,
    }[kind]
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


@lru_cache(maxsize=4096)
def _span(language: str, unit: str, count: int) -> str:
    return str(TIME_STRINGS[unit] % {"num": count})


@lru_cache(maxsize=64)
def _text(language: str, msgid: str) -> str:
    return gettext(msgid)


def label(kind: str, value) -> str:
    return _label(get_language() or "en", kind, value)


def span(seconds: float) -> str:
    """The largest whole unit of a duration, translated: '3 hours', '2 days', '0 minutes'."""
    seconds = abs(seconds)
    for unit, size in _UNITS:
        if seconds >= size:
            return _span(get_language() or "en", unit, int(seconds // size))
    return _span(get_language() or "en", "minute", 0)


def text(msgid: str) -> str:
    return _text(get_language() or "en", msgid)


def _when(dt) -> tuple[str, str]:
    local = timezone.localtime(dt)
    return local.isoformat(), localformat.format_datetime(local)


@register.simple_tag
def queue_row(t) -> str:
    """One row of the queue."""
    state, due = sla.badge(t)
    iso, full = _when(due or t.sla_due_at)
    if state == sla.BREACHED and due is not None:
        sla_text = localize_digits(text(OVERDUE) % {"span": span((timezone.now() - due).total_seconds())})
    elif state == sla.DUE and due is not None:
        sla_text = localize_digits(text(DUE_IN) % {"span": span((due - timezone.now()).total_seconds())})
    elif state == sla.PAUSED:
        sla_text = text(PAUSED)
    elif state == sla.MET:
        sla_text = text(MET)
    else:
        sla_text = "—"
    state = _badge_class(state, due)
    tags = format_html_join("", '<span class="tag">{}</span>', ((tag.name,) for tag in t.tags.all()))
    if t.assignee_id:
        assignee = format_html("{}", t.assignee.get_full_name() or t.assignee.get_username())
    else:
        assignee = format_html('<span class="muted">{}</span>', text(UNASSIGNED))
    crisis = (
        format_html('<span class="crisis-tag" dir="auto">{}</span>', t.crisis.title) if t.crisis_id else ""
    )
    return format_html(
        '<tr class="ticket-row row-prio-{prio}" data-ticket-id="{pk}">'
        '<td><span class="prio prio-{prio}">{prio_label}</span></td>'
        '<td class="subject"><a href="{url}" dir="auto">{subject}</a> '
        '<span class="ticket-id">#{number}</span>{tags}'
        '<span class="presence" data-presence-ticket="{pk}" aria-live="polite"></span></td>'
        '<td><a href="{customer_url}" dir="auto">{customer}</a></td>'
        '<td><span class="chan chan-{channel}">{channel_label}</span></td>'
        '<td><span class="status status-{status}">{status_label}</span></td>'
        "<td>{assignee}</td>"
        '<td class="sla sla-{state}"><time datetime="{iso}" title="{full}">{sla}</time></td>'
        '<td><span class="lang">{language}</span></td>'
        "<td>{crisis}</td></tr>",
        prio=t.priority,
        pk=t.pk,
        number=localize_digits(t.pk),
        prio_label=label("priority", t.priority),
        url=reverse("tickets:detail", args=[t.pk]),
        subject=t.subject,
        tags=tags,
        customer_url=reverse("customers:detail", args=[t.customer_id]),
        customer=str(t.customer),
        channel=t.channel,
        channel_label=label("channel", t.channel),
        status=t.status,
        status_label=label("status", t.status),
        assignee=assignee,
        state=state or "none",
        iso=iso,
        full=full,
        sla=sla_text,
        language=t.language,
        crisis=crisis,
    )


PROBLEM_DELIVERY = {"blocked", "failed", "undelivered"}


def _email_extras(e) -> str:
    """What an email holds beyond its new text, each folded away: quoted history, signature, the
    forwarded messages, the sanitized HTML in a sandboxed frame."""
    payload = e.payload if isinstance(e.payload, dict) else {}
    if e.channel != "email" or e.direction != "in":
        return ""
    parts = []
    if payload.get("automated"):
        reason = payload.get("automated_reason") or ""
        parts.append(
            format_html('<p class="muted event-automated">{}</p>', text(AUTOMATED) % {"reason": reason})
        )
    if payload.get("unverified_sender"):
        parts.append(format_html('<p class="delivery-error" role="note">{}</p>', text(UNVERIFIED_MAIL)))
    for key, summary in (("quoted", QUOTED), ("signature", SIGNATURE)):
        if isinstance(payload.get(key), str) and payload[key]:
            parts.append(
                format_html(
                    '<details class="mail-fold"><summary>{}</summary>'
                    '<pre class="mail-quoted" dir="auto">{}</pre></details>',
                    text(summary),
                    payload[key],
                )
            )
    for forwarded in payload.get("forwarded") or []:
        if isinstance(forwarded, dict):
            parts.append(
                format_html(
                    '<details class="mail-fold"><summary>{}</summary><p dir="auto"><strong>{}</strong></p>'
                    '<pre class="mail-quoted" dir="auto">{}</pre></details>',
                    text(FORWARDED) % {"sender": forwarded.get("from", "")},
                    forwarded.get("subject", ""),
                    forwarded.get("text", ""),
                )
            )
    if e.body_html and e.ticket_id:
        src = reverse("tickets:event_html", args=[e.ticket_id, e.pk])
        name = f"mail-frame-{e.pk}"
        parts.append(
            format_html(
                '<details class="mail-fold mail-html"><summary>{}</summary>'
                '<iframe class="mail-frame" name="{}" src="{}" '
                'sandbox="allow-popups allow-popups-to-escape-sandbox" '
                'referrerpolicy="no-referrer" loading="lazy" title="{}"></iframe>'
                '<a class="mail-images" href="{}?images=1" target="{}">{}</a></details>',
                text(HTML_VERSION),
                name,
                src,
                text(HTML_VERSION),
                src,
                name,
                text(REMOTE_IMAGES),
            )
        )
    return format_html_join("", "{}", ((p,) for p in parts))


def _call_extras(e) -> str:
    """A call's summary (kept up to date by the voice channel): status, outcome, duration, who
    answered, the IVR path the caller took."""
    payload = e.payload if isinstance(e.payload, dict) else {}
    call = payload.get("call")
    if e.kind != "call" or not isinstance(call, dict):
        return ""
    rows = [(text(CALL_STATUS), str(call.get("status") or ""))]
    if call.get("outcome"):
        outcome = str(call["outcome"])
        rows.append(
            (text(CALL_OUTCOME), text(CALL_OUTCOMES[outcome]) if outcome in CALL_OUTCOMES else outcome)
        )
    duration = call.get("duration")
    if isinstance(duration, int):
        minutes, seconds = divmod(duration, 60)
        rows.append(
            (
                text(CALL_DURATION_LABEL),
                localize_digits(text(CALL_DURATION) % {"minutes": minutes, "seconds": seconds}),
            )
        )
    if call.get("answered_by"):
        rows.append((text(CALL_ANSWERED_BY), str(call["answered_by"])))
    path = call.get("path")
    if isinstance(path, list) and path:
        rows.append((text(CALL_PATH), " → ".join(str(p) for p in path[:30])))
    return format_html(
        '<dl class="call-summary">{}</dl>',
        format_html_join("", '<div><dt>{}</dt><dd dir="auto">{}</dd></div>', rows),
    )


def _media(e) -> str:
    # Files ride in the payload as the provider's URLs; the page links our proxy, never those.
    payload = e.payload if isinstance(e.payload, dict) else {}
    urls, types = payload.get("media"), payload.get("media_types")
    if not isinstance(urls, list) or not urls or not e.ticket_id:
        return ""
    types = types if isinstance(types, list) else []
    items = []
    for number in range(1, len(urls) + 1):
        href = reverse("tickets:media", args=[e.ticket_id, e.pk, number])
        declared = types[number - 1] if number <= len(types) and isinstance(types[number - 1], str) else ""
        names: list = payload.get("media_names") or []
        names = names if isinstance(names, list) else []
        file_name = names[number - 1] if number <= len(names) and isinstance(names[number - 1], str) else ""
        if shown_as_audio(declared):
            items.append(
                format_html(
                    '<audio class="media-audio" controls preload="none" src="{}" aria-label="{}"></audio>'
                    '<a class="media-file" href="{}" download>{}</a>',
                    href,
                    text(RECORDING),
                    href,
                    text(DOWNLOAD_RECORDING),
                )
            )
        elif shown_inline(declared):
            items.append(
                format_html(
                    '<a class="media-image" href="{}" target="_blank" rel="noopener">'
                    '<img src="{}" alt="{}" loading="lazy"></a>',
                    href,
                    href,
                    localize_digits(text(PHOTO) % {"number": number}),
                )
            )
        else:
            items.append(
                format_html(
                    '<a class="media-file" href="{}" download dir="auto">{}</a>',
                    href,
                    file_name or localize_digits(text(ATTACHMENT) % {"number": number}),
                )
            )
    return format_html('<div class="event-media">{}</div>', format_html_join("", "{}", ((i,) for i in items)))


@register.simple_tag
def timeline_event(e, oob: bool = False) -> str:
    """One event of the timeline: channel, direction, author, time, delivery, body. `oob`: marked
    to replace the copy already on the page (htmx out-of-band swap, for a live update)."""
    if e.direction == "in":
        direction = text(FROM_CUSTOMER)
    elif e.direction == "out":
        direction = text(TO_CUSTOMER)
    elif e.kind == "note":
        direction = text(INTERNAL_NOTE)
    else:
        direction = label("kind", e.kind)
    author = ""
    if e.author_id:
        author = format_html(
            '<span class="author">{}</span>', e.author.get_full_name() or e.author.get_username()
        )
    contact = ""
    if e.contact_point_id and e.contact_point is not None:
        contact = format_html('<span class="muted contact" dir="ltr">{}</span>', e.contact_point.value)
    iso, full = _when(e.created_at)
    delivery = ""
    if e.direction == "out" and e.delivery_status:
        delivery = format_html(
            '<span class="delivery delivery-{}">{}</span>',
            e.delivery_status,
            label("delivery", e.delivery_status),
        )
    subject = ""
    if e.channel == "email" and isinstance(e.payload, dict) and e.payload.get("subject"):
        subject = format_html('<p class="event-subject" dir="auto">{}</p>', e.payload["subject"])
    body = (
        format_html('<div class="event-body" dir="auto">{}</div>', linebreaksbr(e.body, autoescape=True))
        if e.body
        else ""
    )
    error = (
        format_html('<p class="delivery-error" role="note">{}</p>', e.delivery_error)
        if e.delivery_error
        else ""
    )
    problem = " event-problem" if e.delivery_status in PROBLEM_DELIVERY else ""
    return format_html(
        '<article class="event dir-{direction_cls} kind-{kind}{problem}" id="event-{pk}" '
        'data-event-id="{pk}"{arrival}{oob}>'
        '<header class="event-meta"><span class="chan chan-{channel}">{channel_label}</span> '
        '<span class="direction">{direction}</span> {author} {contact} '
        '<time datetime="{iso}">{full}</time> {delivery}</header>'
        "{subject}{body}{extras}{media}{error}</article>",
        direction_cls=e.direction,
        kind=e.kind,
        problem=problem,
        pk=e.pk,
        # A chat line the agent saw arriving (visitor.message) is this event once recorded.
        arrival=format_html(' data-arrival="{}"', e.provider_id)
        if e.channel == "chat" and e.direction == "in" and e.provider_id
        else "",
        oob=mark_safe(' hx-swap-oob="true"') if oob else "",  # noqa: S308 - a constant
        channel=e.channel,
        channel_label=label("channel", e.channel),
        direction=direction,
        author=author,
        contact=contact,
        iso=iso,
        full=full,
        delivery=delivery,
        subject=subject,
        body=body,
        extras=format_html("{}{}", _email_extras(e), _call_extras(e)),
        media=_media(e),
        error=error,
    )
