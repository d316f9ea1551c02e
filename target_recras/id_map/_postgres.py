"""The id map in PostgreSQL, for workers on several machines (``id_map_url: postgresql://...``).

The rows are those of the SQLite map (:mod:`target_recras.id_map`), in table ``id_map`` of
the connection's current schema; a dedicated database, or a schema per target configuration
(``?options=-csearch_path%3Dmy_pipeline``), keeps maps apart. Changes are committed when
the id map says (:mod:`target_recras.id_map`: before the request that depends on them, before
a STATE; a lone statement autocommitted, the changes several lanes queued meanwhile in one
transaction): a killed worker loses no committed entry, pending creates included.

The hold is a session-level advisory lock, ``pg_try_advisory_lock(LOCK_CLASS,
hashtext('<database>.<schema>'))``: PostgreSQL releases it when the session ends, however the
worker ends (a SIGKILL or a lost machine included, once the server notices). The holder is
read from ``pg_locks`` and ``pg_stat_activity``: its backend pid, client address and
``application_name`` (``target-recras pid <pid> on <host>``), and since when it is connected.

The schema is created on first use, under the hold, and versioned in ``id_map_version``
(:data:`~target_recras.id_map.SCHEMA_VERSION`); a map of an older version is migrated in
place, in one transaction, and a map written by a newer target-recras is refused rather than
misread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from contextlib import ExitStack
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from typing_extensions import override

from recras_api.redact import register_credentials
from target_recras.id_map._lock import Holder, hold_exclusively
from target_recras.id_map._store import (
    SCHEMA_VERSION,
    IdMapError,
    OpenStore,
    check_schema_version,
    opening,
    run_logged,
    statements_with,
)

#: The first key of the advisory lock pair ("RC"): keeps clear of other users' locks.
LOCK_CLASS = 0x5243
CONNECT_TIMEOUT_SECONDS = 10

_CREATE = (
    "CREATE TABLE IF NOT EXISTS id_map_version (version integer NOT NULL)",
    """CREATE TABLE IF NOT EXISTS id_map (
        map_key    text PRIMARY KEY,
        kind       text NOT NULL,
        klant_id   bigint,
        identity   text NOT NULL,
        run_id     text NOT NULL,
        seq        bigint NOT NULL,
        updated_at double precision NOT NULL,
        floor      bigint,
        digest     text
    )""",
)
#: From each older schema version to the next (version 1 had no ``digest``).
_MIGRATIONS = {1: "ALTER TABLE id_map ADD COLUMN IF NOT EXISTS digest text"}
_HOLDER = """
SELECT a.pid, coalesce(host(a.client_addr), 'local socket'), a.application_name,
       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::int4::oid AND l.objid = hashtext(%s)::oid
LIMIT 1
"""


def display_url(url: str) -> str:
    """``url`` without user, password or query: how errors and logs name the map.

    (The log filter would mask a user name left in it, as URL credentials.)
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: libpq refuses it when connecting, with the reason
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class PostgresHold:
    """The advisory lock on one PostgreSQL id map, on the map's own session."""

    def __init__(self, name: str, db: psycopg.Connection, lock_name: str) -> None:
        self.name = name
        self._db = db
        self._lock_name = lock_name
        self._held = False

    def try_acquire(self, holder: Holder) -> bool:
        """``pg_try_advisory_lock``: never waits (``holder`` is in ``application_name``)."""
        row = self._db.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, self._lock_name)
        ).fetchone()
        self._held = bool(row and row[0])
        return self._held

    def holder(self) -> Holder | None:
        """The session holding the lock: backend pid, client address and program, since."""
        row = self._db.execute(_HOLDER, (LOCK_CLASS, self._lock_name)).fetchone()
        if row is None:
            return None
        pid, address, program, since = row
        return Holder(int(pid), f"{address} ({program or 'no application_name'})", str(since))

    def release(self) -> None:
        """Unlock (closing the session would, too: a closed one has nothing to release)."""
        held, self._held = self._held, False
        if held and not self._db.closed:
            self._db.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))", (LOCK_CLASS, self._lock_name)
            )


