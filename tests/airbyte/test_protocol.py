"""source-recras and destination-recras against the sandbox: every output line is protocol.

Each run goes through :func:`support.airbyte.run_connector`, which validates every stdout
line with the Airbyte protocol models; the sandbox's API key is a long secret that must not
appear in any output.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support.airbyte import (
    BIN,
    ConnectorRun,
    airbyte_message,
    configured_catalog,
    discover,
    run_connector,
    write_json,
)
from support.hostile_server import HostileServer, Reply

from tap_recras.tap import TapRecras

SECRET_KEY = "sandbox-secret-key-7c1f93d0a2b84e5f"


@pytest.fixture
def recras(sandbox_factory: Any) -> Any:
    """A sandbox with 30 customers and a secret API key."""
    return sandbox_factory(customers=30, api_key=SECRET_KEY)


def _no_secret(*outputs: str) -> None:
    for text in outputs:
        assert SECRET_KEY not in text


# -- spec -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("executable", ["source-recras", "destination-recras"])
def test_spec_is_valid_json_schema_with_airbyte_secrets(executable: str, recras: Any) -> None:
    done = run_connector(executable, "spec")
    assert done.returncode == 0
    (message,) = done.of_type("SPEC")
    spec = message["spec"]["connectionSpecification"]
    jsonschema.Draft7Validator.check_schema(spec)
    properties = spec["properties"]
    # The target's id_map_url may carry a database password (postgresql://user:pw@...).
    secrets = {"api_key", "password"} | (
        {"id_map_url"} if executable == "destination-recras" else set()
    )
    assert {name for name, prop in properties.items() if prop.get("airbyte_secret")} == secrets
    assert spec["required"] == ["base_url"]
    # The same settings as the Singer plugin: a sandbox config with stream maps is valid.
    config = recras.config(stream_maps={"klanten": {"__else__": None}}, max_workers=2)
    jsonschema.Draft7Validator(spec).validate(config)
    if executable == "destination-recras":
        assert message["spec"]["supported_destination_sync_modes"] == ["append", "append_dedup"]
        assert {"dry_run", "rejects_path", "id_map_path"} <= set(properties)
    else:
        assert {"start_id", "max_workers"} <= set(properties)


def test_the_sdk_settings_schema_itself_is_not_valid_json_schema() -> None:
    """Why the spec is repaired: singer-sdk's stream_maps schema has a bare "null" in anyOf."""
    settings = TapRecras.config_jsonschema
    TapRecras.append_builtin_config(settings)
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft7Validator.check_schema(settings)


# -- check ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_check_answers_succeeded_or_failed_and_exits_0(recras: Any, tmp_path: Path) -> None:
    good = write_json(tmp_path / "good.json", recras.config())
    wrong_key = write_json(tmp_path / "wrong.json", recras.config(api_key=SECRET_KEY[::-1]))
    no_url = write_json(tmp_path / "no_url.json", {"api_key": SECRET_KEY})
    for executable in ("source-recras", "destination-recras"):
        ok = run_connector(executable, "check", "--config", good)
        assert (ok.returncode, ok.status["status"]) == (0, "SUCCEEDED"), ok.stdout[-1500:]
        refused = run_connector(executable, "check", "--config", wrong_key)
        assert (refused.returncode, refused.status["status"]) == (0, "FAILED")
        assert "401" in refused.status["message"]
        invalid = run_connector(executable, "check", "--config", no_url)
        assert (invalid.returncode, invalid.status["status"]) == (0, "FAILED")
        assert "base_url" in invalid.status["message"]
        _no_secret(ok.stdout, refused.stdout, invalid.stdout, ok.stderr, refused.stderr)
        assert SECRET_KEY[::-1] not in refused.stdout


@pytest.mark.slow
def test_destination_check_of_a_dry_run_needs_no_credentials(tmp_path: Path) -> None:
    config = write_json(tmp_path / "c.json", {"base_url": "http://127.0.0.1:9", "dry_run": True})
    done = run_connector("destination-recras", "check", "--config", config)
    assert (done.returncode, done.status["status"]) == (0, "SUCCEEDED")
    assert "Dry run" in done.status["message"]


# -- discover and read ----------------------------------------------------------------------


