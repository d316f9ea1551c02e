"""One request per change: a PUT leaves out the lists Recras holds as last written.

The real ``target-recras`` against a real sandbox (requests counted by the sandbox, by route).
A record whose contact persons (compared with e-mail case-folded, text in NFC, fields in any
order) and extra fields are those last written to its customer and confirmed is sent with a
``PUT`` alone: without ``contactpersonen`` it leaves the persons as they are, so no ``GET``
is needed to link them. Persons that changed, or were never confirmed, are read, linked and
replaced as before.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support.target import SECRET_KEY, customer, run_target_ok, singer_input, target_config

pytestmark = pytest.mark.timeout(120)

GET_ONE, PUT_ONE = "GET /api2/klanten/{id}", "PUT /api2/klanten/{id}"


def records(count: int, **changes: Any) -> list[dict[str, Any]]:
    extra = [{"name": "Segment", "type": "text", "value": "B2B"}]
    return [customer(n, extra_fields=extra, **changes) for n in range(count)]


def rerun_requests(sandbox: Any, config: Path, batch: list[dict[str, Any]]) -> dict[str, int]:
    """The /api2 requests of one target run on ``batch``, by route."""
    sandbox.reset_stats()
    run_target_ok(config, singer_input(batch))
    return {route: n for route, n in sandbox.stats()["requests"].items() if n}


def persons_of(sandbox: Any) -> dict[str, list[dict[str, Any]]]:
    """Each customer's contact persons, by customer name."""
    return {item["naam"]: item["contactpersonen"] for item in sandbox.customers()}


def test_a_change_beside_written_persons_is_one_put(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=2)
    run_target_ok(config, singer_input(records(3)))
    before = persons_of(sandbox)

    changed = records(3, plaats="Zwolle")
    for record in changed:  # the same persons as another export writes them
        person = record["contactpersonen"][0]
        person["email1"] = person["email1"].upper()
        record["contactpersonen"] = [dict(reversed(person.items()))]
    assert rerun_requests(sandbox, config, changed) == {PUT_ONE: 3}

    held = {item["naam"]: item for item in sandbox.customers()}
    assert [held[f"Klant {n}"]["plaats"] for n in range(3)] == ["Zwolle"] * 3
    assert persons_of(sandbox) == before  # the same persons, the same ids


def test_changed_persons_are_linked_and_replaced(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=2)
    run_target_ok(config, singer_input(records(2)))
    anna = persons_of(sandbox)["Klant 0"][0]

    changed = records(2)
    new_person = {"voornaam": "Bram", "achternaam": "Nieuw", "email1": "bram@example.com"}
    changed[0]["contactpersonen"].append({**new_person, "hoofdcontact": False})
    assert rerun_requests(sandbox, config, changed) == {GET_ONE: 1, PUT_ONE: 1}

    persons = persons_of(sandbox)["Klant 0"]
    assert [p["email1"] for p in persons] == ["anna0@example.com", "bram@example.com"]
    assert persons[0]["id"] == anna["id"]  # linked, not a second Anna
    # Written and confirmed now: the next change beside them is one PUT again.
    assert rerun_requests(sandbox, config, [{**changed[0], "plaats": "Ede"}]) == {PUT_ONE: 1}


def test_persons_never_confirmed_are_linked(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=2)
    run_target_ok(config, singer_input(records(2)))
    before = persons_of(sandbox)
    with sqlite3.connect(tmp_path / "id-map.sqlite3") as db:  # e.g. a write cut off
        db.execute("UPDATE id_map SET digest = NULL")

    assert rerun_requests(sandbox, config, records(2, plaats="Ede")) == {GET_ONE: 2, PUT_ONE: 2}
    assert persons_of(sandbox) == before


def test_with_skip_unchanged_off_every_list_is_sent(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=2)
    run_target_ok(config, singer_input(records(2)))
    off = target_config(tmp_path, sandbox.config(), max_workers=2, skip_unchanged=False)
    assert rerun_requests(sandbox, off, records(2, plaats="Ede")) == {GET_ONE: 2, PUT_ONE: 2}
