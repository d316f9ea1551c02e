"""A corpus of bad inputs, each rejected with its expected reason and field path.

The corpus (tests/target/validation/bad_inputs.json) covers wrong types, missing or empty contact
persons, two or no main contacts, unknown ``geslacht``, non-ASCII values, lines that are not
JSON or not Singer messages, RECORD before SCHEMA, unknown streams and missing source keys.
Every case runs through the whole target (dry run: these never reach Recras anyway) with a
valid record after the bad one, which must still be planned: a reject never stops the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.target import customer, rejects, run_in_process, singer_input

from target_recras.errors import TargetStopError

CORPUS = json.loads((Path(__file__).parent / "bad_inputs.json").read_text(encoding="utf-8"))


def _input(case: dict[str, Any]) -> str:
    lines: list[Any] = []
    if not case.get("no_schema"):
        schema = {"type": "object", "properties": {}}
        keys = case.get("key_properties", [])
        lines.append(
            {"type": "SCHEMA", "stream": "klanten", "schema": schema, "key_properties": keys}
        )
    lines += case["lines"]
    if not case.get("no_schema"):
        good = customer(1)
        lines.append({"type": "RECORD", "stream": "klanten", "record": good})
    lines.append({"type": "STATE", "value": {"after": case["name"]}})
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 30
    assert len({case["name"] for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[case["name"] for case in CORPUS])
def test_bad_input_is_rejected_with_reason(case: dict[str, Any], tmp_path: Path) -> None:
    config = {"dry_run": True, "rejects_path": str(tmp_path / "rejects.jsonl")}
    target, stdout = run_in_process(config, _input(case))
    found = rejects(tmp_path / "rejects.jsonl")
    assert len(found) == 1, found
    entry = found[0]
    assert case["reason"] in entry["reason"]
    assert entry["field_path"] == case["field_path"]
    assert entry["stream"] == case.get("stream", "klanten")
    if "line" in case:
        assert entry["line"] == case["line"]
    if "hint" in case:
        assert case["hint"] in entry["reason"]
    assert entry["input_line"] >= 1
    counts = target.open_session().stats.counts
    assert counts["rejected"] == 1
    # The valid record after the bad one is still handled; a dry run passes no STATE on.
    assert counts["would_create"] == (0 if case.get("no_schema") else 1)
    assert stdout == ""


def test_huge_string_reason_is_truncated(tmp_path: Path) -> None:
    huge = "x" * 200_000
    record = customer(1)
    record["contactpersonen"][0]["geslacht"] = huge
    text = singer_input([record], key_properties=[])
    run_in_process({"dry_run": True, "rejects_path": str(tmp_path / "r.jsonl")}, text)
    (entry,) = rejects(tmp_path / "r.jsonl")
    assert entry["field_path"] == "contactpersonen[0].geslacht"
    assert len(entry["reason"]) <= 300
    # The record itself is kept whole: nothing is lost.
    assert entry["record"]["contactpersonen"][0]["geslacht"] == huge


def test_huge_and_non_ascii_valid_strings_are_accepted(tmp_path: Path) -> None:
    record = customer(1, naam="Zoë & Ünal 北京 " + "y" * 100_000, plaats="\u2019s-Hertogenbosch")
    text = singer_input([record], key_properties=[])
    target, _ = run_in_process({"dry_run": True, "rejects_path": str(tmp_path / "r.jsonl")}, text)
    assert rejects(tmp_path / "r.jsonl") == []
    assert target.open_session().stats.counts["would_create"] == 1


def test_max_rejects_zero_stops_at_the_first(tmp_path: Path) -> None:
    text = singer_input([customer(1, naam=5)], key_properties=[], state_every=1)
    config = {"dry_run": True, "rejects_path": str(tmp_path / "r.jsonl"), "max_rejects": 0}
    with pytest.raises(TargetStopError, match="max_rejects is 0"):
        run_in_process(config, text)
    assert len(rejects(tmp_path / "r.jsonl")) == 1


def test_activate_version_is_ignored_not_rejected(tmp_path: Path) -> None:
    lines = [
        {"type": "SCHEMA", "stream": "klanten", "schema": {"properties": {}}},
        {"type": "ACTIVATE_VERSION", "stream": "klanten", "version": 1},
        {"type": "RECORD", "stream": "klanten", "record": customer(1)},
        {"type": "ACTIVATE_VERSION", "stream": "klanten", "version": 2},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    target, _ = run_in_process({"dry_run": True, "rejects_path": str(tmp_path / "r.jsonl")}, text)
    assert rejects(tmp_path / "r.jsonl") == []
    assert target.open_session().stats.counts["would_create"] == 1


def test_missing_credentials_stop_with_a_configuration_error(tmp_path: Path) -> None:
    text = singer_input([], key_properties=[])
    with pytest.raises(TargetStopError, match="Configuration error: No credentials"):
        run_in_process({"rejects_path": str(tmp_path / "r.jsonl")}, text)