@pytest.mark.slow
def test_discover_declares_keys_cursors_and_sync_modes(recras: Any, tmp_path: Path) -> None:
    catalog = discover(write_json(tmp_path / "c.json", recras.config()))
    streams = {s["name"]: s for s in catalog["streams"]}
    # Every stream's offer: tests/airbyte/test_all_streams.py.
    assert {"klanten", "contactpersonen"} <= set(streams)
    assert streams["klanten"]["source_defined_primary_key"] == [["id"]]
    assert streams["contactpersonen"]["source_defined_primary_key"] == [["klant_id"], ["id"]]
    assert streams["klanten"]["default_cursor_field"] == ["id"]
    assert streams["contactpersonen"]["default_cursor_field"] == ["klant_id"]
    for name in ("klanten", "contactpersonen"):
        assert streams[name]["supported_sync_modes"] == ["full_refresh", "incremental"]
    for stream in streams.values():
        incremental = "incremental" in stream["supported_sync_modes"]
        assert stream["source_defined_cursor"] is incremental
        jsonschema.Draft7Validator.check_schema(stream["json_schema"])


@pytest.mark.slow
def test_read_incremental_resumes_from_its_per_stream_state(recras: Any, tmp_path: Path) -> None:
    config = write_json(tmp_path / "c.json", recras.config())
    catalog = discover(config)
    modes = {"klanten": "incremental", "contactpersonen": "incremental"}
    configured = write_json(tmp_path / "cat.json", configured_catalog(catalog, modes))

    first = run_connector("source-recras", "read", "--config", config, "--catalog", configured)
    assert first.returncode == 0, first.stdout[-2000:]
    sandbox = recras.customers()
    assert sorted(r["id"] for r in first.records("klanten")) == sorted(c["id"] for c in sandbox)
    links = sum(len(c["contactpersonen"]) for c in sandbox)
    assert len(first.records("contactpersonen")) == links
    states = [m["state"] for m in first.of_type("STATE")]
    assert states and all(s["type"] == "STREAM" for s in states)
    last = {s["stream"]["stream_descriptor"]["name"]: s for s in states}
    assert set(last) == set(modes)
    top = max(c["id"] for c in sandbox)
    assert last["klanten"]["stream"]["stream_state"]["replication_key_value"] == top
    # Each STATE comes after the records it covers.
    kinds = [m["type"] for m in first.messages if m["type"] in {"RECORD", "STATE"}]
    assert kinds[-1] == "STATE"

    new_ids = recras.add_customers(4)
    state = write_json(tmp_path / "state.json", list(last.values()))
    second = run_connector(
        "source-recras", "read", "--config", config, "--catalog", configured, "--state", state
    )
    assert second.returncode == 0, second.stdout[-2000:]
    assert sorted(r["id"] for r in second.records("klanten")) == sorted(new_ids)
    assert {r["klant_id"] for r in second.records("contactpersonen")} == set(new_ids)
    _no_secret(first.stdout, second.stdout)


