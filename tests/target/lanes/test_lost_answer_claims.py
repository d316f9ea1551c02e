"""Two lanes' look-ups after lost POST answers must not claim the same new customer.

The real ``target-recras`` (``max_workers`` 2) against a real sandbox where POST never
merges, through tests/support/fault_proxy.py. Two source keys send the same name and main contact
(two customers under this reading); both POSTs are processed and their answers dropped, so
both lanes look for the customer their POST made, at the same time. Each must take a
customer of its own. Both took the newest one (the claim was checked, but only stored
after the PUT), and the second 201 for one id stopped the run as an answer that "cannot be
trusted", leaving both creates pending for a rerun.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Fault, FaultProxy, Rule
from support.target import SECRET_KEY, customer, run_target_ok, singer_input, target_config

pytestmark = pytest.mark.timeout(60)


def test_two_lost_posts_of_one_identity_claim_two_customers(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    first = customer(1, plaats="Zeist")
    twin = customer(2, naam="Klant 1", plaats="Baarn", contactpersonen=first["contactpersonen"])
    rules = [
        # Both POSTs are processed; their answers are dropped 0.5 s later, so both lanes'
        # look-ups see both new customers.
        Rule(
            "POST",
            "/api2/klanten",
            nth={1, 2},
            fault=Fault.after_drop(),
            hook=lambda e: time.sleep(0.5),
        ),
        # The PUTs to the customers found are answered late: neither lane has stored its
        # claim when the other one looks.
        Rule("PUT", "/api2/klanten/*", nth=None, hook=lambda e: time.sleep(1.0)),
    ]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=2)
        stderr = run_target_ok(config, singer_input([first, twin]))
    assert len(sandbox.customers()) == 2, proxy.describe()
    with sqlite3.connect(tmp_path / "id-map.sqlite3") as db:
        rows = dict(db.execute("SELECT map_key, klant_id FROM id_map").fetchall())
    assert len(set(rows.values())) == 2, (rows, proxy.describe(), stderr[-3000:])
    held = {item["id"]: item["plaats"] for item in sandbox.customers()}
    assert {held[rows[f"source:external_id='EXT-{n}'"]] for n in (1, 2)} == {"Zeist", "Baarn"}
