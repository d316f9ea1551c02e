"""The resources of one target run, and what the main thread asks of them.

A :class:`TargetSession` holds what every sink shares: the validator, the counters, the
rejects file, the checkpoints, the id map (held exclusively) and the run's
:class:`~target_recras.run.writers.RecordWriter`, chosen once for its mode (Recras and the
writer threads, or a dry run's counts). :meth:`TargetSession.open` opens them (which talks
to Recras: pending creates of a stopped run are looked up, and starts threads), so the
target opens it once, at the first message that needs it
(:meth:`~target_recras.target.TargetRecras.open_session`), never for ``--about``; its
:class:`~contextlib.ExitStack` releases them when the session closes.

Sinks validate and plan records on the main thread and hand them to the session, which
hands them to its writer, tracks checkpoints for STATE messages, and turns anything that
must end the run into :class:`~target_recras.errors.TargetStopError` after logging the
summary.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from recras_api import RecrasError
from recras_api.plugin.termination import signals_blocked
from target_recras.errors import TargetStopError
from target_recras.id_map import IdMap
from target_recras.input import Problem, RecordValidator
from target_recras.options import TargetOptions
from target_recras.run import report
from target_recras.run.checkpoints import Checkpoints
from target_recras.run.rejects import RejectsFile
from target_recras.run.report import Outcome
from target_recras.run.writers import DryRunWriter, LiveWriter, RecordWriter, close_logged
from target_recras.writes import UpsertJob


def stop_message(exc: BaseException) -> str:
    """What the user reads when the run stops because of ``exc``."""
    if isinstance(exc, TargetStopError):
        return str(exc)
    if isinstance(exc, RecrasError):
        return f"{exc.message} The run stopped; no STATE was emitted past the last record written."
    return f"Unexpected error ({type(exc).__name__}: {exc}); the run stopped."


class TargetSession:
    """The shared resources of one run: opened (:meth:`open`) at the first message needing them."""

    def __init__(
        self,
        options: TargetOptions,
        logger: logging.Logger,
        emit_state: Callable[[dict[str, Any]], None],
        input_line: Callable[[], int],
    ) -> None:
        """Counters and bookkeeping only: :meth:`open` makes a session with its resources."""
        self.options = options
        self.logger = logger
        self.input_line = input_line
        self._emit_state = emit_state
        self._stopped: TargetStopError | None = None
        # The sequence number the last emitted STATE arrived at (None: none emitted yet).
        self._covered: int | None = None
        self._closed = False
        self._progress: report.ProgressReporter | None = None
        self.validator = RecordValidator()
        self.stats = report.RunStats()
        # Its file is opened at the first reject.
        self.rejects = RejectsFile(options.rejects_path, options.max_rejects, logger)
        self.checkpoints = Checkpoints(self._checkpoint)
        #: What :meth:`close` releases after the summary, last opened first.
        self._resources = ExitStack()
        self._writer: RecordWriter | None = None
        self._id_map: IdMap | None = None
        #: The summary line :meth:`close` logged (None until then), for a caller to show.
        self.summary: str | None = None

    @classmethod
    def open(
        cls,
        options: TargetOptions,
        logger: logging.Logger,
        emit_state: Callable[[dict[str, Any]], None],
        input_line: Callable[[], int],
    ) -> TargetSession:
        """A session with its resources open, and its writer chosen for the run's mode.

        The id map (held exclusively unless dry), then the writer: a dry run's counts on the
        main thread; a live one connects to Recras, looks up the pending creates of a
        stopped run and starts the writer threads.
        """
        session = cls(options, logger, emit_state, input_line)
        resources = session._resources
        resources.callback(close_logged, logger, session.stats.close)
        resources.callback(close_logged, logger, session.rejects.close)
        id_map = session._id_map = IdMap.open(
            options.id_map_url,
            read_only=options.dry_run,
            lock_timeout=options.id_map_lock_timeout,
            logger=logger,
        )
        # SQLite: checkpoints the WAL into the file.
        resources.callback(close_logged, logger, id_map.close)
        session._writer = session._open_writer(id_map)
        with signals_blocked():  # its thread never gets SIGTERM
            session._progress = report.ProgressReporter.start(logger, session.progress_line)
        return session

    def _open_writer(self, id_map: IdMap) -> RecordWriter:
        options = self.options
        if options.dry_run:
            self.logger.info(
                "Dry run: records are validated and planned; nothing is sent to Recras, and "
                "no STATE is passed on (an orchestrator must not save bookmarks for records "
                "that were not written)."
            )
            return DryRunWriter(
                id_map, self.stats, self.checkpoints, skip_unchanged=options.skip_unchanged
            )
        opened: LiveWriter = self._guard(
            functools.partial(
                LiveWriter.open,
                options,
                self.logger,
                self._resources,
                id_map=id_map,
                rejects=self.rejects,
                stats=self.stats,
                checkpoints=self.checkpoints,
            )
        )
        return opened

    @property
    def id_map(self) -> IdMap:
        """The run's id map (open from :meth:`open` on)."""
        assert self._id_map is not None
        return self._id_map

    @property
    def writer(self) -> RecordWriter:
        """Where records go: Recras, or a dry run's counters (open from :meth:`open` on)."""
        assert self._writer is not None
        return self._writer

    def progress_line(self) -> str:
        """Counters so far, with retries and writes in flight."""
        return self.stats.line(self.retried, self._writer.pending if self._writer else 0)

    def _checkpoint(self, state: dict[str, Any], covered: int) -> None:
        # The id map's rows of the records the STATE covers (a create's answer is queued,
        # not committed) are on disk before it leaves: a rerun from it never replays them.
        self.id_map.commit()
        # Emit first, prune after: entries must outlive the STATE that makes them unneeded.
        self._emit_state(state)
        self._covered = covered
        self.id_map.prune_natural(covered)

    def _guard(self, action: Callable[..., Any], *args: Any) -> Any:
        """Run ``action``; anything that must end the run becomes one logged TargetStopError."""
        if self._stopped is not None:
            raise self._stopped
        try:
            return action(*args)
        except Exception as exc:
            self._stopped = TargetStopError(stop_message(exc))
            if not isinstance(exc, RecrasError | TargetStopError):
                self.logger.exception("Unexpected error")
            self.close(success=False)
            raise self._stopped from exc

    def reject(
        self, problem: Problem, *, stream: str | None, record: Any = None, line: str | None = None
    ) -> None:
        """Reject a record (or an unreadable input line) on the main thread."""
        seq = self.checkpoints.start()
        self.stats.count(Outcome.REJECTED)
        write = functools.partial(
            self.rejects.reject,
            problem,
            stream=stream,
            record=record,
            line=line,
            input_line=self.input_line(),
        )
        self._guard(write)
        # Only a reject that is on disk lets a later STATE out.
        self.checkpoints.finish(seq)

    def submit(self, job: UpsertJob) -> None:
        """Write a validated record (or, in a dry run, count what would happen)."""
        self._guard(self.writer.submit, job)

    def wait(self) -> None:
        """Block until every record handed over so far is written or rejected."""
        self._guard(self.writer.wait)

    def finish(self) -> None:
        """The input ended and everything is written: tidy up and log the summary.

        Once this run emitted a STATE, the natural entries of earlier runs are dropped too:
        the records of theirs that a rerun would send again came in this run's input and now
        have entries of this run. Entries of records after the last STATE stay: a rerun from
        it sends those records again.
        """
        self.wait()
        if self._covered is not None:
            self.id_map.prune_natural(self._covered, earlier_runs=True)
        # The last writes' answers: a failure to commit them ends the run with an error.
        self._guard(self.id_map.commit)
        self.close(success=True)

    def terminate(self) -> None:
        """SIGTERM/SIGINT: start no queued write, let those in flight finish, then close."""
        if self._writer is not None:
            self._writer.cancel()
        self.close(success=False)

    def close(self, *, success: bool) -> None:
        """Release threads and files; log the summary (idempotent; never raises).

        Writes queued before the close still run (after a failed write the lanes have
        dropped them already). A failure while closing is logged, never raised: it must not
        hide the error that stopped the run.
        """
        if self._closed:
            return
        self._closed = True
        if self._progress is not None:
            self._progress.stop()
        if self._writer is not None:
            self._writer.close()
        self.summary = self.progress_line() if not success else self.stats.line(self.retried)
        self.logger.info("Summary: %s", self.summary)
        if self.rejects.count:
            self.logger.warning(
                "%d record(s) were rejected; they are in %s with the reasons.",
                self.rejects.count,
                self.rejects.path,
            )
        # The client (its request counts logged first), the id map, rejects file, counters.
        self._resources.close()

    @property
    def retried(self) -> int:
        """Requests retried so far."""
        return self._writer.retried if self._writer else 0
