"""Paging that would silently lose customers: found by attacking tap-recras from outside.

Both end in silent data loss for incremental runs: the run exits 0 and promotes a bookmark
above a customer it never emitted, so no later run asks for that customer again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.fault_proxy import FaultProxy, Rule
from support.hostile_server import HostileServer, Reply, Seen, hostile_servers

from tap_recras.testing import make_catalog, run_tap

pytestmark = pytest.mark.slow

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]


def page_of(request: Seen) -> int:
    query = dict(part.partition("=")[::2] for part in request.query.split("&") if part)
    return int(query.get("page") or 1)


def klant(klant_id: int) -> dict[str, Any]:
    return {"id": klant_id, "naam": f"Klant {klant_id}"}


def paged(pages: list[tuple[list[int], int]]) -> Callable[[Seen], Reply]:
    """Page n (1-based) holds ``pages[n-1]`` ids and announces its X-Total-Count."""

    def reply(request: Seen) -> Reply:
        page = page_of(request)
        ids, total = pages[page - 1]
        headers = {"X-Total-Count": str(total), "X-Page-Size": "2"}
        if page < len(pages):
            headers["Link"] = f'</api2/klanten?page={page + 1}>; rel="next"'
        return Reply.json([klant(i) for i in ids], **headers)

    return reply


def emitted_all_or_failed(server: HostileServer, listed: set[int]) -> tuple[bool, str]:
    config = server.config(api_key="pending-key-123")
    catalog = make_catalog(config, nested=False, persons=False)
    run = run_tap(config, catalog=catalog, timeout=60)
    emitted = {record["id"] for record in run.records("klanten")}
    state = run.last_state or {}
    bookmark = state.get("bookmarks", {}).get("klanten", {}).get("replication_key_value")
    lost = {i for i in listed - emitted if bookmark is not None and i <= bookmark}
    report = (
        f"rc={run.returncode} emitted={sorted(emitted)} bookmark={bookmark} lost={sorted(lost)}"
    )
    return run.returncode != 0 or not lost, report


def test_a_list_that_changes_between_pages_is_not_trusted(hostile_servers: Servers) -> None:
    """Offset paging over a list sorted by name: customer 10 is deleted after page 1.

    Before: [10, 30, 20, 40] (X-Total-Count 4). Page 1 = [10, 30]. Then 10 goes, the list is
    [30, 20, 40] (X-Total-Count 3) and page 2 (offset 2) = [40]: customer 20 slid onto page 1
    and is never listed. The same happens with the sandbox (shuffle=True, page_size=5) when
    a customer is deleted during a run: 7 of 29 customers were never emitted, exit 0. The
    client sees the X-Total-Count change (4, then 3) and could stop (the rerun resumes from
    the previous bookmark), so no bookmark is promoted past a customer it never listed.
    """
    server = hostile_servers({"GET /api2/klanten": paged([([10, 30], 4), ([40], 3)])})
    ok, report = emitted_all_or_failed(server, {20, 30, 40})
    assert ok, report


def test_a_next_link_beyond_a_lying_total_is_not_dropped_silently(
    hostile_servers: Servers,
) -> None:
    """Page 1 says X-Total-Count 2 (a server counting the page, not the list) and links on.

    The client stops at the announced total without a word, so page 2's customers 20 and 30
    are dropped while the bookmark becomes 40. Expected: either they are read, or the
    contradiction (total reached, yet a next page is offered) stops the run.
    """
    server = hostile_servers({"GET /api2/klanten": paged([([40, 10], 2), ([20, 30], 2)])})
    ok, report = emitted_all_or_failed(server, {10, 20, 30, 40})
    assert ok, report


def test_a_customer_deleted_between_pages_of_the_sandbox_stops_the_run(
    sandbox_factory: Any,
) -> None:
    # The real sandbox, shuffled and paged by 5; a customer is deleted right after page 2 was
    # served (through the fault proxy's hook), so later pages shift.
    sandbox = sandbox_factory(customers=30, shuffle=True, page_size=5)
    victim = sandbox.customers()[3]["id"]
    rules = [Rule("GET", "/api2/klanten", nth=2, hook=lambda _: sandbox.delete_customer(victim))]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = sandbox.config(base_url=proxy.base_url)
        run = run_tap(config, catalog=make_catalog(config, nested=False, persons=False))
    emitted = {record["id"] for record in run.records("klanten")}
    listed = {item["id"] for item in sandbox.customers()}
    state = run.last_state or {}
    bookmark = state.get("bookmarks", {}).get("klanten", {}).get("replication_key_value")
    lost = {i for i in listed - emitted if bookmark is not None and i <= bookmark}
    assert run.returncode != 0 or not lost, f"rc={run.returncode} lost={sorted(lost)}"
    assert "The customer list changed while it was being read" in run.stderr
