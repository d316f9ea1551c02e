"""Customer ids at the edges: the tap never bookmarks an id its next run would refuse.

A list item with id 0 or a negative id crashed a run that fetches details with a bare
``ValueError`` (and was emitted by one that does not); an id above 2**63 - 1 (beyond what
Recras, on PHP, can hand out) was emitted and bookmarked, after which every later run
refused its own state. Both are now a clear invalid-answer error naming the id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, hostile_servers

from tap_recras.inputs import MAX_ID
from tap_recras.testing import make_catalog, run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]


@pytest.mark.parametrize("bad_id", [0, -3, MAX_ID + 1, 10**30])
@pytest.mark.parametrize("with_persons", [True, False])
def test_an_impossible_customer_id_stops_the_run_naming_it(
    hostile_servers: Servers, bad_id: int, with_persons: bool
) -> None:
    listed = "[" + ",".join(json.dumps({"id": i, "naam": f"K{i}"}) for i in (5, bad_id)) + "]"
    server = hostile_servers(
        {
            "GET /api2/klanten": Reply(200, listed, {"Content-Type": "application/json"}),
            "GET /api2/klanten/*": Reply.json({"contactpersonen": []}),
        }
    )
    config = server.config(api_key="id-edges-key")
    catalog = None if with_persons else make_catalog(config, nested=False, persons=False)

    run = run_tap(config, catalog=catalog, timeout=60)

    assert run.returncode == 1
    error = [line for line in run.stderr.splitlines() if "RecrasInvalidResponseError" in line]
    assert error and f"customer id {bad_id}" in error[-1], run.stderr[-1500:]
    assert bad_id not in [r["id"] for r in run.records("klanten")]
    for state in run.of_type("STATE"):
        bookmark = state["value"]["bookmarks"].get("klanten", {})
        assert bookmark.get("replication_key_value") in {None, 5}


def test_the_largest_possible_id_is_kept_and_resumed_from(hostile_servers: Servers) -> None:
    listed = json.dumps([{"id": 5, "naam": "K5"}, {"id": MAX_ID, "naam": "Last"}])
    server = hostile_servers(
        {
            "GET /api2/klanten": Reply(200, listed, {"Content-Type": "application/json"}),
            "GET /api2/klanten/*": Reply.json({"contactpersonen": []}),
        }
    )
    config = server.config(api_key="id-edges-key")

    first = run_tap(config, timeout=60)
    second = run_tap(config, state=first.last_state, timeout=60)

    assert first.returncode == 0, first.stderr[-1500:]
    assert [r["id"] for r in first.records("klanten")] == [5, MAX_ID]
    assert second.returncode == 0, second.stderr[-1500:]
    assert second.records("klanten") == []
