"""Write-through SQLite persistence of the resources' rows, in the ``--db`` file the customers
use: one table of canonical rows (amounts as decimal strings) keyed by resource and id, and the
highest id each resource ever used (ids of deleted rows are never given out again)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable


class RowsDatabase:
    """Every call runs under the ledger's lock."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RowsDatabase:
        """Open (or create) the file and the tables."""
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS resource_rows ("
            " resource TEXT NOT NULL, id INTEGER NOT NULL, row BLOB NOT NULL,"
            " PRIMARY KEY (resource, id))"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS resource_max_ids ("
            " resource TEXT PRIMARY KEY, max_id INTEGER NOT NULL)"
        )
        return cls(conn)

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
        self._conn.execute("BEGIN")
        try:
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
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()
