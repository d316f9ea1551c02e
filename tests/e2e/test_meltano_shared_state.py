"""Meltano's state in a shared PostgreSQL system database survives the worker's directory.

Two copies of the Meltano project (``meltano.yml`` and a ``.meltano`` with the installed plugins
linked in) in different directories stand in for two workers with throw-away disks. Both set
``MELTANO_DATABASE_URI`` to one database of a private PostgreSQL cluster
(``scripts/pgcluster.py``, driver from ``meltano[postgres]``, installed by
``scripts/install_meltano.sh``). The first runs the hourly job ``recras-to-warehouse`` against
the sandbox; customers and bookings are added; the second, in the other directory, continues
from the first's bookmarks: it reads only the new customers and bookings.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import recras_demo
from pgcluster import PostgresCluster
from recras_demo import Meltano, Workspace
from support.paths import ROOT

# xdist_group: one worker runs every file that runs Meltano (see scripts/test.sh).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.meltano,
    pytest.mark.postgres,
    pytest.mark.timeout(300),
    pytest.mark.xdist_group("meltano"),
    pytest.mark.usefixtures("bytecode_cache"),
]

SEEDED = 12
ADDED = 3


def _copy_project(root: Path) -> Workspace:
    workspace = Workspace.fresh(root)
    shutil.copy(ROOT / "meltano.yml", root / "meltano.yml")
    return workspace


def _run(workspace: Workspace, env: dict[str, str], *args: str) -> recras_demo.MeltanoRun:
    """``meltano <args>`` in the copy (recras_demo's Meltano runs in the checkout)."""
    meltano = Meltano(workspace, env, lambda _: None)
    proc = subprocess.run(
        [str(recras_demo.MELTANO), "--log-format=json", *args],
        cwd=workspace.root,
        env=meltano.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = proc.stdout + proc.stderr
    log = workspace.logs / f"{'-'.join(args)}.log"
    log.write_text(output, encoding="utf-8")
    assert proc.returncode == 0, output[-4000:]
    result = recras_demo.MeltanoRun(args=args, returncode=proc.returncode, seconds=0, log_path=log)
    for line in output.splitlines():
        meltano._digest(line, result)
    return result


def test_a_second_worker_continues_from_the_first_workers_bookmark(tmp_path: Path) -> None:
    driver = subprocess.run(
        [str(recras_demo.MELTANO.parent / "python"), "-c", "import psycopg"], check=False
    )
    assert driver.returncode == 0, (
        "Meltano without meltano[postgres]: run scripts/install_meltano.sh"
    )
    with (
        PostgresCluster() as pg,
        recras_demo.sandbox(customers=SEEDED, seed=11, bookings=SEEDED) as box,
    ):
        pg.psql("CREATE DATABASE meltano_state", database="postgres")
        uri = f"postgresql+psycopg://{pg.user}:unused@{pg.host}:{pg.port}/meltano_state"
        env = {**recras_demo.sandbox_env(box), "MELTANO_DATABASE_URI": uri}
        first, second = _copy_project(tmp_path / "a"), _copy_project(tmp_path / "b")
        one = _run(first, env, "run", "recras-to-warehouse")
        box.add_customers(ADDED)
        box.add_bookings(ADDED)
        two = _run(second, env, "run", "recras-to-warehouse")
        for stream in ("klanten", "boekingen"):
            assert one.records(stream, "tap-recras") == SEEDED
            assert two.records(stream, "tap-recras") == ADDED, f"{stream}: no bookmark carried over"
        # The bookmark is in PostgreSQL; neither copy has a system database of its own.
        states = pg.psql("SELECT count(*) FROM state", database="meltano_state")
    assert int(states) == 1
    assert not list(tmp_path.glob("*/meltano.db")) and not list(tmp_path.glob("*/.meltano/*.db"))
