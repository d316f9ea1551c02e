"""The tap's writer writes every buffered line even when stdout takes only part of a write.

Under ``PYTHONUNBUFFERED=1`` (Meltano sets it) ``sys.stdout.buffer`` is the raw file, and a
raw ``write`` may write part of its bytes and say how many: that happens when a signal (the
SIGTERM that stops a run) interrupts a write to a pipe the target has not emptied yet. The
writer dropped the rest, so the target read half a RECORD line glued to the STATE after it,
and lost the records in between (reproduced with the real tap: SIGTERM while its stdout pipe
was full, about one run in six). Here the pipe, the raw file and the signal are real: the
pipe is full, the reader waits, and SIGALRM interrupts the blocked write.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime

import pytest

from tap_recras.output import BufferedMsgSpecWriter

EXTRACTED = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_write_cut_short_by_a_signal_is_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    read_end, write_end = os.pipe()
    raw = io.FileIO(write_end, "w")  # what sys.stdout.buffer is with PYTHONUNBUFFERED=1
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, write_through=True))
    received = bytearray()

    def read_later() -> None:
        time.sleep(0.3)  # the writer blocks on the full pipe meanwhile
        with io.FileIO(read_end, "r") as source:
            while chunk := source.read(1 << 16):
                received.extend(chunk)

    reader = threading.Thread(target=read_later)
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: None)
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    reader.start()
    try:
        writer = BufferedMsgSpecWriter()
        for klant_id in range(1, 2001):  # several pipes full
            writer.write_record("klanten", {"id": klant_id, "naam": "K" * 40}, None, EXTRACTED)
        writer.flush()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        raw.close()
        reader.join(timeout=30)

    lines = bytes(received).splitlines()
    assert [json.loads(line)["record"]["id"] for line in lines] == list(range(1, 2001))
