"""Log volume: a default run logs in proportion to time and outcomes, not to the work.

``tap-recras | target-recras`` copies 2,000 customers from one sandbox into an empty one, as
the real executables in a real pipe, with the settings and log level a user gets by default.
Each plugin's log (its stderr) stays under 50 lines: no line per request or per record, only
progress on a timer, warnings that are capped, and summaries at the end. The per-request
``http_request_duration`` points are one setting away (tests/api/http/test_metrics.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.sandbox import SandboxFactory
from support.target import COPY_MAPS, TARGET, customer, rejects, singer_input, target_config

from tap_recras.testing import make_catalog, tap_command, write_inputs

pytestmark = pytest.mark.slow

CUSTOMERS = 2_000
#: The issue's bound: a user reads a default log, whatever the number of customers.
MAX_LINES = 50


def default_env() -> dict[str, str]:
    """The environment without any log level or logging config of the test run's own."""
    chosen = {"LOGLEVEL", "TAP_RECRAS_LOGLEVEL", "TARGET_RECRAS_LOGLEVEL", "SINGER_SDK_LOG_CONFIG"}
    return {name: value for name, value in os.environ.items() if name not in chosen}


def run_pipeline(
    tap_config: dict[str, Any], target_config_path: Path, tmp_path: Path
) -> tuple[list[str], list[str]]:
    """Run ``tap | target`` to the end; return each plugin's log lines."""
    tap_dir = tmp_path / "tap"
    tap_dir.mkdir()
    tap_args = write_inputs(tap_dir, tap_config, make_catalog(tap_config, persons=False))
    tap_log, target_log = tmp_path / "tap.log", tmp_path / "target.log"
    env = default_env()
    with tap_log.open("w") as tap_err, target_log.open("w") as target_err:
        tap = subprocess.Popen(
            [*tap_command(), *tap_args], stdout=subprocess.PIPE, stderr=tap_err, env=env
        )
        assert tap.stdout is not None
        target = subprocess.run(
            [TARGET, "--config", str(target_config_path)],
            stdin=tap.stdout,
            stdout=subprocess.DEVNULL,
            stderr=target_err,
            env=env,
            timeout=300,
            check=False,
        )
        tap.stdout.close()
        assert tap.wait(timeout=60) == 0, tap_log.read_text()[-3000:]
    assert target.returncode == 0, target_log.read_text()[-3000:]
    return tap_log.read_text().splitlines(), target_log.read_text().splitlines()


def test_a_default_run_of_2000_customers_logs_under_50_lines_per_plugin(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    source = sandbox_factory(customers=CUSTOMERS, seed=11)
    destination = sandbox_factory(customers=0)
    config = target_config(tmp_path, destination.config(stream_maps=COPY_MAPS))

    tap_lines, target_lines = run_pipeline(source.config(), config, tmp_path)

    assert len(destination.customers()) == CUSTOMERS
    counts = {"tap-recras": len(tap_lines), "target-recras": len(target_lines)}
    shown = "\n".join(tap_lines[-20:] + target_lines[-20:])
    assert max(counts.values()) < MAX_LINES, f"{counts}\n{shown}"
    summary = f"Summary: {CUSTOMERS} records read: {CUSTOMERS} created"
    assert any(summary in line for line in target_lines)


def test_2000_rejected_records_log_a_few_lines_naming_the_rejects_file(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0)
    config = target_config(tmp_path, sandbox.config())
    records = [customer(n, naam=n) for n in range(CUSTOMERS)]  # a name must be text

    result = subprocess.run(
        [TARGET, "--config", str(config)],
        input=singer_input(records),
        capture_output=True,
        text=True,
        env=default_env(),
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert len(rejects(tmp_path / "rejects.jsonl")) == CUSTOMERS
    lines = result.stderr.splitlines()
    assert len(lines) < MAX_LINES, "\n".join(lines)
    further = "Further rejects are logged at DEBUG level only; every reject is in"
    assert f"{further} {tmp_path / 'rejects.jsonl'}" in result.stderr
    assert f"{CUSTOMERS} rejected" in result.stderr
