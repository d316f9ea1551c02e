"""Five incremental runs of bookings, invoices, lines and payments, with kills and faults.

The real tap reads a small paged sandbox through the fault proxy (every seventh request
answered 503 or 429, or its connection dropped); before each run bookings and invoices are
added, an invoice's status changes and a payment arrives; runs 2 and 4 are killed (SIGKILL)
after some lines. Each run resumes from the last STATE the one before wrote, as an
orchestrator keeps it. Invariants: every booking, line, dated invoice, invoice line and
payment is sent at least once, the last time with its last data; no bookmark moves back;
nothing that is not in the sandbox is sent. (Concept invoices have no date: an incremental
run on ``datum`` never lists them, which a FULL_TABLE run is for.)
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Exchange, Fault, FaultProxy
from support.sandbox import SandboxFactory

from tap_recras.testing import make_catalog, parse_messages, run_tap, start_tap

pytestmark = pytest.mark.slow

STREAMS = ("boekingen", "boekingsregels", "facturen", "betalingen", "factuurregels")
#: stream -> (the sandbox's resource, the key of its records)
KEYS = {
    "boekingen": ("boekingen", ("id",)),
    "boekingsregels": ("boekingsregels", ("boeking_id", "id")),
    "facturen": ("facturen", ("id",)),
    "betalingen": ("betalingen", ("factuur_id", "id")),
    "factuurregels": ("factuurregels", ("id",)),
}
#: Runs killed after this many lines (the others complete).
KILLED_AFTER = {1: 40, 3: 15}


def faults(exchange: Exchange) -> Fault | None:
    """Every seventh API request goes wrong, three ways in turn."""
    if not exchange.path.startswith("/api2/") or exchange.index % 7:
        return None
    return (Fault.before_status(503), Fault.before_status(429), Fault.after_drop())[
        exchange.index // 7 % 3
    ]


def same(value: Any) -> Any:
    """``value`` with numbers compared by their decimal value (12.5 == 12.50)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, dict):
        return {key: same(item) for key, item in value.items()}
    if isinstance(value, list):
        return [same(item) for item in value]
    return value


def killed_run(tmp_path: Path, config: dict[str, Any], catalog: Any, state: Any, lines: int):
    """Run the tap, SIGKILL it after ``lines`` lines; the messages it wrote until then."""
    with (tmp_path / "stderr.log").open("w") as log:
        process = start_tap(
            tmp_path, config, catalog=catalog, state=state, stderr=log, log_level="INFO"
        )
        assert process.stdout is not None
        read = [process.stdout.readline() for _ in range(lines)]
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    return parse_messages("".join(read))


def bookmarks(state: Any) -> Iterator[tuple[str, Any]]:
    for stream, entry in (state or {}).get("bookmarks", {}).items():
        if entry.get("replication_key_value") is not None:
            yield stream, entry["replication_key_value"]


def test_five_runs_with_kills_and_faults_send_everything_with_its_last_data(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=20, bookings=30, page_size=7)
    with FaultProxy(sandbox.base_url, schedule=faults) as proxy:
        config = sandbox.config(base_url=proxy.base_url, max_workers=2, window_days=120)
        catalog = make_catalog(
            config, streams=STREAMS, persons=False, methods={"boekingen": "INCREMENTAL"}
        )
        today = date.today().isoformat()
        state: Any = None
        last: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {s: {} for s in STREAMS}
        for run_number in range(5):
            sandbox.add_bookings(2)
            (invoice, *_) = sandbox.add_invoices(2, datum=today)
            sandbox.set_invoice_status(invoice, "betaald")
            sandbox.add_payment(invoice, "12.50")
            if run_number in KILLED_AFTER:
                messages = killed_run(tmp_path, config, catalog, state, KILLED_AFTER[run_number])
            else:
                done = run_tap(config, catalog=catalog, state=state, log_level="INFO")
                assert done.returncode == 0, done.stderr[-3000:]
                messages = done.messages
            before = dict(bookmarks(state))
            for message in messages:
                if message["type"] == "RECORD":
                    record = message["record"]
                    key = tuple(record[name] for name in KEYS[message["stream"]][1])
                    last[message["stream"]][key] = record
                elif message["type"] == "STATE":
                    for stream, value in bookmarks(message["value"]):
                        assert value >= before.get(stream, value), (run_number, stream, value)
                    state = message["value"]
            time.sleep(0.01)

    concept = {row["id"] for row in sandbox.rows("facturen") if row.get("datum") is None}
    for stream, (resource, key_names) in KEYS.items():
        rows = {tuple(row[name] for name in key_names): row for row in sandbox.rows(resource)}
        if stream == "facturen":
            rows = {key: row for key, row in rows.items() if key[0] not in concept}
        if stream == "factuurregels":
            rows = {key: row for key, row in rows.items() if row["factuur_id"] not in concept}
        sent = last[stream]
        assert set(sent) <= set(rows) | {k for k in sent if k[0] in concept}, stream
        assert set(rows) <= set(sent), (stream, sorted(set(rows) - set(sent))[:10])
        for key, row in rows.items():
            record = sent[key]
            changed = {
                name: (value, row[name])
                for name, value in record.items()
                if name in row and same(value) != same(row[name])
            }
            assert not changed, (stream, key, changed)
    assert config["api_key"] not in (tmp_path / "stderr.log").read_text()
