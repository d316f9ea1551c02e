"""Fixtures of the id map's tests: a fresh map of each back end."""

from __future__ import annotations

from itertools import count
from pathlib import Path

import pytest
from pgcluster import PostgresCluster
from support.postgres import new_database

_databases = count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh id map of each back end: an SQLite file, a database on the private cluster."""
    if request.param == "sqlite":
        return str(tmp_path / "id-map.sqlite3")
    pg_cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return new_database(pg_cluster, f"id_map_{next(_databases)}")
