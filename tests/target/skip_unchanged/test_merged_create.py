"""A lost create that Recras merged into another key's customer outdates that key's digest.

The real ``target-recras`` against a real sandbox (POST merges on name + main e-mail, the
default reading), through tests/support/fault_proxy.py. Source key EXT-1 has written its
customer and holds a digest. A record of another source key with the same name and main e-mail
is POSTed; the sandbox merges it into EXT-1's customer (its ``plaats`` now), and the target is
killed before the answer arrives. That create is pending, and the rerun finds no customer for it
above its floor (the merge made none). If that record has left the source since, EXT-1's next
record, unchanged in the source, must still be sent: Recras holds the other data now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    held_customer,
    run_killed_at_first_post,
    run_target_ok,
    singer_input,
)
from support.target import target_config as make_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def test_a_killed_create_merged_into_another_keys_customer_outdates_its_digest(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="name-email")
    config = make_config(tmp_path, sandbox.config())
    first = customer(1, plaats="Amersfoort")
    run_target_ok(config, singer_input([first]))
    (klant_id,) = (item["id"] for item in sandbox.customers())

    # EXT-2 has EXT-1's name and main e-mail: its POST merges into EXT-1's customer, and the
    # target dies before it hears so.
    twin = customer(1, external_id="EXT-2", plaats="Zeist")
    proxy = run_killed_at_first_post(sandbox, tmp_path, singer_input([twin]))
    assert held_customer(sandbox, klant_id)["plaats"] == "Zeist", proxy.describe()

    # EXT-2 has left the source; EXT-1 sends its record unchanged. Recras holds Zeist, so
    # the record must be sent, not skipped as unchanged.
    stderr = run_target_ok(config, singer_input([first]))
    assert held_customer(sandbox, klant_id)["plaats"] == "Amersfoort", stderr[-3000:]
    assert "1 updated" in stderr, stderr[-3000:]
