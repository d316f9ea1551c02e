"""A listed customer whose detail answers 404, and a customer listed twice.

The real tap runs against a real sandbox behind the fault proxy, which answers the detail of
one customer 404 (every time, or once). Incremental runs leave it out, move on, and ask for
it once more in the next run, then give it up with an ERROR; nothing else is read twice. A
full-table run asks again at its end, and never closes its version over a customer it listed
but could not send.
"""

from __future__ import annotations

from typing import Any

from support.fault_proxy import Fault, FaultProxy, Rule
from support.hostile_server import HostileServer, Reply
from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import TapRun, make_catalog, run_tap


def _run(
    sandbox: SandboxProcess,
    gone: int,
    *,
    state: dict[str, Any] | None = None,
    every_time: bool = True,
    full_table: bool = False,
) -> TapRun:
    """A tap run through a proxy whose answer to customer ``gone``'s detail is 404."""
    nth = None if every_time else 1
    rule = Rule("GET", f"/api2/klanten/{gone}", nth=nth, fault=Fault.before_status(404))
    with FaultProxy(sandbox.base_url, rules=[rule]) as proxy:
        config = sandbox.config(base_url=proxy.base_url)
        catalog = make_catalog(config, full_table="metadata") if full_table else None
        return run_tap(config, state=state, catalog=catalog)


def _bookmark(run: TapRun) -> dict[str, Any]:
    assert run.last_state is not None
    entry: dict[str, Any] = run.last_state["bookmarks"]["klanten"]
    return entry


def _ids(run: TapRun, stream: str = "klanten") -> list[int]:
    key = "id" if stream == "klanten" else "klant_id"
    return [r[key] for r in run.records(stream)]


def test_a_detail_404_is_asked_again_by_the_next_run_and_nothing_else_is_read_twice(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=20)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[5]

    first = _run(sandbox, gone)
    assert first.returncode == 0, first.stderr[-2000:]
    assert _ids(first) == [i for i in truth if i != gone]
    assert f"Customer {gone} was listed but its detail answered 404" in first.stderr
    assert _bookmark(first) == {
        "replication_key": "id",
        "replication_key_value": truth[-1],
        "not_found_ids": [gone],
    }

    # The 404 passed: the next run sends that customer (with its persons), and only it.
    added = sandbox.add_customers(2)
    second = run_tap(sandbox.config(), state=first.last_state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert _ids(second) == [gone, *added]
    assert gone in _ids(second, "contactpersonen")
    listed = {c["id"]: c for c in sandbox.customers()}
    assert second.records("klanten")[0]["naam"] == listed[gone]["naam"]
    assert _bookmark(second) == {"replication_key": "id", "replication_key_value": added[-1]}


def test_a_customer_not_read_is_asked_for_again_without_contact_persons_selected(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=10)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[3]
    first = _run(sandbox, gone)
    config = sandbox.config()

    second = run_tap(
        config, state=first.last_state, catalog=make_catalog(config, nested=False, persons=False)
    )

    assert second.returncode == 0, second.stderr[-2000:]
    assert _ids(second) == [gone]
    assert "contactpersonen" not in second.records("klanten")[0]
    assert _bookmark(second) == {"replication_key": "id", "replication_key_value": truth[-1]}


def test_a_detail_404_in_two_runs_in_a_row_is_given_up_with_an_error(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=10)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[2]

    first = _run(sandbox, gone)
    second = _run(sandbox, gone, state=first.last_state)

    assert second.returncode == 0, second.stderr[-2000:]
    assert _ids(second) == []
    error = next(line for line in second.stderr.splitlines() if "given up" in line)
    assert "ERROR" in error and str(gone) in error
    assert _bookmark(second) == {"replication_key": "id", "replication_key_value": truth[-1]}
    third = run_tap(sandbox.config(), state=second.last_state)
    assert _ids(third) == []


def test_a_full_table_run_asks_again_at_its_end_and_closes_its_version(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=10)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[4]

    run = _run(sandbox, gone, every_time=False, full_table=True)

    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(_ids(run)) == truth
    assert _ids(run)[-1] == gone  # sent after the others, when asked again
    activations = [m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert sorted(activations) == ["contactpersonen", "klanten"]


def test_a_full_table_run_never_closes_its_version_over_a_customer_it_could_not_send(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=10)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[4]

    run = _run(sandbox, gone, full_table=True)

    assert run.returncode != 0
    assert gone not in _ids(run)
    # No version is activated: a target drops nothing for this run.
    assert [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"] == []
    assert f"Customer(s) {gone} were listed but their detail answered 404" in run.stderr


def test_a_customer_listed_twice_is_sent_once() -> None:
    items = [{"id": 5, "naam": "A"}, {"id": 7, "naam": "B"}, {"id": 7, "naam": "B"}]
    detail = {"contactpersonen": [{"id": 1, "voornaam": "P"}]}
    with HostileServer(
        {"GET /api2/klanten": Reply.json(items), "GET /api2/klanten/*": Reply.json(detail)}
    ) as server:
        run = run_tap(server.config(api_key="listed-twice-key"))

    assert run.returncode == 0, run.stderr[-2000:]
    assert _ids(run) == [5, 7]
    assert _ids(run, "contactpersonen") == [5, 7]
