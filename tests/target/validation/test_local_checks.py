"""Local checks as strict as the docs: no null extra-field values, dates checked as dates.

The docs define an extra field's ``value`` by its type (an integer for ``number``, an ISO 8601
date for ``date``, ...), never null; ``2024-13-45`` has the shape of a date but is none. Each
case runs through the whole target (dry run, in process) and must be rejected with the field
path, while a valid record after it is still planned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.target import customer, rejects, run_in_process, singer_input

CASES = [
    ("text", None, "None is not of type 'string'"),
    ("singlechoice", None, "None is not of type 'string'"),
    ("number", None, "None is not of type 'integer'"),
    ("multiplechoice", None, "None is not of type 'array'"),
    ("date", None, "None is not of type 'string'"),
    ("date", "2024-13-45", "'2024-13-45' is not a date: month must be in 1..12"),
    ("date", "2023-02-29", "'2023-02-29' is not a date: day is out of range for month"),
    ("date", "2024-05-31T25:00", "'2024-05-31T25:00' is not a date: hour must be in 0..23"),
]


def _run(tmp_path: Path, records: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    config = {"dry_run": True, "rejects_path": str(tmp_path / "rejects.jsonl")}
    target, _ = run_in_process(config, singer_input(records))
    assert target.open_session().stats.read == len(records)
    return target, rejects(tmp_path / "rejects.jsonl")


@pytest.mark.parametrize(("kind", "value", "reason"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bad_extra_field_value_is_rejected(
    kind: str, value: Any, reason: str, tmp_path: Path
) -> None:
    fields = [
        {"name": "Lid sinds", "type": "date", "value": "2024-02-29"},
        {"name": "Veld", "type": kind, "value": value},
    ]
    bad = customer(1, extra_fields=fields)
    target, found = _run(tmp_path, [bad, customer(2)])
    (entry,) = found
    assert entry["reason"] == reason
    assert entry["field_path"] == "extra_fields[1].value"
    assert entry["record"] == bad
    assert target.open_session().stats.counts["would_create"] == 1


def test_real_dates_and_date_times_pass(tmp_path: Path) -> None:
    values = [
        "2024-02-29",
        "2014-01-01T15:00:00+01:00",
        "2024-05-31T23:59:59.5Z",
        "2024-05-31T08:00",
    ]
    records = [
        customer(n, extra_fields=[{"name": "Datum", "type": "date", "value": value}])
        for n, value in enumerate(values)
    ]
    target, found = _run(tmp_path, records)
    assert found == []
    assert target.open_session().stats.counts["would_create"] == len(values)
