"""support.processes.read_rest: the rest of a child's output after lines read one by one.

``communicate(timeout=...)`` after ``readline()`` drops what the pipe's reader had read ahead
(with it in place of read_rest, the first test fails: lines 1 to 28 were missing).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.processes import read_rest

#: 5,000 numbered lines, far more than one read-ahead of the pipe's reader.
WRITER = "import sys\nfor n in range(5000):\n    sys.stdout.write(f'{n}\\n')\n"


def _writer() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE)


def test_read_rest_after_readline_keeps_every_line() -> None:
    process = _writer()
    assert process.stdout is not None
    first = process.stdout.readline()
    rest = read_rest(process, 30)
    assert (first + rest).decode().split() == [str(n) for n in range(5000)]
    assert process.returncode == 0


def test_read_rest_kills_a_process_that_does_not_end_in_time() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"up\n"
    with pytest.raises(subprocess.TimeoutExpired):
        read_rest(process, 0.5)
    assert process.returncode is not None and process.returncode < 0
