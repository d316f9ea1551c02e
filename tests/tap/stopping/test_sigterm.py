"""SIGTERM: the tap writes its buffered records and the last safe STATE,
then exits 143, so an orchestrator does not record a success.

The real executable runs against a slow sandbox and is sent SIGTERM in the middle of the
list; resuming from the STATE it wrote last must miss no customer.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import parse_messages, run_tap, start_tap

pytestmark = pytest.mark.slow


def detail_requests(sandbox: SandboxProcess) -> int:
    return int(sandbox.stats()["requests"].get("GET /api2/klanten/{id}", 0))


def test_sigterm_writes_records_then_state_and_exits_143(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=300, latency_ms=15)
    config = sandbox.config(max_workers=1)
    all_ids = [c["id"] for c in sandbox.customers()]

    with (tmp_path / "stderr.log").open("w") as log:
        process = start_tap(tmp_path, config, stderr=log, log_level="INFO")
        deadline = time.monotonic() + 30
        # Few enough records that they are all still in the writer's buffer.
        while detail_requests(sandbox) < 25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the tap ended before it could be stopped"
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=60)
    stderr = (tmp_path / "stderr.log").read_text()
    messages = parse_messages(stdout)

    assert process.returncode == 143, stderr[-2000:]
    assert "SIGTERM" in stderr
    assert messages[-1]["type"] == "STATE"
    sent = [
        m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "klanten"
    ]
    assert len(sent) >= 20  # the buffered records went out before the STATE
    assert sent == all_ids[: len(sent)] and len(sent) < len(all_ids)
    # The state is safe: nothing is bookmarked past what a complete run would have covered.
    last_state = messages[-1]["value"]
    assert last_state["bookmarks"]["klanten"].get("replication_key_value") is None

    resumed = run_tap(config, state=last_state)

    assert resumed.returncode == 0, resumed.stderr
    assert [r["id"] for r in resumed.records("klanten")] == all_ids
