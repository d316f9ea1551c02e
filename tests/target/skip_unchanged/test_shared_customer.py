"""Attacks on skip_unchanged: a write to a customer by another key outdates its digest.

The real ``target-recras`` against a real sandbox. A source key's digest says what Recras
holds for its customer only while nothing else writes that customer. When a record of
another source key (its ``id`` names the customer) or a record without a source key writes
it, the first key's next record, unchanged in the source, must be sent again: with
``skip_unchanged`` false it would overwrite the other write, so skipping it loses that update.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    held_customer,
    run_target_ok,
    singer_input,
    target_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def by_naam(sandbox: Any) -> dict[str, dict[str, Any]]:
    """Every customer in the sandbox by its name."""
    return {item["naam"]: item for item in sandbox.customers()}


def test_another_key_naming_the_customer_by_id_outdates_the_digest(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    # One writer: the two records of the last run are written in input order.
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    first, other = customer(1, plaats="Amersfoort"), customer(2)
    run_target_ok(config, singer_input([first, other]))
    ids = {naam: item["id"] for naam, item in by_naam(sandbox).items()}
    shared, elsewhere = ids["Klant 1"], ids["Klant 2"]

    # EXT-9 names customer 1 by id and writes another place to it (Recras holds it now).
    run_target_ok(config, singer_input([customer(9, naam="Klant 1", plaats="Zeist", id=shared)]))
    assert held_customer(sandbox, shared)["plaats"] == "Zeist"
    # EXT-9 now names another customer; EXT-1 sends its unchanged record: with the skip
    # off it would overwrite "Zeist", so it must be sent.
    moved = customer(9, naam="Klant 2", plaats="Zeist", id=elsewhere)
    run_target_ok(config, singer_input([moved, first]))
    assert held_customer(sandbox, shared)["plaats"] == "Amersfoort"


def test_a_record_without_source_key_outdates_the_digest(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    first = customer(1, plaats="Amersfoort")
    run_target_ok(config, singer_input([first]))
    (klant_id,) = (item["id"] for item in sandbox.customers())

    # A correction by id only (a stream keyed by id) moves the customer to Zeist ...
    correction = {"id": klant_id, "plaats": "Zeist"}
    run_target_ok(config, singer_input([correction], key_properties=["id"]))
    assert held_customer(sandbox, klant_id)["plaats"] == "Zeist"
    # ... and a keyless record merging into it (same name and main e-mail) to Baarn.
    keyless = customer(1, plaats="Baarn")
    del keyless["external_id"]
    run_target_ok(config, singer_input([first]))  # sent (the correction outdated the digest)
    assert held_customer(sandbox, klant_id)["plaats"] == "Amersfoort"
    run_target_ok(config, singer_input([keyless], key_properties=[]))
    assert held_customer(sandbox, klant_id)["plaats"] == "Baarn"
    run_target_ok(config, singer_input([first]))
    assert held_customer(sandbox, klant_id)["plaats"] == "Amersfoort"


def test_a_changed_field_of_a_linked_person_is_still_warned_about(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    run_target_ok(config, singer_input([customer(1)]))
    (person_id,) = (p["id"] for item in sandbox.customers() for p in item["contactpersonen"])
    linked = customer(1, contactpersonen=[{"id": person_id, "hoofdcontact": True}])
    run_target_ok(config, singer_input([linked]))

    # The source changes the linked person's phone: /klanten cannot send it, and the docs
    # promise that this is never silent; skipping the record as unchanged would hide it.
    person = {"id": person_id, "hoofdcontact": True, "telefoon1": "0612345678"}
    changed = customer(1, contactpersonen=[person])
    stderr = run_target_ok(config, singer_input([changed]))
    assert f"contact person {person_id} is linked, not changed: field(s) telefoon1" in stderr
    assert "1 contact person fields not sent" in stderr
