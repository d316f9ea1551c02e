"""tap-recras pieces in isolation: the detail fetcher, the writer, the meters, the streams."""

from __future__ import annotations

import json
import logging
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.singerlib.encoding.simple import RecordMessage, SchemaMessage, StateMessage

from recras_api.errors import RecrasInvalidResponseError
from recras_api.paging import KLANTEN
from tap_recras.checks import new_items
from tap_recras.details import WINDOW_PER_WORKER, fetch_in_order
from tap_recras.meters import RunMeters
from tap_recras.output import BufferedMsgSpecWriter
from tap_recras.tap import TapRecras
from tap_recras.testing import parse_messages, tap_command

# -- fetch_in_order --------------------------------------------------------------------------


def test_results_come_back_in_input_order_despite_uneven_latency() -> None:
    rng = random.Random(3)
    delays = {i: rng.uniform(0, 0.01) for i in range(60)}

    def fetch(item: int) -> int:
        time.sleep(delays[item])
        return item * 10

    assert list(fetch_in_order(range(60), fetch, max_workers=6)) == [(i, i * 10) for i in range(60)]


def test_requests_run_concurrently_up_to_max_workers(in_flight: Any) -> None:
    def fetch(item: int) -> int:
        with in_flight.one():
            time.sleep(0.02)
        return item

    list(fetch_in_order(range(24), fetch, max_workers=4))

    assert in_flight.most == 4


def test_input_is_read_only_a_bounded_window_ahead() -> None:
    consumed = 0

    def items() -> Iterator[int]:
        nonlocal consumed
        for i in range(1000):
            consumed += 1
            yield i

    results = fetch_in_order(items(), lambda i: i, max_workers=2)
    next(results)

    assert consumed == 2 * WINDOW_PER_WORKER
    results.close()


def test_a_failed_fetch_surfaces_at_its_turn_and_stops_the_rest() -> None:
    calls: list[int] = []

    def fetch(item: int) -> int:
        calls.append(item)
        if item == 3:
            raise RuntimeError("detail 3 failed")
        return item

    results = fetch_in_order(range(500), fetch, max_workers=2)
    got = [next(results) for _ in range(3)]
    with pytest.raises(RuntimeError, match="detail 3 failed"):
        next(results)

    assert got == [(0, 0), (1, 1), (2, 2)]
    assert len(calls) < 500  # the rest was cancelled, not fetched


# -- BufferedMsgSpecWriter -------------------------------------------------------------------


def writer_with_records(count: int) -> BufferedMsgSpecWriter:
    writer = BufferedMsgSpecWriter()
    for i in range(count):
        writer.write_message(RecordMessage(stream="klanten", record={"id": i}))
    return writer


