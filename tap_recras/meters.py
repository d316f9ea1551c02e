"""Run-wide metrics for a child stream that the SDK syncs once per parent record.

The SDK opens a record counter and a sync timer for every child sync and logs both when it
ends: two METRIC lines per customer, which buries the log (and costs run time:
benchmarks/README.md). These meters span the whole run instead: the counter logs on its
usual interval, and both log once when :meth:`RunMeters.finish` is called.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

from singer_sdk import metrics
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_recras.sdk_compat import CompatCounter


class RunCounter(CompatCounter):
    """A record counter shared by every sync of one stream in a run."""

    @override
    def __enter__(self) -> Self:
        return self  # keep counting since the last log line, not since this customer

    @override
    def exit(self) -> None:
        """Log only when the interval has passed (not at the end of every customer)."""
        if self.interval_passed():
            self.log_and_restart()

    @override
    def with_context(self, value: Context | None) -> None:
        """Ignore the per-customer context: the count is for the whole stream."""

    def finish(self) -> None:
        """Log what was counted since the last line."""
        self.log_and_restart()


class RunTimer(metrics.Timer):
    """A sync timer that adds up every sync of one stream and logs the total once."""

    def __init__(self, metric: metrics.Metric, tags: dict | None = None) -> None:
        super().__init__(metric, tags)
        self.total = 0.0

    @override
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.total += time.time() - self.start_time
        if exc_type is not None:
            self.tags[metrics.Tag.STATUS] = metrics.Status.FAILED

    @override
    def with_context(self, value: Context | None) -> None:
        """Ignore the per-customer context: the time is for the whole stream."""

    def finish(self) -> None:
        """Log the summed sync time."""
        self.tags.setdefault(metrics.Tag.STATUS, metrics.Status.SUCCEEDED)
        metrics.log(self.logger, metrics.Point("timer", self.metric, self.total, self.tags))


class RunMeters:
    """The counter and timer of one child stream for one run."""

    def __init__(self, stream_name: str) -> None:
        tags = {metrics.Tag.STREAM: stream_name}
        self.counter = RunCounter(metrics.Metric.RECORD_COUNT, dict(tags))
        self.timer = RunTimer(metrics.Metric.SYNC_DURATION, dict(tags))

    def finish(self) -> None:
        """Log both totals (call once, after the parent's last record)."""
        self.counter.finish()
        self.timer.finish()
