"""Unreadable input and malformed messages, through the real target-recras executable.

A line the target cannot use goes to the rejects file with its line number and the reason,
and the run goes on; a malformed SCHEMA (its key properties decide how records are matched)
stops the run with a message naming the line and the stream. Never a traceback, never a
one-word error.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    TARGET,
    customer,
    rejects,
    run_target,
    states,
    target_config,
)

SCHEMA = {"type": "SCHEMA", "stream": "klanten", "schema": {"type": "object", "properties": {}}}


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def _record(n: int) -> bytes:
    return _line({"type": "RECORD", "stream": "klanten", "record": customer(n)})


def _run_bytes(config: Path, data: bytes) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [TARGET, "--config", str(config)],
        check=False,
        input=data,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert SECRET_KEY.encode() not in result.stdout + result.stderr
    return result


def test_unreadable_lines_are_rejected_with_line_number_and_reason(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    latin1 = b'{"type": "RECORD", "stream": "klanten", "record": {"naam": "caf\xe9"}}\n'
    data = b"".join(
        [
            _line({**SCHEMA, "key_properties": ["external_id"]}),
            latin1,
            _record(1),
            b'{"type": "RECORD", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}\n",
            _line({"type": "STATE"}),
            _record(2),
            _line({"type": "STATE", "value": {"done": 2}}),
        ]
    )
    result = _run_bytes(config, data)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr
    found = {entry["input_line"]: entry for entry in rejects(tmp_path / "rejects.jsonl")}
    assert sorted(found) == [2, 4, 5]
    assert f"not valid UTF-8 (byte 0xe9 at position {latin1.index(0xE9)})" in found[2]["reason"]
    assert found[2]["line"].endswith('"naam": "caf\\xe9"}}')  # the line itself, kept
    assert "nested too deeply" in found[4]["reason"]
    assert "a STATE message needs a 'value' object" in found[5]["reason"]
    for n in (2, 4, 5):
        assert f"Rejected record (input line {n}" in stderr
    # The good records around them are written, and the STATE after them comes out.
    assert "2 created" in stderr
    assert states(result.stdout.decode()) == [{"done": 2}]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "SCHEMA", "stream": "klanten", "key_properties": []}, "it has no 'schema'"),
        (
            {**SCHEMA, "key_properties": "external_id"},
            "key_properties must be a list of field names, not the string 'external_id'",
        ),
        ({**SCHEMA, "key_properties": [1]}, "key_properties must be a list of field names"),
        ({**SCHEMA, "schema": "object"}, "'schema' must be a JSON Schema object"),
    ],
    ids=["no schema", "keys as a string", "keys not strings", "schema not an object"],
)
def test_malformed_schema_stops_naming_line_and_stream(
    schema: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    config = target_config(tmp_path, {"base_url": "https://recras.invalid"}, dry_run=True)
    text = json.dumps({"type": "STATE", "value": {"done": 0}}) + "\n"
    text += json.dumps(schema) + "\n" + _record(1).decode()
    result = run_target(config, text)
    assert result.returncode == 1
    assert (
        f"Input line 2: the SCHEMA message for stream 'klanten' is malformed: {expected}"
        in result.stderr
    )
    assert "CRITICAL" in result.stderr
    assert "Traceback" not in result.stderr
    assert "would be created" not in result.stderr  # nothing was planned under a wrong key


def test_input_file_is_read_as_bytes_too(tmp_path: Path) -> None:
    path = tmp_path / "in.singer"
    path.write_bytes(_line({**SCHEMA, "key_properties": []}) + b"\xff\xfe\n" + _record(1))
    config = target_config(tmp_path, {"base_url": "https://recras.invalid"}, dry_run=True)
    result = subprocess.run(
        [TARGET, "--config", str(config), "--input", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (entry,) = rejects(tmp_path / "rejects.jsonl")
    assert entry["input_line"] == 2
    assert "not valid UTF-8 (byte 0xff at position 0)" in entry["reason"]
    assert "dry run: 1 would be created" in result.stderr
