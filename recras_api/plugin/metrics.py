"""singer-sdk's HTTP metrics for the shared client: plugin glue, never imported by the client.

An SDK ``RESTStream`` logs ``http_request_duration`` (a timer point per request) and
``http_request_count`` (a counter per endpoint, logged every
:data:`~singer_sdk.metrics.DEFAULT_LOG_INTERVAL` seconds and at the end) on the
``singer_sdk.metrics`` logger. The plugins hand an :class:`HttpRequestMetrics` to
:class:`~recras_api.client.RecrasClient` as an observer, which sees every try the client
sends (retried 429 and 503 answers included) and logs in the same shape, through the SDK's
own :class:`~singer_sdk.metrics.Point` and :func:`~singer_sdk.metrics.log` (so the SDK's
metric filters apply). Tags: ``endpoint`` (the template, ``/api2/klanten/{id}``),
``method``, ``http_status_code`` (absent when no answer came; ``error`` then names the
failure), ``status`` and ``pid``.

One line per request made a run's log grow with its customers (10,000 customers: 10,000
lines), so by default only the counters are logged, on their interval, and the run ends with
one summary line per endpoint (tries by status, duration percentiles). The per-request
``http_request_duration`` points, which latency dashboards are built on, come back with the
``log_request_metrics`` setting (:data:`LOG_REQUEST_METRICS`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus

from singer_sdk import metrics

from recras_api.measure import RequestMeasurement

#: The setting that logs an ``http_request_duration`` point for every request.
LOG_REQUEST_METRICS = "log_request_metrics"
#: The tag naming the HTTP method (the SDK has no constant for it).
METHOD_TAG = "method"
#: The tag naming why a try got no answer (``ReadTimeout``, ``ConnectionError``, ...).
ERROR_TAG = "error"


@dataclass
class EndpointTries:
    """What the tries of one method and endpoint template came to in a run."""

    #: Tries by outcome: the HTTP status as text, or the failure's name when none came.
    outcomes: Counter[str] = field(default_factory=Counter)
    #: Every try's wall time, as C doubles: a list of float objects would take four times more.
    seconds: array[float] = field(default_factory=lambda: array("d"))

    def add(self, measurement: RequestMeasurement) -> None:
        """Count one try."""
        status = measurement.status
        self.outcomes[str(status) if status is not None else str(measurement.failure)] += 1
        self.seconds.append(measurement.seconds)

    def summary(self) -> str:
        """Tries by outcome, then their duration: p50, p95, max (in ms) and sum (in s).

        e.g. ``2000 request(s) (200: 1998, 429: 2); p50 <n> ms, p95 <n> ms, max <n> ms, sum <n> s``
        """
        tries = len(self.seconds)
        outcomes = ", ".join(f"{name}: {n}" for name, n in sorted(self.outcomes.items()))
        ordered = sorted(self.seconds)
        return (
            f"{tries} request(s) ({outcomes}); p50 {_ms(_percentile(ordered, 0.5))}, "
            f"p95 {_ms(_percentile(ordered, 0.95))}, max {_ms(ordered[-1])}, "
            f"sum {sum(ordered):.1f} s"
        )


class HttpRequestMetrics:
    """A :data:`~recras_api.measure.RequestObserver` logging the SDK's HTTP metrics.

    ``per_request``: log an ``http_request_duration`` point for every try (the
    ``log_request_metrics`` setting). :meth:`finish` logs the counters and the summary.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_request: bool = False,
        log_interval: float = metrics.DEFAULT_LOG_INTERVAL,
    ) -> None:
        self.logger = logger
        self.metrics_logger = metrics.get_metrics_logger()
        self.per_request = per_request
        self.log_interval = log_interval
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._tries: dict[tuple[str, str], EndpointTries] = {}
        self._last_logged = time.monotonic()

    def __call__(self, measurement: RequestMeasurement) -> None:
        """Count the try (logging the counts when the interval passed); log it if asked to."""
        if self.per_request:
            self._log_duration(measurement)
        route = measurement.method, measurement.endpoint
        with self._lock:
            self._counts[route] += 1
            self._tries.setdefault(route, EndpointTries()).add(measurement)
            due = time.monotonic() - self._last_logged > self.log_interval
        if due:
            self.flush()

    def _log_duration(self, measurement: RequestMeasurement) -> None:
        tags: dict[str, object] = {
            metrics.Tag.ENDPOINT: measurement.endpoint,
            METHOD_TAG: measurement.method,
        }
        if measurement.status is not None:
            tags[metrics.Tag.HTTP_STATUS_CODE] = measurement.status
        else:
            tags[ERROR_TAG] = measurement.failure
        answered = measurement.status is not None and measurement.status < HTTPStatus.BAD_REQUEST
        tags[metrics.Tag.STATUS] = metrics.Status.SUCCEEDED if answered else metrics.Status.FAILED
        tags[metrics.Tag.PID] = self._pid
        duration = metrics.Point(
            "timer", metrics.Metric.HTTP_REQUEST_DURATION, measurement.seconds, tags
        )
        metrics.log(self.metrics_logger, duration)

    def flush(self) -> None:
        """Log the requests counted since the last flush, one counter point per endpoint."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._last_logged = time.monotonic()
        for (method, endpoint), value in sorted(counts.items()):
            tags = {metrics.Tag.ENDPOINT: endpoint, METHOD_TAG: method, metrics.Tag.PID: self._pid}
            point = metrics.Point("counter", metrics.Metric.HTTP_REQUEST_COUNT, value, tags)
            metrics.log(self.metrics_logger, point)

    def finish(self) -> None:
        """Log the last counts, then one summary line per endpoint for the whole run."""
        self.flush()
        with self._lock:
            lines = [(route, tries.summary()) for route, tries in sorted(self._tries.items())]
        for (method, endpoint), summary in lines:
            self.logger.info("HTTP %s %s: %s", method, endpoint, summary)


def _percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of a sorted, non-empty list."""
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
