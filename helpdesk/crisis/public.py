"""What the public surfaces say, as one snapshot that survives the database.

In a surge the database buckles first. The crisis page, banner.json, the chat widget's notice,
the SMS HELP answer and the IVR message therefore read one snapshot of the active crises, their
published statements and directories, and the live banners, kept in Redis:

* `crisis:public:fresh` (expires after PUBLIC_SNAPSHOT_FRESH_SECONDS) says the copy is current;
* `crisis:public:last` (never expires) is the last copy built, served when PostgreSQL is slow or
  down; the process also keeps the last copy it saw, for when Redis is gone too.

Publishing a statement (and any change to a crisis, banner or directory line) refreshes the
snapshot once its transaction commits, so every channel changes together; the expiry catches
changes made behind the services' back (the admin, a script).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from helpdesk import languages as desk_languages
from helpdesk import redis_client

logger = logging.getLogger(__name__)

FRESH_KEY = "tourniquet:crisis:public:fresh"
LAST_KEY = "tourniquet:crisis:public:last"
SCHEMA = 1

_lock = threading.Lock()
_last_seen: dict[str, Any] | None = None


def _entry_dict(entry) -> dict:
    return {
        "need": entry.need,
        "channel": entry.channel,
        "target": entry.target,
        "href": entry.href,
        "hours": entry.hours,
        "languages": entry.languages,
        "crisis": entry.crisis_id,
    }


def build(*, now: datetime | None = None) -> dict:
    """The snapshot from the database (raises DatabaseError when it is down)."""
    from helpdesk.crisis import selectors

    now = now or timezone.now()
    crises = list(selectors.active_crises().select_related("statement"))
    entries = selectors.directory_entries()
    payload = selectors.banner_payload(now=now, entries=entries)
    return {
        "schema": SCHEMA,
        "built_at": now.isoformat(),
        "crises": [
            {
                "id": c.pk,
                "title": c.title,
                "severity": c.severity,
                "is_emergency": c.is_emergency,
                "starts_at": c.starts_at.isoformat() if c.starts_at else None,
                "version": c.statement.number if c.statement else None,
                "published_at": (
                    c.statement.published_at.isoformat() if c.statement and c.statement.published_at else None
                ),
                "texts": c.statement.texts if c.statement else c.texts,
                "recordings": c.statement.recordings if c.statement else {},
            }
            for c in crises
        ],
        "directory": [_entry_dict(e) for e in entries],
        "banner": payload,
    }


def _store(snapshot: dict) -> None:
    global _last_seen
    with _lock:
        _last_seen = snapshot
    raw = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
    try:
        client = redis_client.get()
        with client.pipeline() as pipe:
            pipe.set(LAST_KEY, raw)
            if settings.PUBLIC_SNAPSHOT_FRESH_SECONDS > 0:
                pipe.set(FRESH_KEY, "1", ex=settings.PUBLIC_SNAPSHOT_FRESH_SECONDS)
            else:
                pipe.delete(FRESH_KEY)
            pipe.execute()
    except Exception as exc:  # noqa: BLE001 - Redis down: the process copy still serves
        logger.warning("crisis snapshot not stored in Redis (%s)", type(exc).__name__)


def refresh() -> dict | None:
    """Build from the database and store; None (and the old copy kept) when the database fails."""
    try:
        snapshot = build()
    except DatabaseError as exc:
        logger.error("crisis snapshot not rebuilt: database unavailable (%s)", type(exc).__name__)
        return None
    _store(snapshot)
    return snapshot


def _from_redis() -> tuple[dict | None, bool]:
    """The stored copy and whether it is still fresh; (None, False) when Redis has none or is down."""
    global _last_seen
    try:
        fresh, raw = redis_client.get().mget(FRESH_KEY, LAST_KEY)
    except Exception as exc:  # noqa: BLE001
        logger.warning("crisis snapshot: Redis unavailable (%s)", type(exc).__name__)
        return None, False
    if raw is None:
        return None, False
    try:
        snapshot = json.loads(raw)
    except ValueError:
        return None, False
    if snapshot.get("schema") != SCHEMA:
        return None, False
    with _lock:
        _last_seen = snapshot
    return snapshot, fresh is not None


def current() -> dict:
    """The snapshot every public surface reads: the fresh copy, else one built now, else (the
    database down) the last one published, else an empty one."""
    snapshot, fresh = _from_redis()
    if snapshot is not None and fresh and settings.PUBLIC_SNAPSHOT_FRESH_SECONDS > 0:
        return snapshot
    rebuilt = refresh()
    if rebuilt is not None:
        return rebuilt
    if snapshot is not None:
        return snapshot
    with _lock:
        if _last_seen is not None:
            return _last_seen
    return {"schema": SCHEMA, "built_at": None, "crises": [], "directory": [], "banner": {}}


def invalidate() -> None:
    """Make the next read rebuild (call through transaction.on_commit after a change)."""
    try:
        redis_client.get().delete(FRESH_KEY)
    except Exception as exc:  # noqa: BLE001
        logger.warning("crisis snapshot not invalidated (%s)", type(exc).__name__)


# --- Reading it -------------------------------------------------------------------------------


def statement_text(crisis: dict, language: str, key: str) -> str:
    texts = crisis.get("texts") or {}
    for lang in (language, "en", *texts.keys()):
        value = (texts.get(lang) or {}).get(key)
        if value:
            return str(value)
    return ""


def spoken_statement(crisis: dict, language: str) -> str:
    """The statement as the IVR says it: title, what happened, what to do."""
    parts = [statement_text(crisis, language, key) for key in ("title", "summary", "what_to_do")]
    return " ".join(p.rstrip(".") + "." for p in parts if p)


def crisis_entry(snapshot: dict, crisis_id: int | None) -> dict | None:
    for crisis in snapshot.get("crises", []):
        if crisis_id is None or crisis["id"] == crisis_id:
            return crisis
    return None


def _parse_hours(hours: str) -> tuple[time, time] | None:
    """ "08:00-20:00" (any dash) → the two times; anything else (free text, "24/7") → None."""
    text = (hours or "").replace("–", "-").replace("—", "-").strip()
    parts = [p.strip() for p in text.split("-")]
    if len(parts) != 2:
        return None
    try:
        return time.fromisoformat(parts[0].zfill(5)), time.fromisoformat(parts[1].zfill(5))
    except ValueError:
        return None


def open_now(hours: str, *, now: datetime | None = None) -> bool:
    """Whether a directory line with these hours is open now (the desk's time zone); lines whose
    hours are free text count as open."""
    span = _parse_hours(hours)
    if span is None:
        return True
    local = timezone.localtime(now or timezone.now(), ZoneInfo(settings.TIME_ZONE)).time()
    opens, closes = span
    if opens <= closes:
        return opens <= local < closes
    return local >= opens or local < closes


def with_open_flags(payload: dict, *, now: datetime | None = None) -> dict:
    """The banner payload with each directory line marked open or closed right now (banner.js and
    the widget show closed lines last, marked)."""
    directory = [{**e, "open": open_now(e.get("hours", ""), now=now)} for e in payload.get("directory", [])]
    return {**payload, "directory": directory}


HELP_STATEMENT_CHARS = 300  # the statement's share of a HELP answer: two or three SMS segments


def help_lines(language: str, snapshot: dict | None = None) -> list[str]:
    """What every channel's HELP answer says after its own first line: the published crisis
    statement (its title and what to do) and the channel directory, from the snapshot (so it
    answers with the database down and says what every other channel says)."""
    snapshot = current() if snapshot is None else snapshot
    lines = []
    crisis = crisis_entry(snapshot, None)
    if crisis is not None:
        title = statement_text(crisis, language, "title") or crisis["title"]
        todo = statement_text(crisis, language, "what_to_do") or statement_text(crisis, language, "summary")
        statement = f"{title}: {todo}" if todo else title
        if len(statement) > HELP_STATEMENT_CHARS:
            statement = statement[: HELP_STATEMENT_CHARS - 1].rstrip() + "…"
        lines.append(statement)
    lines.extend(directory_lines(snapshot, language)[:4])
    return lines


def directory_for(snapshot: dict, language: str, *, now: datetime | None = None) -> list[dict]:
    """The directory lines a reader in this language sees: lines limited to other languages left
    out, lines closed right now after the open ones (each marked)."""
    lines = []
    for entry in snapshot.get("directory", []):
        if entry.get("languages") and language not in entry["languages"]:
            continue
        need = entry.get("need") or {}
        text = next((need[lang] for lang in (language, "en", *need.keys()) if need.get(lang)), "")
        lines.append({**entry, "text": text, "open": open_now(entry.get("hours", ""), now=now)})
    return [line for line in lines if line["open"]] + [line for line in lines if not line["open"]]


def directory_lines(snapshot: dict, language: str, *, now: datetime | None = None) -> list[str]:
    """The directory as short lines for an SMS or IVR: "Need: Call +1555… (hours)"."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    out = []
    with translation.override(language if desk_languages.is_known(language) else "en"):
        words = {
            "call": _("Call"),
            "sms": _("Text"),
            "chat": _("Chat"),
            "email": _("Email"),
            "link": _("Go to"),
        }
        rtl = language in desk_languages.RTL_LANGUAGES
        for line in directory_for(snapshot, language, now=now):
            # In a right-to-left message a number keeps its order: "+1 555…", not "…555 1+".
            target = f"\u2066{line['target']}\u2069" if rtl else line["target"]
            hours = f" ({line['hours']})" if line.get("hours") else ""
            closed = "" if line["open"] else " – " + _("closed now")
            out.append(f"{line['text']}: {words.get(line['channel'], '')} {target}{hours}{closed}"[:160])
    return out
