"""Stopping a run: SIGTERM mid-run, a rerun that keeps only the .sqlite3 file, and dry runs.

On SIGTERM the real target-recras executable lets the writes in flight finish, starts no
queued one, emits the last safe STATE, logs its summary and exits 143. Its id map is then
complete in ``id-map.sqlite3`` alone (the WAL was folded in when it stopped), so a rerun
from the last STATE with nothing else kept writes every customer exactly once -- under the
sandbox's "never merge" reading, where a lost id map entry would show as a duplicate.
"""

from __future__ import annotations

import json
import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    run_target,
    singer_input,
    start_target,
    states,
    target_config,
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "input_ends"),
    [(4, False), (1, False), (4, True)],
    # 4 workers queue all 400 records and wait for input; 1 worker's queue (256) fills up;
    # or the input ends as the signal arrives (as when the orchestrator stops the tap too).
    ids=["waiting for input", "waiting for room in the queue", "input ends at the signal"],
)
def test_sigterm_drains_emits_last_safe_state_and_exits_143(
    workers: int, input_ends: bool, sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, latency_ms=20, merge="never")
    config = target_config(tmp_path, sandbox.config(), max_workers=workers)
    count = 400
    records = [customer(n) for n in range(count)]
    process = start_target(config)
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(singer_input(records, state_every=10))
    process.stdin.flush()  # stdin stays open: the target waits for more input
    seen = [json.loads(process.stdout.readline()) for _ in range(3)]
    process.send_signal(signal.SIGTERM)
    if input_ends:
        process.stdin.close()
    # Otherwise stdin stays open until the target has exited: the signal alone ends the run.
    process.wait(timeout=60)
    rest, stderr = process.stdout.read(), process.stderr.read()
    process.stdin.close()
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and SECRET_KEY not in stderr
    assert "Received SIGTERM: finishing the writes in flight, starting no new ones." in stderr
    assert re.search(r"Summary: \d+ records read: \d+ created", stderr)
    assert "Stopped by SIGTERM (exit code 143)" in stderr
    emitted = seen + states(rest)
    done = emitted[-1]["done"]
    # No queued write started: most of the input was never sent ...
    written = sandbox.stats()["customers"]
    assert written < count / 2
    # ... and the last STATE covers every record written in order before it.
    assert done <= written

    # Keep only the .sqlite3 file: no -wal, -shm or .lock.
    for suffix in ("-wal", "-shm", ".lock"):
        (tmp_path / f"id-map.sqlite3{suffix}").unlink(missing_ok=True)
    assert [p.name for p in tmp_path.glob("id-map*")] == ["id-map.sqlite3"]
    rerun_config = target_config(tmp_path, sandbox.config(), max_workers=8)
    rerun = run_target(rerun_config, singer_input(records[done:], state_every=10))
    assert rerun.returncode == 0, rerun.stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names == Counter(f"Klant {n}" for n in range(count)), "lost or duplicated"
    assert states(rerun.stdout)[-1] == {"done": count - done}  # numbered from the slice


def test_dry_run_emits_no_state(tmp_path: Path) -> None:
    config = target_config(tmp_path, {"base_url": "https://recras.invalid"}, dry_run=True)
    result = run_target(config, singer_input([customer(n) for n in range(5)], state_every=2))
    assert result.returncode == 0, result.stderr
    assert "dry run: 5 would be created" in result.stderr
    assert "no STATE is passed on" in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_run_stopped_by_an_error_leaves_a_complete_sqlite3_file(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, latency_ms=10, merge="never")
    config = target_config(tmp_path, sandbox.config(), max_workers=2)
    count = 60
    records = [customer(n) for n in range(count)]
    # A malformed SCHEMA (no 'schema') of another stream after record 40 stops the run.
    text = singer_input(records[:40], state_every=5)
    text += json.dumps({"type": "SCHEMA", "stream": "other", "key_properties": []}) + "\n"
    text += singer_input(records[40:])
    result = run_target(config, text)
    assert result.returncode == 1
    assert "the SCHEMA message for stream 'other' is malformed" in result.stderr
    assert "Summary: 40 records read" in result.stderr
    done = states(result.stdout)[-1]["done"]
    # The WAL was folded into the .sqlite3 file when the run stopped: keep only that file.
    assert not (tmp_path / "id-map.sqlite3-wal").exists()
    for suffix in ("-shm", ".lock"):
        (tmp_path / f"id-map.sqlite3{suffix}").unlink(missing_ok=True)
    rerun = run_target(config, singer_input(records[done:], state_every=5))
    assert rerun.returncode == 0, rerun.stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names == Counter(f"Klant {n}" for n in range(count)), "lost or duplicated"
