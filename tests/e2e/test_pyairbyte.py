"""PyAirbyte (the ``airbyte`` package, .venv-airbyte) runs source-recras and destination-recras.

PyAirbyte runs each connector as a local executable (``get_source(..., local_executable=)``)
from the project's venv, validates the config against the SPEC, reads into its DuckDB
cache and keeps the state there. The first test keeps one source of the two customer
streams and one cache, as a notebook session does: four reads with customers added between
them (each must read exactly the new ones), then two reads the caller gives up on --
``get_records`` left after three records, and a read into the cache stopped by Ctrl-C --
after which PyAirbyte must have reported no connector failure (it kills a connector still
running 10 s after its SIGTERM, and takes any exit status but 0 and -15 for a failure), and
the next read must resume from the cached state; then discover, several times (PyAirbyte
stops the connector right after its CATALOG); last, it writes the demo's customer export
into the sandbox through destination-recras, reshaped by the same stream map meltano.yml
uses, and the target's summary must reach the driver's stderr (PyAirbyte keeps the
connector's LOG messages in a file of its own). The second reads every stream of a small
sandbox into a cache three times, changing the sandbox between reads: each read, the third
too, moves exactly what is due from the state it kept.

The driver (``peer_programs/pyairbyte_driver.py``) runs in .venv-airbyte, installed by
``scripts/install_peers.sh``; ``AIRBYTE_OFFLINE_MODE=1`` keeps PyAirbyte off the network.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.airbyte import REFERENCE_TABLES, STREAM_KEYS, due, sandbox_rows
from support.paths import ROOT

AIRBYTE_PYTHON = ROOT / ".venv-airbyte" / "bin" / "python"
DATA = Path(__file__).resolve().parent / "peer_programs"
BIN = Path(sys.executable).parent
SECRET_KEY = "pyairbyte-secret-key-5d2e81b7c4"

pytestmark = pytest.mark.slow


class Driver:
    """The PyAirbyte driver process; :meth:`ask` sends one request and waits for its summary."""

    def __init__(self, workdir: Path) -> None:
        assert AIRBYTE_PYTHON.is_file(), "PyAirbyte is missing: run ./scripts/install_peers.sh"
        env = {**os.environ, "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", "NO_COLOR": "1"}
        # PyAirbyte's own log files (connector failures with their exit codes), per test.
        self.logs_dir = workdir / "airbyte-logs"
        env["AIRBYTE_LOGGING_ROOT"] = str(self.logs_dir)
        self.stderr_path = workdir / "pyairbyte.log"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [str(AIRBYTE_PYTHON), str(DATA / "pyairbyte_driver.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=workdir,  # PyAirbyte keeps its files in ./.cache
            env=env,
        )
        self.output: list[str] = []

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        for _ in range(100_000):  # bounded; the pytest timeout bounds the time
            line = self.proc.stdout.readline()
            self.output.append(line)
            if line.startswith("SUMMARY "):
                summary: dict[str, Any] = json.loads(line.removeprefix("SUMMARY "))
                return summary
            if not line:
                break
        log = self.stderr_path.read_text()[-4000:]
        raise AssertionError(f"the driver ended: {''.join(self.output)[-3000:]}\n{log}")

    def pyairbyte_logs(self) -> str:
        """Everything PyAirbyte wrote to its log files so far."""
        files = sorted(p for p in self.logs_dir.rglob("*") if p.is_file())
        return "".join(p.read_text(errors="replace") for p in files)

    def close(self) -> str:
        """Stop the driver; everything it wrote (stdout and stderr)."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        finally:
            self.proc.kill()
            self.proc.wait()
            self._stderr.close()
        return "".join(self.output) + self.stderr_path.read_text()


