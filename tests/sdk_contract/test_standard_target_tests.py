"""singer-sdk's standard target tests, against a recras-sandbox.

None of the suite's streams (``test_camelcase``, ``test_array_data``, ...) is ``klanten`` and
none of its records is a Recras customer, so the right answer to every record is a clear
reject -- never a write, never a crash. After each standard test :meth:`resource` checks
exactly that: one reject per RECORD line of the test's input, naming its stream (or the
missing SCHEMA), and no request that writes to Recras.

Three standard tests expect behaviour this target deliberately replaces; they are overridden
below with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner
from support.target import SECRET_KEY, rejects

from target_recras.target import TargetRecras

#: Filled in by the ``resource`` fixture (the runner keeps a reference to this dict).
SUITE_CONFIG: dict[str, Any] = {"base_url": "http://127.0.0.1:9", "api_key": SECRET_KEY}
STREAMS = resources.files("singer_sdk.testing") / "target_test_streams"

_StandardTests = get_target_test_class(TargetRecras, config=SUITE_CONFIG)


def _records_in(test_name: str) -> list[dict[str, Any]]:
    name = test_name.removeprefix("test_target_")
    path = STREAMS / f"{name}.singer"
    if not path.is_file():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [line for line in lines if line["type"] == "RECORD"]


class TestTargetRecrasStandard(_StandardTests):
    """The SDK suite, each test followed by the reject check."""

    @pytest.fixture
    def resource(
        self, sandbox_factory: Any, tmp_path: Path, request: pytest.FixtureRequest
    ) -> Iterator[Any]:
        sandbox = sandbox_factory(customers=1, api_key=SECRET_KEY)
        SUITE_CONFIG.update(
            base_url=sandbox.base_url,
            rejects_path=str(tmp_path / "rejects.jsonl"),
            id_map_path=str(tmp_path / "id-map.sqlite3"),
        )
        yield sandbox
        records = _records_in(request.node.name)
        found = rejects(tmp_path / "rejects.jsonl")
        assert len(found) == len(records)
        for entry, message in zip(found, records, strict=True):
            assert entry["stream"] == message["stream"]
            assert entry["record"] == message["record"]
            assert "is not supported" in entry["reason"] or "before its SCHEMA" in entry["reason"]
        writes = {k: v for k, v in sandbox.stats()["requests"].items() if "GET" not in k}
        assert writes == {}

    def test_target_record_before_schema(
        self, config: Any, resource: Any, runner: TargetTestRunner
    ) -> None:
        """The SDK raises RecordsWithoutSchemaException; this target rejects the record.

        Without its SCHEMA the record has no key properties, so it cannot be matched safely;
        stopping the whole run for it would hold back every other record.
        """
        runner.input_filepath = STREAMS / "record_before_schema.singer"
        runner.sync_all()
        first, second = rejects(Path(SUITE_CONFIG["rejects_path"]))
        assert "arrived before its SCHEMA message" in first["reason"]
        assert first["record"] == {"id": 1, "metric": 6719}
        assert "stream 'test_record_before_schema' is not supported" in second["reason"]

    def test_target_record_missing_key_property(
        self, config: Any, resource: Any, runner: TargetTestRunner
    ) -> None:
        """The SDK raises MissingKeyPropertiesError; here the stream is rejected first.

        Records of a stream other than ``klanten`` are rejected whatever their keys; a
        ``klanten`` record without its source key is rejected with that reason (see the
        "source key missing" case of the bad-input corpus).
        """
        runner.input_filepath = STREAMS / "record_missing_key_property.singer"
        runner.sync_all()
        (entry,) = rejects(Path(SUITE_CONFIG["rejects_path"]))
        assert "stream 'test_record_missing_key_property' is not supported" in entry["reason"]
        assert "stream_maps" in entry["reason"]

    def test_target_multiple_state_messages(
        self, config: Any, resource: Any, runner: TargetTestRunner
    ) -> None:
        """Every STATE is passed on as soon as all records before it are handled.

        The SDK's expectation (three of the five STATE messages) follows from its drain
        timing; this target emits each STATE once every earlier record is written or
        rejected, so all five come out, in order.
        """
        runner.input_filepath = STREAMS / "multiple_state_messages.singer"
        runner.sync_all()
        assert runner.state_messages == [
            {"test_multiple_state_messages_a": 1, "test_multiple_state_messages_b": 0},
            {"test_multiple_state_messages_a": 2, "test_multiple_state_messages_b": 1},
            {"test_multiple_state_messages_a": 3, "test_multiple_state_messages_b": 2},
            {"test_multiple_state_messages_a": 5, "test_multiple_state_messages_b": 3},
            {"test_multiple_state_messages_a": 5, "test_multiple_state_messages_b": 6},
        ]
