"""BATCH messages through the real target-recras executable.

Their records are written like RECORD messages (and the STATE after the BATCH waits for
them), or the run stops with an error naming the input line and the file: a BATCH is never
acknowledged without its records. Only local ``file://`` JSON Lines files (gzip or plain)
are read; docs/target.md says why.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    rejects,
    run_target,
    states,
    target_config,
)

SCHEMA = {
    "type": "SCHEMA",
    "stream": "klanten",
    "schema": {"type": "object", "properties": {}},
    "key_properties": ["external_id"],
}
OFFLINE = {"base_url": "https://recras.invalid", "api_key": SECRET_KEY}


def _batch(urls: list[str], compression: str = "gzip", fmt: str = "jsonl") -> dict[str, Any]:
    encoding = {"format": fmt, "compression": compression}
    return {"type": "BATCH", "stream": "klanten", "encoding": encoding, "manifest": urls}


def _lines(*messages: dict[str, Any]) -> str:
    return "".join(json.dumps(message) + "\n" for message in messages)


def _jsonl(records: list[Any]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


@pytest.mark.slow
def test_batch_records_are_written_and_the_state_after_waits_for_them(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    zipped = tmp_path / "klanten 1.jsonl.gz"  # a space: the URL is percent-encoded
    zipped.write_bytes(gzip.compress(_jsonl([customer(1), customer(2, naam=5), customer(3)])))
    plain = tmp_path / "klanten-2.jsonl"
    plain.write_bytes(_jsonl([customer(4)]) + b"\n" + b"not json\n" + b"[1, 2]\n")
    text = _lines(
        SCHEMA,
        _batch([zipped.as_uri()]),
        _batch([f"file://localhost{plain}"], compression="none"),
        {"type": "STATE", "value": {"batches": 2}},
    )
    result = run_target(target_config(tmp_path, sandbox.config()), text)
    assert result.returncode == 0, result.stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names == Counter(["Klant 1", "Klant 3", "Klant 4"])
    assert "3 created" in result.stderr and "3 rejected" in result.stderr
    found = rejects(tmp_path / "rejects.jsonl")
    assert [entry["input_line"] for entry in found] == [2, 3, 3]
    assert found[0]["field_path"] == "naam" and found[0]["record"]["external_id"] == "EXT-2"
    assert f"line 3 of batch file {plain} is not valid JSON" in found[1]["reason"]
    assert found[1]["line"] == "not json"
    assert f"line 4 of batch file {plain} is not a record object" in found[2]["reason"]
    assert states(result.stdout) == [{"batches": 2}]


def test_batch_before_its_schema_rejects_every_record(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(_jsonl([customer(1), customer(2)]))
    text = _lines(_batch([path.as_uri()], compression="none"), SCHEMA)
    result = run_target(target_config(tmp_path, OFFLINE), text)
    assert result.returncode == 0, result.stderr
    found = rejects(tmp_path / "rejects.jsonl")
    assert [entry["record"]["external_id"] for entry in found] == ["EXT-1", "EXT-2"]
    assert all("BATCH for stream 'klanten' arrived before its SCHEMA" in e["reason"] for e in found)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("manifest", "encoding", "expected"),
    [
        (["s3://KEY:SECRET@bucket/k.jsonl.gz"], {}, "'s3://bucket/k.jsonl.gz' is not a local"),
        (["https://example.com/k.jsonl.gz"], {}, "is not a local file:// URL"),
        (["file://other-host/k.jsonl.gz"], {}, "is not a local file:// URL"),
        (["file:missing.jsonl"], {}, "must name an absolute path"),
        (["{tmp}/absent.jsonl.gz"], {}, "batch file {tmp}/absent.jsonl.gz cannot be read"),
        (["{tmp}/plain.jsonl"], {}, "batch file {tmp}/plain.jsonl cannot be read: Not a gzip"),
        (["{tmp}/plain.jsonl"], {"fmt": "parquet"}, "batch format 'parquet' is not supported"),
        (["{tmp}/plain.jsonl"], {"compression": "zstd"}, "compression 'zstd' is not supported"),
    ],
    ids=["s3", "https", "remote host", "relative", "missing", "not gzip", "parquet", "zstd"],
)
def test_unreadable_batch_stops_and_acknowledges_nothing(
    manifest: list[str], encoding: dict[str, str], expected: str, tmp_path: Path
) -> None:
    (tmp_path / "plain.jsonl").write_bytes(_jsonl([customer(1)]))
    urls = [
        Path(url.format(tmp=tmp_path)).as_uri() if url.startswith("{tmp}") else url
        for url in manifest
    ]
    text = _lines(
        SCHEMA,
        {"type": "STATE", "value": {"before": True}},
        _batch(urls, **encoding),
        {"type": "STATE", "value": {"after": True}},
    )
    result = run_target(target_config(tmp_path, OFFLINE), text)
    assert result.returncode == 1
    message = expected.format(tmp=tmp_path)
    assert "Input line 3: the BATCH message for stream 'klanten' cannot be written: " in (
        result.stderr
    )
    assert message in result.stderr
    assert "SECRET" not in result.stderr and "Traceback" not in result.stderr
    assert states(result.stdout) == [{"before": True}]