def _export_stream_map() -> dict[str, Any]:
    """The stream map meltano.yml's tap-customers-export uses to make Recras customers."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (export,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-customers-export"]
    stream_maps: dict[str, Any] = export["config"]["stream_maps"]
    return stream_maps


def _export_source(tmp_path: Path) -> Path:
    wrapper = tmp_path / "source-export"
    export = ROOT / "demo" / "export_customers.jsonl"
    wrapper.write_text(
        f'#!/bin/sh\nEXPORT_FILE="{export}" exec "{sys.executable}" '
        f'"{DATA / "export_source.py"}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def _write_export(recras: Any, driver: Driver, tmp_path: Path) -> None:
    """The demo's customer export into Recras through destination-recras, reshaped by the
    stream map meltano.yml uses."""
    before = {c["id"] for c in recras.customers()}
    write = {
        "command": "write",
        "export": str(_export_source(tmp_path)),
        "destination": str(BIN / "destination-recras"),
        "destination_config": recras.config(
            stream_maps=_export_stream_map(),
            rejects_path=str(tmp_path / "rejects.jsonl"),
            id_map_path=str(tmp_path / "id-map.sqlite3"),
        ),
    }
    written = driver.ask(write)
    assert written["written"] == 20
    added = [c for c in recras.customers() if c["id"] not in before]
    assert len(added) == 19
    assert "Bakkerij De Korenschoof" in {c["naam"] for c in added}
    rejects = (tmp_path / "rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 1 and "Zeeland" in rejects[0]
    # The summary reaches the user: the stderr PyAirbyte passes on, not only its log file.
    shown = driver.stderr_path.read_text().splitlines()
    (summary,) = [line for line in shown if line.startswith("destination-recras summary: ")]
    assert summary.startswith("destination-recras summary: 20 records read: 19 created, "), summary
    assert ", 1 rejected, " in summary, summary
    rejects_line = f"destination-recras: the rejected records and the reasons are in {tmp_path}"
    assert f"{rejects_line}/rejects.jsonl" in shown


#: How PyAirbyte reports a connector it had to kill (``Exit Code: -9``) or whose exit status
#: it refused, raised or (from a generator it abandoned) printed as an unraisable exception.
FAILURE_SIGNS = (
    "Exit Code",
    "AirbyteSubprocessFailedError",
    "AirbyteConnectorFailedError",
    "Exception ignored",
)


def test_pyairbyte_reads_only_new_customers_every_time_survives_cancels_and_writes(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    recras = sandbox_factory(customers=200, bookings=0, api_key=SECRET_KEY)
    driver = Driver(tmp_path)
    try:
        _reads_cancels_and_discovers(recras, driver, tmp_path)
        _write_export(recras, driver, tmp_path)
        logs = driver.pyairbyte_logs()
    finally:
        everything = driver.close()
    assert SECRET_KEY not in everything + logs
    # No connector was killed, nor its exit status refused, not even where PyAirbyte cannot
    # raise it (the driver reports those with each step, and they would show here too).
    lines = (everything + logs).splitlines()
    failures = [line for line in lines if any(sign in line for sign in FAILURE_SIGNS)]
    assert not failures, failures[:20]


def _read(driver: Driver, recras: Any, **extra: Any) -> dict[str, Any]:
    recras.reset_stats()
    summary = driver.ask({"command": "read_cached", "name": "recras", "cache": "kept", **extra})
    summary["details"] = recras.stats()["requests"].get("GET /api2/klanten/{id}", 0)
    summary["lists"] = recras.stats()["requests"].get("GET /api2/klanten", 0)
    return summary


def _assert_read_exactly(
    summary: dict[str, Any], recras: Any, new_ids: list[int], what: str
) -> None:
    """The read processed ``new_ids`` and their persons, no more; the cache holds everyone."""
    customers = recras.customers()
    new = [c for c in customers if c["id"] in set(new_ids)]
    new_links = sum(len(c["contactpersonen"]) for c in new)
    assert summary["error"] is None and not summary["interrupted"], (what, summary)
    assert summary["unraisable"] == [], (what, summary["unraisable"])
    assert summary["processed_records"] == len(new) + new_links, (what, len(new), new_links)
    assert summary["details"] == len(new), what  # one detail request per new customer
    assert summary["lists"] == 1, what
    assert summary["klanten_ids"] == sorted(c["id"] for c in customers), what
    links = sorted([c["id"], p["id"]] for c in customers for p in c["contactpersonen"])
    assert summary["links"] == links, what
    highest = max(c["id"] for c in customers)
    for stream in ("klanten", "contactpersonen"):
        assert summary["state"][stream]["replication_key_value"] == highest, (what, stream)


def _reads_cancels_and_discovers(recras: Any, driver: Driver, tmp_path: Path) -> None:
    config = recras.config(max_workers=2)
    source = str(BIN / "source-recras")
    customers = ["klanten", "contactpersonen"]
    driver.ask(
        {
            "command": "open",
            "name": "recras",
            "source": source,
            "config": config,
            "streams": customers,
        }
    )
    cache = {"cache_dir": str(tmp_path)}

    # Four reads into one cache, new customers between them; each reads only the new ones,
    # not again those of the reads before (5, then 8 instead of 3, then 12 instead of 4).
    everyone = [c["id"] for c in recras.customers()]
    _assert_read_exactly(_read(driver, recras, **cache), recras, everyone, "first read")
    for count in (5, 3, 4):
        new_ids = recras.add_customers(count)
        _assert_read_exactly(_read(driver, recras, **cache), recras, new_ids, f"+{count}")

    # The caller takes three customers from get_records, lingers, and gives up on the rest.
    # The connector, blocked meanwhile on a full pipe that nobody reads any more, must end
    # within the 10 s PyAirbyte waits before SIGKILL, by the SIGTERM PyAirbyte sent (exit 0
    # or -15 are all PyAirbyte accepts).
    cancel = driver.ask(
        {
            "command": "cancel_records",
            "name": "recras",
            "stream": "klanten",
            "take": 3,
            "linger": 1.5,
        }
    )
    assert len(cancel["taken"]) == 3 and cancel["error"] is None, cancel
    assert cancel["unraisable"] == [], cancel
    assert cancel["close_seconds"] < 10, cancel

    # A read into the cache stopped by the caller (Ctrl-C) while the connector waits on a
    # slow Recras: PyAirbyte stops the connector in time, keeps nothing of the read, and
    # the next read reads the same new customers from the cached state.
    highest = max(c["id"] for c in recras.customers())
    new_ids = recras.add_customers(20)
    recras.set_faults(latency_ms=150)
    recras.reset_stats()
    stopped: list[dict[str, Any]] = []
    interrupter = threading.Thread(target=_interrupt_after_details, args=(recras, driver, 3))
    interrupter.start()
    try:
        stopped.append(
            driver.ask({"command": "read_cached", "name": "recras", "cache": "kept", **cache})
        )
    finally:
        interrupter.join(timeout=60)
    (summary,) = stopped
    assert summary["interrupted"] and summary["error"] is None, summary
    assert summary["unraisable"] == [], summary
    assert summary["stopped_seconds"] < 10, summary
    assert set(new_ids).isdisjoint(summary["klanten_ids"]), "an interrupted read kept records"
    assert summary["state"]["klanten"]["replication_key_value"] == highest, summary["state"]
    recras.set_faults(latency_ms=0)
    _assert_read_exactly(_read(driver, recras, **cache), recras, new_ids, "after the Ctrl-C")

    # Discover, several times: PyAirbyte stops the connector right after its CATALOG.
    found = driver.ask({"command": "discover", "source": source, "config": config, "times": 3})
    assert found["errors"] == [] and found["unraisable"] == [], found
    assert found["catalogs"] == [sorted(STREAM_KEYS)] * 3, found


def test_pyairbyte_reads_every_stream_each_time_moving_only_what_is_due(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """Three reads of every stream into one cache, the sandbox changed between them.

    Each read moves exactly what is due from the state PyAirbyte kept (new customers and
    bookings, the invoices and their lines within the look-back, the reference tables), and
    the cache then holds every row the sandbox has (concept invoices aside: they have no date).
    A test of its own: PyAirbyte merges each of the 16 streams into its cache on every read.
    """
    recras = sandbox_factory(customers=30, bookings=40)
    driver = Driver(tmp_path)
    try:
        _reads_every_stream(recras, driver, tmp_path)
        logs = driver.pyairbyte_logs()
    finally:
        everything = driver.close()
    lines = (everything + logs).splitlines()
    failures = [line for line in lines if any(sign in line for sign in FAILURE_SIGNS)]
    assert not failures, failures[:20]


def _reads_every_stream(recras: Any, driver: Driver, tmp_path: Path) -> None:
    config = recras.config(max_workers=2)
    driver.ask(
        {"command": "open", "name": "all", "source": str(BIN / "source-recras"), "config": config}
    )
    changes = [
        lambda: None,
        lambda: (recras.add_customers(2), recras.add_bookings(3), recras.add_invoices(2)),
        lambda: (
            recras.add_customers(1),
            recras.add_bookings(1),
            recras.add_payment(recras.add_invoices(1)[0], "12.50"),
        ),
    ]
    for number, change in enumerate(changes, start=1):
        change()
        rows = sandbox_rows(recras)
        # The cache's keys only after the last read: listing 16 tables costs a minute when busy.
        keys = STREAM_KEYS if number == len(changes) else {}
        request = {"command": "read_streams", "name": "all", "cache": "all", "keys": keys}
        summary = driver.ask({**request, "cache_dir": str(tmp_path)})
        assert summary["error"] is None and summary["unraisable"] == [], (number, summary)
        before, after = _positions(summary["state_before"]), _positions(summary["state"])
        moved = due(rows, before)
        assert summary["processed_records"] == sum(map(len, moved.values())), (number, before)
        every = due(rows, {})
        for name, keys in summary["keys"].items():
            assert [tuple(key) for key in keys] == sorted(every[name]), (number, name)
        assert set(after) == set(STREAM_KEYS) - set(REFERENCE_TABLES), number
        assert all(after[name] >= position for name, position in before.items()), number


def _positions(states: dict[str, Any]) -> dict[str, Any]:
    """Each stream's ``replication_key_value`` in the states PyAirbyte keeps."""
    return {
        name: state["replication_key_value"]
        for name, state in states.items()
        if state and "replication_key_value" in state
    }


def _interrupt_after_details(recras: Any, driver: Driver, details: int) -> None:
    """SIGINT to the driver (its Ctrl-C) once Recras has answered ``details`` detail requests."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if recras.stats()["requests"].get("GET /api2/klanten/{id}", 0) >= details:
            os.kill(driver.proc.pid, signal.SIGINT)
            return
        time.sleep(0.02)
