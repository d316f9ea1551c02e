"""Writer lanes still overlap under the id map's reentrant lock, and start-up lists nothing.

The real ``target-recras`` with ``max_workers`` 4 against a real sandbox through
tests/support/fault_proxy.py, which answers every ``PUT`` 1 s late and counts the requests in
flight: if the id map's lock were held while a request to Recras is in flight, the writes would
run one at a time. A run with no pending creates (nothing to recover) makes no listing at all.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pgcluster import PostgresCluster
from support.fault_proxy import Exchange, Fault, FaultProxy, Rule
from support.postgres import new_database
from support.target import SECRET_KEY, customer, run_target_ok, singer_input, target_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


class InFlight:
    """Counts the requests between reaching the proxy and being answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def arrived(self, exchange: Exchange) -> Fault | None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        return None

    def answered_late(self, exchange: Exchange) -> None:
        time.sleep(1.0)
        with self._lock:
            self.now -= 1


def test_slow_puts_of_four_lanes_overlap_and_nothing_is_listed(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    four_slow_puts(sandbox_factory, tmp_path)


@pytest.mark.timeout(120)
def test_postgres_slow_puts_of_four_lanes_overlap(
    pg_cluster: PostgresCluster, sandbox_factory: Any, tmp_path: Path
) -> None:
    """The same with the id map in PostgreSQL: its lock is held across statements that go
    over a network connection too."""
    four_slow_puts(sandbox_factory, tmp_path, id_map_url=new_database(pg_cluster, "lanes_slow"))


def four_slow_puts(sandbox_factory: Any, tmp_path: Path, **options: Any) -> None:
    """The check, with the id map given by ``options`` (default: SQLite in ``tmp_path``)."""
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=1, **options)
    run_target_ok(config, singer_input([customer(n) for n in range(1, 5)]))
    persons = {item["naam"]: item["contactpersonen"][0]["id"] for item in sandbox.customers()}
    linked = {n: [{"id": persons[f"Klant {n}"], "hoofdcontact": True}] for n in range(1, 5)}
    changed = [customer(n, plaats="Zeist", contactpersonen=linked[n]) for n in range(1, 5)]
    flight = InFlight()
    # Every request is counted and answered 1 s late.
    rules = [Rule("*", "*", nth=None, hook=flight.answered_late)]
    with FaultProxy(sandbox.base_url, rules=rules, schedule=flight.arrived) as proxy:
        through_proxy = sandbox.config(base_url=proxy.base_url)
        racing = target_config(tmp_path, through_proxy, max_workers=4, **options)
        started = time.monotonic()
        stderr = run_target_ok(racing, singer_input(changed))
        took = time.monotonic() - started
    assert [e.method for e in proxy.log] == ["PUT"] * 4, proxy.describe()
    assert "4 updated" in stderr, stderr[-3000:]
    # The four PUTs were in flight at once: no lock is held across a request.
    assert flight.most == 4, (flight.most, took, proxy.describe())
    assert {item["plaats"] for item in sandbox.customers()} == {"Zeist"}
