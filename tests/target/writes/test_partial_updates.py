"""Partial updates: a record that updates may leave out contactpersonen and any other field.

The real target against a real sandbox (under both readings of a PUT's
``extra_fields``). A record with ``id``, or with a source key already in the id map when it is
written, is a ``PUT`` carrying only the fields the record has: everything it leaves out
(other fields, the contact persons, the extra fields) stays as it is in Recras. A record that
would create a customer still needs ``contactpersonen``; without them it is rejected with the
reason. Whether a source key is known is decided at write time: a partial record right after
the record that creates its customer (same source key, same input) is an update.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    rejects,
    run_target,
    singer_input,
    target_config,
)

from recras_sandbox.testing import SandboxProcess

pytestmark = pytest.mark.slow

EXTRA = [
    {"name": "Schoenmaat", "type": "number", "value": 42},
    {"name": "Lid sinds", "type": "date", "value": "2020-01-01"},
]


def _full(n: int) -> dict[str, Any]:
    record = customer(n, extra_fields=EXTRA, website="https://example.com")
    record["contactpersonen"].append(
        {"voornaam": "Bert", "email1": f"bert{n}@example.com", "hoofdcontact": False}
    )
    return record


def _by_naam(sandbox: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {item["naam"]: item for item in sandbox.customers()}


@pytest.mark.parametrize("put_extra_fields", ["merge", "replace"])
def test_partial_record_changes_only_its_fields(
    sandbox_factory: Any, tmp_path: Path, put_extra_fields: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, put_extra_fields=put_extra_fields)
    config = target_config(tmp_path, sandbox.config(), max_workers=4)
    partial_after_create = {"external_id": "EXT-2", "plaats": "Assen"}
    never_written = {"external_id": "EXT-3", "naam": "Zonder personen"}
    first = run_target(
        config, singer_input([_full(1), _full(2), partial_after_create, never_written])
    )
    assert first.returncode == 0, first.stderr
    assert "2 created, 0 merged, 1 updated" in first.stderr
    (entry,) = rejects(tmp_path / "rejects.jsonl")
    assert entry["record"] == never_written
    assert entry["field_path"] == "contactpersonen"
    assert "'contactpersonen' is a required property for a new customer" in entry["reason"]
    created = _by_naam(sandbox)
    assert created["Klant 2"]["plaats"] == "Assen"
    assert created["Klant 2"]["website"] == "https://example.com"

    rename = {"external_id": "EXT-1", "naam": "Nieuwe naam"}
    by_id = {"id": created["Klant 2"]["id"], "postcode": "1234 AB"}
    second = run_target(config, singer_input([rename]))
    third = run_target(config, singer_input([by_id], key_properties=["id"]))
    assert second.returncode == 0 and third.returncode == 0, second.stderr + third.stderr
    assert "0 created, 0 merged, 1 updated" in second.stderr
    assert "0 created, 0 merged, 1 updated" in third.stderr

    after = _by_naam(sandbox)
    assert set(after) == {"Nieuwe naam", "Klant 2"}
    for old, new, changed in (
        ("Klant 1", "Nieuwe naam", "naam"),
        ("Klant 2", "Klant 2", "postcode"),
    ):
        before, now = created[old], after[new]
        # Everything the partial record left out is as it was, persons and extra fields too.
        same = {k: v for k, v in before.items() if k not in {changed, "displaynaam"}}
        assert {k: now[k] for k in same} == same
        assert len(now["contactpersonen"]) == 2
    assert after["Klant 2"]["postcode"] == "1234 AB"
    assert sorted(f["name"] for f in after["Nieuwe naam"]["extra_fields"]) == [
        "Lid sinds",
        "Schoenmaat",
    ]
    assert sandbox.stats()["customers"] == 2