@pytest.mark.slow
@pytest.mark.parametrize(
    "modes",
    [
        {"klanten": "incremental", "contactpersonen": "incremental"},
        {"contactpersonen": "incremental"},
    ],
    ids=["both streams", "contact persons alone"],
)
def test_read_state_advances_on_every_read(
    sandbox_factory: Any, tmp_path: Path, modes: dict[str, str]
) -> None:
    """Five reads, each from the last STATE per stream of the one before, as PyAirbyte keeps it.

    With customers selected, one read gets more than 1,000 new customers, so STATEs with the
    tap's progress markers come before its last (a deselected stream writes none mid-run).
    """
    recras = sandbox_factory(customers=10, api_key=SECRET_KEY)
    config = write_json(tmp_path / "c.json", recras.config())
    configured = write_json(tmp_path / "cat.json", configured_catalog(discover(config), modes))
    state: dict[str, Any] = {}
    known = {c["id"] for c in recras.customers()}
    for added in (0, 3, 1100 if "klanten" in modes else 1, 2, 4):
        new_ids = set(recras.add_customers(added)) if added else set(known)
        args = ["read", "--config", config, "--catalog", configured]
        if state:
            args += ["--state", write_json(tmp_path / "state.json", list(state.values()))]
        done = run_connector("source-recras", *args, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:]
        persons = {r["klant_id"] for r in done.records("contactpersonen")}
        assert persons == new_ids, f"read after adding {added}"
        if "klanten" in modes:
            assert sorted(r["id"] for r in done.records("klanten")) == sorted(new_ids)
        for message in done.of_type("STATE"):
            state[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
        assert set(state) == set(modes)
        top = max(c["id"] for c in recras.customers())
        for stream_state in state.values():
            assert stream_state["stream"]["stream_state"] == {
                "replication_key": "id",
                "replication_key_value": top,
            }
        known |= new_ids


@pytest.mark.slow
def test_read_full_refresh_reads_every_customer_again(recras: Any, tmp_path: Path) -> None:
    config = write_json(tmp_path / "c.json", recras.config())
    configured = write_json(
        tmp_path / "cat.json", configured_catalog(discover(config), {"klanten": "full_refresh"})
    )
    state = write_json(
        tmp_path / "s.json",
        [
            {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": "klanten"},
                    "stream_state": {"replication_key": "id", "replication_key_value": 10**6},
                },
            }
        ],
    )
    done = run_connector(
        "source-recras", "read", "--config", config, "--catalog", configured, "--state", state
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert len(done.records("klanten")) == 30
    assert done.records("contactpersonen") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("catalog_change", "state", "expected"),
    [
        ({"contactpersonen": "full_refresh"}, [], "same sync_mode"),
        ({"unknown": "incremental"}, [], "'unknown'"),
        ({}, [{"type": "GLOBAL", "global": {"stream_states": []}}], "per-stream state only"),
        ({}, [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "klanten"},
                                             "stream_state": {"replication_key_value": "abc"}}}],
         "abc"),
    ],
)  # fmt: skip
def test_read_with_unusable_catalog_or_state_is_a_config_error(
    recras: Any, tmp_path: Path, catalog_change: dict[str, str], state: Any, expected: str
) -> None:
    config = write_json(tmp_path / "c.json", recras.config())
    configured = configured_catalog(discover(config), {"klanten": "incremental"})
    for name, mode in catalog_change.items():
        stream = {"name": name, "json_schema": {}, "supported_sync_modes": [mode]}
        configured["streams"].append(
            {"stream": stream, "sync_mode": mode, "destination_sync_mode": "append"}
        )
    done = run_connector(
        "source-recras",
        "read",
        "--config",
        config,
        "--catalog",
        write_json(tmp_path / "cat.json", configured),
        "--state",
        write_json(tmp_path / "s.json", state),
    )
    assert done.returncode == 1
    assert done.error["failure_type"] == "config_error"
    assert expected in done.error["message"]
    assert done.of_type("RECORD") == []


@pytest.mark.slow
def test_read_failures_are_traced_with_their_failure_type(recras: Any, tmp_path: Path) -> None:
    catalog = discover(write_json(tmp_path / "c.json", recras.config()))
    modes = {"klanten": "incremental"}
    configured = write_json(tmp_path / "cat.json", configured_catalog(catalog, modes))
    with (
        HostileServer({"GET /api2/klanten": Reply.json({}, 429, **{"Retry-After": "0"})}) as busy,
        HostileServer({"GET /api2/klanten": Reply.echo_authorization(401)}) as leaky,
        HostileServer({"GET /api2/klanten": Reply.json({"not": "a list"})}) as broken,
    ):
        _read_failures(tmp_path, configured, busy, leaky, broken)


def _read_failures(tmp_path: Path, configured: Path, busy: Any, leaky: Any, broken: Any) -> None:
    cases = [
        (busy.config(api_key=SECRET_KEY), "transient_error"),
        (leaky.config(api_key=SECRET_KEY), "config_error"),
        (broken.config(api_key=SECRET_KEY), "system_error"),
        ({"base_url": "ftp://example.invalid", "api_key": SECRET_KEY}, "config_error"),
    ]
    for index, (settings, failure_type) in enumerate(cases):
        config = write_json(tmp_path / f"c{index}.json", settings)
        done = run_connector("source-recras", "read", "--config", config, "--catalog", configured)
        assert done.returncode == 1, done.stdout[-1500:]
        assert done.error["failure_type"] == failure_type, done.error
        _no_secret(done.stdout, done.stderr)
    assert any(SECRET_KEY in request.headers.get("Authorization", "") for request in leaky.requests)


# -- write ----------------------------------------------------------------------------------


def _export_record(number: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "type": "RECORD",
        "record": {
            "stream": "klanten",
            "emitted_at": 1_700_000_000_000,
            "data": {
                "external_id": f"AB-{number}",
                "naam": f"Airbyte klant {number}",
                "plaats": "Utrecht",
                "provinciecode": "NL-UT",
                "contactpersonen": [
                    {
                        "voornaam": "Ada",
                        "achternaam": f"Byte {number}",
                        "email1": f"ada{number}@airbyte.example",
                        "hoofdcontact": True,
                    }
                ],
                "_airbyte_raw_id": f"raw-{number}",
                "_airbyte_extracted_at": "2024-01-01T00:00:00Z",
                "_airbyte_meta": {"changes": []},
                **overrides,
            },
        },
    }
    return record


