"""Stateful search for lost updates with writer lanes and shared customers.

Each example is a sequence of runs of the real ``target-recras`` (``max_workers`` 3) against one
sandbox and one id map, through tests/support/fault_proxy.py. Owners EXT-0..EXT-2 each have a
customer of their own; a sharer, EXT-9, names an owner's customer by ``id`` (linking its main
contact, so the customer keeps its name and main contact) and writes its own data to it, in the
same runs as the owners' writes and in lanes of its own. Each run may meet one fault or SIGKILL
(tests/properties/test_skip_unchanged_lost_updates.py's triggers); a run that does not end well
is rerun with the input after its last STATE.

Which of two keys' writes to one customer lands last in a run is not defined, so the data
right after a run is not checked. What must hold: no customer is created twice, and a
*check run* (skip on, one writer, no fault) that first moves the sharer to a customer of
its own (EXT-8's) and then sends each owner's last record again leaves each owner's customer
with that record's data. A record skipped as unchanged while Recras holds the sharer's data
(a stale digest) fails it.

Bounded: ``derandomize=True``, few examples, no shrinking (``WRITER_LANES_EXAMPLES`` searches
longer locally).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from support.fault_proxy import Exchange, Fault, FaultProxy, Rule, Schedule
from support.lives.lost_updates import FAULTS, KILLS, Target, Trigger, by_naam, triggers
from support.target import customer, replay_from, run_target_ok, singer_input, target_config

from recras_sandbox.testing import SandboxProcess

EXAMPLES = int(os.environ.get("WRITER_LANES_EXAMPLES", "5"))
pytestmark = [pytest.mark.slow, pytest.mark.timeout(60 + 30 * EXAMPLES)]
SHARER = 9
#: A customer of its own that the sharer moves to before each check run.
PARKING = 8


@dataclass(frozen=True)
class Run:
    """One run: (writer, owner whose customer it writes, data version) steps, and a trigger."""

    steps: tuple[tuple[int, int, int], ...]
    trigger: Trigger | None = None
    #: The ``nth`` PUT of the first attempt is held 0.5 s ``before`` it reaches Recras or
    #: ``after`` Recras answered it, so that other lanes' writes pass it.
    slow: tuple[str, int] | None = None


def owner_record(who: int, version: int) -> dict[str, Any]:
    return customer(who, plaats=f"Plaats {version}", adres=f"Weg {version}")


def sharer_record(held: dict[str, Any], version: int) -> dict[str, Any]:
    main = {"id": held["contactpersonen"][0]["id"], "hoofdcontact": True}
    return customer(
        SHARER, naam=held["naam"], id=held["id"], plaats=f"Deel {version}", contactpersonen=[main]
    )


def input_lines(records: list[dict[str, Any]]) -> list[str]:
    schema = {"type": "object", "properties": {}}
    keys = ["external_id"]
    lines = [{"type": "SCHEMA", "stream": "klanten", "schema": schema, "key_properties": keys}]
    for n, item in enumerate(records, start=1):
        lines.append({"type": "RECORD", "stream": "klanten", "record": item})
        lines.append({"type": "STATE", "value": {"done": n}})
    return [json.dumps(line) + "\n" for line in lines]


def rules_for(trigger: Trigger | None, target: Target) -> list[Rule]:
    if trigger is None:
        return []
    if trigger.what in KILLS:
        fault = Fault.before_status(503) if trigger.what == "kill-before" else None
        return [Rule(trigger.method, nth=trigger.nth, fault=fault, hook=target.kill)]
    return [Rule(trigger.method, nth=trigger.nth, fault=FAULTS[trigger.what])]


def slow_rules(slow: tuple[str, int] | None) -> tuple[list[Rule], Schedule | None]:
    """The rule (answer held) or schedule (request held) for ``slow``."""
    if slow is None:
        return [], None
    when, nth = slow
    if when == "after":
        return [Rule("PUT", nth=nth, hook=lambda exchange: time.sleep(0.5))], None
    puts = itertools.count(1)

    def hold(exchange: Exchange) -> Fault | None:
        if exchange.method == "PUT" and next(puts) == nth:
            time.sleep(0.5)
        return None

    return [], hold


def play(runs: tuple[Run, ...], tmp: Path) -> None:
    target = Target()
    last: dict[int, int] = {}
    with SandboxProcess(customers=0) as sandbox:
        check_config = target_config(tmp, sandbox.config(), max_workers=1)
        run_target_ok(check_config, singer_input([owner_record(PARKING, 0)]))
        parking = by_naam(sandbox)[f"Klant {PARKING}"]
        for number, run in enumerate(runs):
            held = by_naam(sandbox)
            records = []
            for writer, owner, version in run.steps:
                if writer != SHARER:
                    records.append(owner_record(writer, version))
                elif f"Klant {owner}" in held:  # the sharer needs the customer to exist
                    records.append(sharer_record(held[f"Klant {owner}"], version))
            lines = input_lines(records)
            text = "".join(lines)
            history = [f"run {number}: {records}"]
            for attempt in range(3):
                rules, hold = slow_rules(run.slow) if attempt == 0 else ([], None)
                rules += rules_for(run.trigger, target) if attempt == 0 else []
                with FaultProxy(sandbox.base_url, rules=rules, schedule=hold) as proxy:
                    base = sandbox.config(base_url=proxy.base_url)
                    config = target_config(tmp, base, max_workers=3)
                    code, done, err = target.run(config, text)
                    history.append(f"attempt {attempt}: exit {code}, STATE {done}")
                    history.append(proxy.describe())
                    history += [line for line in err.splitlines() if "WARNING" in line]
                if code == 0:
                    break
                if done:
                    text = replay_from(lines, done[-1])
            else:
                pytest.fail("\n".join(history))
            for writer, _, version in run.steps:
                if writer != SHARER:
                    last[writer] = version
            report = "\n".join(history) + f"\nRecras: {sandbox.customers()}"
            owners = sorted(f"Klant {w}" for w in [*last, PARKING])
            assert sorted(by_naam(sandbox)) == owners, report
            assert len(sandbox.customers()) == len(owners), report
            # The sharer moves to the parking customer first: every owner's customer is then
            # no longer shared, so an owner's stale digest would skip its record.
            check = [sharer_record(parking, number)]
            check += [owner_record(who, version) for who, version in sorted(last.items())]
            stderr = run_target_ok(check_config, singer_input(check))
            report += "\ncheck run:\n" + stderr[-2000:]
            for who, version in last.items():
                got = by_naam(sandbox)[f"Klant {who}"]
                assert got["plaats"] == f"Plaats {version}", f"customer {who}\n{report}"


steps = st.lists(
    st.tuples(st.sampled_from([0, 1, 2, SHARER, SHARER]), st.integers(0, 2), st.integers(0, 2)),
    min_size=1,
    max_size=5,
).map(tuple)


slows = st.none() | st.tuples(st.sampled_from(["before", "after"]), st.integers(1, 3))


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    runs=st.lists(st.builds(Run, steps=steps, trigger=triggers, slow=slows), min_size=2, max_size=3)
)
def test_shared_customers_with_three_writers_lose_no_update(
    runs: list[Run], tmp_path_factory: pytest.TempPathFactory
) -> None:
    play(tuple(runs), tmp_path_factory.mktemp("lanes"))
