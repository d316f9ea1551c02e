"""The client's retries (backoff's decorator driving the wait generator of
recras_api.transport.retry_policy).

Against a small server on 127.0.0.1: a ``Retry-After`` is waited exactly (no jitter), one
that would end past ``max_seconds`` gives up at once instead of retrying early, ``max_tries``
bounds the tries, and each retry runs ``on_retry`` and is counted and logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, Seen, hostile_servers

from recras_api import ConnectionSettings, RecrasClient, RecrasUnavailableError, RetryPolicy

Servers = Callable[[Mapping[str, Any]], HostileServer]
__all__ = ["hostile_servers"]
CUSTOMER = {"id": 5, "naam": "Vijf", "contactpersonen": []}


def busy(retry_after: str | None = None) -> Reply:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return Reply.json({"error": {"message": "busy"}}, 503, **headers)


def client_for(server: HostileServer, policy: RetryPolicy) -> RecrasClient:
    settings = ConnectionSettings.from_config(server.config(api_key="retry-key-123"), "test")
    return RecrasClient(settings, logging.getLogger("test.retry"), retry=policy)


def timed(replies: list[Reply], arrivals: list[float]) -> Callable[[Seen], Reply]:
    """Answer with ``replies`` in turn (the last repeated), noting when each request came."""

    def answer(_request: Seen) -> Reply:
        arrivals.append(time.monotonic())
        return replies[min(len(arrivals), len(replies)) - 1]

    return answer


def test_retry_after_is_waited_as_given(hostile_servers: Servers) -> None:
    arrivals: list[float] = []
    server = hostile_servers(
        {"GET /api2/klanten/*": timed([busy("0.6"), Reply.json(CUSTOMER)], arrivals)}
    )
    client = client_for(server, RetryPolicy(max_tries=3, base_delay=5.0))
    assert client.get_klant(5) == CUSTOMER
    # Not the 5 s backoff, not a jittered fraction of 0.6 s.
    assert 0.55 <= arrivals[1] - arrivals[0] < 3.0
    assert client.retries == 1


def test_a_retry_after_past_the_budget_gives_up_at_once(hostile_servers: Servers) -> None:
    server = hostile_servers({"GET /api2/klanten/*": busy("3600")})
    client = client_for(server, RetryPolicy(max_tries=8, max_seconds=30.0))
    started = time.monotonic()
    # The message says why: the server's wait against the limit, not "kept failing".
    expected = (
        r"answered HTTP 503 and asked to wait 3,600 s before another try \(Retry-After\), "
        r"longer than the 30 s a request may take in all \(after 1 try in 0 s\)"
    )
    with pytest.raises(RecrasUnavailableError, match=expected):
        client.get_klant(5)
    assert time.monotonic() - started < 5
    assert len(server.requests) == 1
    assert client.retries == 0


def test_max_tries_bounds_the_tries_and_each_retry_is_hooked_counted_and_logged(
    hostile_servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    server = hostile_servers({"POST /api2/klanten": busy()})
    client = client_for(server, RetryPolicy(max_tries=4, base_delay=0.01))
    seen: list[str] = []
    with (
        caplog.at_level(logging.WARNING, logger="test.retry"),
        pytest.raises(RecrasUnavailableError, match=r"kept failing \(HTTP 503\) after 4 tries"),
    ):
        client.create_klant({"naam": "Vier"}, on_retry=seen.append)
    assert len(server.requests) == 4
    assert seen == ["HTTP 503"] * 3
    assert client.retries == 3
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert [m.split("; ")[1].split(" in ")[0] for m in retries] == [
        "retry 1 of 3",
        "retry 2 of 3",
        "retry 3 of 3",
    ]
    assert not [r for r in caplog.records if r.name == "backoff"]


def test_backoff_waits_stay_within_max_seconds(hostile_servers: Servers) -> None:
    server = hostile_servers({"GET /api2/klanten/*": busy()})
    # Backoff 0.4, 0.8, 1.6 s (full jitter: up to those): a 1.5 s budget ends the tries
    # before a wait that would overrun it, and long before 8 tries.
    client = client_for(server, RetryPolicy(max_tries=8, max_seconds=1.5, base_delay=0.4))
    started = time.monotonic()
    with pytest.raises(RecrasUnavailableError, match="kept failing"):
        client.get_klant(5)
    assert time.monotonic() - started <= 1.5 + 0.5
    assert len(server.requests) < 8
