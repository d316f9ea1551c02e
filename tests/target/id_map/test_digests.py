"""The id map's digests in both back ends, and maps of the previous schema.

SQLite files and databases on the suite's private PostgreSQL cluster (``scripts/pgcluster.py``,
as in tests/target/id_map/test_postgres_workers.py): a digest is kept only for a confirmed
write, dropped by a pending create and before a write of other data; a rerun with a few changes
sends only those (the real ``target-recras``, requests counted by tests/support/fault_proxy.py);
a map of schema version 1 (no ``digest`` column) is migrated in place when a run holds it, keeps
its entries and works (its first rerun sends each record once, the next one skips them); a map
of a newer version is refused.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pgcluster import PostgresCluster
from support.fault_proxy import FaultProxy
from support.lives.skip_unchanged import assert_data, reshuffled, source_record, writes
from support.target import SECRET_KEY, customer, run_target, singer_input, target_config

from target_recras.id_map import SCHEMA_VERSION, IdMap, KeyKind

pytestmark = pytest.mark.timeout(120)

KEY = "source:external_id='EXT-1'"
#: The table as schema version 1 wrote it (SQLite files of that time had no version).
V1_COLUMNS = (
    "map_key text PRIMARY KEY, kind text NOT NULL, klant_id bigint, identity text NOT NULL, "
    "run_id text NOT NULL, seq bigint NOT NULL, updated_at double precision NOT NULL, "
    "floor bigint"
)


def test_digest_kept_only_for_confirmed_writes_in_both_back_ends(location: str) -> None:
    id_map = IdMap.open(location)
    id_map.store(KEY, KeyKind.SOURCE, "[]", 7, 0, digest="d1")
    assert id_map.unchanged(KEY, 7, "d1")
    assert not id_map.unchanged(KEY, 7, "d2") and not id_map.unchanged(KEY, 8, "d1")
    id_map.before_write(KEY, "d2")  # other data on the way: d1 no longer says what Recras has
    assert not id_map.unchanged(KEY, 7, "d1")
    id_map.confirm(KEY, "d2")
    id_map.close()

    reopened = IdMap.open(location)
    assert reopened.unchanged(KEY, 7, "d2")
    # A second key on the same customer: neither is skipped (they overwrite each other).
    reopened.store("source:external_id='EXT-2'", KeyKind.SOURCE, "[]", 7, 1, digest="d9")
    assert not reopened.unchanged(KEY, 7, "d2")
    reopened.forget("source:external_id='EXT-2'")
    # Its write outdated KEY's digest (Recras may hold EXT-2's data), so KEY is sent again.
    assert not reopened.unchanged(KEY, 7, "d2")
    # A create in flight has no digest, nor has the customer it is resolved to.
    reopened.begin_create(KEY, KeyKind.SOURCE, "[]", 2, 7)
    reopened.resolve(KEY, 7)
    assert not reopened.unchanged(KEY, 7, "d2")
    reopened.close()
    read_only = IdMap.open(location, read_only=True)
    assert read_only.lookup(KEY) == 7 and read_only.digest(KEY) is None
    read_only.close()


@pytest.mark.slow
def test_digest_rerun_with_changes_sends_only_them_in_both_back_ends(
    location: str, sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    records = {n: source_record(n) for n in range(40)}
    with FaultProxy(sandbox.base_url) as proxy:
        config = target_config(
            tmp_path, sandbox.config(base_url=proxy.base_url), id_map_url=location, max_workers=4
        )
        assert run_target(config, singer_input(list(records.values()))).returncode == 0
        before = len(proxy.log)
        for n in (3, 17, 29):
            records[n] = source_record(n, version=1)
        rerun = [reshuffled(record) for record in reversed(records.values())]
        result = run_target(config, singer_input(rerun))
        assert result.returncode == 0, result.stderr[-3000:]
        # One PUT per change: the persons are those last written, so no GET links them.
        assert writes(proxy, before) == {"PUT /api2/klanten/<id>": 3}
        assert "3 updated, 37 unchanged (skipped)" in result.stderr
    assert_data(sandbox, records)


def _v1_sqlite(path: Path, klant_id: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE id_map ({V1_COLUMNS})")
        db.execute(
            "INSERT INTO id_map VALUES (?, 'source', ?, '[]', 'old', 0, 0, NULL)", (KEY, klant_id)
        )
    db.close()


def _v1_postgres(pg_cluster: PostgresCluster, url: str, klant_id: int) -> None:
    key = KEY.replace("'", "''")  # quoted for SQL
    pg_cluster.psql(
        f"CREATE TABLE id_map_version (version integer NOT NULL);"
        f"INSERT INTO id_map_version VALUES (1);"
        f"CREATE TABLE id_map ({V1_COLUMNS});"
        f"INSERT INTO id_map VALUES ('{key}', 'source', {klant_id}, '[]', 'old', 0, 0, NULL);",
        database=url.rsplit("/", 1)[1],
    )


def _version(location: str, pg_cluster: PostgresCluster | None) -> int:
    if pg_cluster is None:
        with sqlite3.connect(location) as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
        db.close()
        return version
    return int(
        pg_cluster.psql("SELECT version FROM id_map_version", database=location.rsplit("/", 1)[1])
    )


def test_digest_a_map_of_the_previous_schema_is_migrated_and_works(
    location: str, request: pytest.FixtureRequest, sandbox_factory: Any, tmp_path: Path
) -> None:
    postgres = location.startswith("postgresql://")
    pg_cluster = request.getfixturevalue("pg_cluster") if postgres else None
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    body = {name: value for name, value in customer(1).items() if name != "external_id"}
    status, _, _ = sandbox.request("POST", "/api2/klanten", body)
    assert status == 201
    klant_id = sandbox.customers()[0]["id"]
    if pg_cluster is None:
        _v1_sqlite(Path(location), klant_id)
    else:
        _v1_postgres(pg_cluster, location, klant_id)
    old = IdMap.open(location, read_only=True)  # a dry run reads an old map without migrating it
    assert old.lookup(KEY) == klant_id and old.digest(KEY) is None
    old.close()

    records = [customer(1, plaats="Zwolle"), customer(2)]
    with FaultProxy(sandbox.base_url) as proxy:
        config = target_config(
            tmp_path, sandbox.config(base_url=proxy.base_url), id_map_url=location
        )
        first = run_target(config, singer_input(records))
        assert first.returncode == 0, first.stderr[-3000:]
        assert "migrated" in first.stderr
        assert "1 created, 0 merged, 1 updated, 0 unchanged" in first.stderr
        assert _version(location, pg_cluster) == SCHEMA_VERSION
        before = len(proxy.log)
        second = run_target(config, singer_input(records))
        assert second.returncode == 0, second.stderr[-3000:]
        assert len(proxy.log) == before, proxy.describe()
        assert "0 updated, 2 unchanged (skipped)" in second.stderr
    held = {item["naam"]: item for item in sandbox.customers()}
    assert sorted(held) == ["Klant 1", "Klant 2"]
    assert held["Klant 1"]["id"] == klant_id and held["Klant 1"]["plaats"] == "Zwolle"


def test_digest_a_newer_sqlite_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "id-map.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE id_map ({V1_COLUMNS})")
        db.execute("PRAGMA user_version = 99")
    db.close()
    config = target_config(tmp_path, {"base_url": "https://127.0.0.1:9", "api_key": SECRET_KEY})
    result = run_target(config, singer_input([customer(1)]))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        f"The id map {path} has schema version 99, newer than this target-recras knows "
        f"({SCHEMA_VERSION})"
    ) in result.stderr
