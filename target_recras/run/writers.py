"""Where a run's validated records go: a type per mode, chosen once when the run starts.

:class:`LiveWriter` writes them to Recras on the writer threads; :class:`DryRunWriter` only
counts what each would do (``dry_run``). :class:`~target_recras.run.session.TargetSession` hands
every record to its :class:`RecordWriter` and never asks which one it has.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import ExitStack
from typing import Protocol

from recras_api import RecrasClient
from recras_api.concurrency import AdaptiveConcurrency
from recras_api.plugin.metrics import HttpRequestMetrics
from recras_api.plugin.termination import signals_blocked
from target_recras.id_map import IdMap
from target_recras.options import TargetOptions
from target_recras.run import report
from target_recras.run.checkpoints import Checkpoints
from target_recras.run.lanes import OrderedLanes
from target_recras.run.rejects import RejectsFile
from target_recras.run.report import Outcome
from target_recras.run.upsert import Upserter
from target_recras.writes import UpsertJob, build_body, resolve_pending_creates


def close_logged(logger: logging.Logger, close: Callable[[], None]) -> None:
    """Run ``close``; a failure is logged: the error that stopped the run stays the reason."""
    try:
        close()
    except Exception as exc:
        logger.warning("Closing %s failed: %s", close.__qualname__, exc)


class RecordWriter(Protocol):
    """Takes validated records from the main thread; its errors end the run."""

    @property
    def pending(self) -> int:
        """Records handed over and not yet written."""

    @property
    def retried(self) -> int:
        """Requests retried so far."""

    def submit(self, job: UpsertJob) -> None:
        """Write ``job`` (maybe later, on another thread)."""

    def wait(self) -> None:
        """Block until every record handed over is written or rejected."""

    def cancel(self) -> None:
        """Start no queued write; those in flight finish."""

    def close(self) -> None:
        """Let the writes in flight finish, then stop."""


class LiveWriter:
    """Writes records to Recras on ``max_workers`` threads, each customer's in input order."""

    def __init__(self, client: RecrasClient, upserter: Upserter, lanes: OrderedLanes) -> None:
        self._client = client
        self._upserter = upserter
        self._lanes = lanes

    @classmethod
    def open(
        cls,
        options: TargetOptions,
        logger: logging.Logger,
        resources: ExitStack,
        *,
        id_map: IdMap,
        rejects: RejectsFile,
        stats: report.RunStats,
        checkpoints: Checkpoints,
    ) -> LiveWriter:
        """Connect to Recras, settle a stopped run's pending creates, start the threads.

        The client's release joins ``resources`` (its request counts and summary logged first).
        """
        assert options.connection is not None
        http_metrics = HttpRequestMetrics(logger, per_request=options.log_request_metrics)
        client = RecrasClient(
            options.connection,
            logger,
            pool_size=options.max_workers,
            observers=[http_metrics],
            # Writes back off when Recras answers 429 or 503 (recras_api.concurrency).
            concurrency=AdaptiveConcurrency(options.max_workers, logger),
        )
        resources.callback(close_logged, logger, client.close)
        resources.callback(close_logged, logger, http_metrics.finish)
        upserter = Upserter(
            client=client,
            id_map=id_map,
            rejects=rejects,
            stats=stats,
            checkpoints=checkpoints,
            logger=logger,
            skip_unchanged=options.skip_unchanged,
        )
        resolve_pending_creates(client, id_map, logger)
        with signals_blocked():  # the threads below never get SIGTERM
            lanes = OrderedLanes.start(options.max_workers)
        return cls(client, upserter, lanes)

    @property
    def pending(self) -> int:
        """Writes queued or running."""
        return self._lanes.pending

    @property
    def retried(self) -> int:
        """Requests the client retried."""
        return self._client.retries

    def submit(self, job: UpsertJob) -> None:
        """Queue the write behind the earlier ones of its lane."""
        self._lanes.submit(job.lane, functools.partial(self._upserter.write, job))

    def wait(self) -> None:
        """Block until the lanes are empty; re-raise a write's failure."""
        self._lanes.wait()

    def cancel(self) -> None:
        """Drop the queued writes."""
        self._lanes.cancel()

    def close(self) -> None:
        """Join the writer threads."""
        self._lanes.close()


class DryRunWriter:
    """A dry run: counts what each record would do, on the main thread; sends nothing."""

    pending = 0
    retried = 0

    def __init__(
        self,
        id_map: IdMap,
        stats: report.RunStats,
        checkpoints: Checkpoints,
        *,
        skip_unchanged: bool,
    ) -> None:
        self._id_map = id_map
        self._stats = stats
        self._checkpoints = checkpoints
        self._skip_unchanged = skip_unchanged

    def submit(self, job: UpsertJob) -> None:
        """Count the record as a create, an update or unchanged."""
        id_map = self._id_map
        known = job.klant_id is not None or id_map.lookup(str(job.map_key)) is not None
        # The digest only where one is stored: a dry run of new records stays cheap.
        stored = job.map_key is not None and id_map.digest(job.map_key) is not None
        if (
            stored
            and self._skip_unchanged
            and job.unchanged(id_map, job.digest(build_body(job.record)))
        ):
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.WOULD_UPDATE if known else Outcome.WOULD_CREATE
        self._stats.count(outcome)
        self._checkpoints.finish(job.seq)

    def wait(self) -> None:
        """Nothing is in flight."""

    def cancel(self) -> None:
        """Nothing is queued."""

    def close(self) -> None:
        """Nothing runs."""
