"""A create refused with a 4xx: forgotten only when no try of it may have created the customer.

The real ``target-recras`` against a real sandbox under the reading where POST never merges
(a second POST of the same record is a second customer), through tests/support/fault_proxy.py.

Recras documents 401, 403 and 406 as a POST's refusals: a 4xx the server really sends means
it created nothing, so the pending entry is dropped and the record rejected. That is pinned
with the sandbox's own 406. But a 4xx can also end a POST whose *earlier* try failed in a
way Recras may have processed (a dropped answer): the look-up before the retry, or the PUT of
the record to the customer it found, is refused. The refusal says nothing about that earlier
try, so the entry must stay pending: the rerun finds the customer instead of creating it
twice.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Fault, FaultProxy, Rule
from support.target import SECRET_KEY, customer, rejects, run_target, singer_input, target_config

pytestmark = pytest.mark.timeout(60)


def map_rows(tmp_path: Path) -> list[tuple[Any, ...]]:
    """Every id map row as (map_key, klant_id)."""
    with sqlite3.connect(tmp_path / "id-map.sqlite3") as db:
        return db.execute("SELECT map_key, klant_id FROM id_map").fetchall()


def test_a_create_the_server_refuses_with_406_is_forgotten_and_creates_nothing(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # Company 3 does not exist: only Recras can tell, and it answers 406 without creating.
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    config = target_config(tmp_path, sandbox.config())
    record = customer(1, bedrijf_id=3)
    for _ in range(2):  # the rerun replays it: refused again, still nothing created
        result = run_target(config, singer_input([record]))
        assert result.returncode == 0, result.stderr[-3000:]
        assert "1 rejected" in result.stderr
        assert "in flight when the previous run stopped" not in result.stderr
        assert sandbox.customers() == []
        assert map_rows(tmp_path) == []
    assert [entry["record"]["external_id"] for entry in rejects(tmp_path / "rejects.jsonl")] == [
        "EXT-1",
        "EXT-1",
    ]


REFUSALS = {
    # The look-up before the retry (GET 1 is the run's floor, GET 2 the look-up) is refused.
    "look-up-refused": Rule("GET", "/api2/klanten", nth=2, fault=Fault.before_status(400)),
    # The look-up finds the customer the lost POST made; the PUT of the record is refused.
    "put-refused": Rule("PUT", "/api2/klanten/*", nth=1, fault=Fault.before_status(409)),
}


@pytest.mark.slow
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refusal_after_a_try_that_may_have_created_keeps_the_create_pending(
    sandbox_factory: Any, tmp_path: Path, refusal: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    record = customer(1, plaats="Zeist")
    # The first POST is processed (the customer is created) and its answer dropped.
    rules = [Rule("POST", "/api2/klanten", nth=1, fault=Fault.after_drop()), REFUSALS[refusal]]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        first = run_target(config, singer_input([record]))
    assert len(proxy.faulted()) == 2, proxy.describe()
    assert first.returncode == 0, first.stderr[-3000:]
    assert "1 rejected" in first.stderr, first.stderr[-3000:]
    assert len(sandbox.customers()) == 1, proxy.describe()

    # The rerun (the record is still in the source) must find that customer, not make another.
    config = target_config(tmp_path, sandbox.config())
    second = run_target(config, singer_input([record]))
    assert second.returncode == 0, second.stderr[-3000:]
    held = sandbox.customers()
    assert [(item["naam"], item["plaats"]) for item in held] == [("Klant 1", "Zeist")], (
        second.stderr[-3000:]
    )
    assert map_rows(tmp_path) == [("source:external_id='EXT-1'", held[0]["id"])]
