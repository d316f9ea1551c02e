"""A stream's key properties never change under its records, and never silently.

The key properties decide how a record finds its customer: by its source key in the id map,
or keyless by name plus main contact (created again on every run where Recras never merges).
The real ``target-recras`` against a real sandbox:

* one source stream re-sending its SCHEMA with other key properties within a run stops the
  run, naming the stream and both key lists, before any record under the new keys is written
  (the same keys again are fine);
* two source streams mapped to ``klanten`` by stream maps each keep their own key properties:
  a record is matched by the keys of the stream it came from, whichever SCHEMA came last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    rejects,
    run_target,
    run_target_ok,
    target_config,
)

pytestmark = pytest.mark.timeout(90)


def _lines(*messages: dict[str, Any]) -> str:
    return "".join(json.dumps(message) + "\n" for message in messages)


def _schema(stream: str, keys: list[str] | None) -> dict[str, Any]:
    properties = {key: {"type": "string"} for key in keys or []}
    message = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
    }
    if keys is not None:
        message["key_properties"] = keys
    return message


def _record(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


@pytest.mark.parametrize(
    ("new_keys", "shown"),
    [(["crm_id"], '["crm_id"]'), ([], "[]"), (None, "[]")],
    ids=["other-keys", "no-keys", "key-properties-left-out"],
)
def test_a_schema_resent_with_other_keys_stops_the_run(
    sandbox_factory: Any, tmp_path: Path, new_keys: list[str] | None, shown: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    config = target_config(tmp_path, sandbox.config())
    second = customer(2, crm_id="CRM-2", plaats="Zwolle")
    text = _lines(
        _schema("klanten", ["external_id"]),
        _record("klanten", customer(1)),
        _schema("klanten", new_keys),
        _record("klanten", second),
    )
    result = run_target(config, text)
    assert result.returncode == 1, result.stderr[-3000:]
    critical = [line for line in result.stderr.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1, result.stderr[-3000:]
    assert "Input line 3" in critical[0]
    assert "stream 'klanten'" in critical[0]
    assert f'from ["external_id"] to {shown}' in critical[0]
    assert "Traceback" not in result.stderr
    # Nothing under the new keys was written.
    assert "Zwolle" not in [item["plaats"] for item in sandbox.customers()]


def test_a_schema_resent_with_the_same_keys_is_fine(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    text = _lines(
        _schema("klanten", ["external_id"]),
        _record("klanten", customer(1)),
        _schema("klanten", ["external_id"]),
        _record("klanten", customer(2)),
    )
    stderr = run_target_ok(config, text)
    assert "2 created" in stderr
    assert len(sandbox.customers()) == 2


@pytest.mark.slow
def test_streams_mapped_to_klanten_keep_their_own_keys(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # Two CRMs, each with its own key, both aliased to klanten. Recras never merges: a record
    # matched by the wrong key (or none) makes a new customer on every run.
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    maps = {"crm_a": {"__alias__": "klanten"}, "crm_b": {"__alias__": "klanten"}}
    config = target_config(tmp_path, sandbox.config(), stream_maps=maps)

    def from_a(n: int) -> dict[str, Any]:
        record = customer(n)
        record["a_id"] = record.pop("external_id")
        return _record("crm_a", record)

    def from_b(n: int) -> dict[str, Any]:
        record = customer(n)
        record["b_id"] = record.pop("external_id")
        return _record("crm_b", record)

    text = _lines(
        _schema("crm_a", ["a_id"]),
        from_a(1),
        from_a(2),
        _schema("crm_b", ["b_id"]),
        from_b(3),
        from_a(4),  # crm_b's SCHEMA came last: still matched by a_id
        from_b(5),
    )
    first = run_target_ok(config, text)
    assert "5 created" in first, first[-3000:]
    second = run_target_ok(config, text)
    assert "0 created" in second, second[-3000:]
    assert len(sandbox.customers()) == 5
    assert rejects(tmp_path / "rejects.jsonl") == []
    # a_id and b_id are source keys, not fields left out of the Recras shape.
    assert "not part of the Recras customer shape" not in first + second
