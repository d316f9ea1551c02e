"""Customer details: a 404 keeps the bookmark below the customer (issue 8, item 18), and
contact persons that are not a list of objects stop the run clearly (issue 8, item 17).

The real executable runs against a real sandbox behind a proxy that answers one detail 404,
and against a small hostile server whose list items carry malformed ``contactpersonen``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fault_proxy import Fault, FaultProxy, Rule
from hostile_server import HostileServer, Reply
from test_tap_e2e import bookmark

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import TapRun, make_catalog, run_tap

SandboxFactory = Callable[..., SandboxProcess]


def run_tap_with_one_detail_404(sandbox: SandboxProcess, gone: int) -> TapRun:
    """A tap run through a proxy that answers every detail request of customer ``gone`` 404."""
    rules = [Rule("GET", f"/api2/klanten/{gone}", nth=None, fault=Fault.before_status(404))]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        return run_tap(sandbox.config(base_url=proxy.base_url))


def test_detail_404_keeps_the_bookmark_below_the_customer_left_out(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=20)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[5]

    first = run_tap_with_one_detail_404(sandbox, gone)
    # The 404 was temporary: the next run, straight to the sandbox, must still get it.
    second = run_tap(sandbox.config(), state=first.last_state)

    assert first.returncode == 0, first.stderr
    assert gone not in [r["id"] for r in first.records("klanten")]
    assert bookmark(first.last_state) == gone - 1
    assert f"Customer {gone} was listed but its detail answered 404" in first.stderr
    assert "the bookmark stays below it" in first.stderr
    assert "will not list it again" not in first.stderr
    assert [r["id"] for r in second.records("klanten")] == truth[5:]
    assert gone in {r["klant_id"] for r in second.records("contactpersonen")}
    assert bookmark(second.last_state) == truth[-1]


def test_detail_404_of_a_customer_that_is_gone_lets_the_bookmark_move_on(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=10)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[2]
    first = run_tap_with_one_detail_404(sandbox, gone)
    sandbox.delete_customer(gone)

    second = run_tap(sandbox.config(), state=first.last_state)

    assert [r["id"] for r in second.records("klanten")] == truth[3:]
    assert bookmark(second.last_state) == truth[-1]


def hostile_list(items: list[Any], detail: Any = None) -> HostileServer:
    """Serves one customer list, and ``detail`` (else 404) for every customer's detail."""
    routes = {"GET /api2/klanten": Reply.json(items)}
    if detail is not None:
        routes["GET /api2/klanten/*"] = Reply.json(detail)
    return HostileServer(routes)


@pytest.mark.parametrize(
    ("persons", "problem"),
    [
        (["Jan"], "item 0 is str"),
        ([{"id": 1}, 5], "item 1 is int"),
        ("Jan", "got str"),
        ({"id": 1}, "got dict"),
    ],
)
def test_list_item_persons_that_are_not_objects_stop_the_run_naming_the_customer(
    persons: Any, problem: str
) -> None:
    with hostile_list([{"id": 7, "naam": "A", "contactpersonen": persons}]) as server:
        config = server.config(api_key="hostile-key")
        run = run_tap(config, catalog=make_catalog(config))

    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert (
        f"GET /api2/klanten, customer 7: contactpersonen is not a list of objects ({problem})"
        in last_line
    ), run.stderr[-2000:]
    assert run.records("klanten") == []


def test_detail_persons_that_are_not_objects_name_the_item() -> None:
    detail = {"id": 7, "contactpersonen": [None]}
    with hostile_list([{"id": 7, "naam": "A"}], detail=detail) as server:
        config = server.config(api_key="hostile-key")
        run = run_tap(config, catalog=make_catalog(config))

    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert "GET /api2/klanten/7: contactpersonen is not a list of objects (item 0 is NoneType)" in (
        last_line
    )
