"""Helpers to run the ``tap-recras`` executable and read what it wrote (tests, benchmarks).

:func:`make_catalog` selects streams and the nested ``contactpersonen`` property the way a
Meltano ``select`` would; :func:`run_tap` runs the real executable in a subprocess and
returns its parsed Singer messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal


def make_catalog(
    config: Mapping[str, Any],
    *,
    nested: bool = True,
    persons: bool = True,
    full_table: Literal["metadata", "entry", "both"] | None = None,
    streams: Collection[str] = ("klanten",),
    methods: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A catalog with ``streams`` selected, plus the chosen contact-person parts.

    ``nested``: the ``klanten.contactpersonen`` property; ``persons``: the child stream;
    ``full_table``: ask for FULL_TABLE replication of every stream through the Singer
    ``replication-method`` metadata, the stream entry's ``replication_method``, or both (as
    Meltano's ``metadata: {"*": {replication-method: FULL_TABLE}}`` does); ``methods``: the
    ``replication-method`` metadata of single streams (``{"boekingen": "INCREMENTAL"}``).
    """
    with tempfile.TemporaryDirectory(prefix="tap-recras-") as tmp:
        args = [*tap_command(), *write_inputs(Path(tmp), config), "--discover"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    catalog: dict[str, Any] = json.loads(done.stdout)
    for entry in catalog["streams"]:
        if full_table in {"entry", "both"}:
            entry["replication_method"] = "FULL_TABLE"
        for item in entry["metadata"]:
            meta = item["metadata"]
            if item["breadcrumb"] == []:
                name = entry["tap_stream_id"]
                meta["selected"] = name in streams or (persons and name == "contactpersonen")
                if full_table in {"metadata", "both"}:
                    meta["replication-method"] = "FULL_TABLE"
                if name in (methods or {}):
                    meta["replication-method"] = (methods or {})[name]
            elif item["breadcrumb"] == ["properties", "contactpersonen"]:
                meta["selected"] = nested
    return catalog


@dataclass
class TapRun:
    """What one run of the executable produced."""

    returncode: int
    messages: list[dict[str, Any]]
    stdout: str
    stderr: str

    def records(self, stream: str) -> list[dict[str, Any]]:
        """The records of ``stream``, in output order."""
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Messages of one type (``STATE``, ``SCHEMA``, ``ACTIVATE_VERSION``)."""
        return [m for m in self.messages if m["type"] == kind]

    @property
    def last_state(self) -> dict[str, Any] | None:
        """The value of the last STATE message, if any."""
        states = self.of_type("STATE")
        return states[-1]["value"] if states else None


def json_lines(text: str) -> list[str]:
    """The lines of JSON Lines output: split at ``\\n`` only.

    ``str.splitlines`` also splits at U+0085, U+2028 and U+2029, which JSON writes raw inside
    strings (and a customer's name may hold).
    """
    return [line for line in text.split("\n") if line.strip()]


def parse_messages(stdout: str) -> list[dict[str, Any]]:
    """Parse Singer output; a last line cut short by a killed process is ignored."""
    lines = json_lines(stdout)
    messages = []
    for number, line in enumerate(lines, start=1):
        try:
            messages.append(json.loads(line))
        except ValueError:
            if number != len(lines):
                raise
    return messages


def tap_command() -> list[str]:
    """The tap executable, from the running interpreter's environment."""
    return [str(Path(sys.executable).with_name("tap-recras"))]


def write_inputs(
    directory: Path,
    config: Mapping[str, Any],
    catalog: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write config, catalog and state files; return the tap's arguments for them."""
    args = ["--config", str(directory / "config.json")]
    (directory / "config.json").write_text(json.dumps(config))
    if catalog is not None:
        (directory / "catalog.json").write_text(json.dumps(catalog))
        args += ["--catalog", str(directory / "catalog.json")]
    if state is not None:
        (directory / "state.json").write_text(json.dumps(state))
        args += ["--state", str(directory / "state.json")]
    return args


def tap_env(log_level: str = "DEBUG") -> dict[str, str]:
    """The environment for a tap subprocess, logging at ``log_level``."""
    return {**os.environ, "TAP_RECRAS_LOGLEVEL": log_level}


def start_tap(
    directory: Path,
    config: Mapping[str, Any],
    *,
    catalog: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
    log_level: str = "DEBUG",
    stderr: IO[str] | int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """Start ``tap-recras`` with its inputs in ``directory``; stdout is a pipe.

    Pass a file as ``stderr`` when stdout is read line by line: a DEBUG log fills a pipe
    nobody reads, and the tap would block.
    """
    args = [*tap_command(), *write_inputs(directory, config, catalog, state)]
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=stderr, text=True, env=tap_env(log_level)
    )


def run_tap(
    config: Mapping[str, Any],
    *,
    catalog: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
    log_level: str = "DEBUG",
    timeout: float = 300.0,
) -> TapRun:
    """Run ``tap-recras`` to completion and parse its stdout."""
    with tempfile.TemporaryDirectory(prefix="tap-recras-") as tmp:
        process = start_tap(Path(tmp), config, catalog=catalog, state=state, log_level=log_level)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return TapRun(process.returncode, parse_messages(stdout), stdout, stderr)