class PostgresStore(OpenStore[psycopg.Connection]):
    """The id map's rows in a PostgreSQL database; see the module docstring.

    :meth:`open` holds the map (creating or migrating its schema), :meth:`open_read_only`
    reads it in a read-only session.
    """

    errors: tuple[type[Exception], ...] = (psycopg.Error,)
    statements = statements_with("%s")

    @staticmethod
    def advice(exc: BaseException) -> str:
        """Reachability and credentials for a failed connection; else the database."""
        if isinstance(exc, psycopg.OperationalError):
            return (
                "check that the PostgreSQL server is reachable at that address and that the "
                "user, password and database in id_map_url are right"
            )
        return "check the database and the user's rights on it"

    @staticmethod
    def display_name(location: str) -> str:
        """The URL without user, password or query (:func:`display_url`)."""
        return display_url(location)

    @classmethod
    def open(cls, url: str, lock_timeout: float, logger: logging.Logger) -> PostgresStore:
        """Connect, hold the map, then create or migrate its schema."""
        name = display_url(url)
        with opening(name, cls.errors, cls.advice), ExitStack() as exits:
            db, lock_name = _connect(url, name, exits)
            hold = PostgresHold(name, db, lock_name)
            exits.callback(run_logged, hold.release, cls.errors, logger, "Releasing", name)
            hold_exclusively(hold, lock_timeout, logger)
            for statement in _CREATE:
                db.execute(statement)
            version = _schema_version(db, name)
            if version is None:
                db.execute("INSERT INTO id_map_version (version) VALUES (%s)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:
                _migrate(db, name, version, logger)
            return cls(name, db, exits.pop_all())

    @classmethod
    def open_read_only(cls, url: str, logger: logging.Logger) -> PostgresStore | None:
        """Connect in a read-only session (not held); None: there is no map yet."""
        del logger  # nothing to log: no hold to release
        name = display_url(url)
        with opening(name, cls.errors, cls.advice), ExitStack() as exits:
            db, _ = _connect(url, name, exits)
            db.execute("SET default_transaction_read_only = on")
            version = _schema_version(db, name)
            if version is None:
                return None
            has_digests = version >= SCHEMA_VERSION
            return cls(name, db, exits.pop_all(), has_digests=has_digests)

    @override
    def transaction(self) -> contextlib.AbstractContextManager[object]:
        """psycopg's transaction block: committed at its end, rolled back on an error."""
        return self._db.transaction()

    @override
    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """One statement, autocommitted outside :meth:`transaction` (enum values as text)."""
        values = tuple(str(p) if isinstance(p, str) else p for p in params)
        cursor = self._db.execute(sql, values)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []


def _connect(url: str, name: str, exits: ExitStack) -> tuple[psycopg.Connection, str]:
    """An autocommit session to the map, closed by ``exits``; and the map's lock name.

    The password is scrubbed from every log line and error from now on, like the Recras
    credentials.
    """
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = urlsplit(url).password
    register_credentials(api_key=None, username=None, password=str(password or "") or None)
    program = f"target-recras pid {os.getpid()} on {socket.gethostname()}"[:63]
    db = psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name=program,
    )
    exits.callback(db.close)
    row = db.execute("SELECT current_database(), current_schema()").fetchone()
    if row is None or row[1] is None:
        msg = (
            f"The id map {name} has no schema to live in: the search_path names no "
            "existing schema. Create the schema, or fix options=-csearch_path in "
            "id_map_url; the run stopped before writing anything."
        )
        raise IdMapError(msg)
    return db, f"{row[0]}.{row[1]}"


def _migrate(db: psycopg.Connection, name: str, version: int, logger: logging.Logger) -> None:
    """Bring a map of an older schema to :data:`SCHEMA_VERSION` in one transaction.

    Old rows keep working: they get no digest, so their next record is sent.
    """
    with db.transaction():
        for step in range(version, SCHEMA_VERSION):
            db.execute(_MIGRATIONS[step])
        db.execute("UPDATE id_map_version SET version = %s", (SCHEMA_VERSION,))
    logger.info("Id map %s migrated from schema version %d to %d.", name, version, SCHEMA_VERSION)


def _schema_version(db: psycopg.Connection, name: str) -> int | None:
    """The map's schema version (None: none recorded yet); refuses a newer one."""
    exists = db.execute("SELECT to_regclass('id_map_version') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        return None
    row = db.execute("SELECT max(version) FROM id_map_version").fetchone()
    version = row[0] if row else None
    if version is None:
        return None
    check_schema_version(name, int(version))
    return int(version)
