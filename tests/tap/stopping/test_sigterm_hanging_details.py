"""SIGTERM while detail requests hang: the tap stops at once, it does not wait for them.

An orchestrator sends SIGTERM and, after a grace period (often 10 to 30 s), SIGKILL. The tap
wrote its last safe STATE and logged "Stopped by SIGTERM", but then waited for the worker
threads still retrying their detail requests (up to 8 tries or 300 s each), so it was
killed instead of exiting 143.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.hostile_server import HostileServer, Reply, Seen, hostile_servers

from tap_recras.testing import parse_messages, start_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]


def test_sigterm_during_hanging_details_exits_143_promptly(
    hostile_servers: Servers, tmp_path: Path
) -> None:
    released = threading.Event()

    def hang(request: Seen) -> Reply:
        released.wait(30)
        return Reply.json({"contactpersonen": []})

    server = hostile_servers(
        {
            "GET /api2/klanten": Reply.json([{"id": i, "naam": f"K{i}"} for i in (1, 2, 3)]),
            "GET /api2/klanten/*": hang,
        }
    )
    config = server.config(api_key="sigterm-hang-key", request_timeout=20)
    try:
        with (tmp_path / "stderr.log").open("w") as log:
            process = start_tap(tmp_path, config, stderr=log, log_level="INFO")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                r.path.startswith("/api2/klanten/") for r in server.requests
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
    assert messages[-1]["value"]["bookmarks"]["klanten"].get("replication_key_value") is None
