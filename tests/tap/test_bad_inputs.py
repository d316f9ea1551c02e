"""A state or catalog the tap cannot use stops the run, saying what is wrong.

The real executable is given each bad input; it must exit non-zero before any request, with
the last line of its log naming the entry and its value, and send no message.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import TapRun, make_catalog, run_tap


def klanten_state(value: Any) -> dict[str, Any]:
    return {"bookmarks": {"klanten": {"replication_key": "id", "replication_key_value": value}}}


def assert_refused(run: TapRun, sandbox: SandboxProcess, *expected: str) -> None:
    last_line = run.stderr.strip().splitlines()[-1]
    assert run.returncode != 0
    for text in expected:
        assert text in last_line, run.stderr[-2000:]
    assert "TapInputError" in last_line
    assert run.messages == []
    assert not sandbox.stats()["requests"]  # refused before asking Recras anything


@pytest.mark.parametrize(
    ("state", "where", "shown"),
    [
        (klanten_state("abc"), "bookmarks.klanten.replication_key_value", 'got "abc"'),
        (klanten_state([3, 4]), "bookmarks.klanten.replication_key_value", "got [3, 4]"),
        (klanten_state(10**29), "bookmarks.klanten.replication_key_value", f"got {10**29}"),
        (klanten_state(-5), "bookmarks.klanten.replication_key_value", "got -5"),
        (klanten_state(True), "bookmarks.klanten.replication_key_value", "got true"),
        ({"bookmarks": {"klanten": None}}, "bookmarks.klanten must be an object", "got null"),
        ({"bookmarks": None}, "bookmarks must be an object", "got null"),
        ([{"bookmarks": {}}], "the state must be a JSON object", "got a list"),
        (
            {"bookmarks": {"klanten": {"progress_markers": [1]}}},
            "bookmarks.klanten.progress_markers must be an object",
            "got [1]",
        ),
        (
            {"bookmarks": {"contactpersonen": {"partitions": [7]}}},
            "bookmarks.contactpersonen.partitions must be a list of objects",
            "got [7]",
        ),
    ],
)
def test_unusable_state_is_refused_naming_the_entry(
    sandbox_factory: SandboxFactory, state: Any, where: str, shown: str
) -> None:
    sandbox = sandbox_factory(customers=3)

    run = run_tap(sandbox.config(), state=state)

    assert_refused(run, sandbox, "The state is not usable", where, shown, "clear the state")


def test_a_good_state_still_resumes(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(customers=6)
    ids = [c["id"] for c in sandbox.customers()]
    config = sandbox.config()

    run = run_tap(config, state=klanten_state(ids[3]), catalog=make_catalog(config, nested=False))

    assert run.returncode == 0, run.stderr
    assert [r["id"] for r in run.records("klanten")] == ids[4:]


@pytest.mark.parametrize(
    ("where", "method"),
    [("metadata", "FOO"), ("metadata", "LOG_BASED"), ("entry", "FOO"), ("forced", "full_table")],
)
def test_unknown_replication_method_is_refused(
    sandbox_factory: SandboxFactory, where: str, method: str
) -> None:
    sandbox = sandbox_factory(customers=3)
    config = sandbox.config()
    catalog = make_catalog(config)
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "klanten")
    stream_metadata = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
    if where == "entry":
        entry["replication_method"] = method
    else:
        key = "replication-method" if where == "metadata" else "forced-replication-method"
        stream_metadata[key] = method

    run = run_tap(config, catalog=catalog)

    assert_refused(run, sandbox, f'"{method}" for stream klanten', "INCREMENTAL and FULL_TABLE")
    if method == "LOG_BASED":
        assert "no change log" in run.stderr


def test_start_id_beyond_any_possible_id_is_a_config_error(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=3)

    run = run_tap(sandbox.config(start_id=10**29))

    assert run.returncode != 0
    assert "start_id" in run.stderr
    assert run.messages == []
