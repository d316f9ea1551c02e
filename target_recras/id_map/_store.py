"""What every back end of the id map shares: the schema version, its errors, its interface.

:class:`~target_recras.id_map.IdMap` runs its SQL through a :class:`MapStore`: SQLite
(:mod:`target_recras.id_map._sqlite`) or PostgreSQL (:mod:`target_recras.id_map._postgres`).
Each back end opens its store in one of two factories, chosen once per run: held for writing
(created or migrated), or read-only (a dry run: not held, not migrated, possibly absent).
"""

from __future__ import annotations

import abc
import contextlib
import enum
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar

from recras_api.redact import scrub
from target_recras.errors import TargetStopError

#: The schema this code writes: 2 added ``digest``. Version 1 is a map without it (SQLite
#: maps of that time recorded no version: ``user_version`` 0). A higher version is refused.
SCHEMA_VERSION = 2


class IdMapError(TargetStopError):
    """The id map cannot be opened or written; the message names it (never a password)."""


def check_schema_version(name: str, version: int) -> None:
    """Refuse a map whose schema version is newer than :data:`SCHEMA_VERSION`."""
    if version > SCHEMA_VERSION:
        msg = (
            f"The id map {name} has schema version {version}, newer than this "
            f"target-recras knows ({SCHEMA_VERSION}): a newer target-recras wrote it. "
            "Upgrade target-recras on this worker; the run stopped before writing anything."
        )
        raise IdMapError(msg)


class Statement(enum.Enum):
    """A statement the id map runs; its SQL, with ``{p}`` where a parameter goes.

    Both back ends run the same SQL; only the driver's placeholder differs (``?`` for
    sqlite3, ``%s`` for psycopg), so each declares its statements once:
    ``statements_with(placeholder)``. Every write names its columns: migrated SQLite maps
    have the later ones last.
    """

    UPSERT = (
        "INSERT INTO id_map (map_key, kind, klant_id, identity, run_id, seq, updated_at, floor, "
        "digest) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
        "ON CONFLICT (map_key) DO UPDATE SET kind = excluded.kind, klant_id = excluded.klant_id, "
        "identity = excluded.identity, run_id = excluded.run_id, seq = excluded.seq, "
        "updated_at = excluded.updated_at, floor = excluded.floor, digest = excluded.digest"
    )
    #: What a run keeps in memory: every resolved entry.
    LOAD = "SELECT map_key, klant_id, digest FROM id_map WHERE klant_id > 0"
    #: The same from a map of the older schema opened read-only (not migrated): no digests.
    LOAD_WITHOUT_DIGESTS = "SELECT map_key, klant_id, NULL FROM id_map WHERE klant_id > 0"
    PENDING = "SELECT map_key, identity, floor FROM id_map WHERE klant_id IS NULL ORDER BY seq"
    SET_DIGEST = "UPDATE id_map SET digest = {p} WHERE map_key = {p}"
    RESOLVE = "UPDATE id_map SET klant_id = {p}, digest = NULL WHERE map_key = {p}"
    DELETE = "DELETE FROM id_map WHERE map_key = {p}"
    #: A later record of this run writes through the entry: it is kept until that is covered.
    RENEW = "UPDATE id_map SET run_id = {p}, seq = {p}, updated_at = {p} WHERE map_key = {p}"
    #: Resolved ``natural`` entries of this run below a sequence number.
    PRUNE_THIS_RUN = (
        "DELETE FROM id_map WHERE kind = {p} AND klant_id IS NOT NULL "
        "AND run_id = {p} AND seq < {p} RETURNING map_key"
    )
    #: The same, and those of earlier runs.
    PRUNE_ALL_RUNS = (
        "DELETE FROM id_map WHERE kind = {p} AND klant_id IS NOT NULL "
        "AND (run_id != {p} OR seq < {p}) RETURNING map_key"
    )


def statements_with(placeholder: str) -> Mapping[Statement, str]:
    """Every :class:`Statement`'s SQL with ``placeholder`` for its parameters."""
    return MappingProxyType({s: s.value.format(p=placeholder) for s in Statement})


