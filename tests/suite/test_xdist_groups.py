"""The suite's xdist groups hold: tests of one group run on one worker (scripts/test.sh).

The files that run Meltano inside the checkout share ``xdist_group("meltano")`` because
Meltano writes ``.meltano/run/<plugin>`` files there that concurrent runs would overwrite.
pytest-xdist's ``--dist loadgroup`` silently stopped grouping under pytest 9.2
(pytest-xdist#1386), which pyproject.toml's pin avoids; this test runs the installed pytest
and xdist on two small files of one group, as scripts/test.sh runs the suite, so an upgrade
that breaks the grouping again fails here instead of making the Meltano tests flaky.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
GROUPED_FILE = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("together")

@pytest.mark.parametrize("i", range(4))
def test_records_its_worker(i):
    with open(os.environ["WORKERS_SEEN"], "a") as seen:
        seen.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
"""


def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    for name in ("test_group_a.py", "test_group_b.py"):
        (tmp_path / name).write_text(GROUPED_FILE)
    seen = tmp_path / "workers.txt"
    run = subprocess.run(
        [*PYTEST, "-n", "2", "--dist", "loadgroup", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "WORKERS_SEEN": str(seen)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    workers = seen.read_text().split()
    assert len(workers) == 8
    assert len(set(workers)) == 1, f"one group ran on several workers: {sorted(set(workers))}"
