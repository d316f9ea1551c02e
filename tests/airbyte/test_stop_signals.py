"""source-recras and destination-recras stopped by SIGTERM: safe state, a TRACE, death by SIGTERM.

PyAirbyte stops a connector by SIGTERM, stops reading its output, and kills it 10 s later; it
takes exit -15 for the cancel it asked for and any other status for a failure. So a stopped
connector must end by the signal within seconds, even when its stdout pipe is full and
nobody reads it, after its last safe STATE and a TRACE ERROR saying why (when someone still
reads). Each run here is the real executable against a real sandbox, its stdout a real pipe.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from support.airbyte import (
    BIN,
    airbyte_message,
    configured_catalog,
    discover,
    run_connector,
    write_json,
)
from support.processes import read_rest
from support.target import customer

from recras_api.plugin.termination import GRACE_SECONDS
from tap_recras.testing import json_lines

pytestmark = pytest.mark.slow

#: How long a stopped connector may take at most: its grace period and a margin for a slow,
#: busy test machine. Not a speed figure: a deadlocked connector never ends.
ENDS_WITHIN = GRACE_SECONDS + 12


def _wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _read_config(sandbox: Any, tmp_path: Path, modes: dict[str, str]) -> tuple[Path, Path]:
    config = write_json(tmp_path / "config.json", sandbox.config(max_workers=2))
    catalog = write_json(tmp_path / "catalog.json", configured_catalog(discover(config), modes))
    return config, catalog


def _start(*args: str | Path, tmp_path: Path, stdin: Any = subprocess.DEVNULL) -> Any:
    return subprocess.Popen(
        [str(BIN / str(args[0])), *map(str, args[1:])],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "stderr.log").open("w"),
    )


def _messages(raw: bytes) -> list[dict[str, Any]]:
    """Every line of a stopped connector's output: each a whole, valid protocol message."""
    return [airbyte_message(line) for line in json_lines(raw.decode("utf-8"))]


def _first_state(sandbox: Any, config: Path, catalog: Path, tmp_path: Path) -> list[Any]:
    done = run_connector("source-recras", "read", "--config", config, "--catalog", catalog)
    assert done.returncode == 0, done.stdout[-2000:]
    last = done.of_type("STATE")[-1]["state"]
    return [last]


@pytest.mark.parametrize("reader_comes_back", [True, False], ids=["reader-returns", "never-read"])
def test_source_stopped_while_its_stdout_is_full_ends_by_sigterm(
    sandbox_factory: Any, tmp_path: Path, reader_comes_back: bool
) -> None:
    sandbox = sandbox_factory(customers=20)
    config, catalog = _read_config(sandbox, tmp_path, {"klanten": "incremental"})
    state = write_json(tmp_path / "state.json", _first_state(sandbox, config, catalog, tmp_path))
    new_ids = sandbox.add_customers(600)  # 600 KB of records: ten times what a pipe holds
    sandbox.reset_stats()
    process = _start(
        "source-recras", "read", "--config", config, "--catalog", catalog, "--state", state,
        tmp_path=tmp_path,
    )  # fmt: skip
    try:
        _wait_for(lambda: "GET /api2/klanten" in sandbox.stats()["requests"], "the list request")
        time.sleep(1.0)  # the list is read; the records fill the pipe, the writer blocks
        assert process.poll() is None, "the read ended before it could be stopped"
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        if reader_comes_back:
            time.sleep(0.5)
            raw, _ = process.communicate(timeout=ENDS_WITHIN)
        else:
            process.wait(timeout=ENDS_WITHIN)
            raw = b""
        took = time.monotonic() - stopped
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGTERM, (tmp_path / "stderr.log").read_text()[-2000:]
    assert took < ENDS_WITHIN
    if not reader_comes_back:
        return
    messages = _messages(raw)
    kinds = [m["type"] for m in messages]
    # The last safe STATE comes after every record, then the TRACE that says why it ended.
    assert "STATE" in kinds, f"no STATE in {len(kinds)} messages: {kinds[:3]} ... {kinds[-3:]}"
    last_state = max(i for i, kind in enumerate(kinds) if kind == "STATE")
    assert "RECORD" not in kinds[last_state:]
    error = messages[-1]["trace"]["error"]
    assert error["failure_type"] == "transient_error" and "SIGTERM" in error["message"]
    # Resuming from it loses nothing.
    resume = write_json(tmp_path / "resume.json", [messages[last_state]["state"]])
    sent = {m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD"}
    rest = run_connector(
        "source-recras", "read", "--config", config, "--catalog", catalog, "--state", resume
    )
    assert rest.returncode == 0, rest.stdout[-2000:]
    assert sent | {r["id"] for r in rest.records("klanten")} >= set(new_ids)


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.3])
def test_a_stop_as_a_finished_read_exits_is_traced_or_not_at_all(
    sandbox_factory: Any, tmp_path: Path, delay: float
) -> None:
    """SIGTERM after the final STATEs, while the process exits: 0, or -15 after a TRACE.

    The interpreter's finalization puts the default handlers back; a stop landing there
    ended a finished read by the signal without its TRACE.
    """
    sandbox = sandbox_factory(customers=5)
    config, catalog = _read_config(
        sandbox, tmp_path, {"klanten": "incremental", "contactpersonen": "incremental"}
    )
    process = _start("source-recras", "read", "--config", config, "--catalog", catalog,
                     tmp_path=tmp_path)  # fmt: skip
    try:
        assert process.stdout is not None
        states = 0
        for _ in range(10_000):  # bounded: the read writes a few hundred lines
            line = process.stdout.readline()
            if not line:
                break
            states += airbyte_message(line.decode())["type"] == "STATE"
            if states == 2:  # one per stream: the read is done
                break
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        raw = read_rest(process, ENDS_WITHIN)
    finally:
        process.kill()
        process.wait()
    rest = _messages(raw)
    assert process.returncode in (0, -signal.SIGTERM), (tmp_path / "stderr.log").read_text()
    if process.returncode == -signal.SIGTERM:
        assert rest and rest[-1]["type"] == "TRACE", [m["type"] for m in rest]


