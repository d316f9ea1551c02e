"""Two target-recras runs on one id map: one waits for the other, nothing is duplicated.

Real executables against one sandbox. The first test keeps one run holding the map while
another, on the same input, waits for it; the second lets the waiting run give up after its
bounded wait.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    TARGET,
    customer,
    singer_input,
    start_target,
    states,
    target_config,
)


def test_two_runs_at_once_create_every_customer_exactly_once(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # merge="never": without the lock the second run could not even be saved by a merge.
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, latency_ms=20, merge="never")
    config = target_config(tmp_path, sandbox.config(), max_workers=2, id_map_lock_timeout=60)
    count = 40
    text = singer_input([customer(n) for n in range(count)], state_every=10)
    lines = text.splitlines(keepends=True)
    head, tail = "".join(lines[:2]), "".join(lines[2:])  # the SCHEMA and the first record
    # The runs overlap by construction, not by timing: the first holds the id map (its input
    # stays open) until the second, given all of its input, says it waits.
    first = start_target(config)
    assert first.stdin is not None
    first.stdin.write(head)
    first.stdin.flush()
    _wait_until_it_holds_the_map(first, tmp_path)
    second_log = tmp_path / "second.stderr"
    with second_log.open("w", encoding="utf-8") as log, ThreadPoolExecutor(1) as pool:
        second = start_target(config, stderr=log)
        second_output = pool.submit(second.communicate, text, 90)
        deadline = time.monotonic() + 60
        while "is in use by another target-recras run" not in second_log.read_text("utf-8"):
            assert time.monotonic() < deadline, "the second run never waited for the first"
            assert second.poll() is None, second_log.read_text("utf-8")
            time.sleep(0.05)
        outputs = [first.communicate(tail, timeout=90), second_output.result()]
    outputs[1] = (outputs[1][0], second_log.read_text("utf-8"))
    for run, (stdout, stderr) in zip((first, second), outputs, strict=True):
        assert run.returncode == 0, stderr
        assert states(stdout)[-1] == {"done": count}
        assert SECRET_KEY not in stdout + stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names == Counter(f"Klant {n}" for n in range(count)), "lost or duplicated"
    summaries = [stderr.split("Summary: ")[1].split(",")[0:4] for _, stderr in outputs]
    # The first run creates them all; the second finds every record written: unchanged, skipped.
    assert summaries[0][0].endswith(f"{count} created"), summaries
    assert summaries[1][3].strip() == f"{count} unchanged (skipped)", summaries


def _wait_until_it_holds_the_map(run: subprocess.Popen[str], tmp_path: Path) -> None:
    """Return once ``run`` has taken the id map's lock (its pid is in the lock file)."""
    lock_file = tmp_path / "id-map.sqlite3.lock"
    deadline = time.monotonic() + 20
    while f'"pid": {run.pid}' not in (lock_file.read_text() if lock_file.exists() else ""):
        assert time.monotonic() < deadline, "the first run never took the id map"
        assert run.poll() is None, "the first run ended before it took the id map"
        time.sleep(0.05)


@pytest.mark.slow
def test_second_run_stops_after_its_bounded_wait_naming_the_holder(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    first = start_target(config)
    assert first.stdin is not None
    first.stdin.write(singer_input([customer(1)]))  # stdin stays open: the run goes on
    first.stdin.flush()
    _wait_until_it_holds_the_map(first, tmp_path)

    try:
        waiter = target_config(tmp_path, sandbox.config(), id_map_lock_timeout=1.5)
        started = time.monotonic()
        second = subprocess.run(
            [TARGET, "--config", str(waiter)],
            input=singer_input([customer(2)]),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        waited = time.monotonic() - started
    finally:
        _, stderr = first.communicate("", timeout=30)
    assert second.returncode == 1
    assert 1.5 <= waited < 15
    message = second.stderr
    assert "CRITICAL" in message and "Traceback" not in message
    assert f"The id map {tmp_path / 'id-map.sqlite3'} is in use by another target-recras run" in (
        message
    )
    assert f"pid {first.pid} on host {socket.gethostname()}, since 20" in message
    assert "waited 1.5 s (id_map_lock_timeout)" in message
    # The second run wrote nothing; the first one finished normally.
    assert first.returncode == 0, stderr
    assert [item["naam"] for item in sandbox.customers()] == ["Klant 1"]
