"""BATCH from the tap: refused with a clear error, never one file per customer.

The SDK syncs ``contactpersonen`` once per customer, so with ``batch_config`` it wrote one
batch file per customer. The tap does not declare the ``batch`` capability and stops when
``batch_config`` is set, before any request and before any file is written.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.sandbox import SandboxFactory

from tap_recras.testing import make_catalog, run_tap, tap_command


def test_batch_config_is_refused_before_anything_is_written(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=5)
    batches = tmp_path / "batches"
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "none"},
        "storage": {"root": f"file://{batches}", "prefix": "recras-"},
    }
    catalog = make_catalog(sandbox.config())  # discovery with batch_config is refused too

    run = run_tap(sandbox.config(batch_config=batch_config), catalog=catalog)

    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert "batch_config is set, but tap-recras does not write BATCH messages" in last_line
    assert run.messages == []
    assert not batches.exists() or not any(batches.iterdir())
    assert not sandbox.stats()["requests"]


def test_about_does_not_declare_the_batch_capability() -> None:
    about = subprocess.run(
        [*tap_command(), "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    info = json.loads(about.stdout)
    assert "batch" not in info["capabilities"]
    assert "batch_config" not in info["settings"]["properties"]
