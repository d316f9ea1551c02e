"""A run that fails while other detail requests hang ends at once, with its error.

One customer's detail is refused (a final 406) while the details of the next ones hang. The
tap logged the error but then waited for the worker threads still retrying their requests
(up to 8 tries or 300 s each) before the process could exit: the run seemed to hang, and
an orchestrator's timeout killed it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from support.hostile_server import HostileServer, Reply, Seen, hostile_servers

from tap_recras.testing import run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]


def test_a_failing_detail_ends_the_run_without_waiting_for_hanging_ones(
    hostile_servers: Servers,
) -> None:
    released = threading.Event()

    def detail(request: Seen) -> Reply:
        if request.path.endswith("/1"):
            return Reply.json({"error": {"message": "Customer 1 is locked"}}, 406)
        released.wait(30)
        return Reply.json({"contactpersonen": []})

    server = hostile_servers(
        {
            "GET /api2/klanten": Reply.json([{"id": i, "naam": f"K{i}"} for i in (1, 2, 3)]),
            "GET /api2/klanten/*": detail,
        }
    )
    started = time.monotonic()
    try:
        run = run_tap(server.config(api_key="exit-hang-key", request_timeout=20), timeout=25)
    finally:
        released.set()
    took = time.monotonic() - started

    assert run.returncode == 1, run.stderr[-2000:]
    assert took < 10, took
    assert "Customer 1 is locked" in run.stderr