def _state(position: int, stream: str = "klanten") -> dict[str, Any]:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": stream},
                "stream_state": {"position": position},
            },
        },
    }


def _write_catalog(path: Path, mode: str = "append_dedup") -> Path:
    properties = {
        name: {"type": ["string", "null"]}
        for name in ("external_id", "naam", "plaats", "provinciecode", "_airbyte_raw_id")
    }
    properties["contactpersonen"] = {"type": ["array", "null"], "items": {"type": "object"}}
    stream = {
        "name": "klanten",
        "json_schema": {"type": "object", "properties": properties},
        "supported_sync_modes": ["full_refresh", "incremental"],
    }
    catalog = {
        "streams": [
            {
                "stream": stream,
                "sync_mode": "incremental",
                "destination_sync_mode": mode,
                "primary_key": [["external_id"]],
            }
        ]
    }
    return write_json(path, catalog)


def _write_config(recras: Any, tmp_path: Path) -> Path:
    return write_json(
        tmp_path / "dest.json",
        recras.config(
            rejects_path=str(tmp_path / "rejects.jsonl"),
            id_map_path=str(tmp_path / "id-map.sqlite3"),
        ),
    )


@pytest.mark.slow
def test_write_upserts_by_primary_key_and_echoes_each_state(recras: Any, tmp_path: Path) -> None:
    config, catalog = _write_config(recras, tmp_path), _write_catalog(tmp_path / "cat.json")
    lines = [
        _export_record(1),
        _export_record(2),
        _state(1),
        _export_record(3, provinciecode="Zeeland"),  # not an ISO 3166-2 code: rejected
        {"type": "LOG", "log": {"level": "INFO", "message": "from the source"}},
        _state(2, stream="other"),
        _state(3),
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    before = len(recras.customers())
    done = run_connector(
        "destination-recras", "write", "--config", config, "--catalog", catalog, stdin=stdin
    )
    assert done.returncode == 0, done.stdout[-3000:]
    # The target emits the newest safe STATE it has when it drains: an older one of a stream
    # may be echoed first (when a drain comes between), never twice, never out of its
    # stream's order (streams are independent of each other); each stream's newest is echoed.
    sent = [json.dumps(line["state"], sort_keys=True) for line in lines if line["type"] == "STATE"]
    echoed = [json.dumps(m["state"], sort_keys=True) for m in done.of_type("STATE")]
    assert set(echoed) <= set(sent)
    for stream in ("klanten", "other"):
        of_stream = [state for state in echoed if f'"name": "{stream}"' in state]
        assert of_stream == sorted(set(of_stream), key=sent.index)
    assert {sent[1], sent[2]} <= set(echoed)
    created = [c for c in recras.customers() if str(c["naam"]).startswith("Airbyte klant")]
    assert len(recras.customers()) == before + 2
    assert sorted(c["naam"] for c in created) == ["Airbyte klant 1", "Airbyte klant 2"]
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["record"]["external_id"] for r in rejects] == ["AB-3"]
    # _airbyte_* columns are not part of the record the target sees: no warning names them.
    assert "_airbyte" not in json.dumps([m for m in done.of_type("LOG")])
    assert "_airbyte" not in json.dumps(rejects)
    summary = _summary(done)
    assert summary.startswith(
        "3 records read: 2 created, 0 merged, 0 updated, 0 unchanged (skipped), "
        "0 recreated after a 404, 1 rejected,"
    )
    assert done.stderr.splitlines() == [
        f"destination-recras summary: {summary}",
        f"destination-recras: the rejected records and the reasons are in {tmp_path}/rejects.jsonl",
    ]

    # Again, renamed: the id map knows AB-1 and AB-2, so they are updated, not created.
    again = "".join(
        json.dumps(_export_record(n, naam=f"Airbyte klant {n} bis")) + "\n" for n in (1, 2)
    )
    rerun = run_connector(
        "destination-recras", "write", "--config", config, "--catalog", catalog, stdin=again
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert len(recras.customers()) == before + 2
    names = sorted(c["naam"] for c in recras.customers() if str(c["naam"]).startswith("Airbyte"))
    assert names == ["Airbyte klant 1 bis", "Airbyte klant 2 bis"]
    assert _summary(rerun).startswith("2 records read: 0 created, 0 merged, 2 updated,")
    assert rerun.stderr.splitlines() == [f"destination-recras summary: {_summary(rerun)}"]
    _no_secret(done.stdout, rerun.stdout, done.stderr, rerun.stderr)


def _summary(done: ConnectorRun) -> str:
    """The target's summary, from its one LOG message (the text shown on stderr too)."""
    prefix = "target-recras: Summary: "
    (summary,) = [
        m["log"]["message"].removeprefix(prefix)
        for m in done.of_type("LOG")
        if m["log"]["level"] == "INFO" and m["log"]["message"].startswith(prefix)
    ]
    return summary


@pytest.mark.slow
def test_write_rejects_a_singer_state_line_and_echoes_the_airbyte_states_around_it(
    recras: Any, tmp_path: Path
) -> None:
    config, catalog = _write_config(recras, tmp_path), _write_catalog(tmp_path / "cat.json")
    singer_state = {"type": "STATE", "value": {"bookmarks": {"klanten": {"id": 5}}}}
    lines = [_export_record(1), _state(1), singer_state, _export_record(2), _state(2)]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    done = run_connector(
        "destination-recras", "write", "--config", config, "--catalog", catalog, stdin=stdin
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert [m["state"] for m in done.of_type("STATE")][-1] == _state(2)["state"]
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == 1 and "not an Airbyte STATE message" in rejects[0]["reason"]
    assert json.loads(rejects[0]["line"]) == singer_state


@pytest.mark.slow
def test_write_keeps_numeric_keys_above_2_to_the_53_apart(recras: Any, tmp_path: Path) -> None:
    """As floats, 9007199254740993.0 and 9007199254740992 are one number: one customer."""
    config, catalog = _write_config(recras, tmp_path), _write_catalog(tmp_path / "cat.json")
    keys = ["9007199254740993.0", "9007199254740992"]
    lines = [json.dumps(_export_record(n)).replace(f'"AB-{n}"', key) for n, key in enumerate(keys)]
    done = run_connector(
        "destination-recras",
        "write",
        "--config",
        config,
        "--catalog",
        catalog,
        stdin="".join(line + "\n" for line in lines),
    )
    assert done.returncode == 0, done.stdout[-3000:]
    names = [c["naam"] for c in recras.customers() if str(c["naam"]).startswith("Airbyte")]
    assert sorted(names) == ["Airbyte klant 0", "Airbyte klant 1"]


@pytest.mark.slow
def test_write_echoes_a_state_only_after_the_records_before_it(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """The STATE line is read while stdin is still open; by then Recras has the records."""
    recras = sandbox_factory(customers=5, api_key=SECRET_KEY, latency_ms=150)
    config, catalog = _write_config(recras, tmp_path), _write_catalog(tmp_path / "cat.json")
    proc = subprocess.Popen(
        [
            str(BIN / "destination-recras"),
            "write",
            "--config",
            str(config),
            "--catalog",
            str(catalog),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        for line in [_export_record(n) for n in range(1, 5)] + [_state(7)]:
            proc.stdin.write(json.dumps(line) + "\n")
        proc.stdin.flush()
        for _ in range(500):  # bounded: the STATE comes within the run
            message = airbyte_message(proc.stdout.readline())
            if message["type"] == "STATE":
                break
        assert message == _state(7)
        names = {c["naam"] for c in recras.customers()}
        assert {f"Airbyte klant {n}" for n in range(1, 5)} <= names
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "expected"), [("overwrite", "append or append_dedup"), ("append_dedup", None)]
)
def test_write_refuses_what_it_cannot_do_as_config_errors(
    recras: Any, tmp_path: Path, mode: str, expected: str | None
) -> None:
    catalog = json.loads(_write_catalog(tmp_path / "cat.json", mode).read_text())
    if expected is None:  # append_dedup without a primary key
        catalog["streams"][0]["primary_key"] = []
        expected = "needs a primary key"
    done = run_connector(
        "destination-recras",
        "write",
        "--config",
        _write_config(recras, tmp_path),
        "--catalog",
        write_json(tmp_path / "cat2.json", catalog),
        stdin=json.dumps(_export_record(1)) + "\n",
    )
    assert done.returncode == 1
    assert done.error["failure_type"] == "config_error"
    assert expected in done.error["message"]
    assert not [c for c in recras.customers() if str(c["naam"]).startswith("Airbyte")]
