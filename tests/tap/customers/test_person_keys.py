"""contactpersonen is keyed on (klant_id, id): a person linked to two customers is two rows.

Keyed on ``id`` alone, a key-based target kept one row per person and one
customer lost its link. The real executable's discovery and its SCHEMA messages are checked,
and the records of a real sandbox must be unique under the key.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from support.sandbox import SandboxFactory

from tap_recras.testing import make_catalog, run_tap, tap_command, write_inputs

pytestmark = pytest.mark.slow

PERSON_KEY = ["klant_id", "id"]


def test_discovery_keys_contact_persons_on_customer_and_person(
    sandbox_factory: SandboxFactory,
) -> None:
    config = sandbox_factory(customers=1).config()
    with tempfile.TemporaryDirectory() as tmp:
        args = [*tap_command(), *write_inputs(Path(tmp), config), "--discover"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    entry = next(s for s in json.loads(done.stdout)["streams"] if s["stream"] == "contactpersonen")
    metadata = {tuple(m["breadcrumb"]): m["metadata"] for m in entry["metadata"]}

    assert entry["key_properties"] == PERSON_KEY
    assert metadata[()]["table-key-properties"] == PERSON_KEY
    for name in PERSON_KEY:
        assert metadata[("properties", name)]["inclusion"] == "automatic"


def test_records_are_unique_under_the_key_the_schema_announces(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=40)
    config = sandbox.config()

    run = run_tap(config, catalog=make_catalog(config))

    assert run.returncode == 0, run.stderr
    schema = next(m for m in run.of_type("SCHEMA") if m["stream"] == "contactpersonen")
    assert schema["key_properties"] == PERSON_KEY
    records = run.records("contactpersonen")
    keys = {(r["klant_id"], r["id"]) for r in records}
    assert len(keys) == len(records) > 0
    links = {(c["id"], p["id"]) for c in sandbox.customers() for p in c["contactpersonen"]}
    assert keys == links


def test_klant_id_stays_in_the_records_when_only_person_fields_are_selected(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=5)
    config = sandbox.config()
    catalog = make_catalog(config, nested=False)
    for entry in catalog["streams"]:
        if entry["stream"] == "contactpersonen":
            for item in entry["metadata"]:
                if item["breadcrumb"] == ["properties", "klant_id"]:
                    item["metadata"]["selected"] = False  # automatic wins over this

    run = run_tap(config, catalog=catalog)

    assert run.returncode == 0, run.stderr
    assert all("klant_id" in r for r in run.records("contactpersonen"))
