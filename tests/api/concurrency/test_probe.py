"""The gate settles at the server's limit instead of falling below it.

A server that allows 4 requests in flight answers a fifth with 429 only when all five are
being processed at once, so a probe at 5 usually gets a few answers through before its 429.
Traced in the concurrency benchmark (2,000 creates, ``--max-concurrent 4``): those few
successes counted as a round at 5, so the 429 halved the limit to 2 instead of returning to
4, at every probe (about 0.3 s of the run below 4 in flight). Only a level the gate grew
past has held.
"""

from __future__ import annotations

from recras_api.concurrency import AdaptiveConcurrency


def answer(limit: AdaptiveConcurrency, status: int) -> None:
    with limit.slot() as slot:
        slot.done(status)


def grow_past(limit: AdaptiveConcurrency, level: int) -> None:
    """Answer 200 until the limit rises above ``level`` (bounded)."""
    for _ in range(100_000):
        if limit.limit > level:
            return
        answer(limit, 200)
    raise AssertionError(f"the limit never grew past {level}")


def test_a_probe_answered_a_few_times_before_its_429_returns_to_the_level_below() -> None:
    limit = AdaptiveConcurrency(8)
    answer(limit, 429)
    assert limit.limit == 4
    grow_past(limit, 4)
    assert limit.limit == 5
    for _ in range(7):  # more than 5: the five rarely overlap on the server
        answer(limit, 200)
    answer(limit, 429)
    assert limit.limit == 4


def test_repeated_probes_of_a_fixed_limit_never_take_the_gate_below_it() -> None:
    limit = AdaptiveConcurrency(16)
    answer(limit, 429)
    answer(limit, 429)
    assert limit.limit == 4
    levels = []
    for _ in range(6):
        grow_past(limit, 4)
        levels.append(limit.limit)
        for _ in range(limit.limit * 3):
            answer(limit, 200)
        answer(limit, 429)
        levels.append(limit.limit)
    assert levels == [5, 4] * 6


def test_a_lower_level_never_grown_past_has_not_held() -> None:
    # Halving from the maximum: no level below has held yet, so a 429 at the halved level
    # halves again (a server that really allows fewer is found in a few answers).
    limit = AdaptiveConcurrency(16)
    answer(limit, 429)
    for _ in range(20):
        answer(limit, 200)
    answer(limit, 429)
    assert limit.limit == 4
