"""SIGTERM on the new streams: exit 143 promptly with the last safe STATE, as for customers.

Stopped while a booking's detail or an invoice's payments hang (worker threads), the tap must
not wait for them; stopped while its stdout is full (nobody reads), it must not deadlock.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, Seen, hostile_servers
from support.sandbox import SandboxFactory

from recras_api.plugin.termination import GRACE_SECONDS
from tap_recras.testing import make_catalog, parse_messages, start_tap

__all__ = ["hostile_servers"]

pytestmark = pytest.mark.slow

Servers = Callable[[dict[str, Any]], HostileServer]
#: The grace period and a margin for a busy machine (a deadlocked tap never ends at all).
ENDS_WITHIN = GRACE_SECONDS + 12

#: stream -> (its streams, its list's route and items, the route of the children that hang)
HANGING = {
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


def selected(config: dict[str, Any], streams: tuple[str, ...]) -> dict[str, Any]:
    return make_catalog(config, streams=streams, persons=False)


@pytest.mark.parametrize("child", list(HANGING))
def test_sigterm_while_child_requests_hang_exits_143_promptly(
    hostile_servers: Servers, tmp_path: Path, child: str
) -> None:
    streams, list_route, items, child_route = HANGING[child]
    released = threading.Event()

    def hang(request: Seen) -> Reply:
        released.wait(30)
        return Reply.json([])

    server = hostile_servers({list_route: Reply.json(items), child_route: hang})
    config = server.config(api_key="sigterm-every-stream-key", request_timeout=20)
    catalog = selected(config, streams)
    try:
        with (tmp_path / "stderr.log").open("w") as log:
            process = start_tap(tmp_path, config, catalog=catalog, stderr=log, log_level="INFO")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(server.requests) < 2:
                time.sleep(0.05)
            assert process.poll() is None, "the tap ended before it could be stopped"
            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            try:
                stdout, _ = process.communicate(timeout=ENDS_WITHIN)
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
    assert "sigterm-every-stream-key" not in stderr


@pytest.mark.parametrize(
    ("streams", "route"),
    [
        (("boekingen", "boekingsregels"), "GET /api2/boekingen"),
        (("facturen", "betalingen"), "GET /api2/facturen"),
    ],
    ids=["boekingen", "facturen"],
)
def test_sigterm_while_stdout_is_full_exits_143_without_deadlock(
    sandbox_factory: SandboxFactory, tmp_path: Path, streams: tuple[str, ...], route: str
) -> None:
    sandbox = sandbox_factory(customers=500, bookings=4000)
    config = sandbox.config(max_workers=2)
    catalog = selected(config, streams)
    with (tmp_path / "stderr.log").open("w") as log:
        process = start_tap(tmp_path, config, catalog=catalog, stderr=log, log_level="INFO")
        try:
            deadline = time.monotonic() + 60
            while route not in sandbox.stats()["requests"]:
                assert time.monotonic() < deadline, f"the tap never asked {route}"
                time.sleep(0.05)
            time.sleep(1.0)  # the records fill the pipe; the tap blocks writing
            assert process.poll() is None, "the tap ended before it could be stopped"
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=ENDS_WITHIN)
        finally:
            process.kill()
            process.communicate()
    assert process.returncode == 143, (tmp_path / "stderr.log").read_text()[-2000:]
    assert json.dumps(config["api_key"]) not in (tmp_path / "stderr.log").read_text()
