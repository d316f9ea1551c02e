"""Merges are visible: each is logged, and two source keys on one customer are warned about.

CRM-A and CRM-B carry the same name and main e-mail: under the sandbox's
default reading Recras merges CRM-B's POST into CRM-A's customer (200), and from then on both
source keys write to that one customer, overwriting each other. The real target must log the
merge (input line, source key, customer id), warn that the customer is already mapped to
another source key -- on the first run and on every later run -- and show both in the summary.
Under the reading where POST never merges, the two are separate customers and nothing is said.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.target import SECRET_KEY, customer, run_target, singer_input, target_config

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("merge", ["name-email", "never"])
def test_merge_is_logged_and_a_shared_customer_is_warned(
    sandbox_factory: Any, tmp_path: Path, merge: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge=merge)
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    crm_a = customer(1, external_id="CRM-A", plaats="Utrecht")
    crm_b = customer(1, external_id="CRM-B", plaats="Groningen")
    text = singer_input([crm_a, crm_b])
    first = run_target(config, text)
    second = run_target(config, text)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    ids = [item["id"] for item in sandbox.customers()]
    if merge == "never":
        assert len(ids) == 2
        assert "2 created, 0 merged" in first.stderr
        for result in (first, second):
            assert "merged into" not in result.stderr
            assert "already mapped" not in result.stderr
            assert "written by several source keys" not in result.stderr
        return
    (klant_id,) = ids
    assert "1 created, 1 merged" in first.stderr
    assert (
        f"Input line 3 (source:external_id='CRM-B') was merged into the existing customer "
        f"{klant_id} (Recras answered 200)" in first.stderr
    )
    assert "0 created, 0 merged, 2 updated" in second.stderr
    for result in (first, second):
        assert (
            f"Input line 3: customer {klant_id} is already mapped to source:external_id='CRM-A',"
            " and now also to source:external_id='CRM-B'" in result.stderr
        )
        assert "; 1 customers written by several source keys" in result.stderr
