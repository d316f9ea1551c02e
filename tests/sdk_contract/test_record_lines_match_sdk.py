"""The tap's own RECORD and bookmark steps write what the SDK's steps write.

``RecrasStream.write_record`` encodes RECORD lines from their parts and
``KlantenStream.advance_bookmark`` keeps the pending bookmark in place, both instead of the
SDK's steps (tap_recras/sdk_compat.py). These tests hold them to the SDK: every line is byte
for byte what the SDK's msgspec writer writes for that message, and a whole run (SCHEMA,
RECORD, STATE, ACTIVATE_VERSION) carries the same messages as a run through the SDK's steps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import RecordMessage
from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess
from tap_recras.output import BufferedMsgSpecWriter
from tap_recras.sdk_compat import CompatStream
from tap_recras.streams import KlantenStream, RecrasStream
from tap_recras.tap import TapRecras
from tap_recras.testing import make_catalog, run_tap

SDK_WRITER = MsgSpecWriter()


def sdk_line(message: dict[str, Any]) -> bytes:
    """The line the SDK's msgspec writer writes for this parsed RECORD message."""
    return bytes(SDK_WRITER.format_message(RecordMessage.from_dict(dict(message))))


@pytest.mark.parametrize("version", [None, 1764590400])
@pytest.mark.parametrize(
    "record",
    [
        {"id": 1, "naam": "Jänssen-IJzerman ë ü", "adres": None},
        {"id": 2, "_links": {"self": {"href": "/api2/klanten/2"}}, "x": [1.5, True, "},{"]},
        {},
    ],
)
def test_write_record_writes_the_sdk_line(
    record: dict[str, Any], version: int | None, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    extracted = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
    writer = BufferedMsgSpecWriter()
    writer.write_record("klanten", record, version, extracted)
    writer.flush()
    expected = SDK_WRITER.format_message(
        RecordMessage(stream="klanten", record=record, version=version, time_extracted=extracted)
    )
    assert capsysbinary.readouterr().out == bytes(expected)


def test_time_extracted_is_written_as_the_sdk_writes_utc(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # The SDK's message converts to UTC; the writer is given UTC (RecrasStream passes now(UTC)).
    extracted = datetime(2026, 12, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    writer = BufferedMsgSpecWriter()
    writer.write_record("klanten", {"id": 1}, None, extracted.astimezone(UTC))
    writer.flush()
    expected = SDK_WRITER.format_message(
        RecordMessage(stream="klanten", record={"id": 1}, time_extracted=extracted)
    )
    assert capsysbinary.readouterr().out == bytes(expected)


@pytest.mark.parametrize("full_table", [None, "metadata"])
def test_every_record_line_of_a_run_is_the_sdk_line(
    sandbox: SandboxProcess, full_table: str | None
) -> None:
    config = sandbox.config(max_workers=4)
    catalog = make_catalog(config, full_table=full_table)  # type: ignore[arg-type]
    run = run_tap(config, catalog=catalog, log_level="WARNING")
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line for line in run.stdout.splitlines() if '"type":"RECORD"' in line]
    assert len(lines) > len(run.records("klanten")) >= 200  # customers and contact persons
    for line in lines:
        assert (line + "\n").encode() == sdk_line(json.loads(line))
    if full_table:
        assert all('"version":' in line for line in lines)


def _messages_of_a_run(
    config: dict[str, Any],
    catalog: dict[str, Any],
    state: dict[str, Any] | None,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> list[dict[str, Any]]:
    """Every message of one in-process run, ``time_extracted`` left out (it differs).

    A full-table version (the run's start time) is replaced by ``"v"``, once checked to be
    one and the same in the whole run.
    """
    tap = TapRecras(config=config, catalog=catalog, state=state)
    tap.sync_all()
    tap.message_writer.flush()  # type: ignore[attr-defined]
    messages = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    versions = set()
    for message in messages:
        message.pop("time_extracted", None)
        if "version" in message:
            versions.add(message["version"])
            message["version"] = "v"
    assert len(versions) <= 1
    return messages


def _deselect(catalog: dict[str, Any], crumbs: list[list[str]]) -> None:
    """Deselect ``crumbs`` of ``klanten`` (adding metadata for a nested property)."""
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "klanten")
    for crumb in crumbs:
        item = next((i for i in entry["metadata"] if i["breadcrumb"] == crumb), None)
        if item is None:
            item = {"breadcrumb": crumb, "metadata": {}}
            entry["metadata"].append(item)
        item["metadata"]["selected"] = False


@pytest.mark.parametrize(
    ("stream_maps", "state", "full_table", "deselect"),
    [
        (None, None, None, []),
        (None, {"bookmarks": {"klanten": {"replication_key_value": 1500}}}, None, []),
        (None, None, "metadata", [["properties", "naam"], ["properties", "_links"]]),
        # Deeper than the top level: the SDK's own steps, the same messages either way.
        (None, None, None, [["properties", "_links", "properties", "self"]]),
        ({"klanten": {"adres": None, "__filter__": "id % 3 != 0"}}, None, None, []),
        ({"klanten": {"__alias__": "customers"}}, None, "metadata", []),
        # No stream map, but flattening on: the SDK's one map changes every record.
        ({"flattening_enabled": True, "flattening_max_depth": 2}, None, None, []),
    ],
)
def test_a_run_sends_the_messages_the_sdk_steps_send(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    stream_maps: dict[str, Any] | None,
    state: dict[str, Any] | None,
    full_table: str | None,
    deselect: list[list[str]],
) -> None:
    sandbox = sandbox_factory(customers=2500, shuffle=True)
    config: dict[str, Any] = sandbox.config(max_workers=4)
    if stream_maps and "flattening_enabled" in stream_maps:
        config.update(stream_maps)
    elif stream_maps:
        config["stream_maps"] = stream_maps
    # klanten alone: the list is the path the tap's own steps speed up.
    catalog = make_catalog(
        config,
        nested=False,
        persons=False,
        full_table=full_table,  # type: ignore[arg-type]
    )
    _deselect(catalog, deselect)
    ours = _messages_of_a_run(config, catalog, state, capsysbinary)
    monkeypatch.setattr(RecrasStream, "write_record", CompatStream.write_record)
    monkeypatch.setattr(KlantenStream, "advance_bookmark", CompatStream.advance_bookmark)
    # CompatStream's subclasses bound the SDK's per-record names to these when they were made.
    monkeypatch.setattr(KlantenStream, "_write_record_message", CompatStream.write_record)
    monkeypatch.setattr(KlantenStream, "_increment_stream_state", CompatStream.advance_bookmark)
    sdks = _messages_of_a_run(config, catalog, state, capsysbinary)

    assert ours == sdks
    if "flattening_enabled" in config:
        # _links declares no properties: flattened, it is sent as a JSON string.
        assert all(isinstance(m["record"]["_links"], str) for m in ours if m["type"] == "RECORD")
    records = [m["record"] for m in ours if m["type"] == "RECORD"]
    for crumb in deselect:
        if len(crumb) == 2:
            assert all(crumb[1] not in record for record in records)
        else:
            assert all(record["_links"] == {} for record in records)
    assert {m["type"] for m in ours} == {"SCHEMA", "RECORD", "STATE"} | (
        {"ACTIVATE_VERSION"} if full_table else set()
    )
    if not full_table:
        # A STATE within the run carries the highest id so far, waiting to be promoted
        # (a later one is left out by the SDK when nothing changed).
        states = [m["value"]["bookmarks"]["klanten"] for m in ours if m["type"] == "STATE"]
        assert any("progress_markers" in state for state in states[:-1])
        assert "progress_markers" not in states[-1]
