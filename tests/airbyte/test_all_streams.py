"""source-recras offers and reads every tap stream: a whole life of reads, each from the last.

The real executable against one small sandbox per reading combination (30 customers, 40
bookings): discover declares each stream's sync modes, cursor and key; a first read of every
stream equals the sandbox's rows; then reads follow, each from the per-stream STATE the
reads before left (as PyAirbyte keeps it), with changes to the sandbox between them and one
read stopped by SIGTERM after its first STATE. Every read asks every stream for
``incremental``, as PyAirbyte does. What each read must move is worked out from the state
it was given: new customers and bookings (ids above the bookmark) with their persons and
lines; the invoices dated from the bookmark minus the look-back (``lookback_days``, 30) with
their payments; the invoice lines of invoices dated from the bookmark minus the look-back;
every row of the reference tables. No more, no less, no state moving back, nothing lost.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.airbyte import (
    REFERENCE_TABLES,
    STREAM_KEYS,
    ConnectorRun,
    KeptState,
    configured_catalog,
    discover,
    due,
    read_stopped,
    run_connector,
    sandbox_rows,
    write_json,
)

from recras_sandbox.testing import SandboxProcess

pytestmark = pytest.mark.slow

BOTH = ["full_refresh", "incremental"]
#: Each stream's supported sync modes, cursor and primary key, in the tap's order.
OFFER = {
    "klanten": (BOTH, ["id"], [["id"]]),
    "contactpersonen": (BOTH, ["klant_id"], [["klant_id"], ["id"]]),
    "boekingen": (BOTH, ["id"], [["id"]]),
    "boekingsregels": (BOTH, ["boeking_id"], [["boeking_id"], ["id"]]),
    "facturen": (BOTH, ["datum"], [["id"]]),
    # Read with the invoices, carrying no invoice date: no cursor.
    "betalingen": (BOTH, [], [["factuur_id"], ["id"]]),
    # Read in date windows; the position is the last window's end, not a record field.
    "factuurregels": (BOTH, [], [["id"]]),
    **{name: (["full_refresh"], [], [["id"]]) for name in REFERENCE_TABLES},
}
#: Every alternative reading of the vendor notes at once (the defaults are the other run).
ALTERNATIVES = {
    "booking_id_filter": "refused",
    "booking_lines": "detail",
    "datum_na": "inclusive",
    "money": "strings",
    "regels_eind": "exclusive",
    "page_size": 10,
}


@pytest.fixture(scope="module", params=[{}, ALTERNATIVES], ids=["defaults", "alternatives"])
def recras(request: pytest.FixtureRequest) -> Iterator[SandboxProcess]:
    """One small sandbox per reading combination, for the module."""
    with SandboxProcess(customers=30, bookings=40, **request.param) as sandbox:
        yield sandbox


def test_discover_offers_every_stream_with_its_modes_cursor_and_key(
    recras: SandboxProcess, tmp_path: Path
) -> None:
    catalog = discover(write_json(tmp_path / "c.json", recras.config()))
    offered = {
        stream["name"]: (
            stream["supported_sync_modes"],
            stream["default_cursor_field"],
            stream["source_defined_primary_key"],
        )
        for stream in catalog["streams"]
    }
    assert offered == OFFER


def test_a_life_of_reads_moves_each_change_once_and_never_moves_back(
    recras: SandboxProcess, tmp_path: Path
) -> None:
    life = Life(recras, tmp_path)
    life.read("first read: every row")
    recras.add_customers(2)
    recras.add_bookings(3)
    new_invoices = recras.add_invoices(2)
    life.read("new customers, bookings and invoices")
    recras.set_invoice_status(new_invoices[0], "betaald")
    recras.add_payment(new_invoices[1], "12.50")
    recras.add_bookings(1)
    recras.add_invoices(1)
    life.stopped("stopped after its first STATE")
    life.read("after the stop: what it left")
    recras.add_customers(1)
    recras.add_payment(recras.add_invoices(1)[0], "-3.00")
    life.read("a customer, an invoice and its payment")
    life.read("nothing new: the look-back and the reference tables")
    life.nothing_lost()


class Life:
    """Reads of every stream, each from the state the reads before it left."""

    def __init__(self, recras: SandboxProcess, tmp_path: Path) -> None:
        self.recras = recras
        self.tmp_path = tmp_path
        self.config = write_json(tmp_path / "config.json", recras.config(max_workers=2))
        every = dict.fromkeys(OFFER, "incremental")
        discovered = discover(self.config)
        #: Each stream's top-level properties: the fields a record carries of its row.
        self.fields = {
            s["name"]: set(s["json_schema"]["properties"]) for s in discovered["streams"]
        }
        catalog = configured_catalog(discovered, every)
        self.catalog = write_json(tmp_path / "catalog.json", catalog)
        self.kept = KeptState()
        self.seen: dict[str, set[tuple[Any, ...]]] = {name: set() for name in OFFER}
        self.reads = 0

    def _args(self) -> list[str | Path]:
        self.reads += 1
        state = self.kept.arguments(self.tmp_path / f"state{self.reads}.json")
        return ["--config", self.config, "--catalog", self.catalog, *state]

    def read(self, what: str) -> None:
        """One read to its end: exactly the rows the state it starts from leaves to read."""
        before = self.kept.positions()
        expected = due(sandbox_rows(self.recras), before)
        done = run_connector("source-recras", "read", *self._args(), timeout=300)
        assert done.returncode == 0, (what, done.stdout[-2000:])
        got = records_by_key(done)
        for stream, rows in expected.items():
            assert sorted(got[stream]) == sorted(rows), (what, stream)
            for key, record in got[stream].items():
                row = {name: rows[key][name] for name in self.fields[stream] & set(rows[key])}
                assert_same_row(record, row, f"{what}: {stream} {key}")
        self._keep(done.messages, before, what)
        positions = self.kept.positions()
        # A read to its end leaves every incremental stream's position (the tap's bookmark).
        assert set(positions) == {name for name, offer in OFFER.items() if offer[0] == BOTH}
        rows = sandbox_rows(self.recras)
        assert positions["klanten"] == max(key[0] for key in rows["klanten"]), what
        assert positions["boekingen"] == max(key[0] for key in rows["boekingen"]), what
        dated = [row["datum"] for row in rows["facturen"].values() if row["datum"]]
        assert positions["facturen"] == max(dated), what

    def stopped(self, what: str) -> None:
        """A read stopped by SIGTERM: what it sent is due, its STATEs are safe to resume from."""
        before = self.kept.positions()
        expected = due(sandbox_rows(self.recras), before)
        self.recras.set_faults(latency_ms=50)  # a read long enough to be stopped midway
        try:
            status, messages = read_stopped(self._args(), 1, self.tmp_path / "stderr.log")
        finally:
            self.recras.set_faults(latency_ms=0)
        assert status == -signal.SIGTERM, (what, messages[-3:])
        got = records_by_key(ConnectorRun(status, messages, "", ""))
        for stream, records in got.items():
            assert set(records) <= set(expected[stream]), (what, stream)
        assert sum(map(len, got.values())) < sum(map(len, expected.values())), "not midway"
        self._keep(messages, before, what)

    def _keep(self, messages: list[dict[str, Any]], before: dict[str, Any], what: str) -> None:
        """Keep a read's STATEs; no position moves back."""
        for stream, records in records_by_key(ConnectorRun(0, messages, "", "")).items():
            self.seen[stream] |= set(records)
        self.kept.keep(messages)
        after = self.kept.positions()
        for stream, position in before.items():
            assert after[stream] >= position, (what, stream, position, after[stream])

    def nothing_lost(self) -> None:
        """Every row reached a read, but what no incremental read sees: concept invoices
        (no date) and their lines."""
        for stream, rows in due(sandbox_rows(self.recras), {}).items():
            assert set(rows) - self.seen[stream] == set(), stream


def records_by_key(done: ConnectorRun) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Each stream's records by primary key (a key sent twice in one read fails)."""
    found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {name: {} for name in OFFER}
    for message in done.of_type("RECORD"):
        stream, data = message["record"]["stream"], message["record"]["data"]
        key = tuple(data[name] for name in STREAM_KEYS[stream])
        assert key not in found[stream], f"{stream} {key} sent twice in one read"
        found[stream][key] = data
    return found


def assert_same_row(record: Any, row: Any, where: str) -> None:
    """The record holds the row's values (money as numbers; fields only the record has aside)."""
    if isinstance(row, dict):
        assert isinstance(record, dict), where
        for name, value in row.items():
            assert_same_row(record.get(name), value, f"{where}.{name}")
    elif isinstance(row, list):
        assert isinstance(record, list) and len(record) == len(row), where
        for index, (got, value) in enumerate(zip(record, row, strict=True)):
            assert_same_row(got, value, f"{where}[{index}]")
    elif isinstance(row, str) and isinstance(record, int | float) and not isinstance(record, bool):
        assert Decimal(row) == Decimal(str(record)), where  # money=strings: "12.50"
    else:
        assert record == row, where
