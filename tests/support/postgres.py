"""Databases on the suite's private PostgreSQL cluster (the ``pg_cluster`` fixture)."""

from __future__ import annotations

from pgcluster import PostgresCluster


def new_database(pg_cluster: PostgresCluster, name: str) -> str:
    """A new database ``name`` in ``pg_cluster``; its URL, as ``id_map_url`` takes it."""
    pg_cluster.psql(f"CREATE DATABASE {name}", database="postgres")
    return f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/{name}"
