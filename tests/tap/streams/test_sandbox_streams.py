"""Every new stream against a real sandbox, under every reading the vendor notes leave open.

Two sandboxes cover each value of each reading: the defaults (``id>`` accepted, lines in the
booking list, ``datumNa`` exclusive, money as numbers, ``eind`` inclusive, no paging), and
the other value of every one at once, paged at 100 a page. For each, the real executable
reads every stream whole and must give exactly the sandbox's rows (ids, and every field with
money compared as exact numbers); then an incremental run, admin changes, and a second run
that must give exactly what changed plus what the look-back reads again, no id twice, and
no bookmark moving back.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from support.sandbox import EVERY_READING

from recras_sandbox.resources.money import MONEY_KEYS
from recras_sandbox.testing import SandboxProcess
from tap_recras import schemas
from tap_recras.testing import TapRun, json_lines, make_catalog, run_tap

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox_streams")]

#: Stream -> the sandbox resource of its rows, and the properties that key a row.
STREAMS: dict[str, tuple[str, ...]] = {
    "boekingen": ("id",),
    "boekingsregels": ("boeking_id", "id"),
    "facturen": ("id",),
    "betalingen": ("factuur_id", "id"),
    "factuurregels": ("id",),
    "producten": ("id",),
    "productgroepen": ("id",),
    "arrangementen": ("id",),
    "locaties": ("id",),
    "betaalmethoden": ("id",),
    "bedrijven": ("id",),
    "contactformulieren": ("id",),
    "voucher_templates": ("id",),
    "diensten": ("id",),
}
TODAY = date.today()
#: Before every seeded invoice (two years back), in windows of 61 days: 19 requests.
SETTINGS = {"start_date": (TODAY - timedelta(days=3 * 365)).isoformat(), "window_days": 61}
LOOKBACK_DAYS = 30


@pytest.fixture(scope="module", params=list(EVERY_READING))
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxProcess]:
    with SandboxProcess(customers=60, bookings=150, **EVERY_READING[request.param]) as process:
        yield process


@pytest.fixture(scope="module")
def discovered() -> dict[str, Any]:
    """The tap's catalog, discovered once (discovery needs no server)."""
    return make_catalog({"base_url": "http://127.0.0.1:9"}, persons=False, streams=())


def selecting(catalog: dict[str, Any], methods: Mapping[str, str]) -> dict[str, Any]:
    """``catalog`` with every stream of :data:`STREAMS` selected, replication as ``methods``."""
    chosen = copy.deepcopy(catalog)
    for entry in chosen["streams"]:
        name = entry["tap_stream_id"]
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        root["selected"] = name in STREAMS
        if name in methods:
            root["replication-method"] = methods[name]
    return chosen


def schema_of(stream: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        resources.files(schemas).joinpath(f"{stream}.json").read_text()
    )
    return schema


