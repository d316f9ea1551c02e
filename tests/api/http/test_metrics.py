"""HTTP metrics: a summary per endpoint by default, one METRIC line per request on request.

SDK REST taps log ``http_request_duration`` (a timer per request) and ``http_request_count``
(a counter) in singer-sdk's own ``METRIC: {...}`` format; dashboards of rate limiting and
latency are built on them. The shared client logs the same shape for every try it sends, in
the tap and in the target, tagged with the endpoint template, the HTTP status and the method,
when ``log_request_metrics`` is set. By default a run logs the counters and, at the end, one
line per endpoint with its tries by status (a log that grows with every request buries the
rest: tests/target/test_log_volume.py). The real executables run against a sandbox (with
faults, so that retried 429 and 503 answers are counted too); the lines are parsed from their
stderr and checked against the sandbox's own counts. No credential appears in them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.sandbox import SandboxFactory
from support.target import SECRET_KEY, customer, run_target, singer_input, target_config

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import make_catalog, run_tap

pytestmark = pytest.mark.slow

#: singer_sdk.metrics.log writes ``METRIC: <point as compact JSON>``.
METRIC_LINE = re.compile(r"METRIC: (\{.*\})\s*$")
#: The summary line per endpoint: ``HTTP GET /api2/klanten/{id}: 41 request(s) (200: 38, ...);``.
SUMMARY_LINE = re.compile(r"\| HTTP (\w+ \S+): (\d+) request\(s\) \(([^)]*)\); p50 \d+ ms, p95 ")
DETAIL = "/api2/klanten/{id}"
LIST = "/api2/klanten"


def metric_points(log: str) -> list[dict[str, Any]]:
    """Every METRIC point in a plugin's log, decoded."""
    points = []
    for line in log.splitlines():
        if match := METRIC_LINE.search(line):
            points.append(json.loads(match.group(1)))
    return points


def http_points(log: str, metric: str) -> list[dict[str, Any]]:
    return [p for p in metric_points(log) if p["metric"] == metric]


def counted_requests(log: str) -> Counter[str]:
    """The requests per route that the ``http_request_count`` counters add up to."""
    counts: Counter[str] = Counter()
    for point in http_points(log, "http_request_count"):
        assert point["type"] == "counter"
        counts[f"{point['tags']['method']} {point['tags']['endpoint']}"] += point["value"]
    return counts


def summaries(log: str) -> tuple[Counter[str], Counter[int]]:
    """The tries per route and the answers per status that the summary lines report."""
    by_route: Counter[str] = Counter()
    by_status: Counter[int] = Counter()
    for match in SUMMARY_LINE.finditer(log):
        route, tries, outcomes = match.groups()
        by_route[route] += int(tries)
        for outcome in outcomes.split(", "):
            name, n = outcome.split(": ")
            if name.isdigit():
                by_status[int(name)] += int(n)
    return by_route, by_status


def answered(stats: dict[str, Any]) -> Counter[int]:
    """The sandbox's answers by status (dropped connections have none)."""
    return Counter({int(s): n for s, n in stats["responses"].items() if s.isdigit()})


@pytest.fixture
def tap_sandbox(sandbox_factory: SandboxFactory) -> SandboxProcess:
    """40 customers, and faults: some tries answer 429 or 503 and are retried."""
    return sandbox_factory(
        customers=40, api_key=SECRET_KEY, fault_rate=0.15, fault_seed=3, retry_after=0
    )


@pytest.fixture
def target_sandbox(sandbox_factory: SandboxFactory) -> SandboxProcess:
    """No customers, and faults: some writes answer 429 or 503 and are retried."""
    return sandbox_factory(
        customers=0, api_key=SECRET_KEY, fault_rate=0.2, fault_seed=5, retry_after=0
    )


def check_shape(points: list[dict[str, Any]]) -> None:
    for point in points:
        assert point["type"] == "timer"
        assert isinstance(point["value"], float) and point["value"] >= 0
        tags = point["tags"]
        assert {"endpoint", "method", "status", "pid"} <= tags.keys()
        assert tags["status"] == (
            "succeeded" if tags.get("http_status_code", 0) in range(200, 400) else "failed"
        )


