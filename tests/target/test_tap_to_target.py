"""``tap-recras | target-recras``: copy every customer from one sandbox into an empty one.

The tap's ``id`` is a customer id of the *source* Recras, so a stream map turns it into the
source key (``source_id``) and drops the source's contact person ids (they would link to
unrelated persons in the destination). The ``contactpersonen`` child stream is deselected:
its persons travel nested in ``klanten``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.target import COPY_MAPS, SECRET_KEY, TAP, run_target, states, target_config

pytestmark = pytest.mark.slow

CUSTOMER_FIELDS = ("naam", "adres", "postcode", "plaats", "provinciecode", "website")
PERSON_FIELDS = ("voornaam", "achternaam", "geslacht", "email1", "telefoon1", "hoofdcontact")


def _tap_output(config: dict[str, Any], tmp_path: Path) -> str:
    config_path = tmp_path / "tap.json"
    config_path.write_text(json.dumps(config))
    discover = [TAP, "--config", str(config_path), "--discover"]
    catalog = json.loads(
        subprocess.run(discover, capture_output=True, text=True, check=True).stdout
    )
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "klanten"
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    sync = [TAP, "--config", str(config_path), "--catalog", str(catalog_path)]
    return subprocess.run(sync, capture_output=True, text=True, check=True, timeout=120).stdout


def _comparable(customers: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for item in customers:
        persons = tuple(
            tuple(person.get(name) for name in PERSON_FIELDS) for person in item["contactpersonen"]
        )
        rows.append((*(item.get(name) for name in CUSTOMER_FIELDS), persons))
    return sorted(rows, key=repr)


def test_tap_to_target_copies_every_customer(sandbox_factory: Any, tmp_path: Path) -> None:
    source = sandbox_factory(customers=60, seed=5)
    destination = sandbox_factory(customers=0, api_key=SECRET_KEY)
    tap_output = _tap_output(source.config(), tmp_path)

    config = target_config(tmp_path, destination.config(stream_maps=COPY_MAPS), max_workers=4)
    result = run_target(config, tap_output)
    assert result.returncode == 0, result.stderr
    assert "60 created" in result.stderr
    assert states(result.stdout), "the tap's final STATE is passed on"

    copied = destination.customers()
    assert len(copied) == 60
    assert _comparable(copied) == _comparable(source.customers())

    # Copying again updates the same 60 customers: the id map knows every source id.
    again = run_target(
        target_config(
            tmp_path, destination.config(stream_maps=COPY_MAPS), max_workers=4, skip_unchanged=False
        ),
        tap_output,
    )
    assert again.returncode == 0, again.stderr
    assert "0 created, 0 merged, 60 updated" in again.stderr
    assert destination.stats()["customers"] == 60
    assert _comparable(destination.customers()) == _comparable(source.customers())
