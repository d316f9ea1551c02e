"""A keyless record that updates its customer keeps the id map entry until a STATE covers it.

A keyless record finds the customer an earlier record with its identity (name plus main
contact) created through the ``natural`` entry, and updates it. The entry is pruned once an
emitted STATE covers the record it names: that must be the latest record written through
it. Else a STATE that covers the creating record but not the update drops the entry, a
crash follows, and the rerun from that STATE, which replays the update, creates the customer
a second time. Real target, real sandbox (a POST never merges), the fault proxy to order the
writes and to kill the target once Recras processed the update.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from support.fault_proxy import Exchange, FaultProxy, Rule
from support.target import run_target, start_target, target_config

_EMAIL = "x@bron.example.com"


def _keyless(plaats: str) -> dict[str, Any]:
    person = {"voornaam": "Anna", "achternaam": "Bron", "email1": _EMAIL, "hoofdcontact": True}
    return {"naam": "Klant X", "plaats": plaats, "contactpersonen": [person]}


def _natural_entries_below(id_map: Path, seq: int) -> int:
    """How many ``natural`` entries name a record before input record ``seq`` (from 0)."""
    with sqlite3.connect(id_map) as db:
        query = "SELECT count(*) FROM id_map WHERE kind = 'natural' AND seq < ?"
        return int(db.execute(query, (seq,)).fetchone()[0])


def test_a_crash_after_a_keyless_update_does_not_create_the_customer_again(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=1, merge="never")
    seed_id = sandbox.customers()[0]["id"]
    schema = {"type": "SCHEMA", "stream": "klanten", "schema": {"type": "object", "properties": {}}}
    head = json.dumps({**schema, "key_properties": []}) + "\n"
    # Record 0 names a customer by id; its PUT is held, so the STATE after record 1 (which
    # creates X) is released only once record 2 (which updates X) is being written.
    named = {"id": seed_id, "plaats": "Ergens"}
    lines = [
        json.dumps({"type": "RECORD", "stream": "klanten", "record": named}),
        json.dumps({"type": "RECORD", "stream": "klanten", "record": _keyless("Zwolle")}),
        json.dumps({"type": "STATE", "value": {"done": 2}}),
        json.dumps({"type": "RECORD", "stream": "klanten", "record": _keyless("Deventer")}),
        json.dumps({"type": "STATE", "value": {"done": 3}}),
    ]
    id_map = tmp_path / "id-map.sqlite3"
    running: list[Any] = []
    update_processed, state_echoed = threading.Event(), threading.Event()

    def order_the_puts(exchange: Exchange) -> None:
        if exchange.path == f"/api2/klanten/{seed_id}":
            update_processed.wait(10)  # record 0 is answered once Recras updated X
            return
        update_processed.set()
        state_echoed.wait(10)
        # The STATE is emitted first and the entries it covers pruned after: wait for that.
        deadline = time.monotonic() + 10
        while _natural_entries_below(id_map, 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        running[0].kill()  # before the answer to record 2's PUT: its STATE never comes

    rules = [Rule("PUT", nth=None, hook=order_the_puts)]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=2)
        process = start_target(config)
        running.append(process)
        assert process.stdin and process.stdout
        process.stdin.write(head + "".join(line + "\n" for line in lines))
        process.stdin.flush()  # stdin stays open: the run ends by the kill
        echoed = json.loads(process.stdout.readline())
        state_echoed.set()
        process.wait(30)
        process.stdin.close()
    assert process.returncode == -9
    assert echoed == {"done": 2}  # the last STATE: record 2 (the update of X) is after it
    assert update_processed.is_set()

    # Rerun as an orchestrator does: the input after the last STATE emitted.
    rerun = run_target(target_config(tmp_path, sandbox.config()), head + lines[3] + "\n")

    assert rerun.returncode == 0, rerun.stderr[-2000:]
    x = [c for c in sandbox.customers() if c["contactpersonen"][0]["email1"] == _EMAIL]
    assert [c["plaats"] for c in x] == ["Deventer"], f"customer X in Recras: {x}"
