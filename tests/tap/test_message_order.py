"""Every message of a stream comes after that stream's SCHEMA.

A Singer target builds a stream's table from its SCHEMA; MeltanoLabs' target-postgres fails
with ``KeyError: 'contactpersonen'`` on an ACTIVATE_VERSION it has no SCHEMA for. The real
``tap-recras`` runs against a real sandbox, and the order is checked on its output.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.sandbox import SandboxFactory

from tap_recras.testing import make_catalog, run_tap


def assert_schema_first(messages: list[dict[str, Any]]) -> None:
    """Fail naming the first message that comes before its stream's SCHEMA."""
    schemas: set[str] = set()
    for index, message in enumerate(messages):
        stream = message.get("stream")
        if message["type"] == "SCHEMA":
            schemas.add(message["stream"])
        elif stream is not None:
            assert stream in schemas, f"message {index} ({message['type']}) before SCHEMA {stream}"


def versions_of(messages: list[dict[str, Any]], stream: str) -> list[int]:
    return [
        m["version"] for m in messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
    ]


def test_full_table_run_sends_each_schema_before_its_activate_version(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=12)
    config = sandbox.config()

    run = run_tap(config, catalog=make_catalog(config, full_table="metadata"))

    assert run.returncode == 0, run.stderr
    assert_schema_first(run.messages)
    assert len(run.records("contactpersonen")) > 0
    for stream in ("klanten", "contactpersonen"):
        assert len(versions_of(run.messages, stream)) == 1


@pytest.mark.slow
def test_full_table_run_without_customers_still_sends_the_child_schema_first(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=5)
    last_id = max(c["id"] for c in sandbox.customers())
    # No customer at or above start_id: neither stream has a record.
    config = sandbox.config(start_id=last_id + 1000)

    run = run_tap(config, catalog=make_catalog(config, full_table="metadata"))

    assert run.returncode == 0, run.stderr
    assert run.records("klanten") == [] and run.records("contactpersonen") == []
    assert_schema_first(run.messages)
    # The empty version is still activated: a target then drops every older contact person.
    assert len(versions_of(run.messages, "contactpersonen")) == 1


@pytest.mark.slow
def test_full_table_run_sends_the_child_schema_once_and_first(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=3)
    config = sandbox.config()
    catalog = make_catalog(config, nested=False, persons=True, full_table="both")

    run = run_tap(config, catalog=catalog)

    assert run.returncode == 0, run.stderr
    assert_schema_first(run.messages)
    schemas = [m["stream"] for m in run.of_type("SCHEMA")]
    assert schemas.count("contactpersonen") == 1  # the writer still sends it once
