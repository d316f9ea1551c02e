"""The resources of one target run, and what the main thread asks of them.

A :class:`TargetSession` holds what every sink shares: the validator, the counters, the
rejects file, the checkpoints, the id map (held exclusively), the Recras client and the
writer threads. Making one talks to Recras (pending creates of a stopped run are looked up)
and starts threads, so the target makes it once, at the first message that needs it
(:meth:`~target_recras.target.TargetRecras.open_session`), never for ``--about``.

Sinks validate and plan records on the main thread and hand them to the session, which
writes them on the writer threads (or, in a dry run, only counts what it would do), tracks
checkpoints for STATE messages, and turns anything that must end the run into
:class:`~target_recras.errors.TargetStopError` after logging the summary.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from recras_api import RecrasClient, RecrasError
from recras_api.concurrency import AdaptiveConcurrency
from recras_api.plugin.metrics import HttpRequestMetrics
from recras_api.plugin.termination import signals_blocked
from target_recras import report
from target_recras.checkpoints import Checkpoints
from target_recras.errors import TargetStopError
from target_recras.id_map import IdMap
from target_recras.jobs import UpsertJob
from target_recras.lanes import OrderedLanes
from target_recras.options import TargetOptions
from target_recras.payload import build_body
from target_recras.recovery import resolve_pending_creates
from target_recras.rejects import RejectsFile
from target_recras.report import Outcome
from target_recras.upsert import Upserter
from target_recras.validation import Problem, RecordValidator


def stop_message(exc: BaseException) -> str:
    """What the user reads when the run stops because of ``exc``."""
    if isinstance(exc, TargetStopError):
        return str(exc)
    if isinstance(exc, RecrasError):
        return f"{exc.message} The run stopped; no STATE was emitted past the last record written."
    return f"Unexpected error ({type(exc).__name__}: {exc}); the run stopped."


class TargetSession:
    """The shared resources of one run; made once, at the first message that needs them."""

    def __init__(
        self,
        options: TargetOptions,
        logger: logging.Logger,
        emit_state: Callable[[dict[str, Any]], None],
        input_line: Callable[[], int],
    ) -> None:
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
        self.rejects = RejectsFile(options.rejects_path, options.max_rejects, logger)
        self.checkpoints = Checkpoints(self._checkpoint)
        self.id_map = IdMap.open(
            options.id_map_url,
            read_only=options.dry_run,
            lock_timeout=options.id_map_lock_timeout,
            logger=logger,
        )
        self.client: RecrasClient | None = None
        self.http_metrics = HttpRequestMetrics()
        self.lanes: OrderedLanes | None = None
        if options.dry_run:
            logger.info(
                "Dry run: records are validated and planned; nothing is sent to Recras, and "
                "no STATE is passed on (an orchestrator must not save bookmarks for records "
                "that were not written)."
            )
            self._upserter: Upserter | None = None
        else:
            assert options.connection is not None
            self.client = RecrasClient(
                options.connection,
                logger,
                pool_size=options.max_workers,
                observers=[self.http_metrics],
                # Writes back off when Recras answers 429 or 503 (recras_api.concurrency).
                concurrency=AdaptiveConcurrency(options.max_workers, logger),
            )
            self._upserter = Upserter(
                client=self.client,
                id_map=self.id_map,
                rejects=self.rejects,
                stats=self.stats,
                checkpoints=self.checkpoints,
                logger=logger,
                skip_unchanged=options.skip_unchanged,
            )
            self._guard(resolve_pending_creates, self.client, self.id_map, logger)
        with signals_blocked():  # the threads below never get SIGTERM
            if not options.dry_run:
                self.lanes = OrderedLanes(options.max_workers)
            self._progress = report.ProgressReporter(logger, self.progress_line)

    def progress_line(self) -> str:
        """Counters so far, with retries and writes in flight."""
        return self.stats.line(self.retried, self.lanes.pending if self.lanes else 0)

    def _checkpoint(self, state: dict[str, Any], covered: int) -> None:
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
        if self.lanes is None or self._upserter is None:
            known = job.klant_id is not None or self.id_map.lookup(str(job.map_key)) is not None
            # The digest only where one is stored: a dry run of new records stays cheap.
            stored = job.map_key is not None and self.id_map.digest(job.map_key) is not None
            if (
                stored
                and self.options.skip_unchanged
                and job.unchanged(self.id_map, job.digest(build_body(job.record)))
            ):
                outcome = Outcome.UNCHANGED
            else:
                outcome = Outcome.WOULD_UPDATE if known else Outcome.WOULD_CREATE
            self.stats.count(outcome)
            self.checkpoints.finish(job.seq)
            return
        self._guard(self.lanes.submit, job.lane, functools.partial(self._upserter.write, job))

    def wait(self) -> None:
        """Block until every record handed over so far is written or rejected."""
        if self.lanes is not None:
            self._guard(self.lanes.wait)

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
        self.close(success=True)

    def terminate(self) -> None:
        """SIGTERM/SIGINT: start no queued write, let those in flight finish, then close."""
        if self.lanes is not None:
            self.lanes.cancel()
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
        if self.lanes is not None:
            self.lanes.close()
        summary = self.progress_line() if not success else self.stats.line(self.retried)
        self.logger.info("Summary: %s", summary)
        if self.rejects.count:
            self.logger.warning(
                "%d record(s) were rejected; they are in %s with the reasons.",
                self.rejects.count,
                self.rejects.path,
            )
        closers: list[Callable[[], None]] = [self.stats.close, self.rejects.close]
        closers.append(self.id_map.close)  # SQLite: checkpoints the WAL into the file
        if self.client is not None:
            closers += [self.http_metrics.flush, self.client.close]
        for close in closers:
            try:
                close()
            except Exception as exc:  # logged: the error that stopped the run stays the reason
                self.logger.warning("Closing %s failed: %s", close.__qualname__, exc)

    @property
    def retried(self) -> int:
        """Requests retried so far."""
        return self.client.retries if self.client else 0
