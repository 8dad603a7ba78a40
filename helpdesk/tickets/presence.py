"""Who is on a ticket now: "Dara is viewing", "Dara is replying…", kept in Redis for a short while.

Each agent's workspace socket says what its ticket page does (viewing, replying) and repeats it
every HEARTBEAT seconds; an entry older than STALE_AFTER is gone (a closed laptop sends no
goodbye). Every change goes to the ticket's group and the queue's, so the ticket page and the
queue row show it, and the chat widget shows "typing" while an agent replies.
"""

from __future__ import annotations

import json
import time

from helpdesk import redis_client

STATES = ("viewing", "replying")
HEARTBEAT = 15
STALE_AFTER = 40


def _key(ticket_id: int) -> str:
    return f"tourniquet:presence:ticket:{ticket_id}"


def set_state(*, ticket_id: int, user_id: int, name: str, state: str, now: float | None = None) -> list[dict]:
    """Record the agent's state on the ticket ('' removes it); return who is there now."""
    client = redis_client.get()
    key = _key(ticket_id)
    now = now or time.time()
    if state in STATES:
        pipe = client.pipeline()
        pipe.hset(key, str(user_id), json.dumps({"name": name, "state": state, "at": now}))
        pipe.expire(key, STALE_AFTER * 2)
        pipe.execute()
    else:
        client.hdel(key, str(user_id))
    return agents_on(ticket_id=ticket_id, now=now)


def agents_on(*, ticket_id: int, now: float | None = None) -> list[dict]:
    """[{id, name, state}] of the agents on the ticket, by name; stale entries dropped."""
    now = now or time.time()
    found = []
    for user_id, raw in redis_client.get().hgetall(_key(ticket_id)).items():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if now - float(entry.get("at", 0)) <= STALE_AFTER:
            found.append({"id": int(user_id), "name": entry.get("name", ""), "state": entry.get("state", "")})
    return sorted(found, key=lambda a: (a["name"], a["id"]))


def notice(ticket_id: int, agents: list[dict]) -> dict:
    return {"type": "presence", "ticket_id": ticket_id, "agents": agents}