Connection = TypeVar("Connection")


class OpenStore(abc.ABC, Generic[Connection]):
    """What a back end's open store holds; its factories make it (no I/O here)."""

    def __init__(
        self, name: str, db: Connection, exits: contextlib.ExitStack, *, has_digests: bool = True
    ) -> None:
        """Wrap an open connection ``db``; ``exits`` undoes the opening, in reverse."""
        self.name = name
        self.has_digests = has_digests
        self._db = db
        self._exits = exits

    def close(self) -> None:
        """Undo the opening: what the factory registered on ``exits`` (logged, never raises)."""
        self._exits.close()

    @abc.abstractmethod
    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one statement (in its own committed transaction, outside :meth:`transaction`)."""

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[object]:
        """Run the statements inside it in one transaction, committed at its end."""

    def query_all(
        self, statements: Sequence[tuple[str, tuple[object, ...]]]
    ) -> list[list[tuple[object, ...]]]:
        """Run ``statements`` in order in one committed transaction; the rows of each.

        One statement needs no transaction of its own: it is autocommitted.
        """
        if len(statements) == 1:
            return [self.query(*statements[0])]
        with self.transaction():
            return [self.query(sql, params) for sql, params in statements]


class BackEnd(Protocol):
    """A back end's class: its two ways of opening a map, one chosen per run.

    ``location`` is what the user configured: a path, ``sqlite:///path`` or a URL.
    """

    def display_name(self, location: str) -> str:
        """The map as errors and logs name it (never a password)."""

    def open(self, location: str, lock_timeout: float, logger: logging.Logger) -> MapStore:
        """Hold the map (waiting up to ``lock_timeout`` s), then create or migrate it."""

    def open_read_only(self, location: str, logger: logging.Logger) -> MapStore | None:
        """Read the map as it is, not held (a dry run); None: there is no map yet."""


class MapStore(Protocol):
    """One back end's open id map: it queries and closes the rows' database."""

    #: The id map as the user knows it (a path, or a URL without its password).
    name: str
    #: The exceptions of this back end that mean "cannot open or write the map".
    errors: tuple[type[Exception], ...]
    #: The map has the ``digest`` column (false only for a map of an older schema opened
    #: read-only, which is not migrated).
    has_digests: bool
    #: The SQL of each statement, in this back end's placeholder style.
    statements: Mapping[Statement, str]

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one statement in its own committed transaction; its rows."""

    def query_all(
        self, statements: Sequence[tuple[str, tuple[object, ...]]]
    ) -> list[list[tuple[object, ...]]]:
        """Run ``statements`` in order in one committed transaction; the rows of each."""

    def close(self) -> None:
        """Close and release the hold, undoing what opening did; logs, never raises."""

    def advice(self, exc: BaseException) -> str:
        """What the user should do about ``exc``."""


def problem(name: str, what: str, exc: BaseException, advice: str) -> str:
    """The id map ``what`` because of ``exc``: what the user reads, with what to do."""
    return scrub(
        f"The id map {name} {what}: {exc}; {advice}. The run stopped; "
        "nothing was lost: rerun from the last STATE once this is fixed."
    )


@contextlib.contextmanager
def opening(
    name: str, errors: tuple[type[Exception], ...], advice: Callable[[BaseException], str]
) -> Iterator[None]:
    """Turn a back end's ``errors`` while opening the map ``name`` into :class:`IdMapError`."""
    try:
        yield
    except errors as exc:
        raise IdMapError(problem(name, "cannot be opened", exc, advice(exc))) from exc


def run_logged(
    close: Callable[[], object],
    errors: tuple[type[Exception], ...],
    logger: logging.Logger,
    step: str,
    name: str,
) -> None:
    """Run ``close`` (an exit callback); log ``errors`` from it, naming the ``step`` and map.

    A failure while closing must not hide the error that stopped the run.
    """
    try:
        close()
    except errors as exc:
        logger.warning("%s the id map %s failed: %s", step, name, exc)
