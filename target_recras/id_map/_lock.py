"""The exclusive hold a run has on its id map, so two runs never write the same customers.

Two runs on one id map (an hourly run that overruns into the next, two pipelines pointed at
one file) would each miss the other's new entries and create every customer twice. So a run
holds its id map exclusively from start-up to its end; a second run waits up to
``id_map_lock_timeout`` seconds and then stops with :class:`IdMapBusyError`, naming the id map
and the run that holds it.

:func:`hold_exclusively` (the bounded wait and the error) works with any
:class:`ExclusiveHold`, one per id-map back end:

* :class:`FileHold`, for the SQLite file: ``flock`` on ``<id map>.lock`` next to it. The
  kernel releases it when the process ends, however it ends (a SIGKILL leaves no stale
  lock), and it is independent of SQLite's own locks on the database file.
* :class:`~target_recras.id_map._postgres.PostgresHold`, for a PostgreSQL id map: a
  session-level ``pg_try_advisory_lock`` keyed by the map's name, released when the session
  ends; the holder comes from ``pg_locks`` and ``pg_stat_activity``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Protocol

from target_recras.errors import TargetStopError

#: Seconds between two attempts while another run holds the id map.
POLL_INTERVAL = 0.2


@dataclass(frozen=True)
class Holder:
    """The process that holds an id map."""

    pid: int
    host: str
    since: str

    @classmethod
    def this_process(cls) -> Holder:
        """This process, from now."""
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return cls(os.getpid(), socket.gethostname(), since)

    def describe(self) -> str:
        """``pid 12 on host h, since 2026-...``."""
        return f"pid {self.pid} on host {self.host}, since {self.since}"


class ExclusiveHold(Protocol):
    """One back end's exclusive hold on an id map."""

    #: What is held, as the user knows it (the file, or the map's name).
    name: str

    def try_acquire(self, holder: Holder) -> bool:
        """Take the hold for ``holder`` if nobody has it; never waits."""

    def holder(self) -> Holder | None:
        """Who has the hold now, if known."""

    def release(self) -> None:
        """Give the hold up (idempotent)."""


class IdMapBusyError(TargetStopError):
    """Another run held the id map for longer than this run may wait."""


def hold_exclusively(hold: ExclusiveHold, wait_seconds: float, logger: logging.Logger) -> None:
    """Take ``hold``, waiting at most ``wait_seconds`` for the run that has it."""
    me = Holder.this_process()
    if hold.try_acquire(me):
        return
    other = hold.holder()
    who = other.describe() if other else "holder unknown"
    logger.warning(
        "The id map %s is in use by another target-recras run (%s); waiting up to %g s.",
        hold.name,
        who,
        wait_seconds,
    )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
        if hold.try_acquire(me):
            logger.info("The id map %s is free now; this run holds it.", hold.name)
            return
    other = hold.holder() or other
    who = other.describe() if other else "holder unknown"
    msg = (
        f"The id map {hold.name} is in use by another target-recras run ({who}); waited "
        f"{wait_seconds:g} s (id_map_lock_timeout). Two runs on one id map would create "
        "customers twice, so this run stopped before writing anything: let the other run "
        "finish, or give each pipeline its own id map (id_map_path or id_map_url)."
    )
    raise IdMapBusyError(msg)


class FileHold:
    """``flock`` on a lock file next to the SQLite id map; the file tells who holds it."""

    def __init__(self, id_map_path: Path) -> None:
        self.name = str(id_map_path)
        self.path = id_map_path.with_name(id_map_path.name + ".lock")
        self._file: IO[bytes] | None = None
        self._held = False

    def try_acquire(self, holder: Holder) -> bool:
        """Lock the file without waiting; write ``holder`` into it once locked."""
        if self._file is None:
            self._file = open(self.path, "a+b")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        self._file.truncate(0)
        self._file.write(json.dumps(asdict(holder)).encode())
        self._file.flush()
        return True

    def holder(self) -> Holder | None:
        """The holder the lock file names (None while it is empty or unreadable)."""
        try:
            return Holder(**json.loads(self.path.read_bytes()))
        except (OSError, ValueError, TypeError):
            return None

    def release(self) -> None:
        """Empty the lock file and unlock it (closing the file unlocks it)."""
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            if self._held:  # else another run holds it: leave its name in the file
                file.truncate(0)
        finally:
            self._held = False
            file.close()
