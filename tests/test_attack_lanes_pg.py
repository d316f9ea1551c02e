"""The writer-lane attacks of tests/test_attack_lanes_overlap.py and _concurrency.py with the
id map in PostgreSQL (the suite's private pg_cluster, ``scripts/pgcluster.py``).

There the id map's lock is held across statements that go over a network connection too:
writes to Recras must still overlap, and an overlapped write must keep no digest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from test_attack_lanes_concurrency import four_slow_puts
from test_attack_lanes_overlap import put_while_another_is_in_flight

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from pgcluster import PostgresCluster

pytestmark = pytest.mark.timeout(120)


def database(pg_cluster: PostgresCluster, name: str) -> str:
    """A new database ``name`` in ``pg_cluster``; its URL."""
    pg_cluster.psql(f"CREATE DATABASE {name}", database="postgres")
    return f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/{name}"


def test_attack_lanes_pg_a_put_sent_while_another_is_in_flight_keeps_no_digest(
    pg_cluster: PostgresCluster, sandbox_factory: Any, tmp_path: Path
) -> None:
    url = database(pg_cluster, "lanes_overlap")
    put_while_another_is_in_flight(sandbox_factory, tmp_path, id_map_url=url)


def test_attack_lanes_pg_slow_puts_of_four_lanes_overlap(
    pg_cluster: PostgresCluster, sandbox_factory: Any, tmp_path: Path
) -> None:
    four_slow_puts(sandbox_factory, tmp_path, id_map_url=database(pg_cluster, "lanes_slow"))
