"""Text from outside that cannot go out as it came: lone surrogates and forged log lines.

A string in a Recras answer may hold a lone surrogate (JSON can spell ``"\\ud800"``, UTF-8
cannot encode it): tap-recras and source-recras send the customer with U+FFFD in its place
and a warning naming the customer and field, instead of dying on it at every rerun. Names
from outside (a property Recras adds, a field or stream name in a target's input) are logged:
a newline in one must not forge a log line, nor an escape sequence reach the terminal.
Real executables, a hostile server, the sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.airbyte import configured_catalog, discover, run_connector, write_json
from support.hostile_server import HostileServer, Reply
from support.target import (
    SECRET_KEY,
    customer,
    rejects,
    run_target,
    singer_input,
    target_config,
)

from tap_recras.testing import run_tap

FORGED = "CRITICAL forged line"
#: A property name that, logged raw, would start a log line of its own and colour the terminal.
HOSTILE_NAME = f"x\n{FORGED}\x1b[31m"
BROKEN_NAME = "Caf\ud800 de Zon"  # a lone surrogate, as Recras might send it


def _hostile_recras() -> HostileServer:
    listed = [{"id": 7, "naam": BROKEN_NAME, HOSTILE_NAME: 1}, {"id": 8, "naam": "Gewoon"}]
    detail = {"contactpersonen": [{"id": 70, "voornaam": "Ann\udc00", "achternaam": "B"}]}
    return HostileServer(
        {"GET /api2/klanten": Reply.json(listed), "GET /api2/klanten/*": Reply.json(detail)}
    )


def _no_forged_lines(log: str) -> None:
    assert "\x1b" not in log
    assert not [line for line in log.splitlines() if line.startswith(FORGED)], log[-3000:]


def test_tap_sends_broken_text_repaired_and_logs_outside_names_on_one_line() -> None:
    with _hostile_recras() as server:
        run = run_tap(server.config(api_key="hostile-text-key"), log_level="INFO")

    assert run.returncode == 0, run.stderr[-3000:]
    assert [r["naam"] for r in run.records("klanten")] == ["Caf\ufffd de Zon", "Gewoon"]
    assert {r["voornaam"] for r in run.records("contactpersonen")} == {"Ann\ufffd"}
    warnings = [line for line in run.stderr.splitlines() if "lone surrogate" in line]
    assert any("klanten record id 7, field(s) naam, " in line for line in warnings), warnings
    assert any("klant_id 7, id 70, field(s) voornaam;" in line for line in warnings), warnings
    assert "x\\nCRITICAL forged line\\x1b[31m" in run.stderr  # named, escaped
    _no_forged_lines(run.stderr)


@pytest.mark.slow
def test_source_sends_broken_text_repaired_as_valid_protocol_lines(tmp_path: Path) -> None:
    with _hostile_recras() as server:
        config = write_json(tmp_path / "config.json", server.config(api_key="hostile-text-key"))
        modes = {"klanten": "incremental", "contactpersonen": "incremental"}
        catalog = write_json(tmp_path / "catalog.json", configured_catalog(discover(config), modes))
        done = run_connector("source-recras", "read", "--config", config, "--catalog", catalog)

    # run_connector checked every line against the protocol models (UTF-8 JSON, one line each).
    assert done.returncode == 0, done.stdout[-3000:]
    assert [r["naam"] for r in done.records("klanten")] == ["Caf\ufffd de Zon", "Gewoon"]
    logs = [m["log"]["message"] for m in done.of_type("LOG")]
    assert any("lone surrogate" in m and "id 7" in m for m in logs)
    assert not [m for m in logs if "\n" + FORGED in m or "\x1b" in m]


@pytest.mark.slow
@pytest.mark.parametrize("where", ["field", "stream"])
def test_target_logs_outside_field_and_stream_names_on_one_line(
    where: str, sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    stream = HOSTILE_NAME if where == "stream" else "klanten"
    record = customer(1, **({HOSTILE_NAME: "x"} if where == "field" else {}))
    lines = [
        {"type": "SCHEMA", "stream": stream, "schema": {"properties": {}},
         "key_properties": ["external_id"]},
        {"type": "RECORD", "stream": stream, "record": record},
    ]  # fmt: skip
    result = run_target(config, "".join(json.dumps(line) + "\n" for line in lines))

    assert result.returncode == 0, result.stderr[-3000:]
    assert "x\\nCRITICAL forged line\\x1b[31m" in result.stderr
    _no_forged_lines(result.stderr)


@pytest.mark.slow
def test_target_rejects_a_lone_surrogate_naming_its_stream_and_field(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    person = {"voornaam": "X", "email1": "x@example.com", "hoofdcontact": True}
    records = [customer(1, naam=BROKEN_NAME), customer(2, contactpersonen=[person])]
    records[1]["contactpersonen"][0]["achternaam"] = "Ann\udc00"
    result = run_target(config, singer_input(records))

    assert result.returncode == 0, result.stderr[-3000:]
    found = [(r["stream"], r["field_path"]) for r in rejects(tmp_path / "rejects.jsonl")]
    assert found == [("klanten", "naam"), ("klanten", "contactpersonen[0].achternaam")]
    assert sandbox.customers() == []


@pytest.mark.slow
def test_destination_rejects_a_lone_surrogate_naming_its_field_and_line(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = write_json(
        tmp_path / "config.json",
        sandbox.config(
            rejects_path=str(tmp_path / "rejects.jsonl"),
            id_map_path=str(tmp_path / "id-map.sqlite3"),
        ),
    )
    stream = {"name": "klanten", "json_schema": {"properties": {}}}
    configured = {
        "stream": stream,
        "sync_mode": "incremental",
        "destination_sync_mode": "append_dedup",
        "primary_key": [["external_id"]],
    }
    catalog = write_json(tmp_path / "catalog.json", {"streams": [configured]})
    log = {"type": "LOG", "log": {"level": "INFO", "message": "from the source"}}
    lines = [
        log,
        log,
        {"type": "RECORD", "record": {"stream": "klanten", "emitted_at": 1,
                                      "data": customer(1, naam=BROKEN_NAME, bedrijf_id=1.0)}},
    ]  # fmt: skip
    done = run_connector(
        "destination-recras", "write", "--config", config, "--catalog", catalog,
        stdin="".join(json.dumps(line) + "\n" for line in lines),
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-3000:]
    (reject,) = rejects(tmp_path / "rejects.jsonl")
    # The line of the destination's own input (after two LOG lines), the stream, the field.
    assert (reject["input_line"], reject["stream"], reject["field_path"]) == (3, "klanten", "naam")
