"""Keyless records are created once, however a run ends, when the rerun replays its input.

A keyless record (no source key) is matched by name plus main contact, and the id map keeps
a ``natural`` entry for it only until an emitted STATE covers it: a rerun from the last
STATE sends the records after it again, and finds them there instead of creating them a
second time. Two ways an entry went too early, both found by the multi-run property tests of
the writers: a STATE released when a later record had finished first pruned that record's
entry too (the watermark, not the STATE's own position), and a successful run dropped every
entry at its end, also those of records after its last STATE. Real target, real sandbox,
the fault proxy to order the writes; under both merge readings, with records Recras cannot
merge (no name).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import FaultProxy, Rule
from support.target import run_target, start_target, target_config


def _keyless(naam: str, email: str) -> dict[str, Any]:
    person = {"voornaam": "Anna", "achternaam": "Bron", "email1": email, "hoofdcontact": True}
    return {"naam": naam, "plaats": "Zwolle", "contactpersonen": [person]}


@pytest.mark.slow
@pytest.mark.parametrize("merge", ["never", "name-email"])
def test_a_state_released_late_keeps_the_entries_of_records_after_it(
    sandbox_factory: Any, tmp_path: Path, merge: str
) -> None:
    sandbox = sandbox_factory(customers=1, merge=merge)
    seed_id = sandbox.customers()[0]["id"]
    # Record 1 names a customer by id (one PUT); record 2 is keyless (one POST). Without a
    # name, Recras cannot merge a repeated POST under either reading.
    second = _keyless("Klant B", "b@bron.example.com")
    if merge == "name-email":
        del second["naam"]
    schema = {"type": "SCHEMA", "stream": "klanten", "schema": {"type": "object", "properties": {}}}
    head = json.dumps({**schema, "key_properties": []}) + "\n"
    first = {"id": seed_id, "plaats": "Ergens"}
    lines = [
        json.dumps({"type": "RECORD", "stream": "klanten", "record": first}),
        json.dumps({"type": "STATE", "value": {"done": 1}}),
        json.dumps({"type": "RECORD", "stream": "klanten", "record": second}),
    ]
    post_answered = threading.Event()

    def hold_the_put(_: Any) -> None:  # the PUT of record 1 is answered after record 2 is done
        post_answered.wait(10)
        time.sleep(0.5)

    rules = [
        Rule("PUT", nth=1, hook=hold_the_put),
        Rule("POST", nth=1, hook=lambda _: post_answered.set()),
    ]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=2)
        process = start_target(config)
        assert process.stdin and process.stdout
        process.stdin.write(head + "".join(line + "\n" for line in lines))
        process.stdin.flush()  # stdin stays open: the run ends by the signal
        echoed = json.loads(process.stdout.readline())
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        rest = process.stdout.read()
        process.stdin.close()
    assert process.returncode == 143
    assert echoed == {"done": 1} and rest == ""  # the last safe STATE: record 2 is after it
    with sqlite3.connect(tmp_path / "id-map.sqlite3") as db:
        natural = db.execute("SELECT count(*) FROM id_map WHERE kind = 'natural'").fetchone()[0]
    # Rerun as an orchestrator does: the input after the last STATE echoed.
    rerun = run_target(target_config(tmp_path, sandbox.config()), head + lines[2] + "\n")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    with_email = [
        c["id"]
        for c in sandbox.customers()
        if c["contactpersonen"][0]["email1"] == "b@bron.example.com"
    ]
    assert len(with_email) == 1, (
        f"record 2 is in Recras {len(with_email)} times ({with_email}); natural id map "
        f"entries left after the stopped run: {natural}"
    )


@pytest.mark.parametrize("merge", ["never", "name-email"])
def test_a_run_that_ends_after_its_last_state_keeps_the_entries_of_records_after_it(
    sandbox_factory: Any, tmp_path: Path, merge: str
) -> None:
    sandbox = sandbox_factory(customers=0, merge=merge)
    schema = {"type": "SCHEMA", "stream": "klanten", "schema": {"type": "object", "properties": {}}}
    head = json.dumps({**schema, "key_properties": []}) + "\n"
    first, second = _keyless("Klant A", "a@bron.example.com"), _keyless("", "b@bron.example.com")
    del second["naam"]
    lines = [
        json.dumps({"type": "RECORD", "stream": "klanten", "record": first}),
        json.dumps({"type": "STATE", "value": {"done": 1}}),
        json.dumps({"type": "RECORD", "stream": "klanten", "record": second}),
    ]
    config = target_config(tmp_path, sandbox.config())
    run = run_target(config, head + "".join(line + "\n" for line in lines))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == json.dumps({"done": 1})

    rerun = run_target(config, head + lines[2] + "\n")  # what follows the last STATE

    assert rerun.returncode == 0, rerun.stderr[-2000:]
    emails = [c["contactpersonen"][0]["email1"] for c in sandbox.customers()]
    assert sorted(emails) == ["a@bron.example.com", "b@bron.example.com"]
