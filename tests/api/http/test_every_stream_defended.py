"""The customer list's defences hold on every stream: the real tap against hostile servers.

Each new stream's list (and each child request: a booking's detail, an invoice's payments)
is redirected to another origin, pages in a loop, links its next page to another origin,
changes its X-Total-Count between pages, lists more than it announced, or inflates past the
size cap. Every time the run stops with a clear error and exit 1: the other origin sees no
request, the key is in no log line, no traceback, and nothing is bookmarked (the rerun reads
the same items again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from support.catalogs import catalog_of
from support.hostile_server import HostileServer, Reply, RouteAnswer, Seen, hostile_servers

from tap_recras.streams import ListedStream, reference
from tap_recras.testing import TapRun, run_tap

pytestmark = pytest.mark.slow
__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]
KEY = "every-stream-key-61c2-never-logged"
INVOICE = {"id": 1, "datum": "2026-01-01"}


@dataclass(frozen=True)
class Where:
    """A request of one stream's run that turns hostile, and what leads there."""

    name: str
    streams: tuple[str, ...]
    path: str
    #: Routes that lead the run to ``path`` (a parent's list).
    leading: tuple[tuple[str, Any], ...] = ()
    #: Whether ``path`` is a list (paged, capped per item) or one object.
    is_list: bool = True


LISTS = [
    Where("boekingen", ("boekingen",), "/api2/boekingen"),
    Where("facturen", ("facturen",), "/api2/facturen"),
    Where(
        "betalingen",
        ("facturen", "betalingen"),
        "/api2/facturen/1/betalingen",
        (("GET /api2/facturen", [INVOICE]),),
    ),
    Where("factuurregels", ("factuurregels",), "/api2/factuurregels"),
]
BOOKING_DETAIL = Where(
    "boekingen detail",
    ("boekingen", "boekingsregels"),
    "/api2/boekingen/9",
    (("GET /api2/boekingen", [{"id": 9}]),),
    is_list=False,
)
REFERENCE = [
    Where(stream.name, (stream.name,), stream.endpoint.path)
    for stream in vars(reference).values()
    if isinstance(stream, type) and issubclass(stream, ListedStream) and stream is not ListedStream
]


def run_hostile(servers: Servers, where: Where, answer: RouteAnswer) -> TapRun:
    routes: dict[str, Any] = {route: Reply.json(body) for route, body in where.leading}
    routes[f"GET {where.path}"] = answer
    server = servers(routes)
    config = server.config(api_key=KEY)
    done = run_tap(config, catalog=catalog_of(where.streams), log_level="INFO", timeout=90)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert KEY not in done.stderr
    assert KEY not in done.stdout
    for state in done.of_type("STATE"):
        for stream, entry in state["value"].get("bookmarks", {}).items():
            assert entry.get("replication_key_value") is None, (stream, state)
    return done


def page_of(request: Seen) -> int:
    query = dict(part.partition("=")[::2] for part in request.query.split("&") if part)
    return int(query.get("page") or 1)


def item(number: int) -> dict[str, Any]:
    """An item any stream takes (a date, so an invoice is kept)."""
    return {"id": number, "datum": "2026-01-01"}


@pytest.mark.parametrize(
    "where", [*LISTS, BOOKING_DETAIL, *REFERENCE], ids=lambda where: where.name
)
def test_a_redirect_to_another_origin_is_not_followed(
    hostile_servers: Servers, where: Where
) -> None:
    elsewhere = hostile_servers({"*": Reply.json([item(666)])})

    done = run_hostile(hostile_servers, where, Reply.redirect(f"{elsewhere.url}{where.path}", 307))

    assert f"redirected (307) to another origin, {elsewhere.url}" in done.stderr
    assert elsewhere.requests == []


def next_to_itself(request: Seen) -> Reply:
    """Page n links to page n + 1, whose link leads back to page n: a loop."""
    page = page_of(request)
    target = page + 1 if page % 2 else page - 1
    return Reply.json([item(page)], Link=f'<{request.path}?page={target}>; rel="next"')


def total_shrinking(request: Seen) -> Reply:
    """Page 1 announces 4 items, page 2 announces 3 (one was deleted meanwhile)."""
    page = page_of(request)
    headers = {"X-Total-Count": str(5 - page), "X-Page-Size": "2"}
    if page == 1:
        headers["Link"] = f'<{request.path}?page=2>; rel="next"'
    return Reply.json([item(2 * page - 1), item(2 * page)][: 3 - page], **headers)


def more_than_announced(request: Seen) -> Reply:
    return Reply.json([item(1), item(2), item(3)], **{"X-Total-Count": "2"})


#: How a list pages badly (given another origin it may link to), and what the error says.
PAGING: dict[str, tuple[Callable[[HostileServer], RouteAnswer], str]] = {
    "next-loop": (lambda _elsewhere: next_to_itself, "unusable next-page link"),
    "next-elsewhere": (
        lambda elsewhere: Reply.json(
            [item(1)], Link=f'<{elsewhere.url}/api2/klanten?page=2>; rel="next"'
        ),
        "unusable next-page link http://127.0.0.1:",
    ),
    "total-changes": (lambda _elsewhere: total_shrinking, "list changed while it was being read"),
    "beyond-the-count": (lambda _elsewhere: more_than_announced, "than the 2"),
}


@pytest.mark.parametrize("paging", list(PAGING))
@pytest.mark.parametrize("where", LISTS, ids=lambda where: where.name)
def test_endless_or_changing_paging_stops_the_run(
    hostile_servers: Servers, where: Where, paging: str
) -> None:
    answer, expected = PAGING[paging]
    elsewhere = hostile_servers({"*": Reply.json([item(666)])})

    done = run_hostile(hostile_servers, where, answer(elsewhere))

    assert expected in done.stderr, done.stderr[-3000:]
    assert elsewhere.requests == []


@pytest.mark.parametrize("where", [LISTS[2]], ids=lambda where: where.name)
def test_an_item_inflating_past_the_cap_stops_the_run(
    hostile_servers: Servers, where: Where
) -> None:
    done = run_hostile(hostile_servers, where, Reply.gzip_bomb(20 * 1024 * 1024, in_list=True))

    assert "an item is longer than" in done.stderr, done.stderr[-3000:]
