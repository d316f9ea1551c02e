"""Log volume of the Airbyte connectors, which run the Singer plugins in-process.

source-recras reads 2,000 customers with their contact persons, destination-recras writes
2,000; each one's log (its ``LOG`` messages and anything on stderr) stays under 50 lines by
default, as the plugins' own do (tests/target/test_log_volume.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.airbyte import ConnectorRun, configured_catalog, discover, run_connector, write_json
from support.sandbox import SandboxFactory
from support.target import customer

pytestmark = pytest.mark.slow

CUSTOMERS = 2_000
MAX_LINES = 50


def log_lines(run: ConnectorRun) -> list[str]:
    """What a user reads of a run: its LOG messages and its stderr."""
    messages = [m["log"]["message"] for m in run.of_type("LOG")]
    return messages + run.stderr.splitlines()


def test_source_recras_reading_2000_customers_logs_under_50_lines(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=CUSTOMERS, seed=11)
    config = write_json(tmp_path / "config.json", sandbox.config())
    modes = {"klanten": "incremental", "contactpersonen": "incremental"}
    catalog = write_json(tmp_path / "catalog.json", configured_catalog(discover(config), modes))

    run = run_connector("source-recras", "read", "--config", config, "--catalog", catalog)

    assert run.returncode == 0, run.stdout[-3000:]
    assert len(run.records("klanten")) == CUSTOMERS
    lines = log_lines(run)
    assert len(lines) < MAX_LINES, "\n".join(lines)


def test_destination_recras_writing_2000_customers_logs_under_50_lines(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0)
    config = write_json(
        tmp_path / "config.json",
        sandbox.config(
            rejects_path=str(tmp_path / "rejects.jsonl"),
            id_map_path=str(tmp_path / "id-map.sqlite3"),
        ),
    )
    stream = {
        "name": "klanten",
        "json_schema": {"type": "object", "properties": {}},
        "supported_sync_modes": ["full_refresh", "incremental"],
    }
    catalog = write_json(
        tmp_path / "catalog.json",
        {
            "streams": [
                {
                    "stream": stream,
                    "sync_mode": "incremental",
                    "destination_sync_mode": "append_dedup",
                    "primary_key": [["external_id"]],
                }
            ]
        },
    )
    records = (
        {"type": "RECORD", "record": {"stream": "klanten", "emitted_at": 0, "data": customer(n)}}
        for n in range(CUSTOMERS)
    )
    stdin = "".join(json.dumps(record) + "\n" for record in records)

    run = run_connector(
        "destination-recras", "write", "--config", config, "--catalog", catalog, stdin=stdin
    )

    assert run.returncode == 0, run.stdout[-3000:]
    assert len(sandbox.customers()) == CUSTOMERS
    lines = log_lines(run)
    assert len(lines) < MAX_LINES, "\n".join(lines)
