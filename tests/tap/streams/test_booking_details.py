"""A listed booking whose detail answers 404 (its lines come from the detail) is handled as a
customer's is: left out and asked for once more by the next incremental run; asked again at
the end of a full-table run, whose version stays open if it is still missing.

The real tap runs against a sandbox whose booking list lacks the lines
(``booking_lines=detail``), behind the fault proxy, which answers one booking's detail 404.
"""

from __future__ import annotations

from typing import Any

from support.fault_proxy import Fault, FaultProxy, Rule
from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import TapRun, make_catalog, run_tap

STREAMS = ("boekingen", "boekingsregels")


def _run(
    sandbox: SandboxProcess, gone: int, method: str, state: dict[str, Any] | None = None
) -> TapRun:
    rule = Rule("GET", f"/api2/boekingen/{gone}", nth=None, fault=Fault.before_status(404))
    with FaultProxy(sandbox.base_url, rules=[rule]) as proxy:
        config = sandbox.config(base_url=proxy.base_url)
        catalog = make_catalog(
            config, persons=False, streams=STREAMS, methods={"boekingen": method}
        )
        return run_tap(config, catalog=catalog, state=state)


def _booking_ids(run: TapRun, stream: str = "boekingen") -> list[int]:
    key = "id" if stream == "boekingen" else "boeking_id"
    return sorted({r[key] for r in run.records(stream)})


def test_a_booking_whose_detail_answers_404_is_asked_for_again_by_the_next_run(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=10, bookings=12, booking_lines="detail")
    truth = sorted(b["id"] for b in sandbox.rows("boekingen"))
    gone = truth[4]

    first = _run(sandbox, gone, "INCREMENTAL")

    assert first.returncode == 0, first.stderr[-2000:]
    assert _booking_ids(first) == [i for i in truth if i != gone]
    assert _booking_ids(first, "boekingsregels") == [i for i in truth if i != gone]
    assert f"Booking {gone} was listed but its detail answered 404" in first.stderr
    assert first.last_state is not None
    assert first.last_state["bookmarks"]["boekingen"] == {
        "replication_key": "id",
        "replication_key_value": truth[-1],
        "not_found_ids": [gone],
    }
    config = sandbox.config()
    catalog = make_catalog(
        config, persons=False, streams=STREAMS, methods={"boekingen": "INCREMENTAL"}
    )

    second = run_tap(config, catalog=catalog, state=first.last_state)

    assert second.returncode == 0, second.stderr[-2000:]
    assert _booking_ids(second) == [gone]
    lines = sorted(r["id"] for r in sandbox.rows("boekingsregels") if r["boeking_id"] == gone)
    assert sorted(r["id"] for r in second.records("boekingsregels")) == lines
    assert second.last_state is not None
    assert "not_found_ids" not in second.last_state["bookmarks"]["boekingen"]


def test_a_full_table_booking_run_never_closes_its_version_over_a_booking_it_could_not_send(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=10, bookings=12, booking_lines="detail")
    gone = sandbox.rows("boekingen")[3]["id"]

    run = _run(sandbox, gone, "FULL_TABLE")

    assert run.returncode != 0
    assert gone not in _booking_ids(run)
    assert [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"] == []
    assert f"Booking(s) {gone} were listed but their detail answered 404" in run.stderr
