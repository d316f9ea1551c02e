"""The id map as an SQLite file: the default back end (``id_map_path``, ``sqlite:///path``).

An embedded SQLite database in WAL mode. Every change is one transaction with
``synchronous=NORMAL``: a killed process loses no committed entry; an operating-system
crash or power cut can lose the last few commits, but never corrupts the file. A run holds
the file with ``flock`` on ``<file>.lock`` (:mod:`target_recras.id_map_lock`).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from target_recras.id_map_lock import FileHold, hold_exclusively
from target_recras.id_map_store import SCHEMA_VERSION, check_schema_version

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS id_map (
    map_key    TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    klant_id   INTEGER,
    identity   TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    floor      INTEGER,
    digest     TEXT
)
"""
#: Columns later schemas added, in order: ``floor`` (pending creates), ``digest`` (version 2).
_ADDED_COLUMNS = (("floor", "INTEGER"), ("digest", "TEXT"))


class SqliteStore:
    """The id map as an SQLite file, held by ``flock`` on ``<file>.lock``."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self.has_digests = True
        self._db: sqlite3.Connection | None = None
        self._hold: FileHold | None = None

    def advice(self, exc: BaseException) -> str:
        """Corrupt, read-only, full disk, or else: check the file."""
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            return (
                "it is corrupt or not an id map. Restore it from a backup (with its -wal file, "
                "if there is one); moving it away starts an empty map, and then every "
                "customer is created again"
            )
        if "readonly" in text or isinstance(exc, PermissionError) or "Read-only" in text:
            return (
                "the target must be able to write it, its -wal, -shm and .lock files and "
                "their directory"
            )
        if "full" in text:
            return "the disk is full; free space, then rerun from the last STATE"
        return "check the file and its directory"

    def open(self, read_only: bool, lock_timeout: float, logger: logging.Logger) -> bool:
        """Hold ``<file>.lock``, then open the file in WAL mode (or read it as it is)."""
        if self.path.is_dir():
            msg = "it is a directory (id_map_path must name a file inside it)"
            raise IsADirectoryError(msg)
        if read_only:
            if not self.path.exists():
                return False
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            check_schema_version(self.name, self._version(self._db))
            self.has_digests = "digest" in self._columns(self._db)
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._hold = FileHold(self.path)
        hold_exclusively(self._hold, lock_timeout, logger)
        self._db = db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        check_schema_version(self.name, self._version(db))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if self._version(db) < SCHEMA_VERSION:
            self._migrate(db, logger)
        return True

    @staticmethod
    def _version(db: sqlite3.Connection) -> int:
        return int(db.execute("PRAGMA user_version").fetchone()[0])

    @staticmethod
    def _columns(db: sqlite3.Connection) -> set[str]:
        return {str(row[1]) for row in db.execute("PRAGMA table_info(id_map)")}

    def _migrate(self, db: sqlite3.Connection, logger: logging.Logger) -> None:
        """Create the table, or bring an older one to :data:`SCHEMA_VERSION`, in one commit.

        The columns are added with no value: old rows keep working, with no digest yet.
        """
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(_SQLITE_SCHEMA)
            columns = self._columns(db)
            added = [(name, sql_type) for name, sql_type in _ADDED_COLUMNS if name not in columns]
            for name, sql_type in added:
                db.execute(f"ALTER TABLE id_map ADD COLUMN {name} {sql_type}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if added:
            logger.info(
                "Id map %s migrated to schema version %d (added %s).",
                self.name,
                SCHEMA_VERSION,
                ", ".join(name for name, _ in added),
            )

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """One autocommitted statement."""
        assert self._db is not None
        return self._db.execute(sql, params).fetchall()

    def close(self, read_only: bool, logger: logging.Logger) -> None:
        """Checkpoint the WAL into the file, close it and release the hold.

        After the checkpoint the ``.sqlite3`` file alone holds every entry. A failure here
        (e.g. a full disk) is logged, and the entries stay in the ``-wal`` file, which SQLite
        folds in on the next open.
        """
        db, self._db = self._db, None
        hold, self._hold = self._hold, None
        if db is not None:
            if not read_only:
                self._checkpoint(db, logger)
            try:
                db.close()
            except sqlite3.Error as exc:
                logger.warning("Closing the id map %s failed: %s", self.path, exc)
        if hold is not None:
            try:
                hold.release()
            except OSError as exc:
                logger.warning("Releasing the id map %s failed: %s", self.path, exc)

    def _checkpoint(self, db: sqlite3.Connection, logger: logging.Logger) -> None:
        try:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            busy, reason = 1, str(exc)
        else:
            reason = "another connection was reading it"
        if busy:
            logger.warning(
                "Could not fold the id map's write-ahead log into %s (%s): keep %s-wal next "
                "to it; it holds the latest entries.",
                self.path,
                reason,
                self.path,
            )
