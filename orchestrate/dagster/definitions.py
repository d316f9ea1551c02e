"""Dagster code location for the repository's Meltano project: its jobs and schedules.

dagster-meltano reads ``meltano job list`` and ``meltano schedule list`` and turns every Meltano
job into a Dagster job (one op per task, each running ``meltano run <task> --force``) and every
Meltano schedule into a Dagster schedule of that job; names get ``_`` for ``-``
(``recras-to-warehouse-hourly`` becomes ``recras_to_warehouse_hourly``). Nothing is copied from
``meltano.yml``: a job added there appears here on the next load.

dagster-meltano runs the ``meltano`` found on ``PATH`` in the project directory, with this
process's environment (credentials, ``MELTANO_DATABASE_URI``, ...). The project is
``MELTANO_PROJECT_ROOT`` if set, else this repository's root. README.md beside this file shows
the commands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from dagster import Definitions, JobDefinition, ScheduleDefinition
from dagster_meltano import load_jobs_from_meltano_project

#: This file is orchestrate/dagster/definitions.py: the repository root is two levels up.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def meltano_project_root() -> Path:
    """The Meltano project to load: ``MELTANO_PROJECT_ROOT``, else this repository."""
    root = Path(os.environ.get("MELTANO_PROJECT_ROOT") or REPOSITORY_ROOT)
    if not (root / "meltano.yml").is_file():
        msg = f"no meltano.yml in {root} (set MELTANO_PROJECT_ROOT to a Meltano project)"
        raise FileNotFoundError(msg)
    return root


def _require_meltano_on_path() -> None:
    # dagster-meltano starts plain "meltano"; without it the load fails with a bare
    # FileNotFoundError that names no file.
    if shutil.which("meltano") is None:
        msg = (
            "no meltano on PATH: dagster-meltano runs the meltano of PATH "
            "(in this repository: PATH=$PWD/.venv-meltano/bin:$PATH)"
        )
        raise FileNotFoundError(msg)


def _prepare_system_database(project_root: Path) -> None:
    # dagster-meltano starts `meltano job list` and `meltano schedule list` at once. On a fresh
    # disk (a new container) both find no system database and both create it, and one of them
    # fails with "MigrationError: Cannot upgrade the system database" (seen on 1 load in 4).
    # Creating it first, alone, leaves them nothing to race for.
    proc = subprocess.run(
        ["meltano", "upgrade", "database"],
        cwd=project_root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        msg = f"`meltano upgrade database` failed in {project_root}:\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)


def load_definitions() -> Definitions:
    """Every Meltano job and schedule of the project as Dagster definitions."""
    _require_meltano_on_path()
    project_root = meltano_project_root()
    _prepare_system_database(project_root)
    loaded = load_jobs_from_meltano_project(str(project_root))
    return Definitions(
        jobs=[item for item in loaded if isinstance(item, JobDefinition)],
        schedules=[item for item in loaded if isinstance(item, ScheduleDefinition)],
    )


defs = load_definitions()
