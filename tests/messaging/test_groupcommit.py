"""Group commit: callers that arrive while a write is in flight share the next statement."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpdesk.messaging.groupcommit import GroupCommit


class GatedWriter:
    """Records each batch; the first write waits at a gate so that others queue behind it."""

    def __init__(self, existing=()) -> None:
        self.batches: list[list] = []
        self.existing = set(existing)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fail_next = False

    def __call__(self, rows: list) -> set:
        self.batches.append(list(rows))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.gate.wait(5)
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("database went away")
        new = {r for r in rows if r not in self.existing}
        self.existing |= new
        return new


def wait_for_queue(group: GroupCommit, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(group._pending) < n:
        assert time.monotonic() < deadline
        time.sleep(0.001)


def queue_behind_first_write(pool, group: GroupCommit, writer: GatedWriter, first_key, later_keys):
    """Store `first_key` (its write held at the gate), queue `later_keys` behind it, then open the
    gate. Returns the futures: the first write's and the later ones'."""
    first = pool.submit(group.store, first_key, first_key)
    assert writer.entered.wait(5)
    later = [pool.submit(group.store, key, key) for key in later_keys]
    wait_for_queue(group, len(later_keys))
    writer.gate.set()
    return first, later


def test_rows_that_arrive_during_a_write_share_the_next_batch():
    writer = GatedWriter(existing={"dup"})
    group = GroupCommit(writer)
    keys = ("b", "c", "dup", "d")
    with ThreadPoolExecutor(8) as pool:
        first, rest = queue_behind_first_write(pool, group, writer, "a", keys)
        assert first.result(5) is True
        results = {key: f.result(5) for key, f in zip(keys, rest, strict=True)}
    assert writer.batches == [["a"], ["b", "c", "dup", "d"]]
    assert results == {"b": True, "c": True, "dup": False, "d": True}
    assert group.batch_sizes == [1, 4]
    assert not group._leading and not group._pending


def test_one_key_twice_in_a_batch_is_inserted_once():
    writer = GatedWriter()
    group = GroupCommit(writer)
    with ThreadPoolExecutor(4) as pool:
        first, twins = queue_behind_first_write(pool, group, writer, "x", ["y", "y"])
        assert first.result(5)
        assert sorted(f.result(5) for f in twins) == [False, True]


def test_a_failed_write_fails_its_batch_only():
    writer = GatedWriter()
    group = GroupCommit(writer)
    writer.fail_next = True  # the gated first write fails
    with ThreadPoolExecutor(4) as pool:
        first, (after,) = queue_behind_first_write(pool, group, writer, "a", ["b"])
        with pytest.raises(ConnectionError):
            first.result(5)
        assert after.result(5) is True  # the next batch, written after the failure
    assert group.store("c", "c") is True  # and the group is still usable


def test_batches_never_exceed_the_cap():
    writer = GatedWriter()
    group = GroupCommit(writer, max_batch=3)
    with ThreadPoolExecutor(10) as pool:
        first, others = queue_behind_first_write(pool, group, writer, 0, range(1, 8))
        assert first.result(5) and all(f.result(5) for f in others)
    assert [len(b) for b in writer.batches] == [1, 3, 3, 1]


def test_the_leader_wakes_once_per_inserting_batch_after_releasing_its_callers():
    writer = GatedWriter(existing={"old"})
    woken = []
    group = GroupCommit(writer, after_write=lambda: woken.append(1))
    with ThreadPoolExecutor(4) as pool:
        first, rest = queue_behind_first_write(pool, group, writer, "a", ["b", "c"])
        assert first.result(5) and all(f.result(5) for f in rest)
    assert group.store("old", "old") is False
    assert len(woken) == 2  # one per batch that inserted; none for the duplicate's batch