def decimals(value: Any, name: str = "") -> Any:
    """``value`` with every float, and every money string, as an exact Decimal.

    Money is named by the vendor notes ("Money and dates", as the sandbox has it), not by the
    tap's schemas.
    """
    if isinstance(value, float) or (isinstance(value, str) and name in MONEY_KEYS):
        return Decimal(repr(value) if isinstance(value, float) else value)
    if isinstance(value, dict):
        return {key: decimals(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [decimals(item) for item in value]
    return value


def expected(stream: str, row: dict[str, Any]) -> dict[str, Any]:
    """A sandbox row as the stream's record must be: its schema's properties, money exact."""
    return {name: decimals(row.get(name), name) for name in schema_of(stream)["properties"]}


def records(run: TapRun, stream: str) -> list[dict[str, Any]]:
    """The stream's records as written, numbers read exactly."""
    messages = (json.loads(line, parse_float=Decimal) for line in json_lines(run.stdout))
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def written(stream: str, run: TapRun) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The stream's records by key (none twice), with every property of its schema."""
    properties = schema_of(stream)["properties"]
    written = records(run, stream)
    by_key = {key(stream, r): {name: r.get(name) for name in properties} for r in written}
    assert len(by_key) == len(written), f"{stream}: a key twice in one run"
    return by_key


def rows_of(stream: str, rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Sandbox rows by key, as the stream's records must be."""
    return {key(stream, row): expected(stream, row) for row in rows}


def key(stream: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in STREAMS[stream])


def requests_of(sandbox: SandboxProcess, route: str) -> int:
    return int(sandbox.stats()["requests"].get(route, 0))


def test_a_full_run_gives_exactly_the_sandbox_rows_of_every_stream(
    sandbox: SandboxProcess, discovered: dict[str, Any]
) -> None:
    sandbox.reset_stats()
    catalog = selecting(discovered, {"facturen": "FULL_TABLE"})

    run = run_tap(sandbox.config(**SETTINGS), catalog=catalog)

    assert run.returncode == 0, run.stderr[-3000:]
    for stream in STREAMS:
        rows = sandbox.rows(stream)
        if stream == "factuurregels":  # a concept invoice has no date: no window has its lines
            rows = [row for row in rows if row["Factuur"]["datum"] is not None]
        assert written(stream, run) == rows_of(stream, rows), stream
    bookings = len(sandbox.rows("boekingen"))
    in_list = sandbox.options.booking_lines == "list"
    assert requests_of(sandbox, "GET /api2/boekingen/{id}") == (0 if in_list else bookings)
    payments = requests_of(sandbox, "GET /api2/facturen/{id}/betalingen")
    assert payments == len(sandbox.rows("facturen"))
    for stream in ("boekingen", "facturen", "producten"):
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        assert kinds[-1] == "ACTIVATE_VERSION" and kinds.count("ACTIVATE_VERSION") == 1, stream


def bookmarks(run: TapRun) -> dict[str, Any]:
    assert run.last_state is not None
    entries = run.last_state["bookmarks"]
    return {
        s: entries[s]["replication_key_value"] for s in ("boekingen", "facturen", "factuurregels")
    }


def test_a_second_incremental_run_gives_the_changes_and_the_look_back(
    sandbox: SandboxProcess, discovered: dict[str, Any]
) -> None:
    config = sandbox.config(**SETTINGS, lookback_days=LOOKBACK_DAYS)
    catalog = selecting(discovered, {"boekingen": "INCREMENTAL"})
    first = run_tap(config, catalog=catalog)
    assert first.returncode == 0, first.stderr[-3000:]
    before = bookmarks(first)
    floor = (date.fromisoformat(before["facturen"]) - timedelta(days=LOOKBACK_DAYS)).isoformat()
    recent = [i["id"] for i in sandbox.rows("facturen") if (i["datum"] or "") >= floor]
    assert len(recent) >= 2, "the seed has no two invoices in the look-back window"
    new_bookings = sandbox.add_bookings(3)
    new_invoices = sandbox.add_invoices(2)
    sandbox.set_invoice_status(recent[0], "betaald")
    new_payment = sandbox.add_payment(recent[1], "12.50")

    second = run_tap(config, catalog=catalog, state=first.last_state)

    assert second.returncode == 0, second.stderr[-3000:]
    refused = sandbox.options.booking_id_filter == "refused"
    assert ("Recras refused the id> filter" in second.stderr) == refused
    assert [r["id"] for r in records(second, "boekingen")] == new_bookings
    lines = [r for r in sandbox.rows("boekingsregels") if r["boeking_id"] in new_bookings]
    assert written("boekingsregels", second) == rows_of("boekingsregels", lines)
    invoices = [i for i in sandbox.rows("facturen") if (i["datum"] or "") >= floor]
    assert written("facturen", second) == rows_of("facturen", invoices)
    assert {recent[0], recent[1], *new_invoices} <= {i["id"] for i in invoices}
    read = {i["id"] for i in invoices}
    payments = [p for p in sandbox.rows("betalingen") if p["factuur_id"] in read]
    assert written("betalingen", second) == rows_of("betalingen", payments)
    assert new_payment in {p["id"] for p in payments}
    begin = (
        date.fromisoformat(before["factuurregels"]) - timedelta(days=LOOKBACK_DAYS)
    ).isoformat()
    invoice_lines = [
        r for r in sandbox.rows("factuurregels") if (r["Factuur"]["datum"] or "") >= begin
    ]
    assert written("factuurregels", second) == rows_of("factuurregels", invoice_lines)
    after = bookmarks(second)
    assert after["boekingen"] == max(new_bookings)
    assert all(after[s] >= before[s] for s in before), (before, after)