def test_records_wait_for_the_next_state_and_keep_their_order(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    writer = writer_with_records(3)
    assert capsysbinary.readouterr().out == b""

    writer.write_message(StateMessage(value={"bookmarks": {}}))

    lines = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert [m["type"] for m in lines] == ["RECORD", "RECORD", "RECORD", "STATE"]
    assert [m["record"]["id"] for m in lines[:3]] == [0, 1, 2]


def test_large_record_runs_are_written_without_waiting_for_a_state(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    writer = writer_with_records(5000)

    written = capsysbinary.readouterr().out.splitlines()
    assert 0 < len(written) < 5000
    writer.flush()
    assert len(written) + len(capsysbinary.readouterr().out.splitlines()) == 5000


def test_an_unchanged_schema_is_written_once(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    writer = BufferedMsgSpecWriter()
    schema: dict[str, Any] = {"type": "object", "properties": {"id": {"type": "integer"}}}
    for _ in range(3):
        writer.write_message(SchemaMessage("contactpersonen", schema, ["id"]))
    changed = {**schema, "properties": {**schema["properties"], "x": {"type": "string"}}}
    writer.write_message(SchemaMessage("contactpersonen", changed, ["id"]))
    writer.write_message(SchemaMessage("klanten", schema, ["id"]))

    lines = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert [(m["stream"], sorted(m["schema"]["properties"])) for m in lines] == [
        ("contactpersonen", ["id"]),
        ("contactpersonen", ["id", "x"]),
        ("klanten", ["id"]),
    ]


# -- RunMeters -------------------------------------------------------------------------------


def test_child_meters_log_once_per_run_not_once_per_customer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    meters = RunMeters("contactpersonen")
    with caplog.at_level(logging.INFO, logger="singer_sdk.metrics"):
        for customer in range(50):
            meters.counter.with_context({"klant_id": customer})
            with meters.counter, meters.timer:
                meters.counter.increment(2)
        assert caplog.records == []
        meters.finish()

    points = [json.loads(r.getMessage().removeprefix("METRIC: ")) for r in caplog.records]
    assert [(p["metric"], p["tags"]["stream"]) for p in points] == [
        ("record_count", "contactpersonen"),
        ("sync_duration", "contactpersonen"),
    ]
    assert points[0]["value"] == 100
    assert "context" not in points[0]["tags"]


# -- streams ---------------------------------------------------------------------------------


@pytest.fixture
def tap() -> Iterator[TapRecras]:
    """A tap object, without leaving its signal handlers installed in pytest."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield TapRecras(config={"base_url": "https://x.recras.nl", "api_key": "k", "start_id": 7})
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_undeclared_properties_are_dropped_with_one_warning(
    tap: TapRecras, caplog: pytest.LogCaptureFixture
) -> None:
    stream = tap.streams["klanten"]
    with caplog.at_level(logging.WARNING):
        first = stream.post_process({"id": 1, "naam": "a", "nieuw_veld": 1})
        second = stream.post_process({"id": 2, "naam": "b", "nieuw_veld": 2})
        plain = stream.post_process({"id": 3, "_links": {"self": {"href": "/x", "more": 1}}})

    assert first == {"id": 1, "naam": "a"}
    assert second == {"id": 2, "naam": "b"}
    assert plain == {"id": 3, "_links": {"self": {"href": "/x", "more": 1}}}
    warnings = [
        r.getMessage() for r in caplog.records if "not in the klanten schema" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert warnings[0].endswith("nieuw_veld")


def test_first_id_is_the_bookmark_plus_one_else_start_id(tap: TapRecras) -> None:
    stream = tap.streams["klanten"]
    assert stream.first_id(None) == 7  # start_id, no state

    tap.load_state(
        {"bookmarks": {"klanten": {"replication_key": "id", "replication_key_value": 41}}}
    )
    stream._write_starting_replication_value(None)

    assert stream.first_id(None) == 42


def test_child_context_carries_the_persons_but_the_child_keeps_them_out_of_logs(
    tap: TapRecras,
) -> None:
    klanten, persons = tap.streams["klanten"], tap.streams["contactpersonen"]
    people = [{"id": 5, "hoofdcontact": None}, {"id": 6, "hoofdcontact": True}]
    context = klanten.get_child_context({"id": 9, "contactpersonen": people}, None)
    assert context is not None

    assert persons.preprocess_context(dict(context)) == {"klant_id": 9}
    records = list(persons.get_records({"klant_id": 9}))

    assert [(r["id"], r["klant_id"], r["positie"], r["hoofdcontact"]) for r in records] == [
        (5, 9, 0, True),  # no explicit flag: the first person is the main contact
        (6, 9, 1, True),  # an explicit flag is kept
    ]
    assert "klant_id" not in people[0]  # the nested array is not modified


# -- settings --------------------------------------------------------------------------------


def test_about_lists_every_setting_with_a_description_and_marks_secrets() -> None:
    markdown = subprocess.run(
        [*tap_command(), "--about", "--format=markdown"], capture_output=True, text=True, check=True
    ).stdout
    about = json.loads(
        subprocess.run(
            [*tap_command(), "--about", "--format=json"], capture_output=True, text=True, check=True
        ).stdout
    )
    settings = about["settings"]["properties"]
    ours = ["base_url", "api_key", "username", "password", "start_id", "max_workers"]
    ours += ["request_timeout", "user_agent", "emit_activate_version_messages"]

    for name in ours:
        assert settings[name]["description"]
        assert f"| {name} |" in markdown
    assert {n for n in ours if settings[n].get("secret")} == {"api_key", "password"}
    for secret in ("api_key", "password"):
        assert settings[secret]["description"].startswith("Secret.")
    assert about["settings"]["required"] == ["base_url"]
    assert settings["max_workers"]["maximum"] >= 8
    assert "batch" not in about["capabilities"]


def test_persons_already_in_the_list_item_need_no_detail_request(tap: TapRecras) -> None:
    # base_url points nowhere reachable: a request would fail the test.
    klanten = tap.streams["klanten"]
    listed = [{"id": 2, "hoofdcontact": True}]

    assert klanten.children_of({"id": 1, "contactpersonen": listed}) is listed


def test_ids_below_the_minimum_or_seen_before_are_dropped_and_a_missing_id_is_an_error() -> None:
    listed = [{"id": 3}, {"id": 10}, {"id": 5}]

    def ids(batches: list[list[dict[str, Any]]], min_id: int | None) -> list[int]:
        listed = new_items(iter(batches), KLANTEN, min_id, set())
        return [k["id"] for batch in listed for k in batch]

    assert ids([listed], 5) == [10, 5]
    assert ids([listed[:1], listed[1:]], None) == [3, 10, 5]
    # A customer listed twice, in one batch or in two, is handed on once.
    assert ids([[{"id": 5}, {"id": 7}, {"id": 7}]], None) == [5, 7]
    assert ids([[{"id": 7}], [{"id": 5}, {"id": 7}]], None) == [7, 5]
    with pytest.raises(RecrasInvalidResponseError, match="without an integer id: '7'"):
        ids([[{"id": "7"}]], None)
    with pytest.raises(RecrasInvalidResponseError, match="without an integer id: True"):
        ids([[{"id": True}]], None)
    # The customers before an unusable id are handed on before the error.
    handed: list[int] = []
    with pytest.raises(RecrasInvalidResponseError, match="customer id 0"):
        for batch in new_items(iter([[{"id": 4}, {"id": 0}, {"id": 6}]]), KLANTEN, None, set()):
            handed.extend(k["id"] for k in batch)
    assert handed == [4]


def _klant() -> dict[str, Any]:
    return {
        "id": 1,
        "naam": "a",
        "adres": None,
        "_links": {"self": {"href": "/api2/klanten/1"}},
        "contactpersonen": [{"id": 2, "voornaam": "b"}],
    }


@pytest.mark.parametrize(
    ("deselect", "fast"),
    [
        ([], True),
        ([("properties", "naam")], True),
        (
            [("properties", "naam"), ("properties", "contactpersonen"), ("properties", "_links")],
            True,
        ),
        ([("properties", "_links", "properties", "self")], False),  # deeper: the SDK's walk
    ],
)
def test_record_messages_drop_exactly_what_the_sdk_would_drop(
    tap: TapRecras, deselect: list[tuple[str, ...]], fast: bool
) -> None:
    stream = tap.streams["klanten"]
    for crumb in deselect:
        stream.metadata[crumb].selected = False
    stream._mask = stream.metadata.resolve_selection()
    expected = _klant()
    pop_deselected_record_properties(expected, stream.schema, stream.mask)

    messages = list(stream._generate_record_messages(_klant()))

    assert [m.record for m in messages] == [expected]
    assert messages[0].stream == "klanten"
    assert messages[0].time_extracted is not None
    assert (stream._top_level_deselected() is not None) == fast


def test_parse_messages_splits_lines_at_newlines_only() -> None:
    # The tap writes U+2028 and U+0085 raw inside JSON strings; str.splitlines splits there.
    line = json.dumps(
        {"type": "RECORD", "stream": "klanten", "record": {"naam": "a\u2028b\x85c"}},
        ensure_ascii=False,
    )
    assert parse_messages(line + "\n" + line) == [json.loads(line)] * 2