def test_source_discover_stopped_after_its_catalog_ends_by_sigterm(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """As PyAirbyte does: it reads the CATALOG, then stops the connector."""
    sandbox = sandbox_factory(customers=5)
    config = write_json(tmp_path / "config.json", sandbox.config())
    process = _start("source-recras", "discover", "--config", config, tmp_path=tmp_path)
    try:
        assert process.stdout is not None
        for _ in range(1000):  # bounded: the connector writes a few LOG lines first
            line = process.stdout.readline()
            if not line or airbyte_message(line.decode())["type"] == "CATALOG":
                break
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=ENDS_WITHIN)
    finally:
        process.kill()
        process.wait()
    assert process.returncode in (0, -signal.SIGTERM), (tmp_path / "stderr.log").read_text()


def test_destination_stopped_mid_write_traces_and_ends_by_sigterm(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, latency_ms=20, merge="never")
    config = write_json(
        tmp_path / "dest.json",
        sandbox.config(
            rejects_path=str(tmp_path / "rejects.jsonl"),
            id_map_path=str(tmp_path / "id-map.sqlite3"),
            max_workers=2,
        ),
    )
    catalog = write_json(tmp_path / "catalog.json", _export_catalog())
    lines = []
    for n in range(200):
        record = {"stream": "klanten", "data": customer(n), "emitted_at": 1}
        lines.append({"type": "RECORD", "record": record})
        if n % 10 == 9:
            lines.append(_state(n + 1))
    process = _start(
        "destination-recras", "write", "--config", config, "--catalog", catalog,
        tmp_path=tmp_path, stdin=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("".join(json.dumps(line) + "\n" for line in lines).encode())
        process.stdin.flush()  # stdin stays open: the destination waits for more input
        first = airbyte_message(_next_state_line(process.stdout))
        process.send_signal(signal.SIGTERM)
        raw = read_rest(process, ENDS_WITHIN)
    finally:
        process.kill()
        process.wait()
    stderr = (tmp_path / "stderr.log").read_text()
    assert process.returncode == -signal.SIGTERM, stderr[-2000:]
    assert "Traceback" not in stderr
    messages = [first, *_messages(raw)]
    error = messages[-1]["trace"]["error"]
    assert error["failure_type"] == "transient_error" and "SIGTERM" in error["message"]
    echoed = [
        m["state"]["stream"]["stream_state"]["done"] for m in messages if m["type"] == "STATE"
    ]
    # Every STATE echoed covers records that are in Recras; most of the input never was sent.
    written = {c["naam"] for c in sandbox.customers()}
    assert {f"Klant {n}" for n in range(echoed[-1])} <= written
    assert len(written) < len(lines)


def _next_state_line(stdout: Any) -> str:
    for _ in range(10_000):  # bounded: LOG lines come first
        line: str = stdout.readline().decode()
        if not line or airbyte_message(line)["type"] == "STATE":
            return line
    raise AssertionError("no STATE line")


def _state(done: int) -> dict[str, Any]:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": "klanten"}, "stream_state": {"done": done}},
        },
    }


def _export_catalog() -> dict[str, Any]:
    stream = {
        "name": "klanten",
        "json_schema": {"type": "object", "properties": {}},
        "supported_sync_modes": ["incremental"],
    }
    return {
        "streams": [
            {
                "stream": stream,
                "sync_mode": "incremental",
                "destination_sync_mode": "append_dedup",
                "primary_key": [["external_id"]],
            }
        ]
    }
