"""Customers without a name (private persons) are found again after a lost POST answer.

``naam`` is optional in the Recras docs. A customer created without one may come back with
``naam`` null or ``""``; a missing, null, empty or blank name is one and the same "no name".
The real ``target-recras`` against a real sandbox, under both merge readings (a nameless POST
merges into nothing in the sandbox, so every lost create must be found, not sent again):
through tests/support/fault_proxy.py, the first POST is processed and its answer lost (the look-up
before the retry must find it), or the target is killed while the sandbox handles it (the
rerun's look-up of its pending create must find it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Fault, FaultProxy, Rule
from support.target import (
    SECRET_KEY,
    RecrasStub,
    customer,
    run_killed_at_first_post,
    run_target,
    run_target_ok,
    singer_input,
    target_config,
)

from recras_sandbox.testing import SandboxProcess
from target_recras.writes.matching import customer_identity, matches_identity
from target_recras.writes.recovery import find_created

pytestmark = pytest.mark.timeout(90)

MERGES = ["name-email", "never"]
#: How a record leaves its name out: (label, fields to set; None means "drop naam").
NAMELESS = {
    "missing": None,
    "null": {"naam": None},
    "empty": {"naam": ""},
    "blank": {"naam": "  "},
}


def _nameless(n: int, how: str) -> dict[str, Any]:
    record = customer(n, plaats="Groningen")
    fields = NAMELESS[how]
    if fields is None:
        del record["naam"]
    else:
        record.update(fields)
    return record


def _new_customers(sandbox: SandboxProcess, before: set[int]) -> list[dict[str, Any]]:
    return [item for item in sandbox.customers() if item["id"] not in before]


@pytest.mark.parametrize("how", list(NAMELESS))
@pytest.mark.parametrize("merge", MERGES)
def test_a_nameless_create_whose_answer_was_lost_is_created_once(
    sandbox_factory: Any, tmp_path: Path, merge: str, how: str
) -> None:
    # Seeded customers include nameless ones with other main contacts: none of them is it.
    sandbox = sandbox_factory(customers=60, api_key=SECRET_KEY, merge=merge)
    before = {item["id"] for item in sandbox.customers()}
    rules = [Rule("POST", "/api2/klanten", nth=1, fault=Fault.after_drop())]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        result = run_target(config, singer_input([_nameless(1, how)], state_every=1))
    assert [e.forwarded for e in proxy.faulted()] == [True], proxy.describe()
    assert result.returncode == 0, result.stderr[-3000:]
    new = _new_customers(sandbox, before)
    assert [item["plaats"] for item in new] == ["Groningen"], proxy.describe()
    assert "1 created, 0 merged" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("how", ["missing", "empty"])
@pytest.mark.parametrize("merge", MERGES)
def test_a_nameless_create_killed_during_its_post_is_found_by_the_rerun(
    sandbox_factory: Any, tmp_path: Path, merge: str, how: str
) -> None:
    sandbox = sandbox_factory(customers=60, api_key=SECRET_KEY, merge=merge)
    before = {item["id"] for item in sandbox.customers()}
    text = singer_input([_nameless(1, how)], state_every=1)
    run_killed_at_first_post(sandbox, tmp_path, text)
    assert len(_new_customers(sandbox, before)) == 1

    stderr = run_target_ok(target_config(tmp_path, sandbox.config()), text)
    new = _new_customers(sandbox, before)
    assert [item["plaats"] for item in new] == ["Groningen"], stderr[-3000:]
    assert "is customer" in stderr, stderr[-3000:]


# -- the look-up itself: Recras may answer null or "" for a customer created without a name --


PERSONS = [{"voornaam": "Eva", "email1": "eva@example.com", "hoofdcontact": True}]


@pytest.mark.parametrize("sent", [None, "", " \t"])
@pytest.mark.parametrize("shown", [None, "", "  ", "missing"])
def test_no_name_sent_matches_no_name_shown_in_every_spelling(sent: Any, shown: Any) -> None:
    detail: dict[str, Any] = {
        "id": 7,
        "naam": shown,
        "contactpersonen": [{"id": 70, "email1": "eva@example.com", "hoofdcontact": True}],
    }
    if shown == "missing":
        del detail["naam"]
    identity = customer_identity(sent, PERSONS)
    assert matches_identity(identity, detail)
    client: Any = RecrasStub([detail, {**detail, "id": 8, "naam": "Familie Eva"}])
    assert find_created(client, [identity]) == {identity: [7]}


def test_a_name_never_matches_no_name() -> None:
    detail = {
        "id": 7,
        "naam": None,
        "contactpersonen": [{"id": 70, "email1": "eva@example.com", "hoofdcontact": True}],
    }
    assert not matches_identity(customer_identity("Familie Eva", PERSONS), detail)
    assert not matches_identity(customer_identity(None, PERSONS), {**detail, "naam": "Eva"})
