"""``id>`` under both readings of the docs.

"The smallest id-value to allow" reads as ``>=`` (inclusive, the sandbox's default) but a
strict ``>`` is plausible too. The tap must give exactly the new customers, and exactly the
customers from ``start_id`` on, under either: the real executable against sandboxes in both
``id_min`` modes.
"""

from __future__ import annotations

import pytest
from support.sandbox import SandboxFactory

from tap_recras.testing import make_catalog, run_tap

READINGS = ["inclusive", "exclusive"]


@pytest.mark.slow
@pytest.mark.parametrize("reading", READINGS)
def test_incremental_run_gets_exactly_the_new_customers(
    sandbox_factory: SandboxFactory, reading: str
) -> None:
    sandbox = sandbox_factory(customers=20, id_min=reading)
    config = sandbox.config()
    first = run_tap(config)
    added = sandbox.add_customers(4)
    state = first.last_state
    assert state is not None
    # The bookmark right below the first new id (ids have gaps, so a real run's bookmark
    # may not be): the one case where the two readings differ.
    state["bookmarks"]["klanten"]["replication_key_value"] = added[0] - 1

    second = run_tap(config, state=state)

    assert second.returncode == 0, second.stderr
    assert [r["id"] for r in second.records("klanten")] == added
    assert {r["klant_id"] for r in second.records("contactpersonen")} == set(added)


@pytest.mark.parametrize("reading", READINGS)
def test_start_id_is_the_first_id_extracted(sandbox_factory: SandboxFactory, reading: str) -> None:
    sandbox = sandbox_factory(customers=15, id_min=reading)
    all_ids = [c["id"] for c in sandbox.customers()]
    config = sandbox.config(start_id=all_ids[6])

    run = run_tap(config, catalog=make_catalog(config, nested=False, persons=False))

    assert run.returncode == 0, run.stderr
    assert [r["id"] for r in run.records("klanten")] == all_ids[6:]


@pytest.mark.slow
@pytest.mark.parametrize("reading", READINGS)
def test_start_id_one_gets_every_customer(sandbox_factory: SandboxFactory, reading: str) -> None:
    sandbox = sandbox_factory(customers=5, id_min=reading)
    config = sandbox.config(start_id=1)

    run = run_tap(config, catalog=make_catalog(config, nested=False, persons=False))

    assert run.returncode == 0, run.stderr
    assert [r["id"] for r in run.records("klanten")] == [c["id"] for c in sandbox.customers()]
