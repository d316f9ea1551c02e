"""The HTTP metrics observer on its own: counters on a timer, a summary per endpoint.

Fed :class:`~recras_api.measure.RequestMeasurement` values as the client reports them, with
a log interval of half a second, so the timer is seen without a long wait.
The runs of the real executables are in test_metrics.py.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from singer_sdk import metrics

from recras_api.measure import RequestMeasurement
from recras_api.plugin.metrics import HttpRequestMetrics

LOGGER = logging.getLogger("tests.http_metrics")
DETAIL = "/api2/klanten/{id}"


def tries(seconds: list[float], status: int | None = 200) -> list[RequestMeasurement]:
    failure = None if status is not None else "ReadTimeout"
    return [RequestMeasurement("GET", DETAIL, status, s, failure) for s in seconds]


def points(caplog: pytest.LogCaptureFixture, metric: str) -> list[dict]:
    found = []
    for record in caplog.records:
        message = record.getMessage()
        if message.startswith("METRIC: ") and f'"metric":"{metric}"' in message:
            found.append(json.loads(message.removeprefix("METRIC: ")))
    return found


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=metrics.METRICS_LOGGER_NAME)
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    return caplog


def test_counts_are_logged_each_interval_and_no_duration_by_default(
    captured: pytest.LogCaptureFixture,
) -> None:
    observer = HttpRequestMetrics(LOGGER, log_interval=0.5)
    for measurement in tries([0.01] * 3):
        observer(measurement)
    time.sleep(0.6)
    observer(tries([0.01])[0])  # the interval passed: the 4 tries so far are logged
    observer(tries([0.01])[0])

    assert [p["value"] for p in points(captured, "http_request_count")] == [4]
    observer.finish()
    assert [p["value"] for p in points(captured, "http_request_count")] == [4, 1]
    assert points(captured, "http_request_duration") == []


def test_the_summary_gives_tries_by_outcome_and_duration_percentiles(
    captured: pytest.LogCaptureFixture,
) -> None:
    observer = HttpRequestMetrics(LOGGER)
    milliseconds = [float(n) for n in range(1, 101)]  # 1 ms ... 100 ms
    for measurement in tries([ms / 1000 for ms in milliseconds]) + tries([0.5], status=429):
        observer(measurement)
    observer(tries([2.0], status=None)[0])

    observer.finish()

    summary = [r.getMessage() for r in captured.records if r.name == LOGGER.name]
    assert summary == [
        f"HTTP GET {DETAIL}: 102 request(s) (200: 100, 429: 1, ReadTimeout: 1); "
        "p50 51 ms, p95 97 ms, max 2000 ms, sum 7.6 s"
    ]


def test_log_request_metrics_logs_one_duration_per_try(
    captured: pytest.LogCaptureFixture,
) -> None:
    observer = HttpRequestMetrics(LOGGER, per_request=True)
    for measurement in tries([0.01, 0.02]) + tries([0.03], status=503):
        observer(measurement)

    durations = points(captured, "http_request_duration")
    assert [p["value"] for p in durations] == [0.01, 0.02, 0.03]
    assert [p["tags"]["status"] for p in durations] == ["succeeded", "succeeded", "failed"]
    assert [p["tags"]["http_status_code"] for p in durations] == [200, 200, 503]
