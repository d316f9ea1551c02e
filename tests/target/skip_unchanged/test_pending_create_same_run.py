"""A create left pending in a run: a same-identity key's unchanged record is sent, not skipped.

The real ``target-recras`` and sandbox (POST merges on name + main e-mail, the default
reading), through tests/support/fault_proxy.py. EXT-2 has EXT-1's name and main contact: its POST is
processed (merged into EXT-1's customer, whose data it changes) and its answer dropped, and
the look-up before the retry is refused, so EXT-2 is rejected and left pending. EXT-1's record
later in the same run is the one last confirmed, but Recras no longer holds it: it must be
written again. Skipped, the change would wait for the next run's recovery, and a source that
never sends EXT-1 again (incremental) would leave EXT-2's data on EXT-1's customer for good.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Fault, FaultProxy, Rule
from support.target import (
    SECRET_KEY,
    customer,
    held_customer,
    run_target,
    run_target_ok,
    singer_input,
    target_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def test_an_unchanged_record_is_sent_while_a_create_with_its_identity_is_left_pending(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    owner = customer(1, plaats="Amersfoort")
    run_target_ok(target_config(tmp_path, sandbox.config(), max_workers=1), singer_input([owner]))
    (klant_id,) = (item["id"] for item in sandbox.customers())

    twin = customer(2, naam=owner["naam"], contactpersonen=owner["contactpersonen"])
    twin["plaats"] = "Zeist"
    rules = [
        Rule("POST", "/api2/klanten", nth=1, fault=Fault.after_drop()),
        # GET 1 is the run's floor, GET 2 the look-up before the retry.
        Rule("GET", "/api2/klanten", nth=2, fault=Fault.before_status(400)),
    ]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=1)
        run = run_target(config, singer_input([twin, owner]))
    assert len(proxy.faulted()) == 2, proxy.describe()
    assert "1 rejected" in run.stderr, run.stderr[-3000:]
    assert held_customer(sandbox, klant_id)["plaats"] == "Amersfoort", run.stderr[-3000:]
    assert "0 unchanged (skipped)" in run.stderr