def test_log_request_metrics_makes_the_tap_log_one_duration_per_request(
    tap_sandbox: SandboxProcess,
) -> None:
    config = tap_sandbox.config(max_workers=4, log_request_metrics=True)

    run = run_tap(config, catalog=make_catalog(config), log_level="INFO")

    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.records("klanten")) == 40
    stats = tap_sandbox.stats()
    durations = http_points(run.stderr, "http_request_duration")
    check_shape(durations)
    # One line per try the sandbox saw, per endpoint template and per status.
    by_route = Counter(f"{p['tags']['method']} {p['tags']['endpoint']}" for p in durations)
    assert by_route == Counter(stats["requests"])
    by_status = Counter(
        p["tags"]["http_status_code"] for p in durations if "http_status_code" in p["tags"]
    )
    assert by_status == answered(stats)
    assert by_status[429] + by_status[503] > 0  # retried answers are measured too
    assert by_route[f"GET {DETAIL}"] >= 40
    # The counters add up to the same requests, per endpoint and method.
    assert counted_requests(run.stderr) == by_route
    assert SECRET_KEY not in run.stderr + run.stdout


def test_log_request_metrics_makes_the_target_log_one_duration_per_request(
    target_sandbox: SandboxProcess, tmp_path: Path
) -> None:
    config = target_config(tmp_path, target_sandbox.config(max_workers=3, log_request_metrics=True))
    records = [customer(n) for n in range(1, 16)]

    result = run_target(config, singer_input(records))
    rerun = run_target(config, singer_input([customer(n, plaats="Zeist") for n in range(1, 6)]))

    assert result.returncode == 0, result.stderr[-3000:]
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert len(target_sandbox.customers()) == 15
    durations = http_points(result.stderr + rerun.stderr, "http_request_duration")
    check_shape(durations)
    stats = target_sandbox.stats()
    by_route = Counter(f"{p['tags']['method']} {p['tags']['endpoint']}" for p in durations)
    assert by_route == Counter(stats["requests"])
    assert by_route[f"POST {LIST}"] >= 15
    assert by_route[f"PUT {DETAIL}"] >= 5
    by_status = Counter(
        p["tags"]["http_status_code"] for p in durations if "http_status_code" in p["tags"]
    )
    assert by_status == answered(stats)
    assert counted_requests(result.stderr + rerun.stderr) == by_route


def test_by_default_the_tap_logs_a_summary_per_endpoint_and_no_duration_per_request(
    tap_sandbox: SandboxProcess,
) -> None:
    config = tap_sandbox.config(max_workers=4)

    run = run_tap(config, catalog=make_catalog(config), log_level="INFO")

    assert run.returncode == 0, run.stderr[-3000:]
    assert http_points(run.stderr, "http_request_duration") == []
    stats = tap_sandbox.stats()
    by_route, by_status = summaries(run.stderr)
    assert by_route == Counter(stats["requests"])
    assert by_status == answered(stats)
    assert by_status[429] + by_status[503] > 0  # the retried answers are in the summary
    assert counted_requests(run.stderr) == by_route
    assert SECRET_KEY not in run.stderr + run.stdout


def test_by_default_the_target_logs_a_summary_per_endpoint_and_no_duration_per_request(
    target_sandbox: SandboxProcess, tmp_path: Path
) -> None:
    config = target_config(tmp_path, target_sandbox.config(max_workers=3))

    result = run_target(config, singer_input([customer(n) for n in range(1, 16)]))

    assert result.returncode == 0, result.stderr[-3000:]
    assert http_points(result.stderr, "http_request_duration") == []
    stats = target_sandbox.stats()
    by_route, by_status = summaries(result.stderr)
    assert by_route == Counter(stats["requests"])
    assert by_route[f"POST {LIST}"] >= 15
    assert by_status == answered(stats)


def test_the_sdk_log_config_sends_the_per_request_points_to_a_file(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/tap.md, "Logs and metrics": the SDK's own way to route its metrics logger.
    metrics_file = tmp_path / "metrics.log"
    log_config = tmp_path / "logging.yml"
    log_config.write_text(
        "version: 1\n"
        "disable_existing_loggers: false\n"
        "handlers:\n"
        "  metrics: {class: logging.FileHandler, filename: " + str(metrics_file) + "}\n"
        "loggers:\n"
        "  singer_sdk.metrics: {handlers: [metrics], propagate: no}\n"
    )
    monkeypatch.setenv("SINGER_SDK_LOG_CONFIG", str(log_config))
    sandbox = sandbox_factory(customers=30)
    config = sandbox.config(log_request_metrics=True)

    run = run_tap(config, catalog=make_catalog(config), log_level="INFO")

    assert run.returncode == 0, run.stderr[-3000:]
    assert metric_points(run.stderr) == []
    durations = http_points(metrics_file.read_text(), "http_request_duration")
    assert len(durations) == sum(sandbox.stats()["requests"].values()) == 31
