"""The new streams under the readings the vendor notes leave open, against a hostile server.

The real executable reads lists a small server answers the way each reading would: bookings
refusing ``id>`` with a 406, ``datumNa`` keeping its own day or not, ``eind`` inclusive or
exclusive, money as numbers or decimal strings, and lists that page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from support.hostile_server import HostileServer, Reply, Seen, hostile_servers

from tap_recras.testing import TapRun, make_catalog, run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]
TODAY = date.today()
REFUSED = Reply.json({"error": {"message": "Could not validate extra field"}}, 406)


def query(request: Seen) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.query).items()}


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def bookmark(run: TapRun, stream: str) -> Any:
    assert run.last_state is not None
    return run.last_state["bookmarks"][stream].get("replication_key_value")


# -- bookings: id> refused --------------------------------------------------------------------

BOOKINGS = [
    {"id": booking_id, "klant_id": 1, "boekingsregels": [{"id": booking_id * 10}]}
    for booking_id in (3, 9, 4, 12, 7)
]


def bookings_refusing_id_filter(request: Seen) -> Reply:
    return REFUSED if "id>" in query(request) else Reply.json(BOOKINGS)


def test_bookings_refusing_the_id_filter_are_listed_whole_and_kept_after_the_bookmark(
    hostile_servers: Servers,
) -> None:
    server = hostile_servers({"GET /api2/boekingen": bookings_refusing_id_filter})
    config = server.config(api_key="k")
    catalog = make_catalog(
        config,
        persons=False,
        streams=("boekingen", "boekingsregels"),
        methods={"boekingen": "INCREMENTAL"},
    )
    state = {"bookmarks": {"boekingen": {"replication_key": "id", "replication_key_value": 4}}}

    run = run_tap(config, catalog=catalog, state=state)

    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["id"] for r in run.records("boekingen")] == [9, 12, 7]
    assert [(r["boeking_id"], r["id"]) for r in run.records("boekingsregels")] == [
        (9, 90),
        (12, 120),
        (7, 70),
    ]
    assert run.stderr.count("Recras refused the id> filter") == 1
    assert [query(r) for r in server.requests] == [{"id>": "4"}, {}]
    assert bookmark(run, "boekingen") == 12


# -- invoices: datumNa exclusive or inclusive, look-back --------------------------------------

INVOICES = [
    {"id": 1, "datum": day(-60), "status": "betaald"},
    {"id": 2, "datum": day(-41), "status": "betaald"},
    {"id": 3, "datum": day(-40), "status": "verzonden"},  # the first day the look-back keeps
    {"id": 4, "datum": day(-39), "status": "deels_betaald"},
    {"id": 5, "datum": None, "status": "concept"},
    {"id": 6, "datum": day(-10), "status": "verzonden"},
    {"id": 7, "datum": day(-20), "status": "verzonden"},
]


def invoices(inclusive: bool) -> Callable[[Seen], Reply]:
    def reply(request: Seen) -> Reply:
        asked = query(request)
        if set(asked) - {"datumNa"}:
            return REFUSED
        after = asked.get("datumNa")
        if after is None:
            return Reply.json(INVOICES)
        kept = [
            i
            for i in INVOICES
            if i["datum"] is not None and (i["datum"] >= after if inclusive else i["datum"] > after)
        ]
        return Reply.json(kept)

    return reply


@pytest.mark.parametrize("inclusive", [False, True], ids=["exclusive", "inclusive"])
def test_invoices_after_the_bookmark_minus_the_look_back_under_either_datum_na_reading(
    hostile_servers: Servers, inclusive: bool
) -> None:
    server = hostile_servers({"GET /api2/facturen": invoices(inclusive)})
    config = server.config(api_key="k", lookback_days=30)
    catalog = make_catalog(config, persons=False, streams=("facturen",))
    # The bookmark is above every invoice date: re-reading must not move it back.
    state = {
        "bookmarks": {"facturen": {"replication_key": "datum", "replication_key_value": day(-10)}}
    }

    run = run_tap(config, catalog=catalog, state=state)

    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(r["id"] for r in run.records("facturen")) == [3, 4, 6, 7]
    assert [query(r) for r in server.requests] == [{"datumNa": day(-41)}]
    assert bookmark(run, "facturen") == day(-10)


def test_a_full_table_invoice_run_lists_concepts_and_their_null_date_sets_no_bookmark(
    hostile_servers: Servers,
) -> None:
    server = hostile_servers({"GET /api2/facturen": invoices(inclusive=False)})
    config = server.config(api_key="k")
    catalog = make_catalog(config, persons=False, streams=("facturen",), full_table="metadata")

    run = run_tap(config, catalog=catalog)

    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["id"] for r in run.records("facturen")] == [i["id"] for i in INVOICES]
    assert [query(r) for r in server.requests] == [{}]
    assert [m["type"] for m in run.messages if m.get("stream") == "facturen"][-1] == (
        "ACTIVATE_VERSION"
    )


def test_a_first_incremental_invoice_run_starts_at_start_date_and_skips_concepts(
    hostile_servers: Servers,
) -> None:
    server = hostile_servers({"GET /api2/facturen": invoices(inclusive=True)})
    config = server.config(api_key="k", start_date=day(-40))
    catalog = make_catalog(config, persons=False, streams=("facturen",))

    run = run_tap(config, catalog=catalog)

    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(r["id"] for r in run.records("facturen")) == [3, 4, 6, 7]
    assert [query(r) for r in server.requests] == [{"datumNa": day(-41)}]
    assert bookmark(run, "facturen") == day(-10)


# -- invoice lines: date windows, eind inclusive or exclusive ---------------------------------

#: One line per day from 70 days ago to today (ids 1..71), on invoices of that day.
LINES = [
    {"id": n + 1, "factuur_id": n + 1, "bedrag": 1, "Factuur": {"id": n + 1, "datum": day(n - 70)}}
    for n in range(71)
]


def invoice_lines(inclusive: bool) -> Callable[[Seen], Reply]:
    def reply(request: Seen) -> Reply:
        asked = query(request)
        if set(asked) != {"begin", "eind"}:
            return Reply.json({"error": {"message": "begin and eind are required"}}, 400)
        begin, eind = asked["begin"], asked["eind"]
        kept = [
            line
            for line in LINES
            if begin <= line["Factuur"]["datum"]
            and (line["Factuur"]["datum"] <= eind if inclusive else line["Factuur"]["datum"] < eind)
        ]
        return Reply.json(kept)

    return reply


@pytest.mark.parametrize("inclusive", [False, True], ids=["exclusive", "inclusive"])
def test_invoice_lines_are_read_in_windows_each_once_under_either_eind_reading(
    hostile_servers: Servers, inclusive: bool
) -> None:
    server = hostile_servers({"GET /api2/factuurregels": invoice_lines(inclusive)})
    config = server.config(api_key="k", start_date=day(-70), window_days=7, lookback_days=5)
    catalog = make_catalog(config, persons=False, streams=("factuurregels",))

    first = run_tap(config, catalog=catalog)

    assert first.returncode == 0, first.stderr[-2000:]
    assert sorted(r["id"] for r in first.records("factuurregels")) == [line["id"] for line in LINES]
    assert len(server.requests) == 11  # 71 days in windows of 7, one day overlapping
    assert bookmark(first, "factuurregels") == day(1)
    server.requests.clear()

    second = run_tap(config, catalog=catalog, state=first.last_state)

    assert second.returncode == 0, second.stderr[-2000:]
    assert query(server.requests[0]) == {"begin": day(-4), "eind": day(1)}
    assert sorted(r["id"] for r in second.records("factuurregels")) == list(range(67, 72))
    assert bookmark(second, "factuurregels") == day(1)


def test_a_full_table_invoice_lines_run_reads_from_start_date_and_activates_its_version_last(
    hostile_servers: Servers,
) -> None:
    server = hostile_servers({"GET /api2/factuurregels": invoice_lines(inclusive=True)})
    config = server.config(api_key="k", start_date=day(-70), window_days=40)
    catalog = make_catalog(config, persons=False, streams=("factuurregels",), full_table="metadata")
    state = {
        "bookmarks": {"factuurregels": {"replication_key": "eind", "replication_key_value": day(1)}}
    }

    run = run_tap(config, catalog=catalog, state=state)

    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(r["id"] for r in run.records("factuurregels")) == [line["id"] for line in LINES]
    messages = [m for m in run.messages if m.get("stream") == "factuurregels"]
    assert [m["type"] for m in messages][-1] == "ACTIVATE_VERSION"
    version = messages[-1]["version"]
    assert {m.get("version") for m in messages if m["type"] == "RECORD"} == {version}


# -- money: numbers or decimal strings, written with their digits ----------------------------


def test_money_as_numbers_or_decimal_strings_is_written_with_the_digits_sent(
    hostile_servers: Servers,
) -> None:
    body = (
        '[{"id": 1, "verkoop": 12.50, "inkoop": "3.10"},'
        ' {"id": 2, "verkoop": "-3.00", "inkoop": 7}]'
    )
    server = hostile_servers({"GET /api2/producten": Reply(200, body)})
    config = server.config(api_key="k")
    catalog = make_catalog(config, persons=False, streams=("producten",))

    run = run_tap(config, catalog=catalog)

    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line for line in run.stdout.splitlines() if '"type":"RECORD"' in line]
    assert '"record":{"id":1,"verkoop":12.50,"inkoop":3.10}' in lines[0]
    assert '"record":{"id":2,"verkoop":-3.00,"inkoop":7}' in lines[1]


def test_a_money_value_that_is_no_number_stops_the_run_naming_stream_record_and_field(
    hostile_servers: Servers,
) -> None:
    body = [{"id": 1, "verkoop": "1.00"}, {"id": 2, "verkoop": "12,50"}]
    server = hostile_servers({"GET /api2/producten": Reply.json(body)})
    config = server.config(api_key="k")
    catalog = make_catalog(config, persons=False, streams=("producten",))

    run = run_tap(config, catalog=catalog)

    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "producten record (id 2)" in last and "field verkoop is '12,50'" in last, last
    assert [r["id"] for r in run.records("producten")] == [1]


# -- paging: every list follows next links ---------------------------------------------------


def test_a_reference_list_that_pages_is_read_to_its_last_page(hostile_servers: Servers) -> None:
    pages = {1: [{"id": 1}, {"id": 2}], 2: [{"id": 3}], 3: []}

    def paged(request: Seen) -> Reply:
        page = int(query(request).get("page", "1"))
        headers = {"X-Total-Count": "3"}
        if page < 2:
            headers["Link"] = f'</api2/locaties?page={page + 1}>; rel="next"'
        return Reply(200, json.dumps(pages[page]), headers)

    server = hostile_servers({"GET /api2/locaties": paged})
    config = server.config(api_key="k")
    catalog = make_catalog(config, persons=False, streams=("locaties",))

    run = run_tap(config, catalog=catalog)

    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["id"] for r in run.records("locaties")] == [1, 2, 3]
    assert [query(r) for r in server.requests] == [{}, {"page": "2"}]
