"""singer-sdk's HTTP metrics for the shared client: plugin glue, never imported by the client.

An SDK ``RESTStream`` logs ``http_request_duration`` (a timer point per request) and
``http_request_count`` (a counter per endpoint, logged every
:data:`~singer_sdk.metrics.DEFAULT_LOG_INTERVAL` seconds and at the end) on the
``singer_sdk.metrics`` logger; users build latency and rate-limit dashboards on them. The
plugins hand an :class:`HttpRequestMetrics` to :class:`~recras_api.client.RecrasClient` as
an observer, so every try the client sends (retried 429 and 503 answers included) is logged
in the same shape, through the SDK's own :class:`~singer_sdk.metrics.Point` and
:func:`~singer_sdk.metrics.log` (so the SDK's metric filters apply). Tags: ``endpoint`` (the
template, ``/api2/klanten/{id}``), ``method``, ``http_status_code`` (absent when no answer
came; ``error`` then names the failure), ``status`` and ``pid``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from http import HTTPStatus

from singer_sdk import metrics

from recras_api.measure import RequestMeasurement

#: The tag naming the HTTP method (the SDK has no constant for it).
METHOD_TAG = "method"
#: The tag naming why a try got no answer (``ReadTimeout``, ``ConnectionError``, ...).
ERROR_TAG = "error"


class HttpRequestMetrics:
    """A :data:`~recras_api.measure.RequestObserver` logging the SDK's HTTP metrics."""

    def __init__(self, log_interval: float = metrics.DEFAULT_LOG_INTERVAL) -> None:
        self.logger = metrics.get_metrics_logger()
        self.log_interval = log_interval
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._last_logged = time.monotonic()

    def __call__(self, measurement: RequestMeasurement) -> None:
        """Log the try's duration; count it (and log the counts when the interval passed)."""
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
        metrics.log(self.logger, duration)
        with self._lock:
            self._counts[measurement.method, measurement.endpoint] += 1
            due = time.monotonic() - self._last_logged > self.log_interval
        if due:
            self.flush()

    def flush(self) -> None:
        """Log the requests counted since the last flush, one counter point per endpoint."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._last_logged = time.monotonic()
        for (method, endpoint), value in sorted(counts.items()):
            tags = {metrics.Tag.ENDPOINT: endpoint, METHOD_TAG: method, metrics.Tag.PID: self._pid}
            point = metrics.Point("counter", metrics.Metric.HTTP_REQUEST_COUNT, value, tags)
            metrics.log(self.logger, point)
