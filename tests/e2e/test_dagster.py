"""Dagster runs the Meltano project's hourly and nightly jobs once (orchestrate/dagster).

The code location ``orchestrate/dagster/definitions.py`` loads the jobs and schedules of a copy
of ``meltano.yml`` in a temporary directory (dagster-meltano asks ``meltano job list`` and
``meltano schedule list``); one tick of the hourly schedule, then one of the nightly schedule,
runs their jobs against a sandbox (``peer_programs/dagster_schedule_once.py``), and the test
checks what a user would: Dagster recorded both runs as successes, DuckDB holds every row of
every stream the sandbox has, and Meltano kept the bookmarks for the next hourly run. Dagster
and dagster-meltano are in .venv-dagster, Meltano in .venv-meltano
(``scripts/install_peers.sh``, ``scripts/install_meltano.sh``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import recras_demo
from recras_demo import Meltano, Workspace
from support.meltano import REFERENCE_TABLES
from support.paths import ROOT

# The project is a copy in tmp_path with a .meltano of its own (Workspace.fresh), but its
# plugins are the checkout's, linked in, which test_meltano_demo.py's fixture installs when missing:
# xdist_group puts this file on the one worker that runs every file that runs Meltano.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.meltano,
    pytest.mark.timeout(600),
    pytest.mark.xdist_group("meltano"),
    pytest.mark.usefixtures("bytecode_cache"),
]

DAGSTER_PYTHON = ROOT / ".venv-dagster" / "bin" / "python"
DEFINITIONS = ROOT / "orchestrate" / "dagster" / "definitions.py"
#: The instance settings the README copies into DAGSTER_HOME (telemetry off).
INSTANCE_SETTINGS = ROOT / "orchestrate" / "dagster" / "dagster.yaml"
DRIVER = Path(__file__).resolve().parent / "peer_programs" / "dagster_schedule_once.py"
HOURLY_SCHEDULE = "recras_to_warehouse_hourly"
NIGHTLY_SCHEDULE = "recras_to_warehouse_nightly"
#: The Meltano states of the two jobs' tasks in environment dev: ``tap-recras target-duckdb``
#: (hourly) and ``tap-recras-full target-duckdb`` (nightly).
STATE_ID = "dev:tap-recras-to-target-duckdb"
NIGHTLY_STATE_ID = "dev:tap-recras-full-to-target-duckdb"
CUSTOMERS = 15
BOOKINGS = 20
#: The streams the sandbox serves a list of (customers and contact persons aside).
LISTED_STREAMS = ("boekingen", "boekingsregels", "facturen", "betalingen", *REFERENCE_TABLES)
#: The streams the hourly job reads incrementally, each with a bookmark.
BOOKMARKED_STREAMS = {"klanten", "boekingen", "facturen", "factuurregels"}


def _run(command: list[str], env: dict[str, str], cwd: Path, timeout: int) -> str:
    """Run ``command``; its output (stdout, then stderr), failing the test if it fails."""
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(command)} failed:\n{output[-6000:]}"
    return output


def test_dagster_runs_the_hourly_and_nightly_meltano_jobs_once(tmp_path: Path) -> None:
    assert DAGSTER_PYTHON.is_file(), "Dagster missing: run ./scripts/install_peers.sh"
    assert recras_demo.MELTANO.is_file(), "Meltano missing: run ./scripts/install_meltano.sh"
    workspace = Workspace.fresh(tmp_path / "project")
    shutil.copy(ROOT / "meltano.yml", workspace.root / "meltano.yml")
    dagster_home = tmp_path / "dagster-home"
    dagster_home.mkdir()
    shutil.copy(INSTANCE_SETTINGS, dagster_home / "dagster.yaml")

    with recras_demo.sandbox(customers=CUSTOMERS, seed=23, bookings=BOOKINGS) as box:
        env = Meltano(
            workspace,
            {
                **recras_demo.sandbox_env(box),
                "MELTANO_PROJECT_ROOT": str(workspace.root),
                "DAGSTER_HOME": str(dagster_home),
                # dagster-meltano runs the meltano of PATH.
                "PATH": f"{recras_demo.MELTANO.parent}{os.pathsep}{os.environ['PATH']}",
            },
        ).env()
        command = [
            str(DAGSTER_PYTHON),
            str(DRIVER),
            str(DEFINITIONS),
            HOURLY_SCHEDULE,
            NIGHTLY_SCHEDULE,
        ]
        output = _run(command, env, tmp_path, 480)
        sandbox_ids = [customer["id"] for customer in box.customers()]
        sandbox_rows = {stream: box.rows(stream) for stream in (*LISTED_STREAMS, "factuurregels")}

    summaries = [line for line in output.splitlines() if line.startswith("SUMMARY ")]
    assert len(summaries) == 1, output[-3000:]
    summary = json.loads(summaries[0].removeprefix("SUMMARY "))
    # meltano.yml's schedules recras-to-warehouse-hourly (@hourly) of job recras-to-warehouse
    # and recras-to-warehouse-nightly of job recras-to-warehouse-full.
    assert summary["schedules"] == {
        HOURLY_SCHEDULE: {"job": "recras_to_warehouse", "cron": "0 * * * *", "skipped": None},
        NIGHTLY_SCHEDULE: {
            "job": "recras_to_warehouse_full",
            "cron": "30 2 * * *",
            "skipped": None,
        },
    }
    assert summary["runs"] == [
        {
            "job": "recras_to_warehouse",
            "status": "SUCCESS",
            "schedule": HOURLY_SCHEDULE,
            "steps_succeeded": ["tap_recras_target_duckdb"],
        },
        {
            "job": "recras_to_warehouse_full",
            "status": "SUCCESS",
            "schedule": NIGHTLY_SCHEDULE,
            "steps_succeeded": ["tap_recras_full_target_duckdb"],
        },
    ], output[-6000:]
    # The rows landed in the copy's warehouse: every row of every stream the sandbox has, but
    # the lines of concept invoices (invoice lines are read by invoice date; those have none).
    counts = recras_demo.duckdb_counts(workspace.warehouse)
    assert counts["klanten"] == len(sandbox_ids)
    for stream in LISTED_STREAMS:
        assert len(sandbox_rows[stream]) > 0, stream
        assert counts[stream] == len(sandbox_rows[stream]), stream
    dated = {row["id"] for row in sandbox_rows["facturen"] if row["datum"]}
    lines = [row for row in sandbox_rows["factuurregels"] if row["factuur_id"] in dated]
    assert counts["factuurregels"] == len(lines) > 0
    # Meltano kept the bookmarks (the highest customer id, ...) for the next hourly run, in the
    # copy's system database (read directly: `meltano state get` would take another 6-13 s).
    with sqlite3.connect(workspace.meltano_db) as db:
        states = dict(db.execute("SELECT state_id, completed_state FROM state").fetchall())
    assert set(states) == {STATE_ID, NIGHTLY_STATE_ID}
    bookmarks = json.loads(states[STATE_ID])["singer_state"]["bookmarks"]
    assert set(bookmarks) >= BOOKMARKED_STREAMS
    assert bookmarks["klanten"]["replication_key_value"] == max(sandbox_ids)
