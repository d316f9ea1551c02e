"""Helpers for the tests of the Airbyte connectors (no tests here): run them, check each line.

:func:`run_connector` runs the real console script from the project's venv and returns its
messages, each validated by :func:`airbyte_message`: it must parse as the Airbyte
protocol's own ``AirbyteMessage`` model (``airbyte-protocol-models-pdv2``), carry the
field its type names, and hold no field the protocol does not define (the models accept
unknown fields, so a misspelt ``connectionstatus`` would otherwise pass). :class:`KeptState`
keeps each stream's last STATE from read to read, as PyAirbyte does; :func:`read_stopped`
stops a read by SIGTERM. :func:`sandbox_rows` and :func:`due` say which rows of the sandbox
a read of every stream must move, given the positions it starts from.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from airbyte_protocol.models import AirbyteMessage, AirbyteStateBlob
from pydantic import BaseModel

from recras_sandbox.resources.ledger import REFERENCE_TABLES
from recras_sandbox.testing import SandboxProcess
from support.processes import read_rest
from tap_recras.testing import json_lines

BIN = Path(sys.executable).parent

#: The field each message type carries its content in.
CONTENT_FIELD = {
    "RECORD": "record",
    "STATE": "state",
    "LOG": "log",
    "SPEC": "spec",
    "CATALOG": "catalog",
    "CONNECTION_STATUS": "connectionStatus",
    "TRACE": "trace",
}


def _no_unknown_fields(model: BaseModel, where: str) -> None:
    if isinstance(model, AirbyteStateBlob):
        return  # a stream's state is free-form by definition
    extra = model.model_extra or {}
    assert not extra, f"{where}: fields the protocol does not define: {sorted(extra)}"
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, BaseModel):
                _no_unknown_fields(item, f"{where}.{name}")


def airbyte_message(line: str) -> dict[str, Any]:
    """One output line as a dict, after checking it against the protocol models."""
    model = AirbyteMessage.model_validate_json(line)
    kind = model.type.value
    assert getattr(model, CONTENT_FIELD[kind]) is not None, f"{kind} without its content: {line}"
    _no_unknown_fields(model, kind)
    message: dict[str, Any] = json.loads(line)
    return message


@dataclass
class ConnectorRun:
    """One run of a connector: exit status, validated messages, raw output."""

    returncode: int
    messages: list[dict[str, Any]]
    stdout: str
    stderr: str

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The messages of one type, in order."""
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream: str) -> list[dict[str, Any]]:
        """The ``data`` of the RECORDs of ``stream``."""
        return [
            m["record"]["data"] for m in self.of_type("RECORD") if m["record"]["stream"] == stream
        ]

    @property
    def error(self) -> dict[str, Any]:
        """The one TRACE ERROR's ``error``."""
        errors = [
            m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"
        ]
        assert len(errors) == 1, f"expected one TRACE ERROR, got {errors}\n{self.stdout[-2000:]}"
        return errors[0]

    @property
    def status(self) -> dict[str, Any]:
        """The CONNECTION_STATUS of a ``check``."""
        (message,) = self.of_type("CONNECTION_STATUS")
        status: dict[str, Any] = message["connectionStatus"]
        return status


