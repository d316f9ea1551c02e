"""A kill after a create's POST, before its answer is committed: the rerun neither doubles nor
loses the customer.

The id map commits a create's pending row before its ``POST``; the id from the answer is
queued and committed with the next change that must precede a request (any lane's next
``POST``, or ``PUT``), or before the next STATE. These tests SIGKILL the real
``target-recras`` inside that window, against a real sandbox with ``merge="never"`` unless
said otherwise, and rerun it on the same input (no STATE was emitted): the customer exists
exactly once, with the last record's data.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

from support.fault_proxy import Exchange, Fault, FaultProxy, Rule
from support.target import (
    SECRET_KEY,
    customer,
    run_target_ok,
    singer_input,
    start_target,
    states,
    target_config,
)

KEY = "source:external_id='EXT-1'"
#: Logged once the POST's answer is in the id map (queued): a contact person field that
#: ``/klanten`` does not take.
UNSENT = "field(s) hobby not sent"


def _map_rows(tmp_path: Path) -> dict[str, int | None]:
    """The id map's rows on disk (a killed run leaves its -wal beside it)."""
    with closing(sqlite3.connect(tmp_path / "id-map.sqlite3")) as reader:
        return dict(reader.execute("SELECT map_key, klant_id FROM id_map").fetchall())


def _wait_for_line(stream: Any, text: str, seen: threading.Event, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)
        if text in line:
            seen.set()


def test_a_kill_before_a_creates_answer_is_committed_leaves_it_pending_for_the_rerun(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    record = customer(1)
    record["contactpersonen"][0]["hobby"] = "zeilen"
    text = singer_input([record])
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    target = start_target(config)
    assert target.stdin is not None and target.stderr is not None
    seen, log = threading.Event(), []
    reader = threading.Thread(target=_wait_for_line, args=(target.stderr, UNSENT, seen, log))
    reader.start()
    # The input stays open: after the answer the target has nothing to do, so nothing else
    # is committed until the kill.
    target.stdin.write(text)
    target.stdin.flush()
    try:
        assert seen.wait(30), "".join(log)
    finally:
        target.kill()
        stdout, _ = target.communicate(timeout=30)
        reader.join(timeout=30)
    assert states(stdout) == []
    after_kill = _map_rows(tmp_path)

    stderr = run_target_ok(config, text)
    names = [item["naam"] for item in sandbox.customers()]
    assert names == ["Klant 1"], f"doubled or lost: {names}\n{stderr}"
    (klant_id,) = (item["id"] for item in sandbox.customers())
    assert _map_rows(tmp_path) == {KEY: klant_id}
    # The kill was inside the window: the create was pending on disk, and looked up.
    assert after_kill == {KEY: None}
    assert "were in flight when the previous run stopped" in stderr


def _merge_case(sandbox: Any) -> dict[str, Any]:
    """A seeded customer with a name and a main e-mail: a POST with both merges into it."""
    for item in sandbox.customers():
        main = item["contactpersonen"][0] if item["contactpersonen"] else {}
        if item["naam"] and main.get("email1"):
            return item
    raise AssertionError("the seed has no customer with a name and a main e-mail")


def test_a_put_after_a_merged_create_follows_its_committed_answer(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """The answer of a merged POST (id below the create's floor, so the rerun's look-up for a
    new customer cannot find it) must be on disk before a ``PUT`` that renames the customer:
    else the rerun loses the entry and creates the customer again under its old name.
    """
    sandbox = sandbox_factory(customers=5, api_key=SECRET_KEY, merge="name-email")
    existing = _merge_case(sandbox)
    before = {item["id"] for item in sandbox.customers()}
    main = existing["contactpersonen"][0]
    person = {"voornaam": main["voornaam"], "email1": main["email1"], "hoofdcontact": True}
    first = {"external_id": "EXT-1", "naam": existing["naam"], "contactpersonen": [person]}
    renamed = {**first, "naam": "Hernoemd BV"}
    text = singer_input([first, renamed])
    running: list[subprocess.Popen[str]] = []

    def kill(exchange: Exchange) -> None:
        running[0].kill()

    rules = [Rule("PUT", "/api2/klanten/*", nth=1, fault=Fault.after_drop(), hook=kill)]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=1)
        running.append(start_target(config))
        stdout, _ = running[0].communicate(text, timeout=60)
    assert running[0].returncode == -9, proxy.describe()
    assert states(stdout) == []
    after_kill = _map_rows(tmp_path)

    rerun = target_config(tmp_path, sandbox.config())
    stderr = run_target_ok(rerun, text)
    after = {item["id"]: item for item in sandbox.customers()}
    assert after.keys() == before, f"a customer was created again\n{stderr}"
    assert after[existing["id"]]["naam"] == "Hernoemd BV"
    assert after_kill == {KEY: existing["id"]}, proxy.describe()
