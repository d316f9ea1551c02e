"""Odd server answers get clear errors or sane handling, never a traceback.

``Retry-After`` values that are not a usable delay, and JSON nested far deeper than any
Recras answer, in list and detail bodies, against the real tap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from support.hostile_server import HostileServer, Reply, hostile_servers

from recras_api.transport.retry_policy import retry_after_seconds
from tap_recras.testing import run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]
CUSTOMER = {"id": 7, "naam": "Zeven"}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "NaN"])
def test_unusable_retry_after_falls_back_to_backoff(value: str) -> None:
    response = requests.Response()
    response.headers["Retry-After"] = value
    assert retry_after_seconds(response) is None


def test_usable_retry_after_is_honoured() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "2.5"
    assert retry_after_seconds(response) == 2.5


@pytest.mark.slow
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_tap_retries_a_503_with_retry_after_value(hostile_servers: Servers, value: str) -> None:
    busy = Reply.json({"error": {"message": "busy"}}, 503, **{"Retry-After": value})
    server = hostile_servers(
        {
            "GET /api2/klanten": [busy, Reply.json([CUSTOMER])],
            "GET /api2/klanten/*": Reply.json({**CUSTOMER, "contactpersonen": []}),
        }
    )
    run = run_tap(server.config(api_key="answers-key"), timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["id"] for r in run.records("klanten")] == [7]
    assert "failed (HTTP 503); retry 1 of 7" in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "routes",
    [
        {"GET /api2/klanten": Reply.deep_json(100_000, in_list=True)},
        {
            "GET /api2/klanten": Reply.json([CUSTOMER]),
            "GET /api2/klanten/*": Reply.deep_json(100_000, in_list=False),
        },
    ],
    ids=["list", "detail"],
)
def test_deeply_nested_json_is_a_clear_error(hostile_servers: Servers, routes: Any) -> None:
    server = hostile_servers(routes)
    run = run_tap(server.config(api_key="answers-key"), timeout=60)
    assert run.returncode != 0
    assert "nested too deeply" in run.stderr
    assert "RecursionError" not in run.stderr
