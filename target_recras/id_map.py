"""The id map: which Recras customer each source key (and each in-flight create) became.

Rows have two kinds (:class:`~target_recras.matching.KeyKind`):

``source``
    A source key (the stream's key properties, e.g. ``external_id``) and the customer it was
    written to. Kept for good: the next run updates that customer.
``natural``
    For records without any key: the customer's identity (name plus main contact) while its
    ``POST`` is not yet covered by an emitted STATE. A rerun after a crash replays those
    records; the entry turns the replay into an update. Entries are pruned once a STATE
    covering them has been emitted.

Two back ends keep the rows: an SQLite file (``id_map_path``, or ``id_map_url``
``sqlite:///path``, :mod:`target_recras.id_map_sqlite`), and a PostgreSQL database that
workers on several machines share (``id_map_url`` ``postgresql://...``,
:mod:`target_recras.id_map_postgres`). :class:`IdMap` is the one interface; a back end is a
:class:`~target_recras.id_map_store.MapStore` that runs its SQL.

A run holds the id map exclusively (:mod:`target_recras.id_map_lock`) from opening it to
closing it, so two runs never write the same customers; a read-only (dry-run) map is not held.

Before a ``POST`` the row is written *pending* (no id yet) together with the identity it
sends; after the answer the id is filled in. A pending row at start-up means the previous run
stopped between the two, and :mod:`target_recras.recovery` looks the customer up in Recras.

A ``source`` row also keeps the *digest* of the payload last written to its customer and
confirmed by Recras (:func:`~target_recras.digest.payload_digest`), so that a record sent
again unchanged is skipped. It is set in the statement that records the confirmed write,
and cleared before a write of other data is sent: a write that fails or is cut off (Recras
may have applied it) leaves no digest, so whatever comes next is sent. Writer lanes run at
once, so a write to a customer also drops the digests of the other entries naming it or
writing to it, and those writes confirm no digest (the other write may land after theirs);
nor does a write to a customer that another entry names. Each method that reads and changes
the digests holds the memory lock throughout and queues its statements under it, so these
steps never interleave and the statements reach the file in the order of the changes: a
crash leaves a prefix of them on disk. A method that queued statements runs the queue (any
lane's statements in it, each committed on its own as before) after letting go of that
lock, and returns once they are committed. With the lock held across every commit, the
writer lanes queued behind each one even to change or read the map in memory (6 ms a
``store``, 1 ms a ``before_write`` that wrote nothing; issue 19).

The schema is versioned (:data:`~target_recras.id_map_store.SCHEMA_VERSION`; SQLite keeps it
in ``PRAGMA user_version``, PostgreSQL in table ``id_map_version``): a map of an older version
is migrated in place when a run holds it, and a map written by a newer target-recras is
refused rather than misread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from recras_api.redact import scrub
from target_recras.id_map_sqlite import SqliteStore
from target_recras.id_map_store import IdMapError, MapStore
from target_recras.matching import KeyKind

#: The upsert both back ends run (``?`` placeholders; PostgreSQL's become
#: ``%s``). Every write names its columns: migrated SQLite maps have the later ones last.
UPSERT = (
    "INSERT INTO id_map (map_key, kind, klant_id, identity, run_id, seq, updated_at, floor, "
    "digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (map_key) DO UPDATE SET kind = excluded.kind, klant_id = excluded.klant_id, "
    "identity = excluded.identity, run_id = excluded.run_id, seq = excluded.seq, "
    "updated_at = excluded.updated_at, floor = excluded.floor, digest = excluded.digest"
)
#: What a run keeps in memory: every resolved entry (an older map read-only: no digests).
_LOAD = "SELECT map_key, klant_id, digest FROM id_map WHERE klant_id > 0"
_LOAD_WITHOUT_DIGESTS = "SELECT map_key, klant_id, NULL FROM id_map WHERE klant_id > 0"
SQLITE_URL_PREFIX = "sqlite:///"
POSTGRES_URL_PREFIXES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class PendingCreate:
    """A ``POST`` that was sent (or about to be) when a previous run stopped."""

    map_key: str
    identity: str
    #: The highest customer id Recras had before the ``POST`` (None: not known, older map).
    floor: int | None


@dataclass
class _Statement:
    """A change queued for the store, and the rows it returned once run."""

    sql: str
    params: tuple[object, ...]
    rows: list[tuple[object, ...]] = field(default_factory=list)


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
        #: Guards the maps below and the order of :attr:`_unwritten`; reentrant: a method
        #: holds it throughout, while it queues its statements.
        self._lock = threading.RLock()
        #: Guards the store's connection: one statement at a time, queued ones in order.
        self._store_lock = threading.Lock()
        #: Statements queued under ``_lock`` and not yet run (:meth:`_flush` runs them).
        self._unwritten: deque[_Statement] = deque()
        #: Why a queued statement failed: every later flush raises it (the run stops).
        self._failure: IdMapError | None = None
        self._ids: dict[str, int] = {}
        #: The entries naming each customer: its one map key, or the set of them when several
        #: do (such a customer is never skipped; a write by one outdates the others' digests).
        self._keys_of: dict[int, str | set[str]] = {}
        #: The digest of the payload last written and confirmed, per map key.
        self._digests: dict[str, str] = {}
        #: The customer each entry's write in progress goes to, once known, and the reverse.
        self._writing: dict[str, int] = {}
        self._writers_of: dict[int, set[str]] = {}
        #: Entries whose write in progress overlapped another entry's write to the customer
        #: (which may have landed after theirs): that write confirms no digest.
        self._overlapped: set[str] = set()
        self._logger = logger or logging.getLogger(__name__)
        self._store: MapStore | None = None
        store = open_store(location)
        self.name = store.name
        try:
            if not store.open(read_only, lock_timeout, self._logger):
                store.close(read_only, self._logger)  # read-only, and no map yet: all empty
                return
            self._store = store
            rows = store.query(_LOAD if store.has_digests else _LOAD_WITHOUT_DIGESTS)
            for key, klant_id, stored in rows:
                self._set_id(str(key), int(str(klant_id)))
                if stored is not None:
                    self._digests[str(key)] = str(stored)
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
        with self._store_lock:
            store, self._store = self._store, None
        if store is not None:
            store.close(self.read_only, self._logger)

    def lookup(self, map_key: str) -> int | None:
        """The Recras customer id stored for ``map_key``, if any."""
        return self._ids.get(map_key)

    def _set_id(self, map_key: str, klant_id: int | None) -> None:
        """Point ``map_key`` at ``klant_id`` (None: at nothing) in memory."""
        with self._lock:
            old = self._ids.pop(map_key, None)
            if old is not None:
                keys = self._keys_of[old]
                if isinstance(keys, str):
                    del self._keys_of[old]
                else:
                    keys.discard(map_key)
                    if len(keys) == 1:
                        self._keys_of[old] = keys.pop()
            if klant_id is not None:
                self._ids[map_key] = klant_id
                keys = self._keys_of.setdefault(klant_id, map_key)
                if isinstance(keys, set):
                    keys.add(map_key)
                elif keys != map_key:
                    self._keys_of[klant_id] = {keys, map_key}

    def _keys_naming(self, klant_id: int) -> set[str]:
        """The map keys whose entries name ``klant_id`` (call with ``_lock`` held)."""
        keys = self._keys_of.get(klant_id)
        if keys is None:
            return set()
        return {keys} if isinstance(keys, str) else set(keys)

    def unchanged(self, map_key: str, klant_id: int, digest: str) -> bool:
        """Was exactly this payload the last one written to ``klant_id`` for ``map_key``?

        Only when the entry names ``klant_id`` (not pending), its confirmed digest is
        ``digest``, and no other entry names that customer (the keys would overwrite each
        other's data, so each of their records is sent).
        """
        with self._lock:
            return (
                self._ids.get(map_key) == klant_id
                and self._digests.get(map_key) == digest
                and self._keys_of.get(klant_id) == map_key
            )

    def digest(self, map_key: str) -> str | None:
        """The digest of the payload last written and confirmed for ``map_key``, if any."""
        with self._lock:
            return self._digests.get(map_key)

    def before_write(self, map_key: str, digest: str | None) -> None:
        """A write with payload ``digest`` is about to be sent: drop a confirmed other one.

        Recras may apply the write and the answer never arrive (or the run be killed), so
        the old digest would no longer say what Recras has. The write begins here: from now
        on another entry's write to its customer keeps it from confirming a digest.
        """
        with self._lock:
            self._end_write(map_key)
            self._overlapped.discard(map_key)
            stored = self._digests.get(map_key)
            outdated = stored is not None and stored != digest
            if outdated:
                del self._digests[map_key]
                self._write("UPDATE id_map SET digest = NULL WHERE map_key = ?", (map_key,))
        if outdated:  # else nothing of this write's waits: other lanes' changes may
            self._flush()

    def outdate_others(self, klant_id: int, map_key: str | None) -> None:
        """A write for ``map_key`` (None: a record without one) changes customer ``klant_id``.

        The other entries naming that customer, or writing to it, no longer know what Recras
        holds: their digests are dropped (their next records are sent, even once no longer
        shared), and a write of theirs in progress confirms none.
        """
        with self._lock:
            outdated = self._outdate_others(klant_id, map_key)
        if outdated:
            self._flush()

    def _outdate_others(self, klant_id: int, map_key: str | None) -> bool:
        """:meth:`outdate_others` with its statements queued (call with ``_lock`` held).

        Returns whether it queued any (dropped a digest).
        """
        if map_key is not None and self._writing.get(map_key) != klant_id:
            self._end_write(map_key)
            self._writing[map_key] = klant_id
            self._writers_of.setdefault(klant_id, set()).add(map_key)
        writers = self._writers_of.get(klant_id, set())
        others = self._keys_naming(klant_id) | writers
        others.discard(map_key)
        self._overlapped |= others
        if map_key is not None and writers - {map_key}:
            # Their writes are in flight too and may land after this one.
            self._overlapped.add(map_key)
        outdated = others & self._digests.keys()
        for key in outdated:
            del self._digests[key]
            self._write("UPDATE id_map SET digest = NULL WHERE map_key = ?", (key,))
        return bool(outdated)

    def _end_write(self, map_key: str) -> None:
        """``map_key`` writes to no customer now (call with ``_lock`` held)."""
        klant_id = self._writing.pop(map_key, None)
        if klant_id is not None:
            writers = self._writers_of[klant_id]
            writers.discard(map_key)
            if not writers:
                del self._writers_of[klant_id]

    def _trusted(self, map_key: str, klant_id: int, digest: str | None) -> str | None:
        """``digest``, unless another entry's write overlapped this one or names the customer.

        Call with ``_lock`` held, as the write ends.
        """
        if map_key in self._overlapped or self._keys_naming(klant_id) - {map_key}:
            return None
        return digest

    def confirm(self, map_key: str, digest: str | None) -> None:
        """Recras confirmed the write of payload ``digest`` (None: of unknown effect)."""
        with self._lock:
            klant_id = self._ids.get(map_key)
            if klant_id is not None:
                digest = self._trusted(map_key, klant_id, digest)
            self._end_write(map_key)
            if self._digests.get(map_key) == digest:
                return
            self._write("UPDATE id_map SET digest = ? WHERE map_key = ?", (digest, map_key))
            if digest is None:
                self._digests.pop(map_key, None)
            else:
                self._digests[map_key] = digest
        self._flush()

    def mapped_ids(self) -> set[int]:
        """Every customer id some entry names (a look-up after a lost answer skips them)."""
        with self._lock:
            return set(self._keys_of)

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
        with self._store_lock:
            return self._run(_Statement(sql, params))

    def _run(self, statement: _Statement) -> list[tuple[object, ...]]:
        """Run one statement (call with ``_store_lock`` held)."""
        store = self._store
        if store is None:
            return []
        try:
            return store.query(statement.sql, statement.params)
        except store.errors as exc:
            raise IdMapError(self._problem(store, "could not be written", exc)) from exc

    def _write(self, sql: str, params: tuple[object, ...]) -> _Statement:
        """Queue a change (call with ``_lock`` held, so that the order is the changes' order).

        Read-only, nothing is queued: the statement stays without rows.
        """
        statement = _Statement(sql, params)
        if not self.read_only:
            self._unwritten.append(statement)
        return statement

    def _flush(self) -> None:
        """Run the queued statements in order; on return every one queued before is committed.

        Called after letting go of ``_lock`` (or, for rows needed at once, holding it): the
        first caller runs the other lanes' statements too, and they find theirs done.
        """
        with self._store_lock:
            while self._unwritten:
                statement = self._unwritten.popleft()
                if self._failure is None:
                    try:
                        statement.rows = self._run(statement)
                    except IdMapError as exc:
                        self._failure = exc
            if self._failure is not None:
                raise self._failure

    def begin_create(
        self, map_key: str, kind: KeyKind, identity: str, seq: int, floor: int | None
    ) -> None:
        """Record that a ``POST`` for ``map_key`` is about to be sent.

        ``floor`` is the highest customer id Recras had before it: only a customer above it
        can be the one this ``POST`` made, so a rerun never takes an older one for it.
        """
        with self._lock:
            self._set_id(map_key, None)
            self._digests.pop(map_key, None)
            row = (map_key, kind, None, identity, self.run_id, seq, time.time(), floor, None)
            self._write(UPSERT, row)
        self._flush()

    def store(
        self,
        map_key: str,
        kind: KeyKind,
        identity: str,
        klant_id: int,
        seq: int,
        *,
        digest: str | None = None,
    ) -> None:
        """Record that ``map_key`` is Recras customer ``klant_id``.

        ``digest``: Recras confirmed that this write carried that payload (one statement
        records both); None when what Recras holds is not known (e.g. a merge).
        """
        with self._lock:
            # First: a merge answered already, and until this row is written the create stays
            # pending, so a stop here resolves it on the next run, which drops them then.
            self._outdate_others(klant_id, map_key)
            digest = self._trusted(map_key, klant_id, digest)
            row = (map_key, kind, klant_id, identity, self.run_id, seq, time.time(), None, digest)
            self._write(UPSERT, row)
            self._set_id(map_key, klant_id)
            self._end_write(map_key)
            if digest is None:
                self._digests.pop(map_key, None)
            else:
                self._digests[map_key] = digest
        self._flush()

    def resolve(self, map_key: str, klant_id: int) -> None:
        """Fill in the customer a pending create turned out to have made (no digest yet)."""
        with self._lock:
            self._outdate_others(klant_id, map_key)
            self._write(
                "UPDATE id_map SET klant_id = ?, digest = NULL WHERE map_key = ?",
                (klant_id, map_key),
            )
            self._set_id(map_key, klant_id)
            self._end_write(map_key)
            self._digests.pop(map_key, None)
        self._flush()

    def forget(self, map_key: str) -> None:
        """Drop ``map_key`` (a create that was refused, or a customer deleted in Recras)."""
        with self._lock:
            self._set_id(map_key, None)
            self._end_write(map_key)
            self._digests.pop(map_key, None)
            self._write("DELETE FROM id_map WHERE map_key = ?", (map_key,))
        self._flush()

    def prune_natural(self, below_seq: int, *, earlier_runs: bool = False) -> None:
        """Drop ``natural`` entries an emitted STATE covers: this run's below ``below_seq``.

        ``earlier_runs``: those of earlier runs too (including creates resolved at start-up).
        """
        sql = "DELETE FROM id_map WHERE kind = ? AND klant_id IS NOT NULL AND "
        sql += "(run_id != ? OR seq < ?)" if earlier_runs else "run_id = ? AND seq < ?"
        params: tuple[object, ...] = (str(KeyKind.NATURAL), self.run_id, below_seq)
        with self._lock:  # held across the SQL: the rows it deletes are dropped from memory
            statement = self._write(sql + " RETURNING map_key", params)
            self._flush()
            for (map_key,) in statement.rows:
                self._set_id(str(map_key), None)
