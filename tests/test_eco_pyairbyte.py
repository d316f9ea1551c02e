"""PyAirbyte (the ``airbyte`` package, .venv-airbyte) runs source-recras and destination-recras.

PyAirbyte runs each connector as a local executable (``get_source(..., local_executable=)``)
from the project's venv, validates the config against the SPEC, reads into its DuckDB
cache and keeps the state there. The test reads the sandbox, adds customers, reads again
(only the new ones must arrive), then writes the demo's customer export into the sandbox
through destination-recras, reshaped by the same stream map meltano.yml uses.

The driver (``test_eco_data/pyairbyte_driver.py``) runs in .venv-airbyte, installed by
``scripts/install_peers.sh``; ``AIRBYTE_OFFLINE_MODE=1`` keeps PyAirbyte off the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
AIRBYTE_PYTHON = ROOT / ".venv-airbyte" / "bin" / "python"
DATA = Path(__file__).resolve().parent / "test_eco_data"
BIN = Path(sys.executable).parent
SECRET_KEY = "pyairbyte-secret-key-5d2e81b7c4"


class Driver:
    """The PyAirbyte driver process; :meth:`ask` sends one request and waits for its summary."""

    def __init__(self, workdir: Path) -> None:
        assert AIRBYTE_PYTHON.is_file(), "PyAirbyte is missing: run ./scripts/install_peers.sh"
        env = {**os.environ, "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", "NO_COLOR": "1"}
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


def test_pyairbyte_reads_incrementally_and_writes_an_export(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    recras = sandbox_factory(customers=40, api_key=SECRET_KEY)
    driver = Driver(tmp_path)
    try:
        _read_add_read_write(recras, driver, tmp_path)
    finally:
        everything = driver.close()
    assert SECRET_KEY not in everything


def _read_add_read_write(recras: Any, driver: Driver, tmp_path: Path) -> None:
    read = {
        "command": "read",
        "source": str(BIN / "source-recras"),
        "config": recras.config(),
        "cache_dir": str(tmp_path),
    }
    first = driver.ask(read)
    customers = recras.customers()
    assert first["klanten_ids"] == sorted(c["id"] for c in customers)
    links = sum(len(c["contactpersonen"]) for c in customers)
    assert first["contactpersonen_rows"] == links
    assert first["processed_records"] == len(customers) + links

    new_ids = recras.add_customers(5)
    recras.reset_stats()
    second = driver.ask(read)
    new_links = sum(len(c["contactpersonen"]) for c in recras.customers() if c["id"] in new_ids)
    # Only the new customers (and their contact persons) arrived; the cache has them all.
    assert second["processed_records"] == len(new_ids) + new_links
    assert second["klanten_ids"] == sorted([c["id"] for c in customers] + new_ids)
    assert recras.stats()["requests"].get("GET /api2/klanten/{id}", 0) == len(new_ids)

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
