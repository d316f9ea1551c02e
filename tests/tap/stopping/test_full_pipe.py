"""tap-recras stopped by SIGTERM while its stdout pipe is full: it ends within seconds.

The tap writes its last safe STATE once the write under way is done. When the reader never
reads again (an orchestrator that stopped both ends of the pipe), that write never ends: the
tap must still exit, with 143, within its grace period instead of waiting for a SIGKILL.
When the reader does come back, every line is whole and the last STATE follows every record.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from support.sandbox import SandboxFactory

from recras_api.plugin.termination import GRACE_SECONDS
from tap_recras.testing import parse_messages, run_tap, start_tap

#: The grace period and a margin for a busy machine (a deadlocked tap never ends at all).
ENDS_WITHIN = GRACE_SECONDS + 12


@pytest.mark.slow
@pytest.mark.parametrize("reader_comes_back", [True, False], ids=["reader-returns", "never-read"])
def test_tap_stopped_while_its_stdout_is_full_exits_143(
    sandbox_factory: SandboxFactory, tmp_path: Path, reader_comes_back: bool
) -> None:
    sandbox = sandbox_factory(customers=600)  # 600 KB of records: ten times what a pipe holds
    config = sandbox.config(max_workers=2)
    with (tmp_path / "stderr.log").open("w") as log:
        process = start_tap(tmp_path, config, stderr=log, log_level="INFO")
        try:
            deadline = time.monotonic() + 30
            while "GET /api2/klanten" not in sandbox.stats()["requests"]:
                assert time.monotonic() < deadline, "the tap never listed customers"
                time.sleep(0.05)
            time.sleep(1.0)  # the records fill the pipe; the tap blocks writing
            assert process.poll() is None, "the tap ended before it could be stopped"
            process.send_signal(signal.SIGTERM)
            if reader_comes_back:
                time.sleep(0.5)
                stdout, _ = process.communicate(timeout=ENDS_WITHIN)
            else:
                process.wait(timeout=ENDS_WITHIN)
                stdout = ""
        finally:
            process.kill()
            process.communicate()
    assert process.returncode == 143, (tmp_path / "stderr.log").read_text()[-2000:]
    if not reader_comes_back:
        return
    lines = stdout.splitlines()
    messages = parse_messages(stdout)
    assert len(messages) == len(lines), "a line was cut"
    assert messages[-1]["type"] == "STATE"
    sent = {
        m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "klanten"
    }
    resumed = run_tap(config, state=messages[-1]["value"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    everyone = {c["id"] for c in sandbox.customers()}
    assert sent | {r["id"] for r in resumed.records("klanten")} == everyone


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.1, 0.3])
def test_a_stop_as_a_finished_run_exits_is_not_death_by_signal(
    sandbox_factory: SandboxFactory, tmp_path: Path, delay: float
) -> None:
    """SIGTERM after the final STATE, while the process exits: its status is 0 or 143.

    The interpreter's finalization puts the default handlers back; a stop landing there
    ended a finished run by the signal (-15), which no documented outcome is.
    """
    sandbox = sandbox_factory(customers=5)
    top = max(c["id"] for c in sandbox.customers())
    with (tmp_path / "stderr.log").open("w") as log:
        process = start_tap(tmp_path, sandbox.config(), stderr=log, log_level="INFO")
        assert process.stdout is not None
        for _ in range(1000):  # bounded: a handful of lines
            message = json.loads(process.stdout.readline())
            bookmark = message.get("value", {}).get("bookmarks", {}).get("klanten", {})
            if bookmark.get("replication_key_value") == top:
                break
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=ENDS_WITHIN)
    assert process.returncode in (0, 143), (tmp_path / "stderr.log").read_text()[-2000:]
