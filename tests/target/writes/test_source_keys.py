"""Source keys: 1, 1.0 and 1e0 are one key; booleans and containers are refused by name.

The real target against a real sandbox. A source key is matched by value, as JSON means it:
``1``, ``1.0`` and ``1e0`` are the same number, so they are one customer; the string ``"1"``
stays a different key (strings and numbers are never mixed up). ``true`` is no identifier
(every record would be one of two customers), so such a record is rejected naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.target import SECRET_KEY, customer, rejects, run_target, target_config


def _raw_input(source_keys: list[str]) -> str:
    """One record per key, the key spliced in as raw JSON text (``1e0`` survives as typed)."""
    schema = {"type": "SCHEMA", "stream": "klanten", "schema": {"type": "object", "properties": {}},
              "key_properties": ["external_id"]}  # fmt: skip
    lines = [json.dumps(schema)]
    for n, key in enumerate(source_keys):
        record = json.dumps(customer(n, external_id="KEY", plaats=f"Plaats {n}"))
        record = record.replace('"external_id": "KEY"', f'"external_id": {key}')
        lines.append(f'{{"type": "RECORD", "stream": "klanten", "record": {record}}}')
    return "\n".join(lines) + "\n"


def test_integral_numbers_are_one_source_key(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    result = run_target(config, _raw_input(["1", "1.0", "1e0", '"1"']))
    assert result.returncode == 0, result.stderr
    assert "2 created, 0 merged, 2 updated" in result.stderr
    by_plaats = sorted(item["plaats"] for item in sandbox.customers())
    # 1, 1.0 and 1e0 wrote one customer (the last wins); "1" is another.
    assert by_plaats == ["Plaats 2", "Plaats 3"]


def test_boolean_and_container_source_keys_are_rejected(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    result = run_target(config, _raw_input(["true", "false", "[1]", '{"a": 1}', "7"]))
    assert result.returncode == 0, result.stderr
    found = rejects(tmp_path / "rejects.jsonl")
    assert [entry["field_path"] for entry in found] == ["external_id"] * 4
    assert "the source key external_id is a boolean (true)" in found[0]["reason"]
    assert "the source key external_id is a boolean (false)" in found[1]["reason"]
    assert "the source key external_id is a list" in found[2]["reason"]
    assert "the source key external_id is an object" in found[3]["reason"]
    assert [entry["input_line"] for entry in found] == [2, 3, 4, 5]
    assert len(sandbox.customers()) == 1
