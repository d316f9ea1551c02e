"""The id map as an SQLite file: the default back end (``id_map_path``, ``sqlite:///path``).

An embedded SQLite database in WAL mode. Changes are committed when the id map says
(:mod:`target_recras.id_map`: before the request that depends on them, before a STATE), with
the changes other lanes queued meanwhile, in one transaction. ``synchronous=NORMAL``: the
failure this guards against is a killed process, which loses no committed entry; an
operating-system crash or power cut can lose the last few commits (a pending row or an entry
a STATE already covers), but never corrupts the file. A run holds
the file with ``flock`` on ``<file>.lock`` (:mod:`target_recras.id_map._lock`); a dry run
reads it without holding it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from typing_extensions import override

from target_recras.id_map._lock import FileHold, hold_exclusively
from target_recras.id_map._store import (
    SCHEMA_VERSION,
    OpenStore,
    check_schema_version,
    opening,
    run_logged,
    statements_with,
)

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
SQLITE_URL_PREFIX = "sqlite:///"
#: Columns later schemas added, in order: ``floor`` (pending creates), ``digest`` (version 2).
_ADDED_COLUMNS = (("floor", "INTEGER"), ("digest", "TEXT"))


class SqliteStore(OpenStore[sqlite3.Connection]):
    """The id map as an SQLite file: :meth:`open` holds it, :meth:`open_read_only` reads it."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
    statements = statements_with("?")

    @staticmethod
    def advice(exc: BaseException) -> str:
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

    @staticmethod
    def display_name(location: str) -> str:
        """The file's path: ``location`` without ``sqlite:///``."""
        return location.removeprefix(SQLITE_URL_PREFIX)  # sqlite:///rel, sqlite:////abs

    @classmethod
    def open(cls, location: str, lock_timeout: float, logger: logging.Logger) -> SqliteStore:
        """Hold ``<file>.lock``, then open the file in WAL mode, created or migrated.

        Closing the store folds the WAL into the file, closes it and releases the hold.
        """
        name = cls.display_name(location)
        path = Path(name)
        with opening(name, cls.errors, cls.advice), ExitStack() as exits:
            _refuse_directory(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            hold = FileHold(path)
            exits.callback(run_logged, hold.release, (OSError,), logger, "Releasing", name)
            hold_exclusively(hold, lock_timeout, logger)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            exits.callback(run_logged, db.close, (sqlite3.Error,), logger, "Closing", name)
            exits.callback(_checkpoint, db, name, logger)
            check_schema_version(name, _version(db))
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if _version(db) < SCHEMA_VERSION:
                _migrate(db, name, logger)
            return cls(name, db, exits.pop_all())

    @classmethod
    def open_read_only(cls, location: str, logger: logging.Logger) -> SqliteStore | None:
        """Read the file as it is (not held, not migrated); None: there is no file."""
        name = cls.display_name(location)
        path = Path(name)
        with opening(name, cls.errors, cls.advice), ExitStack() as exits:
            _refuse_directory(path)
            if not path.exists():
                return None
            uri = f"{path.resolve().as_uri()}?mode=ro"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            exits.callback(run_logged, db.close, (sqlite3.Error,), logger, "Closing", name)
            check_schema_version(name, _version(db))
            has_digests = "digest" in _columns(db)
            return cls(name, db, exits.pop_all(), has_digests=has_digests)

    @override
    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """One statement, autocommitted outside :meth:`transaction`."""
        return self._db.execute(sql, params).fetchall()

    @override
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back if a statement fails."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _refuse_directory(path: Path) -> None:
    if path.is_dir():
        msg = "it is a directory (id_map_path must name a file inside it)"
        raise IsADirectoryError(msg)


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _columns(db: sqlite3.Connection) -> set[str]:
    return {str(row[1]) for row in db.execute("PRAGMA table_info(id_map)")}


def _migrate(db: sqlite3.Connection, name: str, logger: logging.Logger) -> None:
    """Create the table, or bring an older one to :data:`SCHEMA_VERSION`, in one commit.

    The columns are added with no value: old rows keep working, with no digest yet.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(_SQLITE_SCHEMA)
        columns = _columns(db)
        added = [(column, sql_type) for column, sql_type in _ADDED_COLUMNS if column not in columns]
        for column, sql_type in added:
            db.execute(f"ALTER TABLE id_map ADD COLUMN {column} {sql_type}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    if added:
        logger.info(
            "Id map %s migrated to schema version %d (added %s).",
            name,
            SCHEMA_VERSION,
            ", ".join(column for column, _ in added),
        )


def _checkpoint(db: sqlite3.Connection, name: str, logger: logging.Logger) -> None:
    """Fold the WAL into the file: afterwards the ``.sqlite3`` file alone holds every entry.

    A failure (e.g. a full disk) is logged, and the entries stay in the ``-wal`` file, which
    SQLite folds in on the next open.
    """
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
            name,
            reason,
            name,
        )
