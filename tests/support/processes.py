"""The rest of a child process's output after a test has read some of it line by line.

``Popen.communicate(timeout=...)`` reads the pipe's file descriptor directly, so whatever the
pipe's buffered reader already holds (``readline()`` and iteration read ahead) is dropped:
the test then sees output with lines missing, or a line cut in two. :func:`read_rest` reads
through that same reader.
"""

from __future__ import annotations

import subprocess
import threading
from typing import AnyStr


def read_rest(process: subprocess.Popen[AnyStr], timeout: float) -> AnyStr:
    """Everything ``process`` writes to stdout from here until it exits.

    Raises :class:`subprocess.TimeoutExpired` (the process killed) if it has not closed its
    output and exited within ``timeout`` seconds, as ``communicate(timeout=...)`` would.
    """
    assert process.stdout is not None
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        process.kill()

    killer = threading.Timer(timeout, kill)
    killer.start()
    try:
        rest = process.stdout.read()
        process.wait()
    finally:
        killer.cancel()
    if expired.is_set():
        raise subprocess.TimeoutExpired(process.args, timeout)
    return rest
