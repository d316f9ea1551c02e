"""The id map's one interface: :class:`IdMap`, held and written, and :class:`ReadOnlyIdMap`.

What the map keeps and why: the package docstring (:mod:`target_recras.id_map`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from typing_extensions import override

from recras_api.redact import scrub
from target_recras.id_map._keys import KeyKind
from target_recras.id_map._sqlite import SQLITE_URL_PREFIX, SqliteStore
from target_recras.id_map._store import (
    BackEnd,
    IdMapError,
    MapStore,
    Statement,
    opening,
    problem,
)

POSTGRES_URL_PREFIXES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class PendingCreate:
    """A ``POST`` that was sent (or about to be) when a previous run stopped."""

    map_key: str
    identity: str
    #: The highest customer id Recras had before the ``POST`` (None: not known, older map).
    floor: int | None


@dataclass
class _Change:
    """A statement that changes the map, queued for the store; its rows once it ran."""

    statement: Statement
    params: tuple[object, ...]
    rows: list[tuple[object, ...]] = field(default_factory=list)


def locate(location: str | Path) -> BackEnd:
    """The back end for ``location``: a path or ``sqlite:///path``, or a PostgreSQL URL."""
    text = str(location)
    if text.startswith(POSTGRES_URL_PREFIXES):
        try:  # psycopg is the optional postgres extra: import it only for such a map
            from target_recras.id_map._postgres import PostgresStore  # noqa: PLC0415
        except ImportError as exc:
            msg = (
                f"The id map {scrub(text)} needs the PostgreSQL driver ({exc}): "
                "install recras-singer[postgres]. The run stopped before writing anything."
            )
            raise IdMapError(msg) from exc
        return PostgresStore
    if "://" in text and not text.startswith(SQLITE_URL_PREFIX):
        scheme = text.split("://", maxsplit=1)[0]
        msg = (
            f"The id map {scheme}://... cannot be opened: id_map_url must start with "
            "sqlite:/// or postgresql://. The run stopped before writing anything."
        )
        raise IdMapError(msg)
    return SqliteStore


