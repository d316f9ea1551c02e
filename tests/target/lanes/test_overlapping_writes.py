"""Writer lanes against the digests: a write overlapping another confirms none.

The real ``target-recras`` with ``max_workers`` 2 against a real sandbox through
tests/support/fault_proxy.py, whose ``schedule`` holds a request *before* forwarding it, so the
order in which Recras applies two writes to one customer is fixed.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pgcluster import PostgresCluster
from support.fault_proxy import Exchange, Fault, FaultProxy, Rule
from support.postgres import new_database
from support.target import (
    SECRET_KEY,
    customer,
    held_customer,
    run_target_ok,
    singer_input,
    start_target,
    target_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def hold_first_put_to(path: str, seconds: float, *, after_it: str) -> Any:
    """A schedule that holds the first ``PUT`` to ``path`` for ``seconds`` before forwarding.

    Requests to ``after_it`` wait until that PUT has arrived, so the order in which the
    lanes' requests reach Recras does not depend on how fast each lane starts.
    """
    seen = threading.Event()

    def schedule(exchange: Exchange) -> Fault | None:
        if exchange.method == "PUT" and exchange.path == path and not seen.is_set():
            seen.set()
            time.sleep(seconds)
        elif exchange.path == after_it:
            seen.wait(timeout=10)
        return None

    return schedule


def test_a_put_sent_while_another_keys_put_is_in_flight_keeps_no_digest(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    put_while_another_is_in_flight(sandbox_factory, tmp_path)


@pytest.mark.timeout(120)
def test_postgres_a_put_sent_while_another_is_in_flight_keeps_no_digest(
    pg_cluster: PostgresCluster, sandbox_factory: Any, tmp_path: Path
) -> None:
    """The same with the id map in PostgreSQL."""
    url = new_database(pg_cluster, "lanes_overlap")
    put_while_another_is_in_flight(sandbox_factory, tmp_path, id_map_url=url)


def put_while_another_is_in_flight(sandbox_factory: Any, tmp_path: Path, **options: Any) -> None:
    """The attack, with the id map given by ``options`` (default: SQLite in ``tmp_path``)."""
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=1, **options)
    run_target_ok(config, singer_input([customer(1), customer(2)]))
    ids = {item["naam"]: item for item in sandbox.customers()}
    shared, elsewhere = ids["Klant 1"]["id"], ids["Klant 2"]["id"]
    linked = [{"id": ids["Klant 1"]["contactpersonen"][0]["id"], "hoofdcontact": True}]
    first = customer(1, plaats="Amersfoort", contactpersonen=linked)  # no GET before its PUT
    # EXT-9 names customer 1 by id (no id map entry yet): its PUT is sent first and held
    # 2 s before it reaches Recras, which applies it last; then the target is killed, so
    # EXT-9's entry is never written.
    other = customer(9, naam="Klant 1", plaats="Zeist", id=shared, contactpersonen=linked)
    # EXT-2's requests wait until EXT-9's PUT has arrived, and its PUT is answered 0.7 s
    # late: only then does EXT-1's lane start (2 workers), after EXT-9's PUT was sent, and
    # its PUT reaches Recras at once. Its person changed (a first name), so its first
    # request is the GET that links her, not its PUT.
    slow = customer(2, plaats="Baarn")
    slow["contactpersonen"][0]["voornaam"] = "Anne"
    running: list[subprocess.Popen[str]] = []

    def kill(exchange: Exchange) -> None:
        running[0].kill()

    rules = [
        Rule("PUT", f"/api2/klanten/{elsewhere}", hook=lambda exchange: time.sleep(0.7)),
        # Called once Recras answered EXT-9's held PUT (the first to arrive).
        Rule("PUT", f"/api2/klanten/{shared}", nth=1, hook=kill),
    ]
    schedule = hold_first_put_to(
        f"/api2/klanten/{shared}", 2.0, after_it=f"/api2/klanten/{elsewhere}"
    )
    with FaultProxy(sandbox.base_url, rules=rules, schedule=schedule) as proxy:
        through_proxy = sandbox.config(base_url=proxy.base_url)
        racing = target_config(tmp_path, through_proxy, max_workers=2, **options)
        running.append(start_target(racing))
        running[0].communicate(singer_input([other, slow, first]), timeout=30)
    assert running[0].returncode == -9, proxy.describe()
    puts = [e.path for e in proxy.log if e.method == "PUT"]
    assert puts == [f"/api2/klanten/{p}" for p in (shared, elsewhere, shared)], proxy.describe()
    # Recras applied EXT-9's PUT last: it holds Zeist.
    assert held_customer(sandbox, shared)["plaats"] == "Zeist", proxy.describe()

    # EXT-9 now names the other customer; EXT-1 sends its record unchanged. Recras holds
    # Zeist, so it must be sent.
    moved = customer(9, naam="Klant 2", plaats="Zeist", id=elsewhere)
    stderr = run_target_ok(config, singer_input([moved, first]))
    assert held_customer(sandbox, shared)["plaats"] == "Amersfoort", stderr[-3000:]
