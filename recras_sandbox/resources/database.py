"""Write-through SQLite persistence of the resources' rows, in the ``--db`` file the customers
use: one table of canonical rows (amounts as decimal strings) keyed by resource and id, and the
highest id each resource ever used (ids of deleted rows are never given out again)."""

from __future__ import annotations

from collections.abc import Iterable

from recras_sandbox import sqlite


class RowsDatabase(sqlite.Database):
    """Every call runs under the ledger's lock."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS resource_rows ("
        " resource TEXT NOT NULL, id INTEGER NOT NULL, row BLOB NOT NULL,"
        " PRIMARY KEY (resource, id))",
        "CREATE TABLE IF NOT EXISTS resource_max_ids ("
        " resource TEXT PRIMARY KEY, max_id INTEGER NOT NULL)",
    )

    def load(self) -> tuple[list[tuple[str, int, bytes]], dict[str, int]]:
        """Every row ordered by resource and id, and each resource's highest id ever used."""
        rows = self._conn.execute(
            "SELECT resource, id, row FROM resource_rows ORDER BY resource, id"
        ).fetchall()
        max_ids = dict(self._conn.execute("SELECT resource, max_id FROM resource_max_ids"))
        return rows, max_ids

    def save(
        self,
        rows: Iterable[tuple[str, int, bytes]],
        deleted: Iterable[tuple[str, int]],
        max_ids: dict[str, int],
    ) -> None:
        """Write rows, delete others and record the highest ids, in one transaction."""
        with sqlite.transaction(self._conn):
            self._conn.executemany(
                "INSERT OR REPLACE INTO resource_rows (resource, id, row) VALUES (?, ?, ?)", rows
            )
            self._conn.executemany(
                "DELETE FROM resource_rows WHERE resource = ? AND id = ?", deleted
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO resource_max_ids (resource, max_id) VALUES (?, ?)",
                max_ids.items(),
            )
