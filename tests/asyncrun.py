"""Run a test's async scenario to completion from sync test code.

Once a browser test has run, the session's Playwright (sync API) keeps an event loop running in
the main thread, where `async_to_sync` refuses to start; the scenario then runs in a thread of its
own. Tests that use this touch the database from that thread too: mark them
`django_db(transaction=True)` so both threads see the same committed rows."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync


def run(coroutine_function) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(coroutine_function)()
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(coroutine_function)).result(timeout=60)
