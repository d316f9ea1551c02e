"""SIGTERM while detail requests hang: the tap stops at once, it does not wait for them.

An orchestrator sends SIGTERM and, after a grace period (often 10 to 30 s), SIGKILL. The tap
wrote its last safe STATE and logged "Stopped by SIGTERM", but then waited for the worker
threads still retrying their detail requests (up to 8 tries or 300 s each), so it was
killed instead of exiting 143. The same for every stream whose children need a request of
their own: a booking's detail (its lines), an invoice's payments.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.catalogs import catalog_of
from support.hostile_server import HostileServer, Reply, Seen, hostile_servers

from tap_recras.testing import parse_messages, start_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]


#: stream whose children hang -> (streams selected, list route and items, the children's route)
HANGING = {
    "contactpersonen": (
        ("klanten", "contactpersonen"),
        "GET /api2/klanten",
        [{"id": i, "naam": f"K{i}"} for i in (1, 2, 3)],
        "GET /api2/klanten/*",
    ),
    "boekingsregels": (
        ("boekingen", "boekingsregels"),
        "GET /api2/boekingen",
        [{"id": i} for i in (1, 2, 3)],
        "GET /api2/boekingen/*",
    ),
    "betalingen": (
        ("facturen", "betalingen"),
        "GET /api2/facturen",
        [{"id": i, "datum": "2026-01-01"} for i in (1, 2, 3)],
        "GET /api2/facturen/*",
    ),
}


@pytest.mark.parametrize("child", list(HANGING))
def test_sigterm_during_hanging_details_exits_143_promptly(
    hostile_servers: Servers, tmp_path: Path, child: str
) -> None:
    streams, list_route, items, child_route = HANGING[child]
    children_path = child_route.split(" ", 1)[1].removesuffix("*")
    released = threading.Event()

    def hang(request: Seen) -> Reply:
        released.wait(30)
        return Reply.json({"contactpersonen": []} if child == "contactpersonen" else [])

    server = hostile_servers({list_route: Reply.json(items), child_route: hang})
    config = server.config(api_key="sigterm-hang-key", request_timeout=20)
    catalog = catalog_of(streams)
    try:
        with (tmp_path / "stderr.log").open("w") as log:
            process = start_tap(tmp_path, config, catalog=catalog, stderr=log, log_level="INFO")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                r.path.startswith(children_path) for r in server.requests
            ):
                time.sleep(0.05)
            assert process.poll() is None, "the tap ended before it could be stopped"
            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            try:
                stdout, _ = process.communicate(timeout=8)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, _ = process.communicate()
            took = time.monotonic() - stopped
    finally:
        released.set()
    stderr = (tmp_path / "stderr.log").read_text()
    messages = parse_messages(stdout)

    assert process.returncode == 143, f"rc {process.returncode} after {took:.1f} s"
    assert took < 5, took
    assert "Stopped by SIGTERM" in stderr
    assert messages[-1]["type"] == "STATE"
    for entry in messages[-1]["value"].get("bookmarks", {}).values():
        assert entry.get("replication_key_value") is None, messages[-1]
