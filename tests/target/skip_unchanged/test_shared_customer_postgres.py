"""Attacks on skip_unchanged with the id map in PostgreSQL.

The suite's private PostgreSQL cluster (``scripts/pgcluster.py``, as in
tests/target/id_map/test_digests.py) and the real ``target-recras`` against a real sandbox: a write
to a customer by a record without a source key outdates the digest of the key that names
it there too, and what was outdated stays outdated in the next run's process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pgcluster import PostgresCluster
from support.target import (
    SECRET_KEY,
    customer,
    held_customer,
    run_target_ok,
    singer_input,
    target_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_postgres_a_correction_by_id_outdates_the_digest(
    pg_cluster: PostgresCluster, sandbox_factory: Any, tmp_path: Path
) -> None:
    pg_cluster.psql("CREATE DATABASE attack_digest", database="postgres")
    url = f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/attack_digest"
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), id_map_url=url)
    first = customer(1, plaats="Amersfoort")
    run_target_ok(config, singer_input([first]))
    (klant_id,) = (item["id"] for item in sandbox.customers())
    run_target_ok(
        config, singer_input([{"id": klant_id, "plaats": "Zeist"}], key_properties=["id"])
    )
    assert held_customer(sandbox, klant_id)["plaats"] == "Zeist"

    stderr = run_target_ok(config, singer_input([first]))
    assert "0 unchanged (skipped)" in stderr
    assert held_customer(sandbox, klant_id)["plaats"] == "Amersfoort"
    stderr = run_target_ok(config, singer_input([first]))  # now Recras holds it: skipped
    assert "1 unchanged (skipped)" in stderr
