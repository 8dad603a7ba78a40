"""Run a test's async scenario to completion from sync test code (`realtime.run_sync`).

Once a browser test has run, the session's Playwright (sync API) keeps an event loop running in
the main thread, where `async_to_sync` refuses to start; the scenario then runs in a thread of its
own. Tests that use this touch the database from that thread too: mark them
`django_db(transaction=True)` so both threads see the same committed rows."""

from __future__ import annotations

from helpdesk.tickets.realtime import run_sync


def run(coroutine_function) -> None:
    run_sync(coroutine_function, timeout=60)
