"""Attacks on the list's decoded batches: the checks that moved from one
customer to one batch must hand on exactly the customers the per-customer checks handed on.

A paged list whose first page announces no ``X-Total-Count`` and whose second announces a
count below what the first page already listed: every customer of the second page lies
beyond the count, so none of them may be written before the error (the per-customer check
stopped at its first customer; a slice ``batch[:count - listed]`` with a negative bound kept
all but the last few). And a bad item (an id that is no id, or no object) cut by the first
64 KiB read: exactly the customers before it are written, then the same error as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, Seen, hostile_servers

from recras_api.transport.bodies import STREAM_CHUNK_BYTES
from tap_recras.testing import make_catalog, run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]


def customers(*ids: int) -> list[dict[str, Any]]:
    return [{"id": klant_id, "naam": f"Klant {klant_id}"} for klant_id in ids]


def two_pages(first: list[dict[str, Any]], second: list[dict[str, Any]], total: int) -> Any:
    """Page 1 (no X-Total-Count) links to page 2, which announces ``total``."""

    def reply(request: Seen) -> Reply:
        if "page=2" in request.query:
            return Reply(200, json.dumps(second), {"X-Total-Count": str(total)})
        return Reply.json(first, Link='</api2/klanten?page=2>; rel="next"')

    return reply


@pytest.mark.slow
def test_a_count_below_the_customers_already_listed_writes_none_of_the_next_page(
    hostile_servers: Servers,
) -> None:
    server = hostile_servers(
        {"GET /api2/klanten": two_pages(customers(1, 2, 3, 4, 5), customers(6, 7, 8, 9, 10), 3)}
    )
    config = server.config(api_key="batch-attack-key")

    run = run_tap(config, catalog=make_catalog(config, nested=False, persons=False), timeout=60)

    assert run.returncode == 1
    assert "more customers than the 3 its X-Total-Count header announced" in run.stderr
    assert [r["id"] for r in run.records("klanten")] == [1, 2, 3, 4, 5]
    for state in run.of_type("STATE"):
        bookmark = state["value"]["bookmarks"].get("klanten", {}).get("replication_key_value")
        assert bookmark is None or bookmark <= 5, state


def listed_with_bad_item_at_the_chunk_edge(bad_item: str) -> tuple[str, int]:
    """A list whose ``bad_item`` straddles the first 64 KiB read; and how many come before."""
    items = [
        json.dumps({"id": i, "naam": f"Klant {i}"}, separators=(",", ":")) for i in range(1, 3001)
    ]
    before, position = 0, 1  # the "[" comes first
    while position + len(items[before]) + 1 + len(bad_item) // 2 < STREAM_CHUNK_BYTES:
        position += len(items[before]) + 1
        before += 1
    items.insert(before, bad_item)
    return "[" + ",".join(items) + "]", before


@pytest.mark.parametrize(
    ("bad_item", "error"),
    [
        ('{"id":true,"naam":"T"}', "without an integer id: True"),
        ('{"id":0,"naam":"Z"}', "customer id 0, which no Recras customer can have"),
        ('{"naam":"no id"}', "without an integer id: None"),
        ("1234567", "expected customer objects, got int"),
    ],
)
def test_a_bad_item_across_a_chunk_edge_stops_after_exactly_the_customers_before_it(
    hostile_servers: Servers, bad_item: str, error: str
) -> None:
    listed, before = listed_with_bad_item_at_the_chunk_edge(bad_item)
    server = hostile_servers(
        {"GET /api2/klanten": Reply(200, listed, {"Content-Type": "application/json"})}
    )
    config = server.config(api_key="batch-attack-key")

    run = run_tap(config, catalog=make_catalog(config, nested=False, persons=False), timeout=60)

    assert run.returncode == 1
    assert error in run.stderr, run.stderr[-1500:]
    assert [r["id"] for r in run.records("klanten")] == list(range(1, before + 1))
