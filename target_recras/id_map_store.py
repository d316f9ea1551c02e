"""What every back end of the id map shares: the schema version, its errors, its interface.

:class:`~target_recras.id_map.IdMap` runs its SQL through a :class:`MapStore`: SQLite
(:mod:`target_recras.id_map_sqlite`) or PostgreSQL (:mod:`target_recras.id_map_postgres`).
"""

from __future__ import annotations

import logging
from typing import Protocol

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


class MapStore(Protocol):
    """One back end of the id map: it opens, holds, queries and closes the rows' database."""

    #: The id map as the user knows it (a path, or a URL without its password).
    name: str
    #: The exceptions of this back end that mean "cannot open or write the map".
    errors: tuple[type[Exception], ...]
    #: Set by :meth:`open`: the map has the ``digest`` column (false only for a map of an
    #: older schema opened read-only, which is not migrated).
    has_digests: bool

    def open(self, read_only: bool, lock_timeout: float, logger: logging.Logger) -> bool:
        """Connect, hold (unless read-only) and create the schema; False: no map to read."""

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one statement in its own committed transaction; its rows (``?`` placeholders)."""

    def close(self, read_only: bool, logger: logging.Logger) -> None:
        """Close and release the hold; logs, never raises (idempotent)."""

    def advice(self, exc: BaseException) -> str:
        """What the user should do about ``exc``."""
