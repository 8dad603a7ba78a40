"""Lookups remembered for one batch of work: the inbox drain asks the same few questions for each
of its messages (the queue an address routes to, the active crises), each a query and most of a
millisecond of ORM work. Inside `batch()` each is asked once per batch (under a second of work);
outside one, `remember` asks every time, so nothing elsewhere reads a stale answer.

The answers are what the batch's messages share: read-only rows nobody in the batch changes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

T = TypeVar("T")

_local = threading.local()


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Remember lookups until the block ends (nested: the outer block's memory is used)."""
    if getattr(_local, "memory", None) is not None:
        yield
        return
    _local.memory = {}
    try:
        yield
    finally:
        _local.memory = None


def remember(key: Hashable, compute: Callable[[], T]) -> T:
    """compute(), asked once per batch for this key (every time outside a batch)."""
    memory = getattr(_local, "memory", None)
    if memory is None:
        return compute()
    if key not in memory:
        memory[key] = compute()
    return memory[key]  # type: ignore[no-any-return]


def forget(key: Hashable) -> None:
    """Drop one remembered answer (the batch itself changed what it was about)."""
    memory = getattr(_local, "memory", None)
    if memory is not None:
        memory.pop(key, None)
