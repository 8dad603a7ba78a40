"""Erlang C against the textbook and against an independent implementation."""

from __future__ import annotations

import math
import random

import pytest

from helpdesk.staffing import erlang


def independent_erlang_c(agents: int, erlangs: float) -> float:
    """The formula as printed, with factorials: A^N/N! · N/(N−A) over Σ_{k<N} A^k/k! + that term."""
    top = erlangs**agents / math.factorial(agents) * agents / (agents - erlangs)
    return top / (sum(erlangs**k / math.factorial(k) for k in range(agents)) + top)


def independent_agents(volume, interval, aht, level, seconds):
    a = volume * aht / interval
    n = int(a) + 1
    while 1 - independent_erlang_c(n, a) * math.exp(-(n - a) * seconds / aht) < level:
        n += 1
    return n


def test_the_textbook_example_100_calls_in_30_minutes():
    """100 calls in 30 minutes, 180 s each (10 Erlangs), 80 % answered in 20 s: 14 agents, who
    answer 88.9 % in 20 s, with an average speed of answer of 7.8 s at 71 % occupancy (13 give 79.6 %)."""
    plan = erlang.agents_needed(volume=100, interval_seconds=1800, aht_seconds=180, target_level=0.8,
                                target_seconds=20)  # fmt: skip
    assert plan.agents == 14
    assert plan.service_level == pytest.approx(0.889, abs=0.001)
    assert plan.asa_seconds == pytest.approx(7.8, abs=0.1)
    assert plan.occupancy == pytest.approx(10 / 14)
    assert erlang.service_level(13, 10, 180, 20) == pytest.approx(0.796, abs=0.001)
    assert erlang.erlang_c(14, 10) == pytest.approx(0.1741, abs=0.0005)


def test_twenty_random_cases_agree_with_the_independent_implementation():
    rng = random.Random(19)
    for _ in range(20):
        volume, aht = rng.randint(5, 300), rng.randint(60, 600)
        level, seconds = rng.choice([0.7, 0.8, 0.9, 0.95]), rng.choice([10, 20, 30, 60])
        ours = erlang.agents_needed(volume=volume, interval_seconds=1800, aht_seconds=aht, target_level=level,
                                    target_seconds=seconds)  # fmt: skip
        assert ours.agents == independent_agents(volume, 1800, aht, level, seconds), (
            volume,
            aht,
            level,
            seconds,
        )
        a = volume * aht / 1800
        assert erlang.erlang_c(ours.agents, a) == pytest.approx(
            independent_erlang_c(ours.agents, a), rel=1e-9
        )


def test_no_volume_needs_nobody_and_bad_input_is_refused():
    assert erlang.agents_needed(volume=0, interval_seconds=1800, aht_seconds=180, target_level=0.8,
                                target_seconds=20).agents == 0  # fmt: skip
    with pytest.raises(ValueError):
        erlang.agents_needed(
            volume=10, interval_seconds=1800, aht_seconds=0, target_level=0.8, target_seconds=20
        )
    with pytest.raises(ValueError):
        erlang.agents_needed(
            volume=10, interval_seconds=1800, aht_seconds=180, target_level=1.0, target_seconds=20
        )


def test_chat_concurrency_divides_the_load():
    alone = erlang.agents_needed(
        volume=120, interval_seconds=1800, aht_seconds=420, target_level=0.8, target_seconds=60
    )
    three = erlang.agents_needed(volume=120, interval_seconds=1800, aht_seconds=420, target_level=0.8,
                                 target_seconds=60, concurrency=3)  # fmt: skip
    assert three.agents < alone.agents / 2


def test_a_big_centre_is_exact_without_factorials():
    plan = erlang.agents_needed(volume=9000, interval_seconds=1800, aht_seconds=180, target_level=0.8,
                                target_seconds=20)  # fmt: skip
    assert 900 < plan.agents < 960 and plan.service_level >= 0.8


def _simulate(agents, lam, aht, patience, target, calls=60_000, seed=5):
    """An independent check: a discrete-event simulation of M/M/N+M, first come first served."""
    import heapq

    rng = random.Random(seed)
    free_at = [0.0] * agents
    heapq.heapify(free_at)
    now, in_time, abandoned = 0.0, 0, 0
    waiting: list[float] = []  # deadlines of callers in the queue are implicit: patience per caller
    for _ in range(calls):
        now += rng.expovariate(lam)
        patience_left = rng.expovariate(1 / patience)
        start = max(now, free_at[0])
        if start - now > patience_left:
            abandoned += 1
            continue
        heapq.heapreplace(free_at, start + rng.expovariate(1 / aht))
        in_time += start - now <= target
    del waiting
    return in_time / calls, abandoned / calls


def test_erlang_a_agrees_with_a_simulation_and_needs_fewer_agents_than_erlang_c():
    lam = 100 / 1800
    result = erlang.erlang_a(
        agents=12, arrival_per_second=lam, aht_seconds=180, patience_seconds=120, target_seconds=20
    )
    sl, abandon = _simulate(12, lam, 180, 120, 20)
    assert result.service_level == pytest.approx(sl, abs=0.015)
    assert result.abandon_rate == pytest.approx(abandon, abs=0.01)
    with_patience = erlang.agents_needed_with_abandonment(
        volume=100, interval_seconds=1800, aht_seconds=180, patience_seconds=120, target_level=0.8,
        target_seconds=20,
    )  # fmt: skip
    assert with_patience.agents <= 14 and with_patience.service_level >= 0.8


def test_erlang_a_with_endless_patience_is_erlang_c():
    result = erlang.erlang_a(agents=14, arrival_per_second=100 / 1800, aht_seconds=180, patience_seconds=1e7,
                             target_seconds=20)  # fmt: skip
    assert result.service_level == pytest.approx(erlang.service_level(14, 10, 180, 20), abs=0.002)
