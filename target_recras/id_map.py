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

Two back ends keep the rows: this SQLite file (``id_map_path``, or ``id_map_url``
``sqlite:///path``), and a PostgreSQL database that workers on several machines share
(``id_map_url`` ``postgresql://...``, :mod:`target_recras.id_map_postgres`). :class:`IdMap`
is the one interface; a back end is a :class:`MapStore` that runs its SQL.

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
from typing import Protocol

from recras_api.redact import scrub
from target_recras.errors import TargetStopError
from target_recras.id_map_lock import FileHold, hold_exclusively
from target_recras.matching import KeyKind

#: The upsert both back ends run (``?`` placeholders; PostgreSQL's become
#: ``%s``). Every write names its columns: SQLite maps made before ``floor`` have it last.
UPSERT = (
    "INSERT INTO id_map (map_key, kind, klant_id, identity, run_id, seq, updated_at, floor) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (map_key) DO UPDATE SET kind = excluded.kind, klant_id = excluded.klant_id, "
    "identity = excluded.identity, run_id = excluded.run_id, seq = excluded.seq, "
    "updated_at = excluded.updated_at, floor = excluded.floor"
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
    floor      INTEGER
)
"""
SQLITE_URL_PREFIX = "sqlite:///"
POSTGRES_URL_PREFIXES = ("postgresql://", "postgres://")


class IdMapError(TargetStopError):
    """The id map cannot be opened or written; the message names it (never a password)."""


@dataclass(frozen=True)
class PendingCreate:
    """A ``POST`` that was sent (or about to be) when a previous run stopped."""

    map_key: str
    identity: str
    #: The highest customer id Recras had before the ``POST`` (None: not known, older map).
    floor: int | None


class MapStore(Protocol):
    """One back end of the id map: it opens, holds, queries and closes the rows' database."""

    #: The id map as the user knows it (a path, or a URL without its password).
    name: str
    #: The exceptions of this back end that mean "cannot open or write the map".
    errors: tuple[type[Exception], ...]

    def open(self, read_only: bool, lock_timeout: float, logger: logging.Logger) -> bool:
        """Connect, hold (unless read-only) and create the schema; False: no map to read."""

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one statement in its own committed transaction; its rows (``?`` placeholders)."""

    def close(self, read_only: bool, logger: logging.Logger) -> None:
        """Close and release the hold; logs, never raises (idempotent)."""

    def advice(self, exc: BaseException) -> str:
        """What the user should do about ``exc``."""


def open_store(location: str | Path) -> MapStore:
    """The back end for ``location``: a path or ``sqlite:///path``, or a PostgreSQL URL."""
    text = str(location)
    if text.startswith(POSTGRES_URL_PREFIXES):
        try:  # psycopg is the optional postgres extra: import it only for such a map
            from target_recras.id_map_postgres import PostgresStore  # noqa: PLC0415
        except ImportError as exc:
            msg = (
                f"The id map {scrub(text)} needs the PostgreSQL driver ({exc}): "
                "install recras-singer[postgres]. The run stopped before writing anything."
            )
            raise IdMapError(msg) from exc
        return PostgresStore(text)
    if text.startswith(SQLITE_URL_PREFIX):
        text = text.removeprefix(SQLITE_URL_PREFIX)  # sqlite:///rel, sqlite:////abs
    elif "://" in text:
        msg = (
            f"The id map {text.split('://')[0]}://... cannot be opened: id_map_url must start "
            "with sqlite:/// or postgresql://. The run stopped before writing anything."
        )
        raise IdMapError(msg)
    return SqliteStore(Path(text))


class SqliteStore:
    """The id map as an SQLite file, held by ``flock`` on ``<file>.lock``."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
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
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._hold = FileHold(self.path)
        hold_exclusively(self._hold, lock_timeout, logger)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SQLITE_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(id_map)")}
        if "floor" not in columns:  # a map written before pending creates kept a floor
            self._db.execute("ALTER TABLE id_map ADD COLUMN floor INTEGER")
        return True

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


class IdMap:
    """Thread-safe access to the id map; lookups are served from memory."""

    def __init__(
        self,
        location: str | Path,
        *,
        read_only: bool = False,
        lock_timeout: float = 0.0,
        logger: logging.Logger | None = None,
    ) -> None:
        """Open (or create) the map; unless read-only, hold it, waiting up to ``lock_timeout``.

        ``location`` is a file path, ``sqlite:///path`` or ``postgresql://...``.
        """
        self.read_only = read_only
        self.run_id = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._logger = logger or logging.getLogger(__name__)
        self._store: MapStore | None = None
        store = open_store(location)
        self.name = store.name
        try:
            if not store.open(read_only, lock_timeout, self._logger):
                store.close(read_only, self._logger)  # read-only, and no map yet: all empty
                return
            self._store = store
            rows = store.query("SELECT map_key, klant_id FROM id_map WHERE klant_id > 0")
            self._ids = {str(key): int(str(klant_id)) for key, klant_id in rows}
        except store.errors as exc:
            store.close(read_only, self._logger)
            self._store = None
            raise IdMapError(self._problem(store, "cannot be opened", exc)) from exc
        except BaseException:
            store.close(read_only, self._logger)
            self._store = None
            raise

    def _problem(self, store: MapStore, what: str, exc: BaseException) -> str:
        """The id map ``what`` because of ``exc``: what the user reads, with what to do."""
        return scrub(
            f"The id map {store.name} {what}: {exc}; {store.advice(exc)}. The run stopped; "
            "nothing was lost: rerun from the last STATE once this is fixed."
        )

    def close(self) -> None:
        """Close the map and release the hold (idempotent; never raises).

        A failure here must not hide the error that stopped the run: the back end logs it.
        """
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close(self.read_only, self._logger)

    def lookup(self, map_key: str) -> int | None:
        """The Recras customer id stored for ``map_key``, if any."""
        return self._ids.get(map_key)

    def mapped_ids(self) -> set[int]:
        """Every customer id some entry names (a look-up after a lost answer skips them)."""
        with self._lock:
            return set(self._ids.values())

    def pending(self) -> list[PendingCreate]:
        """Creates a previous run started but never saw answered."""
        rows = self._query(
            "SELECT map_key, identity, floor FROM id_map WHERE klant_id IS NULL ORDER BY seq", ()
        )
        return [
            PendingCreate(str(key), str(identity), None if floor is None else int(str(floor)))
            for key, identity, floor in rows
        ]

    def _query(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        if self._store is None:
            return []
        with self._lock:
            store = self._store
            try:
                return store.query(sql, params)
            except store.errors as exc:
                raise IdMapError(self._problem(store, "could not be written", exc)) from exc

    def _write(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        return [] if self.read_only else self._query(sql, params)

    def begin_create(
        self, map_key: str, kind: KeyKind, identity: str, seq: int, floor: int | None
    ) -> None:
        """Record that a ``POST`` for ``map_key`` is about to be sent.

        ``floor`` is the highest customer id Recras had before it: only a customer above it
        can be the one this ``POST`` made, so a rerun never takes an older one for it.
        """
        self._ids.pop(map_key, None)
        self._write(UPSERT, (map_key, kind, None, identity, self.run_id, seq, time.time(), floor))

    def store(self, map_key: str, kind: KeyKind, identity: str, klant_id: int, seq: int) -> None:
        """Record that ``map_key`` is Recras customer ``klant_id``."""
        self._write(
            UPSERT, (map_key, kind, klant_id, identity, self.run_id, seq, time.time(), None)
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
        sql = "DELETE FROM id_map WHERE kind = ? AND klant_id IS NOT NULL"
        params: tuple[object, ...] = (str(KeyKind.NATURAL),)
        if below_seq is not None:
            sql += " AND run_id = ? AND seq < ?"
            params += (self.run_id, below_seq)
        for (map_key,) in self._write(sql + " RETURNING map_key", params):
            self._ids.pop(str(map_key), None)
