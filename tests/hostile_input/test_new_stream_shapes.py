"""Hostile shapes in the bookings, invoices, lines, payments and reference tables.

The real executable reads each stream from a hostile server. A value the tap cannot send as
Recras meant it stops the run with one error naming the request or stream, the record's id
and the field, before anything is bookmarked from it; a value it can send goes out with
exactly the digits Recras sent. Never a silent drop, a key-less child, a poisoned bookmark
(one the next run's state check refuses, run after run) or a traceback.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.catalogs import catalog_of
from support.hostile_server import HostileServer, Reply

from tap_recras.testing import TapRun, run_tap

pytestmark = pytest.mark.slow

KEY = "shapes-key-5e1a-never-logged"
MAX_ID = 2**63 - 1
INVOICE = '{"id": 1, "datum": "2026-01-01"}'
#: Money fields of each stream that has them, as the schemas declare them.
MONEY = {
    "facturen": "calculated_totaalbedrag_inclusief_btw",
    "factuurregels": "bedrag",
    "betalingen": "bedrag",
    "producten": "verkoop",
}


def run(routes: dict[str, Reply], *streams: str, state: Any = None) -> TapRun:
    with HostileServer(routes) as server:
        config = server.config(api_key=KEY)
        catalog = catalog_of(streams)
        done = run_tap(config, catalog=catalog, state=state, log_level="INFO", timeout=60)
    assert KEY not in done.stderr
    return done


def raw(body: str) -> Reply:
    return Reply(200, body, {"Content-Type": "application/json"})


def last_line(done: TapRun) -> str:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("datum", "shown"),
    [
        ('"garbage"', "'garbage'"),
        ("20261207", "20261207"),
        ('"2026-12-07T10:00:00"', "'2026-12-07T10:00:00'"),
    ],
)
def test_an_invoice_date_that_is_no_date_stops_the_run_before_it_is_bookmarked(
    datum: str, shown: str
) -> None:
    """Bookmarked, it was refused by every later run; an integer one dropped the invoice."""
    body = f'[{INVOICE}, {{"id": 2, "datum": {datum}}}]'

    done = run({"GET /api2/facturen": raw(body)}, "facturen")

    assert done.returncode == 1, done.stderr[-3000:]
    line = last_line(done)
    assert "invoice 2" in line and f"datum {shown}" in line, line
    for state in done.of_type("STATE"):
        bookmark = state["value"]["bookmarks"].get("facturen", {})
        assert bookmark.get("replication_key_value") in (None, "2026-01-01"), state


@pytest.mark.parametrize(
    ("where", "child_id", "shown"),
    [
        ("list", None, "None"),
        ("list", "-1", "-1"),
        ("detail", "1.5", "Decimal('1.5')"),
        ("payments", '"3"', "'3'"),
        ("payments", str(2**63), str(2**63)),
    ],
    ids=["list-missing", "list-negative", "detail-float", "payments-string", "payments-huge"],
)
def test_a_child_without_a_usable_id_stops_the_run_naming_parent_and_child(
    where: str, child_id: str | None, shown: str
) -> None:
    """A booking line or payment without an integer id went out without its key."""
    child = '{"naam": "x"}' if child_id is None else f'{{"id": {child_id}, "naam": "x"}}'
    if where == "payments":
        routes = {
            "GET /api2/facturen": raw(f"[{INVOICE}]"),
            "GET /api2/facturen/1/betalingen": raw(f'[{{"id": 4}}, {child}]'),
        }
        streams: tuple[str, ...] = ("facturen", "betalingen")
        expected = "GET /api2/facturen/1/betalingen: betalingen item 1"
    elif where == "list":
        routes = {"GET /api2/boekingen": raw(f'[{{"id": 9, "boekingsregels": [{child}]}}]')}
        streams = ("boekingen", "boekingsregels")
        expected = "GET /api2/boekingen, booking 9: boekingsregels item 0"
    else:
        routes = {
            "GET /api2/boekingen": raw('[{"id": 9}]'),
            "GET /api2/boekingen/9": raw(f'{{"id": 9, "boekingsregels": [{child}]}}'),
        }
        streams = ("boekingen", "boekingsregels")
        expected = "GET /api2/boekingen/9: boekingsregels item 0"

    done = run(routes, *streams)

    assert done.returncode == 1, done.stderr[-3000:]
    line = last_line(done)
    assert expected in line and "id" in line and shown in line, line
    assert done.records(streams[1]) == []


@pytest.mark.parametrize(
    ("stream", "value"),
    [
        ("facturen", '"12,50"'),
        ("factuurregels", "NaN"),
        ("betalingen", '"1e400"'),
        ("producten", "-Infinity"),
        ("facturen", "true"),
    ],
)
def test_money_that_is_no_amount_stops_the_run_naming_stream_record_and_field(
    stream: str, value: str
) -> None:
    field = MONEY[stream]
    item = f'{{"id": 5, "datum": "2026-01-01", "{field}": {value}}}'
    if stream == "betalingen":
        routes = {
            "GET /api2/facturen": raw(f"[{INVOICE}]"),
            "GET /api2/facturen/1/betalingen": raw(f"[{item}]"),
        }
        streams: tuple[str, ...] = ("facturen", "betalingen")
    else:
        routes = {f"GET /api2/{stream}": raw(f"[{item}]")}
        streams = (stream,)

    done = run(routes, *streams)

    assert done.returncode == 1, done.stderr[-3000:]
    line = last_line(done)
    assert f"{stream} record (id 5) whose field {field} is" in line, line
    assert done.records(stream) == []


def test_money_numbers_and_decimal_strings_go_out_with_the_digits_recras_sent() -> None:
    amounts = ['"12.50"', "1e400", "0.1", "123456789012345678901234567890.123456789", "-3"]
    sent = ["12.50", "1E+400", "0.1", "123456789012345678901234567890.123456789", "-3"]

    def items(field: str) -> str:
        return (
            "["
            + ", ".join(f'{{"id": {n}, "{field}": {a}}}' for n, a in enumerate(amounts, 1))
            + "]"
        )

    routes = {
        "GET /api2/facturen": raw(f"[{INVOICE}]"),
        "GET /api2/facturen/1/betalingen": raw(items(MONEY["betalingen"])),
        "GET /api2/producten": raw(items(MONEY["producten"])),
        "GET /api2/factuurregels": raw(items(MONEY["factuurregels"])),
    }

    done = run(routes, "facturen", "betalingen", "producten", "factuurregels")

    assert done.returncode == 0, done.stderr[-3000:]
    for stream in ("betalingen", "producten", "factuurregels"):
        field = MONEY[stream]
        lines = [
            line
            for line in done.stdout.split("\n")
            if f'"type":"RECORD","stream":"{stream}"' in line
        ]
        written = [line.split(f'"{field}":', 1)[1].split(",", 1)[0].rstrip("}") for line in lines]
        assert written == sent, (stream, written)


@pytest.mark.parametrize(
    ("stream", "field", "value"),
    [("factuurregels", "product_id", "NaN"), ("producten", "minimum_aantal", "-Infinity")],
)
def test_nan_or_infinity_outside_money_stops_the_run_naming_stream_record_and_field(
    stream: str, field: str, value: str
) -> None:
    """Not JSON, yet Python's parser takes them: they went out as null, without a word."""
    body = f'[{{"id": 1}}, {{"id": 5, "{field}": {value}}}]'

    done = run({f"GET /api2/{stream}": raw(body)}, stream)

    assert done.returncode == 1, done.stderr[-3000:]
    line = last_line(done)
    assert f"{stream} record id 5" in line and f"field(s) {field}" in line, line
    assert [record["id"] for record in done.records(stream)] == [1]
