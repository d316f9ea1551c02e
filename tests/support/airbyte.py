"""Helpers for the test_eco_* files (no tests here): run the Airbyte connectors, check each line.

:func:`run_connector` runs the real console script from the project's venv and returns its
messages, each validated by :func:`airbyte_message`: it must parse as the Airbyte
protocol's own ``AirbyteMessage`` model (``airbyte-protocol-models-pdv2``), carry the
field its type names, and hold no field the protocol does not define (the models accept
unknown fields, so a misspelt ``connectionstatus`` would otherwise pass).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airbyte_protocol.models import AirbyteMessage, AirbyteStateBlob
from pydantic import BaseModel

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
