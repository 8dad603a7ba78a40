from __future__ import annotations

import threading
import time

from helpdesk.messaging.ratelimit import TokenBucket


def test_off_means_every_request_is_granted_at_once():
    assert TokenBucket("test-off", rate=0).take(5000) == (5000, 0.0)


def test_bucket_shared_by_two_takers_holds_the_rate():
    rate, seconds = 100, 2.0
    first = TokenBucket("test-shared", rate=rate)
    first.reset()
    granted = [0, 0]

    def taker(i: int) -> None:
        bucket = TokenBucket("test-shared", rate=rate)  # a second "worker", same Redis key
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            got, wait = bucket.take(10)
            granted[i] += got
            if not got:
                time.sleep(wait)

    threads = [threading.Thread(target=taker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = first.capacity + rate * seconds
    assert 0.95 * expected <= sum(granted) <= 1.05 * expected
    assert min(granted) > 0  # both workers got a share


def test_wait_says_when_the_next_token_arrives():
    bucket = TokenBucket("test-wait", rate=10)
    bucket.reset()
    got, _ = bucket.take(100)
    assert got == bucket.capacity
    got, wait = bucket.take(1)
    assert got == 0 and 0 < wait <= 0.1
