"""Paging ends: at an empty page, at the announced X-Total-Count, and never loops.

Hostile list servers that offer a next page forever; the tap must stop after a bounded
number of requests without losing or inventing customers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, Seen, endless_pages, hostile_servers

from recras_api import ConnectionSettings, RecrasClient, RecrasInvalidResponseError
from tap_recras.testing import run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]


def page_number(request: Seen) -> int:
    query = dict(part.partition("=")[::2] for part in request.query.split("&") if part)
    return int(query.get("page") or 1)


def one_customer_per_page(total: int | None) -> Callable[[Seen], Reply]:
    """Page n holds customer n and links to page n + 1, forever."""

    def reply(request: Seen) -> Reply:
        page = page_number(request)
        headers = {"Link": f'</api2/klanten?page={page + 1}>; rel="next"'}
        if total is not None:
            headers["X-Total-Count"] = str(total)
        return Reply.json([{"id": page, "naam": f"Klant {page}"}], **headers)

    return reply


def client_for(server: HostileServer) -> RecrasClient:
    settings = ConnectionSettings.from_config(server.config(api_key="paging-key"), "test")
    return RecrasClient(settings, logging.getLogger("test"))


@pytest.mark.slow
def test_tap_stops_at_an_empty_page_with_a_next_link(hostile_servers: Servers) -> None:
    server = hostile_servers({"GET /api2/klanten": endless_pages})
    run = run_tap(server.config(api_key="paging-key"), timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("klanten") == []
    assert len(server.requests) == 1


@pytest.mark.slow
def test_tap_reads_no_page_past_the_announced_total(hostile_servers: Servers) -> None:
    # Three pages reach the announced total, yet the third links on: not read (it could go on
    # forever), and not taken as the end either (a total that counts less than the list would
    # then drop customers silently): the run stops with the reason, its bookmark unmoved.
    server = hostile_servers(
        {
            "GET /api2/klanten": one_customer_per_page(total=3),
            "GET /api2/klanten/*": Reply.json({"contactpersonen": []}),
        }
    )
    run = run_tap(server.config(api_key="paging-key"), timeout=60)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "announced X-Total-Count 3 and 3 customers were listed" in run.stderr
    assert {r["id"] for r in run.records("klanten")} <= {1, 2, 3}
    assert sum(seen.path == "/api2/klanten" for seen in server.requests) == 3
    bookmarks = (run.last_state or {}).get("bookmarks", {}).get("klanten", {})
    assert bookmarks.get("replication_key_value") is None, run.last_state


def test_more_items_than_announced_is_an_error_not_a_silent_cut(hostile_servers: Servers) -> None:
    customers = [{"id": n} for n in (1, 2, 3)]
    server = hostile_servers({"GET /api2/klanten": Reply.json(customers, **{"X-Total-Count": "2"})})
    seen: list[int] = []
    with pytest.raises(RecrasInvalidResponseError, match="more customers than the 2"):
        seen.extend(c["id"] for c in client_for(server).iter_klanten())
    assert seen == [1, 2]


def test_a_page_offered_twice_is_an_error(hostile_servers: Servers) -> None:
    link = '</api2/klanten?page=2>; rel="next"'
    server = hostile_servers({"GET /api2/klanten": Reply.json([{"id": 1}], Link=link)})
    with pytest.raises(RecrasInvalidResponseError, match="unusable next-page link"):
        list(client_for(server).iter_klanten())
    assert len(server.requests) == 2
