"""A state written by an older tap-recras, with one contactpersonen partition per customer.

Before the child stream's state was made one entry (``state_partitioning_keys = []``), the
state held a partition per customer (62 MB of STATE output for 2,000 customers). Such a
state must still resume from its klanten bookmark, and its partitions, which no longer mean
anything, must not be carried into every STATE the tap writes from then on.
"""

from __future__ import annotations

import json

from support.sandbox import SandboxFactory

from tap_recras.testing import run_tap


def test_old_per_customer_partitions_are_dropped_and_the_bookmark_kept(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=30, id_min="exclusive", list_persons=True, shuffle=True)
    ids = sorted(c["id"] for c in sandbox.customers())
    bookmark = ids[19]
    old_partitions = [
        {"context": {"klant_id": klant_id}, "progress_markers": {"Note": "old"}}
        for klant_id in range(1, 3001)
    ]
    state = {
        "bookmarks": {
            "klanten": {"replication_key": "id", "replication_key_value": bookmark},
            "contactpersonen": {"partitions": old_partitions},
        }
    }

    run = run_tap(sandbox.config(), state=state, log_level="INFO")

    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(r["id"] for r in run.records("klanten")) == ids[20:]
    assert {r["klant_id"] for r in run.records("contactpersonen")} == set(ids[20:])
    assert run.last_state == {
        "bookmarks": {
            "klanten": {"replication_key": "id", "replication_key_value": ids[-1]},
            "contactpersonen": {},
        }
    }
    assert all(len(json.dumps(m["value"])) < 500 for m in run.of_type("STATE"))
