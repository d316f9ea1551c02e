"""A POST whose answer is lost: the record's data always reaches Recras, counted truthfully.

The real target runs against a real sandbox through
tests/support/fault_proxy.py, which fails the first POST either before forwarding it (503: Recras
never saw it) or after (the sandbox processed it, the connection drops: the answer is lost).
The record has a new source key and the name and main e-mail of an existing customer (the
documented merge case) with a new ``plaats``. Under every reading of the open points
(POST merges on name + e-mail or never merges; ``id>`` inclusive or strict) the record's data
must end up in Recras exactly once, and "created" is only counted for a customer that did
not exist before the POST.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Fault, FaultProxy, Rule
from support.target import SECRET_KEY, run_target, singer_input, target_config

from recras_sandbox.testing import SandboxProcess
from target_recras.id_map import IdMap, KeyKind
from target_recras.writes.matching import customer_identity

READINGS = [
    (merge, id_min) for merge in ("name-email", "never") for id_min in ("inclusive", "exclusive")
]
FAULTS = {"before-503": Fault.before_status(503), "after-drop": Fault.after_drop()}


def _existing(sandbox: SandboxProcess) -> dict[str, Any]:
    """A seeded customer with a name and a main contact e-mail (the merge case)."""
    for item in sandbox.customers():
        main = item["contactpersonen"][0]
        if item["naam"] and main.get("email1") and item["plaats"] != "Groningen":
            return item
    raise AssertionError("the seed has no customer with a name and a main e-mail")


def _record_for(existing: dict[str, Any]) -> dict[str, Any]:
    main = existing["contactpersonen"][0]
    return {
        "external_id": "CRM-NEW-1",
        "naam": existing["naam"],
        "plaats": "Groningen",
        "contactpersonen": [
            {"voornaam": main["voornaam"], "email1": main["email1"], "hoofdcontact": True}
        ],
    }


def _run_through_proxy(
    sandbox: SandboxProcess, tmp_path: Path, record: dict[str, Any], fault: Fault
) -> tuple[Any, FaultProxy]:
    rules = [Rule("POST", "/api2/klanten", nth=1, fault=fault)]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        result = run_target(config, singer_input([record], state_every=1))
    assert [exchange.fault for exchange in proxy.faulted()] == [fault], proxy.describe()
    return result, proxy


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize(("merge", "id_min"), READINGS)
def test_lost_post_answer_still_writes_the_record(
    sandbox_factory: Any, tmp_path: Path, fault_name: str, merge: str, id_min: str
) -> None:
    sandbox = sandbox_factory(customers=5, api_key=SECRET_KEY, merge=merge, id_min=id_min)
    existing = _existing(sandbox)
    before = {item["id"] for item in sandbox.customers()}
    result, proxy = _run_through_proxy(sandbox, tmp_path, _record_for(existing), FAULTS[fault_name])
    assert result.returncode == 0, result.stderr + proxy.describe()
    after = {item["id"]: item for item in sandbox.customers()}
    new_ids = sorted(after.keys() - before)
    if merge == "name-email":
        # Recras merges this POST into the existing customer: no new customer, the data there.
        assert new_ids == [], proxy.describe()
        assert after[existing["id"]]["plaats"] == "Groningen", proxy.describe()
        assert "0 created, 1 merged" in result.stderr
    else:
        # Every POST creates: exactly one new customer, with the record's data.
        assert len(new_ids) == 1, proxy.describe()
        assert after[new_ids[0]]["plaats"] == "Groningen"
        assert after[existing["id"]]["plaats"] == existing["plaats"]
        assert "1 created, 0 merged" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("id_min", ["inclusive", "exclusive"])
def test_lost_answer_of_the_very_first_customer_is_found(
    sandbox_factory: Any, tmp_path: Path, id_min: str
) -> None:
    # An empty Recras: the lost POST made customer 1, right at the floor of the look-up.
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never", id_min=id_min)
    record = {
        "external_id": "CRM-FIRST",
        "naam": "Eerste Klant",
        "contactpersonen": [{"voornaam": "Eva", "email1": "eva@example.com", "hoofdcontact": True}],
    }
    result, proxy = _run_through_proxy(sandbox, tmp_path, record, Fault.after_drop())
    assert result.returncode == 0, result.stderr
    customers = sandbox.customers()
    assert [item["naam"] for item in customers] == ["Eerste Klant"], proxy.describe()
    assert "1 created, 0 merged" in result.stderr


def _twin(existing: dict[str, Any], external_id: str, plaats: str) -> dict[str, Any]:
    """A record with ``existing``'s name and main e-mail under another source key."""
    return {**_record_for(existing), "external_id": external_id, "plaats": plaats}


def test_pending_create_is_never_resolved_to_a_customer_older_than_its_post(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # A previous run stopped after writing the pending entry, before its POST reached Recras.
    # Recras already had a customer with the same name and main e-mail (older than the POST).
    # Where POST never merges, the replay must create the customer, not take over the old one.
    sandbox = sandbox_factory(customers=5, api_key=SECRET_KEY, merge="never")
    existing = _existing(sandbox)
    record = _twin(existing, "CRM-PENDING", "Groningen")
    config = target_config(tmp_path, sandbox.config())
    id_map = IdMap.open(tmp_path / "id-map.sqlite3")
    highest = max(item["id"] for item in sandbox.customers())
    identity = customer_identity(record["naam"], record["contactpersonen"])
    id_map.begin_create(
        f"{KeyKind.SOURCE}:external_id='CRM-PENDING'", KeyKind.SOURCE, identity, 0, highest
    )
    id_map.close()

    result = run_target(config, singer_input([record], state_every=1))

    assert result.returncode == 0, result.stderr
    after = {item["id"]: item for item in sandbox.customers()}
    assert after[existing["id"]]["plaats"] == existing["plaats"], result.stderr
    new = [item for klant_id, item in after.items() if klant_id > highest]
    assert [item["plaats"] for item in new] == ["Groningen"], result.stderr


@pytest.mark.slow
def test_twin_creates_with_one_lost_answer_end_with_one_customer_each(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # Two records, two source keys, one name and main e-mail; POST never merges. One POST is
    # processed but its answer is held back; the other fails (503, not processed) and looks
    # for its customer meanwhile, finding the first one's. Reruns from the last STATE (as an
    # orchestrator would) must end with one customer per record, each with its data.
    sandbox = sandbox_factory(customers=5, api_key=SECRET_KEY, merge="never")
    existing = _existing(sandbox)
    records = [_twin(existing, "CRM-TWIN-A", "Assen"), _twin(existing, "CRM-TWIN-B", "Breda")]
    before = {item["id"] for item in sandbox.customers()}
    rules = [
        Rule("POST", "/api2/klanten", nth=1, hook=lambda exchange: time.sleep(2.0)),
        Rule("POST", "/api2/klanten", nth=2, fault=Fault.before_status(503)),
    ]
    outputs = []
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=2)
        for _ in range(3):  # bounded reruns; the input has no STATE, so each replays it all
            result = run_target(config, singer_input(records))
            outputs.append(result.stderr)
            if result.returncode == 0:
                break
    assert result.returncode == 0, "\n".join(outputs) + proxy.describe()
    after = {item["id"]: item for item in sandbox.customers()}
    new = sorted(item["plaats"] for klant_id, item in after.items() if klant_id not in before)
    assert new == ["Assen", "Breda"], "\n".join(outputs) + proxy.describe()
