"""Two writer lanes writing one customer at once: neither keeps a digest the other outdated.

The real ``target-recras`` with ``max_workers`` 2 against a real sandbox, through
tests/support/fault_proxy.py, which fixes the interleaving: EXT-1's ``PUT`` reaches Recras first and
its answer is held back; meanwhile EXT-9 (a record naming the same customer by ``id``) reads
the customer and writes its ``PUT``, which Recras applies last and answers at once. When
EXT-1's answer finally arrives, Recras holds EXT-9's data, so EXT-1 must not keep a digest of
its own payload: once EXT-9 names another customer, EXT-1's unchanged record would be
skipped and Recras would keep EXT-9's data.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import FaultProxy, Rule
from support.target import (
    SECRET_KEY,
    customer,
    held_customer,
    run_target_ok,
    singer_input,
    target_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def test_a_put_answered_after_another_keys_put_to_its_customer_keeps_no_digest(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    run_target_ok(config, singer_input([customer(1), customer(2)]))
    ids = {item["naam"]: item for item in sandbox.customers()}
    shared, elsewhere = ids["Klant 1"]["id"], ids["Klant 2"]["id"]
    person = ids["Klant 1"]["contactpersonen"][0]["id"]
    # Linked by id, EXT-1's contact needs no read first: its lane sends only its PUT.
    first = customer(1, plaats="Amersfoort", contactpersonen=[{"id": person, "hoofdcontact": True}])
    # A new contact person: EXT-9's lane reads the customer (GET) before its PUT.
    other = customer(9, naam="Klant 1", plaats="Zeist", id=shared)
    rules = [
        # Applied at once, answered 2.5 s later: the first PUT is EXT-1's (EXT-9 is reading).
        Rule("PUT", "/api2/klanten/*", nth=1, hook=lambda exchange: time.sleep(2.5)),
        # EXT-9's read is answered 1 s late, so its PUT follows EXT-1's.
        Rule("GET", "/api2/klanten/*", nth=1, hook=lambda exchange: time.sleep(1.0)),
    ]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        racing = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=2)
        run_target_ok(racing, singer_input([first, other]))
    # One read (EXT-9's), two PUTs; Recras applied EXT-9's last, so the held one was EXT-1's.
    assert [e.method for e in proxy.log].count("GET") == 1, proxy.describe()
    assert [e.method for e in proxy.log].count("PUT") == 2, proxy.describe()
    assert held_customer(sandbox, shared)["plaats"] == "Zeist", proxy.describe()

    # EXT-9 now names the other customer; EXT-1 sends its record unchanged. Recras holds
    # Zeist, so it must be sent.
    moved = customer(9, naam="Klant 2", plaats="Zeist", id=elsewhere)
    stderr = run_target_ok(config, singer_input([moved, first]))
    assert held_customer(sandbox, shared)["plaats"] == "Amersfoort", stderr[-3000:]
