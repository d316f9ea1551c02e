"""Run inside .venv-airbyte by tests/e2e/test_pyairbyte.py: PyAirbyte drives the connectors.

Usage: python pyairbyte_driver.py, then one JSON request per stdin line:
``{"command": "read" | "write" | "open" | "read_cached" | "read_streams" | "cancel_records" |
"discover", ...settings}``; each is answered by one stdout line ``SUMMARY {...}``. One process
for every step: importing PyAirbyte takes ~20 s here.

``open`` keeps one source (and ``read_cached`` one DuckDB cache) per name for the requests
after it, as a notebook session would. Whatever PyAirbyte cannot raise to its caller (an
error while a generator it abandoned is cleaned up: the connector's exit status is checked
there) is collected by :func:`sys.unraisablehook` and reported with each summary. SIGINT
raises ``KeyboardInterrupt`` only while a ``read_cached`` runs: the Ctrl-C of a user who
gives up on a read.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

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


#: Sources and caches kept between requests, by name.
SOURCES: dict[str, Any] = {}
CACHES: dict[str, DuckDBCache] = {}
#: Exceptions PyAirbyte could not raise (``sys.unraisablehook``), since the last summary.
UNRAISABLE: list[str] = []
#: When SIGINT arrived, while a read was under way.
INTERRUPTS: list[float] = []
#: Set while a read_cached runs: only then does SIGINT interrupt.
READING = threading.Event()


def _unraisable(info: Any) -> None:
    UNRAISABLE.append(f"{info.exc_type.__name__}: {info.exc_value}")


def _sigint(signum: int, frame: Any) -> None:
    if READING.is_set():
        INTERRUPTS.append(time.monotonic())
        raise KeyboardInterrupt


def _failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def open_source(settings: dict) -> dict:
    """A source kept under ``name`` for the requests after it, of ``streams`` (default all)."""
    source = ab.get_source(
        "source-recras", config=settings["config"], local_executable=settings["source"]
    )
    if "streams" in settings:
        source.select_streams(settings["streams"])
    else:
        source.select_all_streams()
    SOURCES[settings["name"]] = source
    return {}


def _stream_states(cache: DuckDBCache, source: Any) -> dict:
    """The state the cache keeps for each stream of ``source`` (None: none)."""
    provider = cache.get_state_provider(source_name=source.name)
    return {
        name: (
            state.stream.stream_state.model_dump()
            if (state := provider.get_stream_state(name, not_found=None)) is not None
            else None
        )
        for name in source.get_available_streams()
    }


def read_cached(settings: dict) -> dict:
    """One read of the source ``name`` into the DuckDB cache ``cache`` (kept between reads).

    Summary: the records processed, the cache's customer ids and (customer, person) links,
    the state the cache keeps for each stream, and whether SIGINT ended the read.
    """
    source = SOURCES[settings["name"]]
    cache = CACHES.setdefault(
        settings["cache"], DuckDBCache(db_path=Path(settings["cache_dir"]) / "kept.duckdb")
    )
    summary: dict[str, Any] = {"interrupted": False, "error": None}
    READING.set()
    try:
        result = source.read(cache=cache)
        READING.clear()
        summary["processed_records"] = result.processed_records
    except KeyboardInterrupt:
        READING.clear()
        summary["interrupted"] = True
        summary["stopped_seconds"] = time.monotonic() - INTERRUPTS[-1]
    except Exception as exc:  # reported, not raised: the test reads the summary
        READING.clear()
        summary["error"] = _failure(exc)
        if INTERRUPTS:
            summary["stopped_seconds"] = time.monotonic() - INTERRUPTS[-1]
    finally:
        READING.clear()
    try:
        klanten = cache["klanten"].to_pandas()
        personen = cache["contactpersonen"].to_pandas()
        summary["klanten_ids"] = sorted(int(i) for i in klanten["id"])
        summary["links"] = sorted(
            [int(k), int(i)] for k, i in zip(personen["klant_id"], personen["id"], strict=True)
        )
    except Exception as exc:  # no table yet: nothing was ever written
        summary["klanten_ids"], summary["links"] = [], []
        summary["cache_error"] = _failure(exc)
    summary["state"] = _stream_states(cache, source)
    return summary


def read_streams(settings: dict) -> dict:
    """One read of the source ``name`` into the DuckDB cache ``cache`` (kept between reads).

    Summary: the records processed, each stream's primary keys in the cache (``keys``: stream
    -> key columns) and the state the cache keeps for each stream, before and after the read.
    """
    source = SOURCES[settings["name"]]
    cache = CACHES.setdefault(
        settings["cache"],
        DuckDBCache(db_path=Path(settings["cache_dir"]) / f"{settings['cache']}.duckdb"),
    )
    summary: dict[str, Any] = {"state_before": _stream_states(cache, source)}
    try:
        summary["processed_records"] = source.read(cache=cache).processed_records
        summary["error"] = None
    except Exception as exc:  # reported, not raised: the test reads the summary
        summary["error"] = _failure(exc)
    summary["keys"] = {}
    for name, columns in settings["keys"].items():
        frame = cache[name].to_pandas()
        rows = frame[[column.lower() for column in columns]].itertuples(index=False)
        summary["keys"][name] = sorted([int(value) for value in row] for row in rows)
    summary["state"] = _stream_states(cache, source)
    return summary


def cancel_records(settings: dict) -> dict:
    """Take ``take`` records of ``stream`` from ``get_records``, ``linger``, give up on the rest.

    The iterator is then closed, as a caller leaving a loop early leaves it: PyAirbyte stops
    the connector (SIGTERM, waits up to 10 s, then SIGKILL). Summary: the ids taken, the
    seconds the close took, and any failure, raised or not.
    """
    source = SOURCES[settings["name"]]
    # The dataset must live while it is read: its __del__ tells the read to stop.
    dataset = source.get_records(settings["stream"])
    records = iter(dataset)
    taken = [int(next(records)["id"]) for _ in range(settings["take"])]
    time.sleep(settings.get("linger", 0))  # the caller does something else meanwhile
    started = time.monotonic()
    error = None
    try:
        records.close()  # type: ignore[attr-defined]  # a generator
    except Exception as exc:  # reported, not raised
        error = _failure(exc)
    return {"taken": taken, "close_seconds": time.monotonic() - started, "error": error}


def discover(settings: dict) -> dict:
    """Discover ``times`` times, each with a new source (PyAirbyte caches the catalog)."""
    catalogs, errors, seconds = [], [], []
    for _ in range(settings["times"]):
        source = ab.get_source(
            "source-recras", config=settings["config"], local_executable=settings["source"]
        )
        started = time.monotonic()
        try:
            catalogs.append(sorted(s.name for s in source.discovered_catalog.streams))
        except Exception as exc:  # reported, not raised
            errors.append(_failure(exc))
        seconds.append(time.monotonic() - started)
    return {"catalogs": catalogs, "errors": errors, "seconds": seconds}


COMMANDS = {
    "read": read,
    "write": write,
    "open": open_source,
    "read_cached": read_cached,
    "read_streams": read_streams,
    "cancel_records": cancel_records,
    "discover": discover,
}


if __name__ == "__main__":
    sys.unraisablehook = _unraisable
    signal.signal(signal.SIGINT, _sigint)
    for line in sys.stdin:
        request = json.loads(line)
        summary = COMMANDS[request["command"]](request)
        summary["unraisable"], UNRAISABLE[:] = list(UNRAISABLE), []
        print("SUMMARY " + json.dumps(summary), flush=True)
