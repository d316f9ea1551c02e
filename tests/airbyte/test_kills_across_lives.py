"""source-recras killed (SIGKILL) while nobody reads its output, read after read.

Six reads of bookings, invoices and their children (bookings read incrementally, as
PyAirbyte asks), each from the per-stream STATEs every read before left. Between them
bookings are added and deleted, invoices added, paid and sent; reads 2 and 4 are killed
with SIGKILL after their reader stopped reading (the pipe fills, the writer blocks): nothing
runs on the way out, so what the reader finds is what was written, at most a cut last line.
Every whole line must be a valid message; a killed read sends only what is due and its
STATEs resume the next read without losing a row; a read to its end sends exactly what is
due; no position ever moves back. Under every sandbox reading.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from support.airbyte import (
    BIN,
    STREAM_KEYS,
    KeptState,
    airbyte_message,
    configured_catalog,
    discover,
    due,
    run_connector,
    sandbox_rows,
    write_json,
)
from support.sandbox import EVERY_READING, SandboxFactory

from recras_sandbox.testing import SandboxProcess

pytestmark = pytest.mark.slow

STREAMS = ["boekingen", "boekingsregels", "facturen", "betalingen", "factuurregels"]
#: Lines a killed read's reader takes before it stops reading.
READ_BEFORE_KILL = 40

Keys = dict[str, set[tuple[Any, ...]]]


class KilledLife:
    """Reads of :data:`STREAMS`, each from the STATEs the reads before left."""

    def __init__(self, recras: SandboxProcess, tmp_path: Path) -> None:
        self.recras = recras
        self.tmp_path = tmp_path
        self.config = write_json(tmp_path / "config.json", recras.config(max_workers=2))
        catalog = configured_catalog(discover(self.config), dict.fromkeys(STREAMS, "incremental"))
        self.catalog = write_json(tmp_path / "catalog.json", catalog)
        self.kept = KeptState()
        self.seen: Keys = {name: set() for name in STREAMS}
        self.reads = 0

    def _args(self) -> list[str]:
        self.reads += 1
        state = self.kept.arguments(self.tmp_path / f"state{self.reads}.json")
        return [
            "read",
            "--config",
            str(self.config),
            "--catalog",
            str(self.catalog),
            *map(str, state),
        ]

    def _due(self) -> Keys:
        rows = due(sandbox_rows(self.recras), self.kept.positions())
        return {name: set(rows[name]) for name in STREAMS}

    def read(self) -> None:
        """A read to its end: exactly what is due."""
        expected = self._due()
        done = run_connector("source-recras", *self._args(), timeout=180)
        assert done.returncode == 0, done.stdout[-2000:]
        assert sent_keys(done.messages) == expected, self.reads
        self._keep(done.messages)

    def killed(self) -> None:
        """A read SIGKILLed while its output is not read: only what is due."""
        expected = self._due()
        process = subprocess.Popen(
            [str(BIN / "source-recras"), *self._args()],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert process.stdout is not None
            head = [process.stdout.readline() for _ in range(READ_BEFORE_KILL)]
            time.sleep(0.5)  # nobody reads: the pipe fills and the writer blocks
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            # From the buffered reader, not communicate(): that reads the pipe itself and
            # would skip what readline() has buffered.
            rest = process.stdout.read()
        finally:
            process.kill()
            process.wait()
        assert process.returncode == -signal.SIGKILL
        *whole, _cut = b"".join([*head, rest]).decode("utf-8", "replace").split("\n")
        messages = [airbyte_message(line) for line in whole]
        sent = sent_keys(messages)
        for name in STREAMS:
            assert sent[name] <= expected[name], (self.reads, name)
        assert sent != expected, f"read {self.reads} ended before it was killed"
        self._keep(messages)

    def _keep(self, messages: list[dict[str, Any]]) -> None:
        before = self.kept.positions()
        for name, keys in sent_keys(messages).items():
            self.seen[name] |= keys
        self.kept.keep(messages)
        after = self.kept.positions()
        for name, position in before.items():
            assert after[name] >= position, (self.reads, name, position, after[name])

    def nothing_lost(self) -> None:
        rows = due(sandbox_rows(self.recras), {})
        for name in STREAMS:
            assert set(rows[name]) - self.seen[name] == set(), name


def sent_keys(messages: list[dict[str, Any]]) -> Keys:
    """The keys of each stream's records."""
    sent: Keys = {name: set() for name in STREAMS}
    for message in messages:
        if message["type"] == "RECORD":
            stream, data = message["record"]["stream"], message["record"]["data"]
            sent[stream].add(tuple(data[key] for key in STREAM_KEYS[stream]))
    return sent


@pytest.fixture(params=list(EVERY_READING))
def recras(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> SandboxProcess:
    """A small sandbox under each reading: 40 bookings are more output than a pipe holds."""
    return sandbox_factory(customers=10, bookings=40, **EVERY_READING[request.param])


def test_reads_killed_at_a_full_pipe_lose_nothing_and_never_move_back(
    recras: SandboxProcess, tmp_path: Path
) -> None:
    life = KilledLife(recras, tmp_path)
    life.read()
    bookings = recras.add_bookings(30)
    recras.delete_booking(bookings[-1])
    invoices = recras.add_invoices(30)
    life.killed()
    recras.set_invoice_status(invoices[0], "betaald")
    recras.add_payment(invoices[1], "12.50")
    recras.delete_booking(bookings[0])
    life.read()
    recras.add_bookings(30)
    recras.add_payment(recras.add_invoices(30)[0], "-3.00")
    life.killed()
    life.read()
    life.read()
    life.nothing_lost()
