"""Customer details: a 404 keeps the bookmark below the customer (issue 8, item 18), and
contact persons that are not a list of objects stop the run clearly (issue 8, item 17).

The real executable runs against a real sandbox behind a proxy that answers one detail 404,
and against a small hostile server whose list items carry malformed ``contactpersonen``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from test_tap_e2e import ErrorProxy

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import make_catalog, run_tap

SandboxFactory = Callable[..., SandboxProcess]


@pytest.fixture
def error_proxy() -> Iterator[Callable[[SandboxProcess, dict[str, tuple[int, str]]], ErrorProxy]]:
    proxies: list[ErrorProxy] = []

    def make(sandbox: SandboxProcess, errors: dict[str, tuple[int, str]]) -> ErrorProxy:
        proxies.append(ErrorProxy(sandbox.port, errors))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


def bookmark(state: dict[str, Any] | None) -> Any:
    assert state is not None
    return state["bookmarks"]["klanten"].get("replication_key_value")


def test_detail_404_keeps_the_bookmark_below_the_customer_left_out(
    sandbox_factory: SandboxFactory, error_proxy: Callable[..., ErrorProxy]
) -> None:
    sandbox = sandbox_factory(customers=20)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[5]
    proxy = error_proxy(sandbox, {f"/api2/klanten/{gone}": (404, "temporarily not found")})

    first = run_tap(sandbox.config(base_url=proxy.base_url))
    # The 404 was temporary: the next run, straight to the sandbox, must still get it.
    second = run_tap(sandbox.config(), state=first.last_state)

    assert first.returncode == 0, first.stderr
    assert gone not in [r["id"] for r in first.records("klanten")]
    assert bookmark(first.last_state) == gone - 1
    assert f"Customer {gone} was listed but its detail answered 404" in first.stderr
    assert "the bookmark stays below it" in first.stderr
    assert "will not list it again" not in first.stderr
    assert [r["id"] for r in second.records("klanten")] == truth[5:]
    assert gone in {r["klant_id"] for r in second.records("contactpersonen")}
    assert bookmark(second.last_state) == truth[-1]


def test_detail_404_of_a_customer_that_is_gone_lets_the_bookmark_move_on(
    sandbox_factory: SandboxFactory, error_proxy: Callable[..., ErrorProxy]
) -> None:
    sandbox = sandbox_factory(customers=10)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[2]
    proxy = error_proxy(sandbox, {f"/api2/klanten/{gone}": (404, "not found")})
    first = run_tap(sandbox.config(base_url=proxy.base_url))
    sandbox.delete_customer(gone)

    second = run_tap(sandbox.config(), state=first.last_state)

    assert [r["id"] for r in second.records("klanten")] == truth[3:]
    assert bookmark(second.last_state) == truth[-1]


class HostileList:
    """Serves one customer list (and 404 for every detail)."""

    def __init__(self, items: list[Any], detail: Any = None) -> None:
        body = json.dumps(items).encode()
        detail_body = json.dumps(detail).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/api2/klanten":
                    self._send(200, body)
                elif detail is not None and path.startswith("/api2/klanten/"):
                    self._send(200, detail_body)
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.config = {
            "base_url": f"http://127.0.0.1:{self.server.server_address[1]}",
            "api_key": "hostile-key",
        }
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("persons", "problem"),
    [
        (["Jan"], "item 0 is str"),
        ([{"id": 1}, 5], "item 1 is int"),
        ("Jan", "got str"),
        ({"id": 1}, "got dict"),
    ],
)
def test_list_item_persons_that_are_not_objects_stop_the_run_naming_the_customer(
    persons: Any, problem: str
) -> None:
    server = HostileList([{"id": 7, "naam": "A", "contactpersonen": persons}])
    try:
        run = run_tap(server.config, catalog=make_catalog(server.config))
    finally:
        server.close()

    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert (
        f"GET /api2/klanten, customer 7: contactpersonen is not a list of objects ({problem})"
        in last_line
    ), run.stderr[-2000:]
    assert run.records("klanten") == []


def test_detail_persons_that_are_not_objects_name_the_item() -> None:
    server = HostileList([{"id": 7, "naam": "A"}], detail={"id": 7, "contactpersonen": [None]})
    try:
        run = run_tap(server.config, catalog=make_catalog(server.config))
    finally:
        server.close()

    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert "GET /api2/klanten/7: contactpersonen is not a list of objects (item 0 is NoneType)" in (
        last_line
    )
