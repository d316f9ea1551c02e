"""Answers to a POST that cannot be right stop the run; the rerun resolves them.

A small hostile server on 127.0.0.1 answers ``POST /api2/klanten`` with
scripted ids: a negative id, id 0, or the same new id for two different creates. The real
target must stop (exit 1, one CRITICAL line naming the input line and the answer), emit no
STATE past the record, and leave the creates *pending* in the id map; a rerun against a real
sandbox looks them up and writes every record exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply
from support.target import (
    SECRET_KEY,
    customer,
    run_target,
    singer_input,
    states,
    target_config,
)

from target_recras.id_map import IdMap

pytestmark = pytest.mark.slow


def recras_answering_posts_with(post_ids: list[int]) -> HostileServer:
    """Recras look-alike: an empty list, 404 details, POSTs answered 201 with ``post_ids``."""
    return HostileServer(
        {
            "GET /api2/klanten": Reply.json([]),
            "POST /api2/klanten": [Reply.json({"id": i, "type": "klant"}, 201) for i in post_ids],
        }
    )


CASES = {
    "negative id": ([-5], 1, "answered 201 with customer id -5, which no Recras customer can have"),
    "id 0": ([0], 1, "answered 201 with customer id 0, which no Recras customer can have"),
    "same id twice": (
        [7, 7],
        2,
        "answered 201 with customer id 7, the new id it already gave the create of input line 2",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_untrusted_post_answer_stops_and_the_rerun_resolves_it(
    case: str, sandbox_factory: Any, tmp_path: Path
) -> None:
    post_ids, records, message = CASES[case]
    text = singer_input([customer(n) for n in range(1, records + 1)], state_every=1)
    with recras_answering_posts_with(post_ids) as recras:
        config = target_config(tmp_path, recras.config(api_key=SECRET_KEY), max_workers=1)
        result = run_target(config, text, timeout=60)
    assert result.returncode == 1, result.stderr
    critical = [line for line in result.stderr.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1 and message in critical[0], result.stderr
    # No STATE covers the refused record; every create it concerns stays pending.
    assert {"done": records} not in states(result.stdout)
    id_map = IdMap.open(tmp_path / "id-map.sqlite3")
    assert len(id_map.pending()) == records
    id_map.close()

    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    rerun = run_target(target_config(tmp_path, sandbox.config()), text)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{records} created" in rerun.stderr
    assert sorted(item["naam"] for item in sandbox.customers()) == [
        f"Klant {n}" for n in range(1, records + 1)
    ]
