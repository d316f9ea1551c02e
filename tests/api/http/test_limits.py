"""Bounded bodies and bounded wall time: a hostile server can neither fill memory nor hang a run.

A gzip body that inflates far beyond any Recras answer, and servers that send one byte at a
time (the read timeout restarts with every byte), against the real tap and the client.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, hostile_servers

from recras_api import ConnectionSettings, RecrasClient, RecrasUnavailableError, RetryPolicy
from recras_api.transport.bodies import MAX_BODY_BYTES, MIN_LIST_BYTES_PER_SECOND
from tap_recras.testing import TapRun, parse_messages, tap_command, write_inputs

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]
CUSTOMER = {"id": 7, "naam": "Zeven"}
#: Measures the peak memory of the command it runs (its own children's peak RSS, in KiB).
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def run_tap_measured(config: dict[str, Any], tmp_path: Path) -> tuple[TapRun, int]:
    """Run the tap executable; return its run and its peak RSS in MiB."""
    args = [sys.executable, "-c", PEAK_RSS, *tap_command(), *write_inputs(tmp_path, config)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    *log, peak = done.stderr.rstrip().splitlines()
    run = TapRun(done.returncode, parse_messages(done.stdout), done.stdout, "\n".join(log))
    return run, int(peak) // 1024


def client_for(server: HostileServer, timeout: float, tries: int = 2) -> RecrasClient:
    settings = ConnectionSettings.from_config(
        server.config(api_key="limits-key", request_timeout=timeout), "test"
    )
    retry = RetryPolicy(max_tries=tries, base_delay=0.01)
    return RecrasClient(settings, logging.getLogger("test"), retry=retry)


@pytest.mark.slow
def test_a_detail_that_inflates_to_200_mib_stops_the_tap_in_bounded_memory(
    hostile_servers: Servers, tmp_path: Path
) -> None:
    server = hostile_servers(
        {
            "GET /api2/klanten": Reply.json([CUSTOMER]),
            "GET /api2/klanten/*": Reply.gzip_bomb(200 * 1024 * 1024),
        }
    )
    run, peak_mib = run_tap_measured(server.config(api_key="limits-key"), tmp_path)
    assert run.returncode != 0
    assert "answered more than 16 MiB (decompressed)" in run.stderr
    assert "MemoryError" not in run.stderr
    assert peak_mib < 200, f"the tap peaked at {peak_mib} MiB"


@pytest.mark.slow
def test_a_list_item_that_never_ends_stops_the_tap_in_bounded_memory(
    hostile_servers: Servers, tmp_path: Path
) -> None:
    server = hostile_servers(
        {"GET /api2/klanten": Reply.gzip_bomb(200 * 1024 * 1024, in_list=True)}
    )
    run, peak_mib = run_tap_measured(server.config(api_key="limits-key"), tmp_path)
    assert run.returncode != 0
    assert "an item is longer than" in run.stderr
    assert peak_mib < 300, f"the tap peaked at {peak_mib} MiB"


def test_a_write_answer_over_the_cap_is_an_error(hostile_servers: Servers) -> None:
    server = hostile_servers({"PUT /api2/klanten/5": Reply.gzip_bomb(MAX_BODY_BYTES + 1024)})
    with pytest.raises(Exception, match="answered more than 16 MiB"):
        client_for(server, 10).update_klant(5, {"naam": "Vijf"})


def test_an_error_body_over_the_cap_is_cut_not_read_whole(hostile_servers: Servers) -> None:
    huge = "x" * (MAX_BODY_BYTES + 4096)
    server = hostile_servers({"GET /api2/klanten/*": Reply(400, huge)})
    with pytest.raises(Exception, match="failed with HTTP 400: x") as raised:
        client_for(server, 10).get_klant(5)
    assert len(str(raised.value)) < 1000


@pytest.mark.slow
def test_a_list_sent_a_byte_every_2_s_stops_the_tap_within_bounded_time(
    hostile_servers: Servers, tmp_path: Path
) -> None:
    server = hostile_servers({"GET /api2/klanten": Reply.trickle([CUSTOMER], 2.0)})
    started = time.monotonic()
    run, _ = run_tap_measured(server.config(api_key="limits-key", request_timeout=3), tmp_path)
    elapsed = time.monotonic() - started
    assert run.returncode != 0
    assert "arrived too slowly" in run.stderr
    assert "Nothing is lost: rerun" in run.stderr
    assert elapsed < 30, f"took {elapsed:.0f} s"


def test_a_detail_sent_a_byte_at_a_time_is_a_wall_timeout(hostile_servers: Servers) -> None:
    server = hostile_servers({"GET /api2/klanten/*": Reply.trickle({"id": 5}, 0.4)})
    started = time.monotonic()
    with pytest.raises(RecrasUnavailableError, match=r"kept failing \(WallTimeout\) after 2 tries"):
        client_for(server, 1).get_klant(5)
    assert time.monotonic() - started < 10
    assert len(server.requests) == 2


def test_headers_sent_a_byte_at_a_time_are_a_wall_timeout(hostile_servers: Servers) -> None:
    server = hostile_servers(
        {"POST /api2/klanten": Reply.trickle({"id": 5}, 0.3, headers_too=True)}
    )
    started = time.monotonic()
    failures: list[str] = []
    with pytest.raises(RecrasUnavailableError, match="WallTimeout"):
        client_for(server, 1).create_klant({"naam": "X"}, on_retry=failures.append)
    assert failures == ["WallTimeout"], "a POST that timed out may have been processed"
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_a_slow_but_steady_list_is_read_whole(hostile_servers: Servers) -> None:
    customers = [{"id": n, "naam": f"Klant {n} uit Zwolle"} for n in range(1, 3000)]
    body_bytes = len(json.dumps(customers))
    # Twice the rate a list must keep up, by the clock (a loaded machine delays the server's
    # thread, which then catches up): the list takes about 3 s, three times request_timeout.
    rate = 2 * MIN_LIST_BYTES_PER_SECOND
    assert body_bytes / rate > 2.5
    server = hostile_servers({"GET /api2/klanten": Reply.steady(customers, rate)})
    assert [c["id"] for c in client_for(server, 1).iter_klanten()] == list(range(1, 3000))
