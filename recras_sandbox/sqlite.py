"""The SQLite file of ``--db``: opened one way, written in explicit transactions.

The customer store and the other resources' rows share the file, each with its own
connection (autocommit, so that every write names its transaction).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from typing import ClassVar, Self


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (or create) the file: write-ahead log, usable from the server's threads."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block's statements as one transaction: all of them or none."""
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Database:
    """One connection to the file, with the tables ``SCHEMA`` creates (if missing) on open."""

    #: The ``CREATE TABLE IF NOT EXISTS`` statements of a subclass's tables.
    SCHEMA: ClassVar[tuple[str, ...]] = ()

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Self:
        """Open (or create) the file and the tables."""
        conn = connect(path)
        for statement in cls.SCHEMA:
            conn.execute(statement)
        return cls(conn)

    def close(self) -> None:
        self._conn.close()
