"""Two target-recras runs on one id map: one waits for the other, nothing is duplicated.

Real executables against one sandbox. The first test starts both runs at once on the same
input; the second keeps one run open and lets another give up after its bounded wait.
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
    runs = [start_target(config), start_target(config)]
    with ThreadPoolExecutor(2) as pool:  # both runs get their input at once
        outputs = list(pool.map(lambda run: run.communicate(text, timeout=90), runs))
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        assert states(stdout)[-1] == {"done": count}
        assert SECRET_KEY not in stdout + stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names == Counter(f"Klant {n}" for n in range(count)), "lost or duplicated"
    summaries = sorted(stderr.split("Summary: ")[1].split(",")[0:4] for _, stderr in outputs)
    created = [s for s in summaries if s[0].endswith(f"{count} created")]
    # The second run finds every record written by the first: unchanged, skipped.
    updated = [s for s in summaries if s[3].strip() == f"{count} unchanged (skipped)"]
    assert len(created) == 1 and len(updated) == 1, summaries
    # The run that came second said why it waited.
    assert any("is in use by another target-recras run" in stderr for _, stderr in outputs)


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
    lock_file = tmp_path / "id-map.sqlite3.lock"
    deadline = time.monotonic() + 20
    while f'"pid": {first.pid}' not in (lock_file.read_text() if lock_file.exists() else ""):
        assert time.monotonic() < deadline, "the first run never took the id map"
        time.sleep(0.05)

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
