"""The per-stream state Airbyte gives back after a stream was toggled, added or reset.

A child stream (``boekingsregels``, ``betalingen``) is read with its parent and keeps its
parent's position as its own state. Toggled off for a read, its state stays where it was
while its parent's moves on (Airbyte keeps each stream's last STATE); added for the first
time, it has no state at all. Either way the next read that selects it must send what it
has not had yet: every line of every booking, every payment of every invoice, whatever the
parent's own state says. After a reset, the platform gives a stream's state back as
``stream_state: null`` (the protocol's ``AirbyteStreamState.stream_state`` is optional): the
read must succeed, read that stream's family from the start and resume the others. The real
executable against a small sandbox.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support.airbyte import (
    LOOKBACK,
    STREAM_KEYS,
    ConnectorRun,
    KeptState,
    configured_catalog,
    discover,
    run_connector,
    write_json,
)
from support.sandbox import EVERY_READING, SandboxFactory

from recras_sandbox.testing import SandboxProcess

pytestmark = pytest.mark.slow

#: Each child stream and its parent.
FAMILIES = {"boekingsregels": "boekingen", "betalingen": "facturen"}
PARENTS = list(FAMILIES.values())


class Reads:
    """Incremental reads of chosen streams, each from the STATEs every read before left."""

    def __init__(self, recras: SandboxProcess, tmp_path: Path) -> None:
        self.recras = recras
        self.tmp_path = tmp_path
        self.config = write_json(tmp_path / "config.json", recras.config(max_workers=2))
        self.discovered = discover(self.config)
        self.kept = KeptState()
        self.reads = 0

    def read(self, streams: list[str]) -> ConnectorRun:
        """Read ``streams`` incrementally to the end; keep their STATEs."""
        self.reads += 1
        catalog = configured_catalog(self.discovered, dict.fromkeys(streams, "incremental"))
        args = [
            "--config",
            self.config,
            "--catalog",
            write_json(self.tmp_path / f"catalog{self.reads}.json", catalog),
            *self.kept.arguments(self.tmp_path / f"state{self.reads}.json"),
        ]
        done = run_connector("source-recras", "read", *args, timeout=180)
        assert done.returncode == 0, done.stdout[-2000:]
        self.kept.keep(done.messages)
        return done

    def reset(self, stream: str) -> None:
        """Clear a stream's state as the Airbyte platform's reset writes it."""
        self.kept.states[stream]["stream"]["stream_state"] = None


def keys(done: ConnectorRun, stream: str) -> set[tuple[Any, ...]]:
    return {tuple(row[name] for name in STREAM_KEYS[stream]) for row in done.records(stream)}


def sandbox_keys(recras: SandboxProcess, stream: str) -> set[tuple[Any, ...]]:
    """The keys of every row of ``stream`` an incremental read can see (concepts have no date)."""
    rows = recras.rows(stream)
    if stream == "betalingen":
        dated = {row["id"] for row in recras.rows("facturen") if row["datum"] is not None}
        rows = [row for row in rows if row["factuur_id"] in dated]
    return {tuple(row[name] for name in STREAM_KEYS[stream]) for row in rows}


@pytest.mark.parametrize("reading", list(EVERY_READING), ids=list(EVERY_READING))
def test_children_toggled_off_then_on_get_what_they_missed(
    sandbox_factory: SandboxFactory, tmp_path: Path, reading: str
) -> None:
    recras = sandbox_factory(customers=10, bookings=12, **EVERY_READING[reading])
    reads = Reads(recras, tmp_path)
    first = reads.read([*PARENTS, *FAMILIES])
    # Toggled off: their parents move on, past bookings and paid invoices the children never
    # saw, and far enough that the invoices' look-back no longer reaches those invoices.
    recras.add_bookings(2)
    bookmark = max(row["datum"] for row in recras.rows("facturen") if row["datum"])
    assert date.fromisoformat(bookmark) < date.today() - LOOKBACK
    for invoice in recras.add_invoices(2, datum=bookmark):
        recras.add_payment(invoice, "7.25")
    recras.add_invoices(1)
    reads.read(PARENTS)
    # Toggled on again.
    again = reads.read([*PARENTS, *FAMILIES])
    for child in FAMILIES:
        assert sandbox_keys(recras, child) - keys(first, child) - keys(again, child) == set()


def test_children_added_to_a_connection_get_their_whole_history(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    recras = sandbox_factory(customers=10, bookings=12)
    reads = Reads(recras, tmp_path)
    reads.read(PARENTS)
    added = reads.read([*PARENTS, *FAMILIES])
    for child in FAMILIES:
        assert keys(added, child) == sandbox_keys(recras, child), child


def test_a_reset_streams_null_state_reads_its_family_from_the_start_and_resumes_the_others(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    recras = sandbox_factory(customers=10, bookings=12)
    streams = [*PARENTS, *FAMILIES, "factuurregels"]
    reads = Reads(recras, tmp_path)
    first = reads.read(streams)
    recras.add_bookings(1)
    reads.reset("boekingsregels")
    again = reads.read(streams)
    assert keys(again, "boekingsregels") == sandbox_keys(recras, "boekingsregels")
    assert keys(again, "boekingen") == sandbox_keys(recras, "boekingen")
    # The invoices resume: nothing is dated after the first read's bookmark.
    assert len(again.records("facturen")) < len(first.records("facturen"))


def test_the_state_of_a_stream_the_source_no_longer_offers_is_left_aside_with_a_warning(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Airbyte keeps the state of every stream a connection ever read, and gives it back; a
    stream renamed or dropped by an upgrade must not fail every sync from then on."""
    recras = sandbox_factory(customers=10, bookings=12)
    reads = Reads(recras, tmp_path)
    reads.read(PARENTS)
    gone = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "verdwenen"}}}
    gone["stream"]["stream_state"] = {"replication_key": "id", "replication_key_value": 5}
    reads.kept.states["verdwenen"] = gone
    recras.add_bookings(1)

    again = reads.read(PARENTS)

    assert len(again.records("boekingen")) == 1  # the others resume from their own state
    warnings = [
        m["log"]["message"] for m in again.of_type("LOG") if "verdwenen" in m["log"]["message"]
    ]
    assert len(warnings) == 1, again.stdout[-2000:]
    assert "not a stream of source-recras" in warnings[0]