class IdMap:
    """Thread-safe access to the id map; lookups are served from memory.

    :meth:`open` opens one: this class for a run that writes, :class:`ReadOnlyIdMap` for a
    dry run.
    """

    def __init__(self, name: str, store: MapStore | None, logger: logging.Logger) -> None:
        """An empty map over the open ``store`` (None: no map to read); :meth:`open` fills it."""
        self.name = name
        self._logger = logger
        self.run_id = uuid.uuid4().hex
        #: Guards the structures below and the order of :attr:`_unwritten`; reentrant: a
        #: method holds it throughout, while it changes them and queues its statements.
        self._lock = threading.RLock()
        #: Guards the store's connection, :attr:`_written` and :attr:`_failure`.
        self._store_lock = threading.Lock()
        #: Changes queued under ``_lock`` and not yet committed (:meth:`_flush` runs them).
        self._unwritten: deque[_Change] = deque()
        #: How many changes were queued, and how many of those are committed: a method
        #: returns once every change it queued is.
        self._queued = 0
        self._written = 0
        #: Why committing queued changes failed: every later flush raises it (the run stops).
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
        self._store = store

    @classmethod
    def open(
        cls,
        location: str | Path,
        *,
        read_only: bool = False,
        lock_timeout: float = 0.0,
        logger: logging.Logger | None = None,
    ) -> IdMap:
        """Open (or create) the map and load it; unless read-only, hold it first.

        ``location`` is a file path, ``sqlite:///path`` or ``postgresql://...``. A run that
        writes waits up to ``lock_timeout`` seconds for another run holding the map; a
        read-only map (a dry run) is a :class:`ReadOnlyIdMap`: not held, not migrated.
        """
        logger = logger or logging.getLogger(__name__)
        back_end = locate(location)
        name = back_end.display_name(str(location))
        if read_only:
            store = back_end.open_read_only(str(location), logger)
            return ReadOnlyIdMap(name, store, logger)._loaded()
        return IdMap(name, back_end.open(str(location), lock_timeout, logger), logger)._loaded()

    def _loaded(self) -> Self:
        """This map with the store's resolved entries in memory; closes it if that fails."""
        store = self._store
        if store is None:
            return self
        with ExitStack() as exits:
            exits.callback(self.close)
            load = Statement.LOAD if store.has_digests else Statement.LOAD_WITHOUT_DIGESTS
            with opening(store.name, store.errors, store.advice):
                rows = store.query(store.statements[load])
            for key, klant_id, stored in rows:
                self._set_id(str(key), int(str(klant_id)))
                if stored is not None:
                    self._digests[str(key)] = str(stored)
            exits.pop_all()
        return self

    def close(self) -> None:
        """Commit what is still queued, close the map and release the hold (idempotent;
        never raises).

        The queued changes are the answers of the last writes (:meth:`store`); after a
        failed commit nothing more is tried. A failure here must not hide the error that
        stopped the run: it is logged (the back end logs its own), and the creates whose
        answers were not committed stay pending, for the next run to look up.
        """
        try:
            if self._failure is None:
                self._flush(self._queued)
        except IdMapError as exc:
            self._logger.warning("%s The creates it answered stay pending.", exc)
        finally:
            self._close_store()

    def _close_store(self) -> None:
        with self._store_lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()

    def lookup(self, map_key: str) -> int | None:
        """The Recras customer id stored for ``map_key``, if any."""
        return self._ids.get(map_key)

    def lookup_renewing(self, map_key: str, seq: int) -> int | None:
        """:meth:`lookup` for record ``seq``, which writes through a ``natural`` entry.

        The entry found is kept until a STATE covers record ``seq``, as if it had made it: a
        rerun from a STATE before it replays it, and must find the customer. Looked up and
        renewed holding ``_lock``, as :meth:`prune_natural` drops entries: an entry is either
        pruned already (None: the record creates the customer, with an entry of its own) or
        renewed before the ``PUT`` is sent, so no STATE that leaves this record out prunes it.
        """
        with self._changes_committed():
            klant_id = self._ids.get(map_key)
            if klant_id is not None:
                self._write(Statement.RENEW, (self.run_id, seq, time.time(), map_key))
        return klant_id

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
        with self._changes_committed():
            self._end_write(map_key)
            self._overlapped.discard(map_key)
            stored = self._digests.get(map_key)
            if stored is not None and stored != digest:
                del self._digests[map_key]
                self._write(Statement.SET_DIGEST, (None, map_key))

    def outdate_others(self, klant_id: int, map_key: str | None) -> None:
        """A write for ``map_key`` (None: a record without one) changes customer ``klant_id``.

        The other entries naming that customer, or writing to it, no longer know what Recras
        holds: their digests are dropped (their next records are sent, even once no longer
        shared), and a write of theirs in progress confirms none.

        The ``PUT`` follows at once: every change queued by now is committed before this
        returns, not only these (an earlier :meth:`store` may be what names the customer).
        """
        with self._lock:
            self._outdate_others(klant_id, map_key)
        self.commit()

    def _outdate_others(self, klant_id: int, map_key: str | None) -> None:
        """:meth:`outdate_others` with its statements queued (call with ``_lock`` held)."""
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
        for key in others & self._digests.keys():
            del self._digests[key]
            self._write(Statement.SET_DIGEST, (None, key))

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
        """Recras confirmed the write of payload ``digest`` (None: of unknown effect).

        Queued like :meth:`store`'s row: a stop before it is committed leaves no digest, so
        the record is sent again.
        """
        with self._lock:
            klant_id = self._ids.get(map_key)
            if klant_id is not None:
                digest = self._trusted(map_key, klant_id, digest)
            self._end_write(map_key)
            if self._digests.get(map_key) != digest:
                self._write(Statement.SET_DIGEST, (digest, map_key))
                if digest is None:
                    self._digests.pop(map_key, None)
                else:
                    self._digests[map_key] = digest

    def mapped_ids(self) -> set[int]:
        """Every customer id some entry names (a look-up after a lost answer skips them)."""
        with self._lock:
            return set(self._keys_of)

    def pending(self) -> list[PendingCreate]:
        """Creates a previous run started but never saw answered."""
        rows = self._query(Statement.PENDING, ())
        return [
            PendingCreate(str(key), str(identity), None if floor is None else int(str(floor)))
            for key, identity, floor in rows
        ]

    def _query(self, statement: Statement, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Run ``statement``, which reads the map, once every queued change is committed."""
        self._flush(self._queued)
        with self._store_lock:
            store = self._store
            if store is None:
                return []
            try:
                return store.query(store.statements[statement], params)
            except store.errors as exc:
                raise self._error(store, exc) from exc

    @staticmethod
    def _error(store: MapStore, exc: BaseException) -> IdMapError:
        return IdMapError(problem(store.name, "could not be written", exc, store.advice(exc)))

    @contextlib.contextmanager
    def _changes_committed(self) -> Iterator[None]:
        """Change the map holding ``_lock``; return once the statements queued are committed.

        For changes that must be on disk before a request is sent (with them, every change
        queued before). The commit comes after letting go of the lock: the other lanes read
        and change the map in memory meanwhile.
        """
        with self._lock:
            before = self._queued
            yield
            queued = self._queued
        if queued > before:
            self._flush(queued)

    def _write(self, statement: Statement, params: tuple[object, ...]) -> _Change:
        """Queue ``statement``, which changes the map (call with ``_lock`` held: the queue
        keeps the order of the changes in memory). :meth:`_flush` commits it.
        """
        change = _Change(statement, params)
        self._unwritten.append(change)
        self._queued += 1
        return change

    def commit(self) -> None:
        """Return once every change queued so far is committed (before a STATE is emitted).

        :meth:`store` and :meth:`confirm` queue their rows for the next commit: a STATE
        covering their records must not leave before they are on disk.
        """
        self._flush(self._queued)

    def _flush(self, queued: int) -> None:
        """Return once the first ``queued`` changes ever queued are committed.

        Call it after letting go of ``_lock`` (or holding it, for rows needed at once), so
        that the other lanes change the map in memory meanwhile. Whoever gets the store
        first commits every change queued by then, its own and other lanes', in one
        transaction: on disk the map is always the map after some prefix of the changes,
        and a lane whose changes went with another's finds them committed.
        """
        if self._written >= queued and self._failure is None:
            return
        with self._store_lock:
            if self._failure is None and self._written < queued:
                # Without _lock (prune_natural flushes holding it): the queue is appended to
                # in order under it, so what is taken from its front is a prefix.
                changes = []
                while self._unwritten:
                    changes.append(self._unwritten.popleft())
                self._commit(changes)
            if self._failure is not None:
                raise self._failure

    def _commit(self, changes: list[_Change]) -> None:
        """Run ``changes`` in one transaction (call with ``_store_lock`` held)."""
        store = self._store
        if store is not None:
            try:
                rows = store.query_all(
                    [(store.statements[change.statement], change.params) for change in changes]
                )
            except BaseException as exc:
                # Not only the back end's errors (sqlite3 raises OverflowError for an id above
                # 2**63; a stop signal lands in the main thread's prune_natural): the changes
                # taken from the queue are lost all the same, and the other lanes that queued
                # them must not return as if they were committed.
                self._failure = self._error(store, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for change, returned in zip(changes, rows, strict=True):
                change.rows = returned
        self._written += len(changes)

    def begin_create(
        self, map_key: str, kind: KeyKind, identity: str, seq: int, floor: int | None
    ) -> None:
        """Record that a ``POST`` for ``map_key`` is about to be sent.

        ``floor`` is the highest customer id Recras had before it: only a customer above it
        can be the one this ``POST`` made, so a rerun never takes an older one for it.
        """
        with self._changes_committed():
            self._set_id(map_key, None)
            self._digests.pop(map_key, None)
            row = (map_key, kind, None, identity, self.run_id, seq, time.time(), floor, None)
            self._write(Statement.UPSERT, row)

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

        The row is queued, not committed: it goes with the next change that must be on disk
        before a request (any lane's), or :meth:`commit`. Until then a stop leaves the
        create pending, which the next run looks up in Recras (as after a stop before its
        answer); the target commits before it emits a STATE, so none covers this record first.
        """
        with self._lock:
            # First: a merge answered already, and until this row is written the create stays
            # pending, so a stop here resolves it on the next run, which drops them then.
            self._outdate_others(klant_id, map_key)
            digest = self._trusted(map_key, klant_id, digest)
            row = (map_key, kind, klant_id, identity, self.run_id, seq, time.time(), None, digest)
            self._write(Statement.UPSERT, row)
            self._set_id(map_key, klant_id)
            self._end_write(map_key)
            if digest is None:
                self._digests.pop(map_key, None)
            else:
                self._digests[map_key] = digest

    def resolve(self, map_key: str, klant_id: int) -> None:
        """Fill in the customer a pending create turned out to have made (no digest yet)."""
        with self._changes_committed():
            self._outdate_others(klant_id, map_key)
            self._write(Statement.RESOLVE, (klant_id, map_key))
            self._set_id(map_key, klant_id)
            self._end_write(map_key)
            self._digests.pop(map_key, None)

    def forget(self, map_key: str) -> None:
        """Drop ``map_key`` (a create that was refused, or a customer deleted in Recras)."""
        with self._changes_committed():
            self._set_id(map_key, None)
            self._end_write(map_key)
            self._digests.pop(map_key, None)
            self._write(Statement.DELETE, (map_key,))

    def prune_natural(self, below_seq: int, *, earlier_runs: bool = False) -> None:
        """Drop ``natural`` entries an emitted STATE covers: this run's below ``below_seq``.

        ``earlier_runs``: those of earlier runs too (including creates resolved at start-up).
        """
        prune = Statement.PRUNE_ALL_RUNS if earlier_runs else Statement.PRUNE_THIS_RUN
        params: tuple[object, ...] = (str(KeyKind.NATURAL), self.run_id, below_seq)
        with self._lock:  # held across the SQL: the rows it deletes are dropped from memory
            change = self._write(prune, params)
            self._flush(self._queued)
            for (map_key,) in change.rows:
                self._set_id(str(map_key), None)


class ReadOnlyIdMap(IdMap):
    """A dry run's id map: read as it was, not held; its writes do nothing, by design.

    A dry run plans the writes of a real run, so the map in memory changes as in one, but
    the stored map stays as it was: no other run is kept waiting, nothing is migrated.
    """

    @override
    def _write(self, statement: Statement, params: tuple[object, ...]) -> _Change:
        """Queue nothing: the stored map stays as it was (the change returns no rows)."""
        return _Change(statement, params)
