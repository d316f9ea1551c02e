"""Run inside .venv-airbyte by tests/test_eco_pyairbyte.py: PyAirbyte drives the connectors.

Usage: python pyairbyte_driver.py, then one JSON request per stdin line:
``{"command": "read" | "write", ...settings}``; each is answered by one stdout line
``SUMMARY {...}``. One process for every step: importing PyAirbyte takes ~20 s here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import airbyte as ab
from airbyte.caches import DuckDBCache


def read(settings: dict) -> dict:
    """source-recras into a DuckDB cache (incremental: PyAirbyte keeps the state there)."""
    source = ab.get_source(
        "source-recras", config=settings["config"], local_executable=settings["source"]
    )
    source.check()
    source.select_all_streams()
    cache = DuckDBCache(db_path=Path(settings["cache_dir"]) / "recras.duckdb")
    result = source.read(cache=cache)
    klanten = result["klanten"].to_pandas()
    personen = result["contactpersonen"].to_pandas()
    return {
        "processed_records": result.processed_records,
        "klanten_ids": sorted(int(i) for i in klanten["id"]),
        "contactpersonen_rows": len(personen),
    }


def write(settings: dict) -> dict:
    """The customer export (a local source) into Recras through destination-recras."""
    export = ab.get_source("source-export", config={}, local_executable=settings["export"])
    export.select_all_streams()
    destination = ab.get_destination(
        "destination-recras",
        config=settings["destination_config"],
        local_executable=settings["destination"],
    )
    result = destination.write(export, cache=False, state_cache=False)
    return {"written": result.processed_records}


if __name__ == "__main__":
    for line in sys.stdin:
        request = json.loads(line)
        summary = {"read": read, "write": write}[request["command"]](request)
        print("SUMMARY " + json.dumps(summary), flush=True)