def write_json(path: Path, value: Any) -> Path:
    """Write ``value`` as JSON to ``path``; returns the path."""
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def run_connector(
    executable: str, *args: str | Path, stdin: str | None = None, timeout: float = 120
) -> ConnectorRun:
    """Run ``executable`` from the project's venv; every stdout line must be a valid message."""
    done = subprocess.run(
        [str(BIN / executable), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    messages = [airbyte_message(line) for line in json_lines(done.stdout)]
    return ConnectorRun(done.returncode, messages, done.stdout, done.stderr)


def discover(config_path: Path) -> dict[str, Any]:
    """The ``catalog`` source-recras discovers with this config."""
    done = run_connector("source-recras", "discover", "--config", config_path)
    assert done.returncode == 0, done.stdout[-2000:]
    (catalog,) = done.of_type("CATALOG")
    result: dict[str, Any] = catalog["catalog"]
    return result


def configured_catalog(catalog: dict[str, Any], modes: dict[str, str]) -> dict[str, Any]:
    """A configured catalog of the streams in ``modes`` (name -> sync mode)."""
    return {
        "streams": [
            {
                "stream": stream,
                "sync_mode": modes[stream["name"]],
                "destination_sync_mode": "append",
                "cursor_field": stream["default_cursor_field"],
                "primary_key": stream["source_defined_primary_key"],
            }
            for stream in catalog["streams"]
            if stream["name"] in modes
        ]
    }


class KeptState:
    """Each stream's last STATE, kept from read to read as PyAirbyte keeps them."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}

    def keep(self, messages: list[dict[str, Any]]) -> None:
        """Keep the STATE messages of one read, each replacing its stream's."""
        for message in messages:
            if message["type"] == "STATE":
                state = message["state"]
                self.states[state["stream"]["stream_descriptor"]["name"]] = state

    def positions(self) -> dict[str, Any]:
        """Each stream's ``replication_key_value`` (streams without one are left out)."""
        values = {
            name: state["stream"]["stream_state"].get("replication_key_value")
            for name, state in self.states.items()
        }
        return {name: value for name, value in values.items() if value is not None}

    def arguments(self, path: Path) -> list[str | Path]:
        """``--state <path>`` for the next read (nothing before the first STATE)."""
        if not self.states:
            return []
        return ["--state", write_json(path, list(self.states.values()))]


def read_stopped(
    args: list[str | Path], after_states: int, stderr: Path, timeout: float = 30
) -> tuple[int, list[dict[str, Any]]]:
    """Run ``source-recras read`` and SIGTERM it once it wrote ``after_states`` STATEs.

    Returns its exit status and every message it wrote (each a valid one).
    """
    with stderr.open("w") as errors:
        process = subprocess.Popen(
            [str(BIN / "source-recras"), "read", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            assert process.stdout is not None
            lines = []
            states = 0
            while states < after_states:
                line = process.stdout.readline()
                assert line, f"the read ended before its STATE {after_states}"
                lines.append(line)
                states += airbyte_message(line.decode())["type"] == "STATE"
            process.send_signal(signal.SIGTERM)
            rest = read_rest(process, timeout)
        finally:
            process.kill()
            process.wait()
    text = b"".join([*lines, rest]).decode()
    return process.returncode, [airbyte_message(line) for line in json_lines(text)]


#: Every stream of source-recras and its primary key.
STREAM_KEYS = {
    "klanten": ["id"],
    "contactpersonen": ["klant_id", "id"],
    "boekingen": ["id"],
    "boekingsregels": ["boeking_id", "id"],
    "facturen": ["id"],
    "betalingen": ["factuur_id", "id"],
    "factuurregels": ["id"],
    # The reference tables the sandbox serves: source-recras reads them in full every time.
    **{name: ["id"] for name in REFERENCE_TABLES},
}
#: The tap's ``lookback_days`` default: dated streams read again this far before their bookmark.
LOOKBACK = timedelta(days=30)
#: Rows by stream -> primary key -> row.
Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def sandbox_rows(recras: SandboxProcess) -> Rows:
    """Every row of every stream, as Recras renders it (money as the reading sends it)."""
    customers = recras.customers()
    persons = [
        {**person, "klant_id": customer["id"]}
        for customer in customers
        for person in customer["contactpersonen"]
    ]
    rows = {"klanten": customers, "contactpersonen": persons}
    rows |= {name: recras.rows(name) for name in STREAM_KEYS if name not in rows}
    return {
        name: {tuple(row[key] for key in STREAM_KEYS[name]): row for row in stream_rows}
        for name, stream_rows in rows.items()
    }


def due(rows: Rows, positions: dict[str, Any]) -> Rows:
    """The rows a read of every stream starting from ``positions`` must move."""

    def keep(stream: str, wanted: Callable[[dict[str, Any]], bool]) -> None:
        rows[stream] = {key: row for key, row in rows[stream].items() if wanted(row)}

    def since(stream: str) -> Callable[[str | None], bool]:
        """Dated on or after the stream's bookmark minus the look-back."""
        if stream not in positions:
            return lambda datum: datum is not None
        first = (date.fromisoformat(positions[stream]) - LOOKBACK).isoformat()
        return lambda datum: datum is not None and datum >= first

    rows = dict(rows)
    keep("klanten", lambda row: row["id"] > positions.get("klanten", 0))
    keep("contactpersonen", lambda row: (row["klant_id"],) in rows["klanten"])
    keep("boekingen", lambda row: row["id"] > positions.get("boekingen", 0))
    keep("boekingsregels", lambda row: (row["boeking_id"],) in rows["boekingen"])
    invoice_dated = since("facturen")
    keep("facturen", lambda row: invoice_dated(row["datum"]))
    keep("betalingen", lambda row: (row["factuur_id"],) in rows["facturen"])
    line_dated = since("factuurregels")
    keep("factuurregels", lambda row: line_dated(row["Factuur"]["datum"]))
    return rows
