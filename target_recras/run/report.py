"""What the target did: counters, Singer metrics, progress lines and the final summary."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from singer_sdk import metrics

#: Seconds between progress lines on long runs.
PROGRESS_INTERVAL = 10.0


class Outcome(StrEnum):
    """How a record ended; the value is the metric's ``status`` tag."""

    CREATED = "created"
    MERGED = "merged"
    UPDATED = "updated"
    #: Skipped without a request: the payload last written and confirmed (skip_unchanged).
    UNCHANGED = "unchanged"
    RECREATED = "recreated"
    REJECTED = "rejected"
    WOULD_CREATE = "would_create"
    WOULD_UPDATE = "would_update"


class Note(StrEnum):
    """What the user must know that is not an outcome; the value is its summary text."""

    #: Contact person fields a record had that were not sent (each is warned about by name).
    PERSON_FIELDS_NOT_SENT = "contact person fields not sent"
    #: Customers that more than one source key wrote to in this run (each is warned about).
    SHARED_CUSTOMERS = "customers written by several source keys"


class RunStats:
    """Thread-safe outcome counters, mirrored as Singer ``record_count`` metrics."""

    def __init__(self, stream: str = "klanten") -> None:
        self.started = time.monotonic()
        self.read = 0
        self.counts = dict.fromkeys(Outcome, 0)
        #: Things the user must know that are not outcomes (shown in the summary when > 0).
        self.notes = dict.fromkeys(Note, 0)
        self.stream = stream
        self._lock = threading.Lock()
        self._meters: dict[Outcome, metrics.Counter] = {}

    def count(self, outcome: Outcome) -> None:
        """One record ended as ``outcome``."""
        with self._lock:
            self.counts[outcome] += 1
            meter = self._meters.get(outcome)
            if meter is None:
                tags = {metrics.Tag.STREAM: self.stream, metrics.Tag.STATUS: outcome}
                meter = self._meters[outcome] = metrics.Counter(metrics.Metric.RECORD_COUNT, tags)
            meter.increment()

    def add(self, note: Note, amount: int) -> None:
        """Add ``amount`` to the ``note`` counter."""
        with self._lock:
            self.notes[note] += amount

    def close(self) -> None:
        """Log the final metric points."""
        for meter in self._meters.values():
            meter.exit()

    def line(self, retried: int, in_flight: int | None = None) -> str:
        """One line with every counter."""
        c = self.counts
        text = (
            f"{self.read} records read: {c[Outcome.CREATED]} created, {c[Outcome.MERGED]} merged, "
            f"{c[Outcome.UPDATED]} updated, {c[Outcome.UNCHANGED]} unchanged (skipped), "
            f"{c[Outcome.RECREATED]} recreated after a 404, "
            f"{c[Outcome.REJECTED]} rejected, {retried} requests retried"
        )
        text += "".join(f"; {n} {note}" for note, n in self.notes.items() if n)
        would_create, would_update = c[Outcome.WOULD_CREATE], c[Outcome.WOULD_UPDATE]
        if would_create or would_update:
            text += f"; dry run: {would_create} would be created, {would_update} updated"
        if in_flight is not None:
            text += f"; {in_flight} in flight"
        elapsed = time.monotonic() - self.started
        return text + f" ({elapsed:.1f} s)"


class ProgressReporter:
    """Logs a progress line every ``interval`` seconds until stopped."""

    def __init__(
        self, logger: logging.Logger, line: Callable[[], str], interval: float = PROGRESS_INTERVAL
    ) -> None:
        """A reporter not yet at work: :meth:`start` makes one and starts its thread."""
        self._logger = logger
        self._line = line
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recras-progress", daemon=True)

    @classmethod
    def start(
        cls, logger: logging.Logger, line: Callable[[], str], interval: float = PROGRESS_INTERVAL
    ) -> ProgressReporter:
        """A reporter whose thread logs ``line()`` every ``interval`` seconds from now on."""
        reporter = cls(logger, line, interval)
        reporter._thread.start()
        return reporter

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._logger.info("Progress: %s", self._line())

    def stop(self) -> None:
        """End the progress thread."""
        self._stop.set()
        self._thread.join()
