"""The id map: which Recras customer each source key (and each in-flight create) became.

An embedded SQLite database in WAL mode. Every change is one transaction with
``synchronous=NORMAL``: a killed process loses no committed entry; an operating-system
crash or power cut can lose the last few commits, but never corrupts the file.

Rows have two kinds (:class:`~target_recras.matching.KeyKind`):

``source``
    A source key (the stream's key properties, e.g. ``external_id``) and the customer it was
    written to. Kept for good: the next run updates that customer.
``natural``
    For records without any key: the customer's identity (name plus main contact) while its
    ``POST`` is not yet covered by an emitted STATE. A rerun after a crash replays those
    records; the entry turns the replay into an update. Entries are pruned once a STATE
    covering them has been emitted.

A run holds the id map exclusively (:mod:`target_recras.id_map_lock`) from opening it to
closing it, so two runs never write the same customers; a read-only (dry-run) map is not held.

Before a ``POST`` the row is written *pending* (no id yet) together with the identity it
sends; after the answer the id is filled in. A pending row at start-up means the previous run
stopped between the two, and :mod:`target_recras.recovery` looks the customer up in Recras.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from target_recras.errors import TargetStopError
from target_recras.id_map_lock import FileHold, hold_exclusively
from target_recras.matching import KeyKind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS id_map (
    map_key    TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    klant_id   INTEGER,
    identity   TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    floor      INTEGER
)
"""
#: Every write names its columns: maps created before ``floor`` have it last, by ALTER TABLE.
_INSERT = (
    "INSERT OR REPLACE INTO id_map "
    "(map_key, kind, klant_id, identity, run_id, seq, updated_at, floor) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class IdMapError(TargetStopError):
    """The id map cannot be opened or written; the message names the file."""


@dataclass(frozen=True)
class PendingCreate:
    """A ``POST`` that was sent (or about to be) when a previous run stopped."""

    map_key: str
    identity: str
    #: The highest customer id Recras had before the ``POST`` (None: not known, older map).
    floor: int | None


class IdMap:
    """Thread-safe access to the id map file; lookups are served from memory."""

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        lock_timeout: float = 0.0,
        logger: logging.Logger | None = None,
    ) -> None:
        """Open (or create) the map; unless read-only, hold it, waiting up to ``lock_timeout``."""
        self.path = Path(path)
        self.read_only = read_only
        self.run_id = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._db: sqlite3.Connection | None = None
        self._hold: FileHold | None = None
        self._logger = logger or logging.getLogger(__name__)
        try:
            self._open(lock_timeout)
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise IdMapError(self._problem("cannot be opened", exc)) from exc
        except BaseException:
            self.close()
            raise

    def _problem(self, what: str, exc: BaseException) -> str:
        """The id map ``what`` because of ``exc``: what the user reads, with what to do."""
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            advice = (
                "it is corrupt or not an id map. Restore it from a backup (with its -wal file, "
                "if there is one); moving it away starts an empty map, and then every "
                "customer is created again"
            )
        elif "readonly" in text or isinstance(exc, PermissionError) or "Read-only" in text:
            advice = (
                "the target must be able to write it, its -wal, -shm and .lock files and "
                "their directory"
            )
        elif "full" in text:
            advice = "the disk is full; free space, then rerun from the last STATE"
        else:
            advice = "check the file and its directory"
        return (
            f"The id map {self.path} {what}: {text}; {advice}. The run stopped; nothing was "
            "lost: rerun from the last STATE once this is fixed."
        )

    def _open(self, lock_timeout: float) -> None:
        if self.path.is_dir():
            msg = "it is a directory (id_map_path must name a file inside it)"
            raise IsADirectoryError(msg)
        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._hold = FileHold(self.path)
            hold_exclusively(self._hold, lock_timeout, self._logger)
        if self.read_only:
            if self.path.exists():
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(id_map)")}
            if "floor" not in columns:  # a map written before pending creates kept a floor
                self._db.execute("ALTER TABLE id_map ADD COLUMN floor INTEGER")
        if self._db is not None:
            rows = self._db.execute("SELECT map_key, klant_id FROM id_map WHERE klant_id > 0")
            self._ids = dict(rows.fetchall())

    def close(self) -> None:
        """Checkpoint the WAL into the file, close it and release the hold (idempotent).

        After the checkpoint the ``.sqlite3`` file alone holds every entry. Never raises: a
        failure here (e.g. a full disk) must not hide the error that stopped the run; it is
        logged, and the entries stay in the ``-wal`` file, which SQLite folds in on the next
        open.
        """
        with self._lock:
            db, self._db = self._db, None
            hold, self._hold = self._hold, None
        if db is not None:
            if not self.read_only:
                self._checkpoint(db)
            try:
                db.close()
            except sqlite3.Error as exc:
                self._logger.warning("Closing the id map %s failed: %s", self.path, exc)
        if hold is not None:
            try:
                hold.release()
            except OSError as exc:
                self._logger.warning("Releasing the id map %s failed: %s", self.path, exc)

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        try:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            busy, reason = 1, str(exc)
        else:
            reason = "another connection was reading it"
        if busy:
            self._logger.warning(
                "Could not fold the id map's write-ahead log into %s (%s): keep %s-wal next "
                "to it; it holds the latest entries.",
                self.path,
                reason,
                self.path,
            )

    def lookup(self, map_key: str) -> int | None:
        """The Recras customer id stored for ``map_key``, if any."""
        return self._ids.get(map_key)

    def mapped_ids(self) -> set[int]:
        """Every customer id some entry names (a look-up after a lost answer skips them)."""
        with self._lock:
            return set(self._ids.values())

    def pending(self) -> list[PendingCreate]:
        """Creates a previous run started but never saw answered."""
        if self._db is None:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT map_key, identity, floor FROM id_map WHERE klant_id IS NULL ORDER BY seq"
            ).fetchall()
        return [PendingCreate(key, identity, floor) for key, identity, floor in rows]

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        if self.read_only or self._db is None:
            return
        with self._lock:
            try:
                self._db.execute(sql, params)
            except sqlite3.Error as exc:
                raise IdMapError(self._problem("could not be written", exc)) from exc

    def begin_create(
        self, map_key: str, kind: KeyKind, identity: str, seq: int, floor: int | None
    ) -> None:
        """Record that a ``POST`` for ``map_key`` is about to be sent.

        ``floor`` is the highest customer id Recras had before it: only a customer above it
        can be the one this ``POST`` made, so a rerun never takes an older one for it.
        """
        self._ids.pop(map_key, None)
        self._write(_INSERT, (map_key, kind, None, identity, self.run_id, seq, time.time(), floor))

    def store(self, map_key: str, kind: KeyKind, identity: str, klant_id: int, seq: int) -> None:
        """Record that ``map_key`` is Recras customer ``klant_id``."""
        self._write(
            _INSERT, (map_key, kind, klant_id, identity, self.run_id, seq, time.time(), None)
        )
        self._ids[map_key] = klant_id

    def resolve(self, map_key: str, klant_id: int) -> None:
        """Fill in the customer a pending create turned out to have made."""
        self._write("UPDATE id_map SET klant_id = ? WHERE map_key = ?", (klant_id, map_key))
        self._ids[map_key] = klant_id

    def forget(self, map_key: str) -> None:
        """Drop ``map_key`` (a create that was refused, or a customer deleted in Recras)."""
        self._ids.pop(map_key, None)
        self._write("DELETE FROM id_map WHERE map_key = ?", (map_key,))

    def prune_natural(self, below_seq: int | None = None) -> None:
        """Drop ``natural`` entries an emitted STATE covers: this run's below ``below_seq``.

        ``None`` (the run ended well) drops them all, including those of an earlier run
        that were resolved at start-up.
        """
        if self.read_only or self._db is None:
            return
        sql = "DELETE FROM id_map WHERE kind = ? AND klant_id IS NOT NULL"
        params: tuple[object, ...] = (KeyKind.NATURAL,)
        if below_seq is not None:
            sql += " AND run_id = ? AND seq < ?"
            params += (self.run_id, below_seq)
        with self._lock:
            try:
                rows = self._db.execute(sql + " RETURNING map_key", params).fetchall()
            except sqlite3.Error as exc:
                raise IdMapError(self._problem("could not be written", exc)) from exc
        for (map_key,) in rows:
            self._ids.pop(map_key, None)
