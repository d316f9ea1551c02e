"""target-recras's command line: ``--about``, settings validation, Basic auth, max_rejects."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    TARGET,
    customer,
    rejects,
    run_target,
    singer_input,
    states,
    target_config,
)

SETTINGS = (
    "base_url",
    "api_key",
    "username",
    "password",
    "max_workers",
    "dry_run",
    "rejects_path",
    "max_rejects",
    "id_map_path",
)


def test_about_markdown_lists_every_setting() -> None:
    about = subprocess.run(
        [TARGET, "--about", "--format=markdown"], capture_output=True, text=True, check=True
    ).stdout
    for name in SETTINGS:
        assert f"| {name} |" in about
    assert "Between 1 and 32" in about
    # SDK extras that mean nothing for this target are not offered.
    assert "load_method" not in about
    assert "add_record_metadata" not in about


@pytest.mark.parametrize("workers", [0, 33])
def test_max_workers_is_bounded(tmp_path: Path, workers: int) -> None:
    config = target_config(tmp_path, {"base_url": "https://x.recras.nl", "api_key": SECRET_KEY})
    config.write_text(config.read_text().replace("}", f', "max_workers": {workers}}}', 1))
    result = run_target(config, "")
    assert result.returncode != 0
    assert "max_workers" in result.stderr


def test_basic_auth_fallback_works_and_warns(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=1, password=SECRET_KEY)
    base = {"base_url": sandbox.base_url, "username": sandbox.username, "password": SECRET_KEY}
    result = run_target(target_config(tmp_path, base), singer_input([customer(1)]))
    assert result.returncode == 0, result.stderr
    assert "deprecated in July 2020" in result.stderr
    assert "1 created" in result.stderr


def test_max_rejects_stops_after_that_many(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=1, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_rejects=2, max_workers=1)
    records = [customer(1), customer(2, naam=5), customer(3, naam=6), customer(4)]
    records += [customer(5, naam=7), customer(6)]
    result = run_target(config, singer_input(records, state_every=1))
    assert result.returncode == 1
    assert "Stopped after 3 rejected records (max_rejects is 2)" in result.stderr
    assert len(rejects(tmp_path / "rejects.jsonl")) == 3
    # Nothing after the third reject is written, and no STATE goes past it.
    names = {item["naam"] for item in sandbox.customers()}
    assert {"Klant 1", "Klant 4"} <= names
    assert "Klant 6" not in names
    assert states(result.stdout)[-1] == {"done": 4}
