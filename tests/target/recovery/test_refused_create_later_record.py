"""A refused create left pending and a later record of its key in the same run.

The real ``target-recras`` against a real sandbox where POST never merges, through
tests/support/fault_proxy.py: the first POST is processed and its answer dropped, the look-up before
the retry is refused (400), so the record is rejected and its entry stays pending. A later
record with the same source key in the same run must not create the customer a second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Fault, FaultProxy, Rule
from support.target import SECRET_KEY, customer, rejects, run_target, singer_input, target_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.mark.parametrize("refusal", ["look-up-refused", "put-refused"])
def test_a_later_record_of_a_refused_pending_create_makes_no_second_customer(
    sandbox_factory: Any, tmp_path: Path, refusal: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    refused = {
        # GET 1 is the run's floor, GET 2 the look-up before the retry.
        "look-up-refused": Rule("GET", "/api2/klanten", nth=2, fault=Fault.before_status(400)),
        "put-refused": Rule("PUT", "/api2/klanten/*", nth=1, fault=Fault.before_status(409)),
    }[refusal]
    rules = [Rule("POST", "/api2/klanten", nth=1, fault=Fault.after_drop()), refused]
    records = [customer(1, plaats="Zeist"), customer(1, plaats="Baarn")]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        first = run_target(config, singer_input(records))
    assert len(proxy.faulted()) == 2, proxy.describe()
    rejected = [entry["record"] for entry in rejects(tmp_path / "rejects.jsonl")]
    assert records[0] in rejected, first.stderr[-3000:]
    # Whatever the target did with the second record, Recras holds one Klant 1 ...
    assert [item["naam"] for item in sandbox.customers()] == ["Klant 1"], proxy.describe()

    # ... also after the rerun, which holds the last record's data.
    config = target_config(tmp_path, sandbox.config())
    second = run_target(config, singer_input(records))
    assert second.returncode == 0, second.stderr[-3000:]
    held = sandbox.customers()
    assert [(item["naam"], item["plaats"]) for item in held] == [("Klant 1", "Baarn")], (
        second.stderr[-3000:]
    )
